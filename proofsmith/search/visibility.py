"""Which tests a search may run: the task's visible tests (the default) or, named as such, its hidden ones.

A Python task carries hidden tests (`test_code`, `io_tests`: the grader's)
and may carry visible tests (`visible_tests`, `visible_test_code`: what a
user would have, e.g. HumanEval's docstring examples). In `visible` mode a
search gets `visible_view(task)`, a copy whose only tests are the visible
ones, so no strategy can run a hidden test; `proofsmith.search.search`
grades the answer it returns once, at the end, against the real task. In
`oracle` mode the search checks candidates against the hidden tests
themselves: how pass@k is measured, not what a user gets.

Proofs and SMT programs have no hidden tests (the checker decides the whole
specification, which the search sees), so both modes search the task as it
is. A Python task with no visible tests cannot be searched in `visible` mode:
`NoVisibleTests` says so in one line, never falling back to the hidden tests.
"""

from __future__ import annotations

from typing import Literal

from proofsmith.schema import Task

#: what a search checks candidates against: the visible tests, or the hidden ones (`--oracle`)
TestsMode = Literal["visible", "oracle"]
MODES: tuple[TestsMode, ...] = ("visible", "oracle")


class NoVisibleTests(ValueError):
    """A Python task with no visible tests was to be searched in visible mode."""


def has_hidden_tests(task: Task) -> bool:
    """Whether the task is graded by tests a search must not see (Python tasks; proofs and SMT have none)."""
    return task.language == "python"


def has_visible_tests(task: Task) -> bool:
    """Whether the task gives tests a search may run."""
    return bool(task.visible_tests or task.visible_test_code)


def visible_view(task: Task) -> Task:
    """`task` with its visible tests as its only tests (the hidden ones and what derives from them left out).

    The reference solution and the efficiency inputs go too: they belong to
    the grader. NoVisibleTests when the task has none.
    """
    if not has_visible_tests(task):
        raise NoVisibleTests(f"task {task.id} has no visible tests: give it visible_tests (the examples a user "
                             "would have), or search with --oracle to use its hidden tests")
    return task.model_copy(update={"test_code": task.visible_test_code, "io_tests": list(task.visible_tests),
                                   "reference": None, "perf_inputs": []})


def search_view(task: Task, mode: TestsMode) -> Task:
    """The task as a search in `mode` sees it: the visible view of a Python task, else the task itself."""
    if mode not in MODES:
        raise ValueError(f"unknown tests mode {mode!r} (known: {', '.join(MODES)})")
    if mode == "oracle" or not has_hidden_tests(task):
        return task
    return visible_view(task)


def describe(mode: TestsMode) -> str:
    """How reports name a mode, in a few words."""
    if mode == "oracle":
        return "ORACLE: hidden tests during search"
    return "visible tests during search, graded by hidden tests"
