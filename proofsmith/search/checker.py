"""The checker as the search sees it: whole checks, proof steps, and the final confirmation.

During search, Coq candidates are checked in warm `coqtop` sessions
(`coq_session.SessionPool`: the same audit and assumption rules as `coqc`,
without a fresh process per candidate) and proof steps run there too; every
other language goes through `proofsmith.provers.check`. A candidate that
verifies is then confirmed by `confirm`: the full checker from scratch
(`coqc` in a fresh sandbox for Coq), and only that verdict is reported.
"""

from __future__ import annotations

from typing import Self

from proofsmith import provers
from proofsmith.sandbox import SandboxKind
from proofsmith.schema import Candidate, Task, Verdict

#: languages whose checker has a step mode (`open`/`step`)
STEP_LANGUAGES = frozenset({"coq"})


class SearchChecker:
    """Checks candidates and proof steps for the search; `close` frees the warm sessions."""

    def __init__(self, *, sandbox: SandboxKind = "auto", efficiency: str | None = None,
                 max_sessions: int = 2) -> None:
        self.sandbox = sandbox
        self.efficiency = efficiency
        self.max_sessions = max_sessions
        self._pool = None

    def _coq(self):
        if self._pool is None:
            from proofsmith.provers.coq_session import SessionPool
            from proofsmith.sandbox import get_sandbox

            kind = "bwrap" if self.sandbox == "auto" else self.sandbox
            self._pool = SessionPool(get_sandbox(kind), max_sessions=self.max_sessions)
        return self._pool

    def can_step(self, task: Task) -> bool:
        """Whether the task's checker has a step mode."""
        return task.language in STEP_LANGUAGES

    def check(self, task: Task, candidate: Candidate) -> Verdict:
        """The verdict on a whole candidate (fast path: warm sessions for Coq)."""
        if task.language == "coq":
            return self._coq().check(task, candidate)
        return provers.check(task, candidate, sandbox=self.sandbox, efficiency=self.efficiency)

    def confirm(self, task: Task, candidate: Candidate) -> Verdict:
        """The verdict of the full checker from scratch, for a candidate the search found."""
        if task.language == "coq":
            return provers.check(task, candidate, sandbox=self.sandbox, efficiency=self.efficiency)
        return self.check(task, candidate)

    def open(self, task: Task):
        """The proof state at the start of the task (a `coq_session.State`)."""
        if not self.can_step(task):
            raise ValueError(f"task {task.id}: the {task.language} checker has no step mode")
        return self._coq().open(task)

    def step(self, state, step: str):
        """Run one step (a tactic) from `state`; a `coq_session.StepResult`."""
        return self._coq().step(state, step)

    def close(self) -> None:
        """Close the warm sessions."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
