"""Test doubles for the search tests: a scripted language model and a scripted PRM.

They stand in for the model only, so that what a strategy asks for, checks
and keeps is deterministic; the checkers they are used with are real.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from proofsmith.models.base import Policy, Proposal, cut_at_stop

#: (text, log-probability of the whole text) or just the text (log-probability -1)
Say = str | tuple[str, float]
Script = Callable[[str], Sequence[Say]]

FAIL = "exact I."  # rejected by Coq in every add_0_r state


class ScriptedPolicy(Policy):
    """Test double standing in for the language model, so that the strategy logic is tested deterministically.

    `script` is either a function from the prompt to the texts to propose
    (cycled when a request asks for more, cut to `n` when it asks for fewer)
    or a list that is consumed in order, `n` items per request. An item is a
    text or `(text, sum of its token log-probabilities)`. Every request is
    recorded in `requests` as `(prompt, n)`.
    """

    name = "scripted"
    chat_template = "chatml"

    def __init__(self, script: Script | Sequence[Say], *, tokens: int | None = None) -> None:
        super().__init__()
        self._queue = None if callable(script) else list(script)
        self._script = script if callable(script) else None
        self._tokens = tokens
        self.requests: list[tuple[str, int]] = []

    @property
    def prompts(self) -> list[str]:
        return [prompt for prompt, _ in self.requests]

    def _generate(self, prompt: str, n: int, max_tokens: int, temperature: float, stop: list[str],
                  seed: int | None) -> tuple[list[Proposal], int]:
        self.requests.append((prompt, n))
        if self._queue is not None:
            items, self._queue = self._queue[:n], self._queue[n:]
            assert items, "the scripted policy ran out of proposals"
        else:
            assert self._script is not None
            scripted = list(self._script(prompt))
            items = [scripted[i % len(scripted)] for i in range(n)]
        proposals = []
        for item in items:
            text, logprob = (item, -1.0) if isinstance(item, str) else item
            text, _ = cut_at_stop(text, stop)
            n_tokens = self._tokens if self._tokens is not None else max(1, len(text.split()))
            proposals.append(Proposal(text=text, n_tokens=n_tokens, logprobs=[logprob / n_tokens] * n_tokens,
                                      finish_reason="stop"))
        return proposals, len(prompt) // 4


class ScriptedPRM:
    """Test double for a process reward model: a fixed score per last step (`default` for the rest)."""

    def __init__(self, scores: dict[str, float], default: float = 0.0) -> None:
        self.scores = scores
        self.default = default

    def score(self, task, steps: Sequence[str], *, views=None) -> list[float]:
        return [self.scores.get(step, self.default) for step in steps]


def steps_in(prompt: str) -> tuple[str, ...]:
    """The tactics so far in a step prompt (the reply is prefilled with the proof up to the next tactic)."""
    assert "one tactic at a time" in prompt, "not a step prompt"
    return tuple(line.strip() for line in prompt.rsplit("Proof.\n", 1)[1].splitlines() if line.strip())


def tactics(table: dict[tuple[str, ...], Sequence[Say]], default: Sequence[Say] = (FAIL,)) -> Script:
    """A step script: the tactics proposed after each path of tactics."""
    return lambda prompt: table.get(steps_in(prompt), default)
