"""Monte-Carlo step values (Math-Shepherd, arXiv:2312.08935): from a step's prefix, k rollouts.

For a step the checker accepted, the policy writes the rest of the answer k
times from the prefix (a prefilled whole-answer prompt), and the checker
checks each finished answer. The soft label is the fraction that verified;
the hard label stays the tree's `verified_below`, or-ed with "some rollout
verified". Rollouts cost model calls, so only up to `limit` steps are rolled
out, chosen by a seeded draw.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from proofsmith.models.base import Policy
from proofsmith.models.extract import ExtractionError
from proofsmith.prm.labels import StepLabel
from proofsmith.schema import Task
from proofsmith.search.candidates import answer_head, answer_stops, prefilled_prompt, to_candidate
from proofsmith.search.checker import SearchChecker

#: tokens one rollout may add after the prefix
ROLLOUT_TOKENS = 160


def rollout_value(task: Task, steps: Sequence[str], policy: Policy, checker: SearchChecker, k: int, *,
                  seed: int = 0, max_tokens: int = ROLLOUT_TOKENS, temperature: float = 0.8) -> float:
    """The fraction of `k` rollouts from the prefix `steps` that the checker verifies."""
    # program steps start after the statement, as `TextSpace` writes them
    prefix = answer_head(task) + "".join(step.rstrip() + "\n" for step in steps)
    proposals = policy.propose(prefilled_prompt(task, policy, prefix), n=k, max_tokens=max_tokens,
                               temperature=temperature, stop=answer_stops(policy), seed=seed)
    verified = 0
    for proposal in proposals:
        fence = "coq" if task.language == "coq" else task.language
        try:
            candidate = to_candidate(task, f"```{fence}\n{prefix}{proposal.text}\n```")
        except ExtractionError:
            continue
        if checker.check(task, candidate).status == "verified":
            verified += 1
    return verified / max(1, k)


def add_mc_values(labels: Sequence[StepLabel], tasks: dict[str, Task], policy: Policy, checker: SearchChecker,
                  *, k: int = 4, limit: int = 100, seed: int = 0,
                  on_step: Callable[[int, int], None] | None = None) -> list[StepLabel]:
    """`labels` with Monte-Carlo values on up to `limit` accepted, unfinished steps of known tasks."""
    eligible = [i for i, x in enumerate(labels)
                if x.accepted and x.task_id in tasks and x.view and not x.view.strip().startswith("No more goals")]
    chosen = sorted(random.Random(seed).sample(eligible, min(limit, len(eligible))))
    out = list(labels)
    for done, index in enumerate(chosen, 1):
        label = labels[index]
        value = rollout_value(tasks[label.task_id], label.steps, policy, checker, k, seed=seed * 100_003 + index)
        out[index] = label.model_copy(update={"mc_value": value, "mc_rollouts": k,
                                              "verified_below": label.verified_below or value > 0})
        if on_step is not None:
            on_step(done, len(chosen))
    return out
