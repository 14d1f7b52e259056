"""The empty policy: proposes nothing, so a step-level search runs on its automation alone.

`proofsmith prove --model none` uses it: the automation portfolio and lemma
retrieval still run at every state (see `proofsmith.search.portfolio`), and
no model is loaded. It is the "automation only" baseline the prover's
benchmark reports beside the model's results.
"""

from __future__ import annotations

from proofsmith.models.base import Policy, Proposal

#: The name `load_policy` and `--model` know it by.
NO_MODEL = "none"


class NoModel(Policy):
    """A policy that proposes nothing and costs nothing."""

    name = NO_MODEL

    def _generate(self, prompt: str, n: int, max_tokens: int, temperature: float, stop: list[str],
                  seed: int | None) -> tuple[list[Proposal], int]:
        return [], 0
