"""The benchmark suites the search benchmarks run on, as (suite, Task) pairs taken evenly over each split."""

from __future__ import annotations

from proofsmith.schema import Task

#: suites the search benchmarks know: humaneval (docstring examples as visible tests), the LeetCode problems (all
#: difficulties, and the Hard ones alone), the bit-manipulation SMT tasks, and short Coq stdlib lemmas
SUITES = ("humaneval", "leetcode", "leetcode-hard", "bitvec", "coq-stdlib-mini")
#: the suites run when none is named: `leetcode-hard` is left out, since the default model solves none of it
#: sampled once (0/30), so it has no slope for search to show
DEFAULT_SUITES = ("humaneval", "leetcode", "bitvec", "coq-stdlib-mini")


class SuiteError(RuntimeError):
    """A suite is unknown or not installed (the message names the fix)."""


def evenly_spaced(items: list, n: int | None) -> list:
    """`n` items spread over the whole list (item floor(i * len / n)); all of them when n is None or >= len."""
    if n is None or n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def load_suite(name: str, limit: int | None, *, visible_only: bool = False) -> list[Task]:
    """`limit` tasks of suite `name`, evenly spaced; with `visible_only`, among the Python tasks with visible tests.

    A visible-mode search cannot run a Python task without visible tests
    (`NoVisibleTests`), so those are left out before the choice, not counted
    as failures; 13 of HumanEval's 164 have no docstring example to parse.
    """
    from proofsmith.datasets.cli import load_split_tasks
    from proofsmith.search.visibility import has_hidden_tests, has_visible_tests
    from proofsmith.user_error import UserError

    try:
        tasks = load_split_tasks(name)
    except UserError as exc:
        raise SuiteError(str(exc)) from None
    if visible_only:
        tasks = [t for t in tasks if not has_hidden_tests(t) or has_visible_tests(t)]
    return evenly_spaced(tasks, limit)


def interleave(groups: list[list]) -> list:
    """Items of the groups in turn (a0, b0, c0, a1, b1, ...): an interrupted run has covered every group."""
    out = []
    for i in range(max((len(g) for g in groups), default=0)):
        for g in groups:
            out += g[i:i + 1]
    return out
