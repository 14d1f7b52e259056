"""Step mode for Lean: one tactic at a time in warm REPLs, the contract of `coq_session`.

`LeanSessionPool.open(task) -> State` elaborates `<statement> := by sorry`
on the task's context in a warm REPL (the same pool whole checks use)
and takes the sorry's proof state as the root. `step(state, tactic) ->
StepResult` runs one tactic (`{"tactic", "proofState"}`) from any State and
returns the new goals, Lean's error, a solved flag and a stable hash of the
goals (`steps.state_hash`), so the search's transposition tables work
unchanged. The `State` and `StepResult` models are coq_session's.

Each process remembers which REPL proof state every (task, steps) path
reached; a step from a State another process holds (or one that was
recycled) replays the path from the root there. A tactic gets the same
lexical pre-check as a whole proof (`lean_audit.precheck`), a wall-clock
limit enforced from outside, and a crash or timeout is `unknown`.

"solved" is a search signal, not a verdict: the REPL's tactic mode has
accepted wrong proofs (repl#44), so `check` runs the whole-proof checker,
audit included, on the finished proof.
"""

from __future__ import annotations

import threading
import time
from typing import Self

from proofsmith.provers import lean, lean_audit
from proofsmith.provers.lean_repl import ProofStep, ProofStepResponse, ReplError
from proofsmith.provers.prover_process import ProcessPool, ReplFailure, Toolchain
from proofsmith.sandbox import Sandbox, get_sandbox
from proofsmith.schema import Candidate, Task, Verdict
from proofsmith.steps import SessionError, State, StepResult, state_hash

__all__ = ["LeanSessionPool", "State", "StepResult"]

#: Seconds one tactic may run before its process is killed.
STEP_TIMEOUT_S = 20.0
#: Proof states a process remembers before it forgets the oldest.
MAX_STATES = 20000


def _goals_text(goals: list[str]) -> str:
    return "\n\n".join(g.strip() for g in goals) if goals else "no goals"


