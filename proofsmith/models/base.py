"""The `Policy` contract: a model that proposes text, and counts what it spent.

Every backend (llama.cpp, transformers, an OpenAI-compatible endpoint) is one
subclass that implements `_generate`; the shared `propose` validates the
arguments and keeps the call and token counters the search budget reads.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

FinishReason = Literal["stop", "length"]


class ModelError(RuntimeError):
    """A model cannot be used as asked (missing package, bad file, unreachable endpoint); one line says the fix."""


class PromptTooLong(ModelError):
    """One prompt does not fit the model's context; the search drops that node instead of stopping."""


# How servers word "the prompt does not fit": llama.cpp (`exceed_context_size_error`,
# "exceeds the available context size"), vLLM and OpenAI ("maximum context length",
# `context_length_exceeded`), SGLang ("longer than the model's context length"),
# TGI ("`inputs` tokens + `max_new_tokens` must be <= N").
_OVERFLOW = re.compile(r"context[ _](size|length|window)|exceed_context|max_new_tokens` must be <=", re.IGNORECASE)


def is_context_overflow(message: str) -> bool:
    """Whether a backend's error message says the prompt (with the tokens asked for) exceeds the context."""
    return bool(_OVERFLOW.search(message))


class Proposal(BaseModel):
    """One sampled continuation of a prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    #: tokens generated for this proposal (not counting the prompt)
    n_tokens: int = Field(ge=0)
    #: log-probability of each generated token, where the backend reports them
    logprobs: list[float] | None = None
    #: the generated tokens as text pieces, aligned with `logprobs`
    tokens: list[str] | None = None
    #: `stop`: a stop string or end-of-sequence ended it; `length`: `max_tokens` cut it off
    finish_reason: FinishReason

    @property
    def sum_logprob(self) -> float | None:
        """Total log-probability of the text under the model (None where the backend gives none)."""
        return None if self.logprobs is None else float(sum(self.logprobs))


class Usage(BaseModel):
    """What a policy has spent so far: calls, prompt tokens and generated tokens."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Policy(ABC):
    """Proposes continuations of a prompt; thread-safe counters of calls and tokens.

    `prompt` is the full text the model continues (render a chat with
    `proofsmith.models.prompts.render`); `n` proposals come back, in order.
    """

    #: a short name for manifests and reports
    name: str = "policy"
    #: how prompts are written for it (see `proofsmith.models.prompts.render`); set by `load_policy`
    chat_template: str = "chatml"
    system_prompt: str = ""

    def __init__(self) -> None:
        self._usage = Usage()
        self._lock = threading.Lock()

    @property
    def usage(self) -> Usage:
        """A snapshot of the counters."""
        with self._lock:
            return self._usage.model_copy()

    def propose(
        self,
        prompt: str,
        n: int = 1,
        max_tokens: int = 256,
        temperature: float = 0.8,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> list[Proposal]:
        """`n` continuations of `prompt`, each at most `max_tokens` long, cut before any `stop` string."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        proposals, prompt_tokens = self._generate(prompt, n, max_tokens, temperature, list(stop), seed)
        with self._lock:
            self._usage.calls += 1
            self._usage.prompt_tokens += prompt_tokens
            self._usage.completion_tokens += sum(p.n_tokens for p in proposals)
        return proposals

    @abstractmethod
    def _generate(
        self, prompt: str, n: int, max_tokens: int, temperature: float, stop: list[str], seed: int | None
    ) -> tuple[list[Proposal], int]:
        """The proposals and the number of prompt tokens the backend processed for them."""

    def close(self) -> None:
        """Free the model's memory; the default has nothing to free."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`text` cut before the earliest stop string, and whether one was found (for backends without stop support)."""
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    if not cuts:
        return text, False
    return text[: min(cuts)], True
