"""The checker as the search sees it: whole checks, proof steps, and the final confirmation.

During search, Coq candidates are checked in warm `coqtop` sessions
(`coq_session.SessionPool`: the same audit and assumption rules as `coqc`,
without a fresh process per candidate) and proof steps run there too; every
other language goes through `proofsmith.provers.check`. Lean proof steps run
in warm REPLs (`lean_session.LeanSessionPool`) when a Lean toolchain is
configured and the sandbox can hold a process (not docker). A candidate that
verifies is then confirmed by `confirm`: the full checker from scratch
(`coqc` in a fresh sandbox for Coq), and only that verdict is reported.
"""

from __future__ import annotations

from typing import Self

from proofsmith import provers
from proofsmith.sandbox import SandboxKind
from proofsmith.schema import Candidate, Task, Verdict

#: languages whose checker has a step mode (`open`/`step`); Lean's needs a configured REPL (see `can_step`)
STEP_LANGUAGES = frozenset({"coq", "lean"})


class SearchChecker:
    """Checks candidates and proof steps for the search; `close` frees the warm sessions."""

    def __init__(self, *, sandbox: SandboxKind = "auto", efficiency: str | None = None,
                 max_sessions: int = 2) -> None:
        self.sandbox = sandbox
        self.efficiency = efficiency
        self.max_sessions = max_sessions
        self._pool = None
        self._lean_pool = None
        #: the language of each task opened for steps, so a State's steps go to its own checker
        self._languages: dict[str, str] = {}

    def _box(self):
        from proofsmith.sandbox import get_sandbox

        return get_sandbox("bwrap" if self.sandbox == "auto" else self.sandbox)

    def _coq(self):
        if self._pool is None:
            from proofsmith.provers.coq_session import SessionPool

            self._pool = SessionPool(self._box(), max_sessions=self.max_sessions)
        return self._pool

    def _lean(self):
        if self._lean_pool is None:
            from proofsmith.provers.lean_session import LeanSessionPool

            self._lean_pool = LeanSessionPool(self._box())
        return self._lean_pool

    def _sessions(self, language: str):
        return self._lean() if language == "lean" else self._coq()

    def can_step(self, task: Task) -> bool:
        """Whether the task's checker has a step mode here (Lean: a REPL is configured and the sandbox holds one)."""
        if task.language == "lean":
            from proofsmith.provers.lean_repl import toolchain_from_env

            return self.sandbox != "docker" and toolchain_from_env() is not None
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
        """The proof state at the start of the task (a `coq_session.State`, also for Lean)."""
        if not self.can_step(task):
            raise ValueError(f"task {task.id}: the {task.language} checker has no step mode here")
        state = self._sessions(task.language).open(task)
        self._languages[task.id] = task.language
        return state

    def step(self, state, step: str):
        """Run one step (a tactic) from `state`; a `coq_session.StepResult`."""
        return self._sessions(self._languages.get(state.task_id, "coq")).step(state, step)

    def close(self) -> None:
        """Close the warm sessions (Lean's REPLs stay in the process-wide pool whole checks share)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._lean_pool is not None:
            self._lean_pool.close()
            self._lean_pool = None
        self._languages.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
