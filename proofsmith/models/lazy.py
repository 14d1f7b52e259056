"""A policy that loads its model at the first proposal.

A prover whose automation closes a lemma before the model is asked should
not pay for loading the model (seconds on a small CPU): `load_policy(...,
lazy=True)` checks the model's name and file at once, so mistakes still
fail before any search, and builds the backend only when a search first
samples from it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from proofsmith.models.base import Policy, Proposal


class LazyPolicy(Policy):
    """Builds the real policy with `factory` on first use; name and prompt style are known before that."""

    def __init__(self, factory: Callable[[], Policy], *, name: str, chat_template: str, system_prompt: str) -> None:
        super().__init__()
        self._factory = factory
        self._inner: Policy | None = None
        self._load_lock = threading.Lock()
        self.name, self.chat_template, self.system_prompt = name, chat_template, system_prompt

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._inner is not None

    def _policy(self) -> Policy:
        with self._load_lock:
            if self._inner is None:
                self._inner = self._factory()
            return self._inner

    def _generate(self, prompt: str, n: int, max_tokens: int, temperature: float, stop: list[str],
                  seed: int | None) -> tuple[list[Proposal], int]:
        inner = self._policy()
        before = inner.usage.prompt_tokens
        proposals = inner.propose(prompt, n=n, max_tokens=max_tokens, temperature=temperature, stop=stop, seed=seed)
        return proposals, inner.usage.prompt_tokens - before

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
