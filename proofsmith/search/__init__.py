"""Search: strategies that turn a policy and a checker into verified proofs and programs.

`STRATEGIES` names them (best_of_n, refine, cegis, beam, mcts, particles, and best_of_n_head); `search`
runs one on one task and grades the answer it returns: a proof with the full
checker from scratch, a program with its hidden tests. By default the search
itself only sees a program's visible tests (`proofsmith.search.visibility`);
`tests="oracle"` lets it check candidates against the hidden tests, and the
result says which (`SearchResult.tests`).
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
from proofsmith.search.visibility import MODES, NoVisibleTests, TestsMode, search_view

#: Strategy names and their default configurations.
STRATEGIES: dict[str, Callable[[], Strategy]] = {
    "best_of_n": BestOfN,
    "refine": Refine,
    "cegis": CEGIS,
    "beam": Beam,
    "mcts": MCTS,
    "particles": Particles,
    # whole programs sampled after the statement, as the chunk searches write them
    "best_of_n_head": lambda: BestOfN(from_statement=True, name="best_of_n_head"),
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
           few_shot: int = 2, tests: TestsMode = "visible") -> SearchResult:
    """Run `strategy` on `task` and grade the answer it returns; `solved` is the grade.

    `tests="visible"` (the default): a program is searched against its
    visible tests only (NoVisibleTests, before anything runs, when it has
    none) and the answer is graded once, at the end, by its hidden tests.
    `tests="oracle"`: the search checks against the hidden tests themselves.
    A proof (and an SMT program) is the same in both modes: a candidate the
    search verified is re-checked by the full checker from scratch, and if
    that disagrees the result is not solved and `stats["unconfirmed"]` says
    so. Among candidates that pass the search's checks the first found is
    the answer (a PRM's higher score displaces it: `Episode.offer`).

    `trace` is the JSONL file the search writes; `on_event` sees each trace
    event as it happens; `few_shot` solved examples similar to the task are
    shown in every prompt (see `proofsmith.search.examples`).
    """
    view = search_view(task, tests)
    chosen = get_strategy(strategy) if isinstance(strategy, str) else strategy
    owned = checker is None
    checker = checker or SearchChecker()
    writer = TraceWriter(trace, on_event)
    try:
        result = chosen.run(view, policy, checker, prm, budget or Budget(), seed=seed, trace=writer,
                            examples=lambda: examples_for(view, few_shot))
        result = _grade(task, view, result, checker, tests)
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


def _grade(task: Task, view: Task, result: SearchResult, checker: SearchChecker, tests: TestsMode) -> SearchResult:
    """`result` with the answer graded by the real task: once, after the search, by the full checker."""
    marks = {"tests": tests, "solved_visible": result.solved}
    if result.candidate is None:
        return result.model_copy(update={**marks, "solved": False, "solved_hidden": False})
    if view is task:
        # the search's checks were the grader's: a verified answer is confirmed from scratch, others stand
        if not result.solved:
            return result.model_copy(update={**marks, "solved_hidden": False})
        confirmed = checker.confirm(task, result.candidate)
        ok = confirmed.status == "verified"
        stats = result.stats if ok else {**result.stats, "unconfirmed": 1}
        return result.model_copy(update={**marks, "solved": ok, "solved_hidden": ok, "verdict": confirmed,
                                         "stats": stats})
    graded = checker.confirm(task, result.candidate)
    ok = graded.status == "verified"
    return result.model_copy(update={**marks, "solved": ok, "solved_hidden": ok, "verdict": graded,
                                     "search_verdict": result.verdict})


__all__ = [
    "CEGIS",
    "MCTS",
    "MODES",
    "STRATEGIES",
    "Beam",
    "BestOfN",
    "Budget",
    "NoVisibleTests",
    "Particles",
    "ProcessRewardModel",
    "Refine",
    "SearchChecker",
    "SearchResult",
    "Spend",
    "Strategy",
    "TestsMode",
    "TraceWriter",
    "get_strategy",
    "search",
]
