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

from proofsmith import languages, provers
from proofsmith.provers.coq_dependencies import forbidden_libraries, hammer_libraries
from proofsmith.sandbox import SandboxKind
from proofsmith.schema import Candidate, Task, Verdict

#: languages whose checker has a step mode (`open`/`step`, `LanguageSpec.steps`); Lean's needs a configured REPL
#: (see `can_step`)
STEP_LANGUAGES = languages.FieldView("steps")


def hammer_allowed(task: Task) -> bool:
    """Whether the search loads CoqHammer for `task`: a Coq task where Hammer is installed and its imports do
    not load the task's own library.

    Loading Hammer loads about 190 standard-library modules; for a stdlib
    lemma of one of them the ATPs pick the compiled original of the lemma
    under test as a premise. The checker rejects any such proof (it depends
    on the task's own library or one that needs it: `provers.coq_dependencies`),
    so there the hammer only costs time: measured at d0ab0c4 on 14 such
    lemmas of coq-stdlib-mini, it proved none that automation had not, and
    delayed or lost three. The search leaves it out there (`hammer_left_out`
    in the trace's stats); a caller that sets the option still gets the rule.
    """
    if task.language != "coq" or not hammer_libraries():
        return False
    return forbidden_libraries(task.model_copy(update={"options": {**task.options, "hammer": True}})) == frozenset()


class SearchChecker:
    """Checks candidates and proof steps for the search; `close` frees the warm sessions."""

    def __init__(self, *, sandbox: SandboxKind = "auto", efficiency: str | None = None,
                 max_sessions: int = 2, automation: bool = True, retrieval: bool = True,
                 hammer: bool | None = None) -> None:
        self.sandbox = sandbox
        self.efficiency = efficiency
        self.max_sessions = max_sessions
        #: step-level search tries the automation portfolio at each new state (`search.portfolio`)
        self.automation = automation
        #: step-level search looks up lemmas for each state and checks the names tactics use (`search.retrieval`)
        self.retrieval = retrieval
        #: CoqHammer's `hammer` at the root: None where `hammer_allowed` says so, else forced on or off
        self.hammer = hammer
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
        return bool(STEP_LANGUAGES.get(task.language))

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
        """The proof state at the start of the task (a `steps.State`, for Coq and Lean)."""
        if not self.can_step(task):
            raise ValueError(f"task {task.id}: the {task.language} checker has no step mode here")
        state = self._sessions(task.language).open(task)
        self._languages[task.id] = task.language
        return state

    def step(self, state, step: str, timeout_s: float | None = None):
        """Run one step (a tactic) from `state`, within `timeout_s` (default: the session's); a `StepResult`."""
        language = self._languages.get(state.task_id, "coq")
        if language == "coq":
            return self._coq().step(state, step, timeout_s)
        return self._sessions(language).step(state, step)

    def query(self, state, commands: list[str]) -> list[str]:
        """Coq: the output of read-only commands (`Search`, `Locate`) at `state`; other languages: no answers."""
        if self._languages.get(state.task_id, "coq") != "coq":
            return [""] * len(commands)
        return self._coq().query(state, commands)

    def libraries(self, state) -> frozenset[str] | None:
        """Coq: the library modules loaded where `state`'s proof starts; None where that is not known."""
        if self._languages.get(state.task_id, "coq") != "coq":
            return None
        return self._coq().libraries(state.task_id)

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