class LeanSessionPool:
    """open/step/check over a pool of Lean REPLs (see the module docstring)."""

    def __init__(self, sandbox: Sandbox | None = None, *, toolchain: Toolchain | None = None,
                 pool: ProcessPool | None = None, step_timeout_s: float = STEP_TIMEOUT_S) -> None:
        tc = toolchain or (pool.toolchain if pool is not None else None) or lean.toolchain_from_env()
        if tc is None:
            raise SessionError(lean.INSTALL_HINT)
        box = sandbox or (pool.sandbox if pool is not None else None) or get_sandbox("auto")
        self.pool = pool or lean.default_pool(tc, box)
        self.toolchain = tc
        self.step_timeout_s = step_timeout_s
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- states

    def _root(self, proc, task: Task) -> tuple[int, list[str]]:
        """The REPL proof state at the start of `task`'s proof in `proc` (elaborated once per process)."""
        key = (task.id, ())
        _, context = lean_audit.split_header(task.context)
        ctx = proc.context_env(context, max(60.0, task.limits.wall_s))
        if lean.error_messages(ctx):
            raise SessionError(f"task {task.id}: the context does not elaborate: {lean.error_messages(ctx)[0][:300]}")
        reply = proc.command(f"{task.statement.rstrip()} := by\n  sorry\n", ctx.env, max(60.0, task.limits.wall_s))
        errors = lean.error_messages(reply)
        if errors or not reply.sorries or reply.sorries[0].proofState is None:
            raise SessionError(f"task {task.id}: the statement does not open a proof: "
                               f"{(errors or ['no proof state'])[0][:300]}")
        proc.states[key] = reply.sorries[0].proofState
        return reply.sorries[0].proofState, [reply.sorries[0].goal]

    def _remember(self, proc, key: tuple[str, tuple[str, ...]], ps: int) -> None:
        if len(proc.states) >= MAX_STATES:
            proc.states.pop(next(iter(proc.states)))
        proc.states[key] = ps

    def _run(self, proc, ps: int, tactic: str) -> ProofStepResponse | str:
        """One tactic at proof state `ps`: the response, or Lean's error message."""
        reply = proc.request(ProofStep(tactic=tactic, proofState=ps), self.step_timeout_s)
        if isinstance(reply, ReplError):
            return reply.message
        if not isinstance(reply, ProofStepResponse):
            raise ReplFailure("crash", "the REPL answered a tactic with a command response")
        errors = [m.data for m in reply.messages if m.severity == "error"]
        if errors:
            return errors[0]
        if reply.proofStatus and reply.proofStatus.startswith("Error"):
            return reply.proofStatus
        if reply.sorries or (reply.proofStatus and "sorry" in reply.proofStatus):
            return "the tactic leaves a sorry"
        return reply

    def _goto(self, proc, task: Task, steps: tuple[str, ...]) -> int | str:
        """The REPL proof state `steps` reach in `proc`, replaying from the deepest state it knows."""
        known = len(steps)
        while known >= 0 and (task.id, steps[:known]) not in proc.states:
            known -= 1
        if known < 0:
            ps, _ = self._root(proc, task)
            known = 0
        else:
            ps = proc.states[(task.id, steps[:known])]
        for k in range(known, len(steps)):
            out = self._run(proc, ps, steps[k])
            if isinstance(out, str):
                return f"replaying the state's tactics failed: {out}"
            ps = out.proofState
            self._remember(proc, (task.id, steps[:k + 1]), ps)
        return ps

    # ----------------------------------------------------------------- contract

    def open(self, task: Task) -> State:
        """The State at the start of the task's proof."""
        try:
            lean.options_of(task)
        except ValueError as exc:
            raise SessionError(str(exc)) from None
        self._tasks[task.id] = task
        header, _ = lean_audit.split_header(task.context)
        try:
            with self.pool.checkout(header) as proc:
                _, goals = self._root(proc, task)
        except ReplFailure as exc:
            raise SessionError(f"task {task.id}: the Lean REPL failed ({exc.reason}): {exc}") from None
        text = _goals_text(goals)
        return State(task_id=task.id, goals=text, hash=state_hash(task.id, text))

    def step(self, state: State, tactic: str) -> StepResult:
        """Run `tactic` from `state`."""
        started = time.monotonic()
        task = self._tasks.get(state.task_id)
        if task is None:
            raise SessionError(f"no open task {state.task_id!r}: call open(task) first")
        found = lean_audit.precheck(tactic, allow_native_decide=lean.options_of(task).allow_native_decide)
        if found is not None:
            return StepResult(status="error", reason="audit", error=found.message)
        if not lean_audit.strip_comments(tactic).strip():
            return StepResult(status="error", reason="audit", error="the step holds no tactic")
        header, _ = lean_audit.split_header(task.context)
        key = (task.id, state.steps)
        try:
            with self.pool.checkout(header, prefer=lambda p: key in p.states) as proc:
                ps = self._goto(proc, task, state.steps)
                if isinstance(ps, str):
                    return StepResult(status="error", reason="lean_error", error=ps,
                                      wall_s=time.monotonic() - started)
                out = self._run(proc, ps, tactic)
                if isinstance(out, str):
                    return StepResult(status="error", reason="lean_error", error=out[:2000],
                                      wall_s=time.monotonic() - started)
                steps = (*state.steps, tactic)
                self._remember(proc, (task.id, steps), out.proofState)
        except ReplFailure as exc:
            return StepResult(status="unknown", reason=exc.reason, error=str(exc), wall_s=time.monotonic() - started)
        except SessionError as exc:
            return StepResult(status="unknown", reason="toolchain", error=str(exc), wall_s=time.monotonic() - started)
        text = _goals_text(out.goals)
        solved = not out.goals and out.proofStatus in (None, "Completed")
        new = State(task_id=task.id, steps=steps, goals=text, hash=state_hash(task.id, text), solved=solved)
        return StepResult(status="ok", state=new, goals=text, solved=solved, wall_s=time.monotonic() - started)

    def check(self, task: Task, candidate: Candidate) -> Verdict:
        """The whole-proof verdict (lean.check on the same pool), never the tactic mode's word."""
        return lean.check(task, candidate, pool=self.pool)

    def close(self) -> None:
        """Forget the open tasks (the warm processes belong to the shared pool)."""
        self._tasks.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
