"""Search: strategies that turn a policy and a checker into verified proofs and programs.

`STRATEGIES` names them (best_of_n, refine, cegis, beam, mcts, particles); `search`
runs one on one task and confirms a found candidate with the full checker
from scratch before reporting it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from proofsmith.models.base import Policy
from proofsmith.schema import Task
from proofsmith.search.base import ProcessRewardModel, SearchResult, Strategy, prm_name
from proofsmith.search.beam import Beam
from proofsmith.search.best_of_n import BestOfN
from proofsmith.search.budget import Budget, Spend
from proofsmith.search.cegis import CEGIS
from proofsmith.search.checker import SearchChecker
from proofsmith.search.examples import examples_for
from proofsmith.search.mcts import MCTS
from proofsmith.search.particles import Particles
from proofsmith.search.refine import Refine
from proofsmith.search.trace import TraceEvent, TraceWriter

#: Strategy names and their default configurations.
STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "best_of_n": BestOfN,
    "refine": Refine,
    "cegis": CEGIS,
    "beam": Beam,
    "mcts": MCTS,
    "particles": Particles,
}


def get_strategy(name: str) -> Strategy:
    """A strategy with its default settings; ValueError naming the known ones."""
    factory = STRATEGIES.get(name)
    if factory is None:
        raise ValueError(f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")
    return factory()


def search(task: Task, policy: Policy, *, strategy: Strategy | str = "best_of_n", budget: Budget | None = None,
           checker: SearchChecker | None = None, prm: ProcessRewardModel | None = None, seed: int = 0,
           trace: str | os.PathLike[str] | None = None, on_event: Callable[[TraceEvent], None] | None = None,
           few_shot: int = 2) -> SearchResult:
    """Run `strategy` on `task`; a found candidate is re-checked by the full checker before it counts.

    The reported verdict is the confirmation's; if it disagrees with the
    search's fast check, the result is not solved and `stats["unconfirmed"]`
    says so. `trace` is the JSONL file the search writes; `on_event` sees each
    trace event as it happens; `few_shot` solved examples similar to the task
    are shown in every prompt (see `proofsmith.search.examples`).
    """
    chosen = get_strategy(strategy) if isinstance(strategy, str) else strategy
    owned = checker is None
    checker = checker or SearchChecker()
    writer = TraceWriter(trace, on_event)
    try:
        result = chosen.run(task, policy, checker, prm, budget or Budget(), seed=seed, trace=writer,
                            examples=lambda: examples_for(task, few_shot))
        if result.solved and result.candidate is not None:
            confirmed = checker.confirm(task, result.candidate)
            if confirmed.status != "verified":
                result = result.model_copy(update={"solved": False, "stats": {**result.stats, "unconfirmed": 1}})
            result = result.model_copy(update={"verdict": confirmed})
        if prm is not None and result.verdict is not None:
            # a verdict found with a PRM's help names the checkpoint, so the run can be reproduced
            manifest = result.verdict.manifest
            options = {**manifest.options, "prm": prm_name(prm)}
            result = result.model_copy(update={"verdict": result.verdict.model_copy(
                update={"manifest": manifest.model_copy(update={"options": options})})})
        return result
    finally:
        writer.close()
        if owned:
            checker.close()


__all__ = [
    "CEGIS",
    "MCTS",
    "STRATEGIES",
    "Beam",
    "BestOfN",
    "Budget",
    "Particles",
    "ProcessRewardModel",
    "Refine",
    "SearchChecker",
    "SearchResult",
    "Spend",
    "Strategy",
    "TraceWriter",
    "get_strategy",
    "search",
]
