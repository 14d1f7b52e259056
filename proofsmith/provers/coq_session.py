"""Step mode for Coq: warm `coqtop` sessions in the sandbox, one tactic at a time.

A session is one `coqtop -emacs` process in the sandbox that has loaded a
task's context and statement once. `open(task)` gives the State at the start
of the proof; `step(state, tactic)` runs one tactic from any State and
returns the new goals, Coq's error, a solved flag and a stable hash of the
normalised goals (for transposition tables).

Backtracking: coqtop numbers its states; a session remembers which number
each tactic path reached, so stepping from an earlier State is one `BackTo`,
plus replaying only the tactics between the common ancestor and that State.
The prefix is never replayed, except when a session is recycled.

Reading coqtop safely: a tactic may print anything (`idtac "..."`), even a
fake prompt. After every tactic the session sends `Locate <nonce>.` with a
fresh random name; only the prompt just before the nonce's answer is
trusted, and everything after it is the output of proofsmith's own queries.

A tactic runs under `Timeout`; a tactic Coq cannot interrupt is stopped by
a watchdog that kills the session, and the step comes back `unknown` with
reason `timeout`. Sessions live in a pool bounded by count and by memory;
the least recently used one is closed to make room.
"""

from __future__ import annotations

import builtins
import os
import re
import secrets
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Self

from pydantic import BaseModel

from proofsmith.provers import coq
from proofsmith.provers import coq_dependencies as deps
from proofsmith.provers.coq_audit import audit_script
from proofsmith.provers.coq_text import split_sentences
from proofsmith.provers.prover_process import send
from proofsmith.sandbox import Running, Sandbox, SandboxUnsupported, Spawns, get_sandbox
from proofsmith.schema import Candidate, Diagnostic, Limits, Manifest, Task, Verdict
from proofsmith.steps import SessionError, State, StepResult, goal_count, state_hash

COQTOP = os.environ.get("PROOFSMITH_COQTOP", "/usr/bin/coqtop")
#: Seconds a tactic may run before Coq's own `Timeout` stops it.
STEP_TIMEOUT_S = 10.0
#: Extra seconds the watchdog waits for Coq to answer before it kills the session.
WATCHDOG_GRACE_S = 5.0
#: Memory a session is assumed to take until its cgroup says (notes: 0.5-0.8 GB per Coq).
SESSION_MB_GUESS = 800
#: Memory a session of a task that loads CoqHammer may use: coqtop and its forked ATP runs together.
HAMMER_SESSION_MB = 4096
_PROMPT = re.compile(r"<prompt>(.*?) < (\d+) \|(.*?)\| (\d+) < </prompt>", re.DOTALL)
_MAX_SHOWN_GOALS = 32
#: Coq's `Printing Width` unless set
_DEFAULT_WIDTH = 78


class _Reply(BaseModel):
    """What coqtop printed for one exchange, split at the trusted prompt."""

    untrusted: str
    #: (proof name, state number) of the prompt printed right after the tactic
    after: tuple[str, int]
    #: output of proofsmith's own queries after the nonce
    trusted: str
    last: tuple[str, int]


class Session:
    """One coqtop in the sandbox with a task's prefix loaded; not thread-safe (the pool locks it)."""

    def __init__(self, task: Task, sandbox: Sandbox, *, step_timeout_s: float = STEP_TIMEOUT_S) -> None:
        if not isinstance(sandbox, Spawns):
            raise SandboxUnsupported(f"the {sandbox.kind} sandbox cannot hold a Coq session: use bwrap or process")
        if not coq.coq_version():
            raise SessionError(coq.INSTALL_HINT)
        self.task = task
        self.opts = coq.options_of(task)
        self.step_timeout_s = step_timeout_s
        self.lock = threading.Lock()
        self.alive = False
        self.last_used = time.monotonic()
        self._buf = ""
        to_coq_r, self._to_coq = os.pipe()
        self._from_coq, from_coq_w = os.pipe()
        argv = [COQTOP, "-emacs", "-q", "-w", "-all", *self.opts.flags]
        for flag, directory, logical in self.opts.load_paths:
            argv += [flag, directory, logical]
        # bash, not sh: dash cannot redirect from file descriptors above 9.
        shell = f'exec "$@" <&{to_coq_r} >&{from_coq_w} 2>&1'
        # CoqHammer forks coqtop once per ATP and runs eprover, z3 and cvc4 side by side: under 3 GB the
        # session is killed mid-hammer (measured on Reals lemmas)
        floor = HAMMER_SESSION_MB if task.options.get("hammer") else 2048
        limits = Limits(wall_s=24 * 3600, cpu_s=24 * 3600, memory_mb=max(floor, task.limits.memory_mb),
                        pids=256 if task.options.get("hammer") else 64,
                        output_bytes=1 << 20, file_size_mb=64, open_files=256)
        try:
            self._proc: Running = sandbox.spawn(["/bin/bash", "-c", shell, "bash", *argv], coq.coq_files({}), limits,
                                                pass_fds=(to_coq_r, from_coq_w), env=coq.COQ_ENV)
        finally:
            os.close(to_coq_r)
            os.close(from_coq_w)
        self.alive = True
        try:
            self._load()
        except (EOFError, TimeoutError, OSError) as exc:
            self.close()
            raise SessionError(f"task {task.id}: coqtop did not start or load the prefix: "
                               f"{str(exc).strip()[-300:] or type(exc).__name__}") from None
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------- wire

    def _write(self, text: str) -> None:
        send(self._to_coq, text.encode())

    def _read_until(self, needle: str, deadline: float) -> str:
        """Read until `needle` and the prompt after it have arrived; return everything up to that prompt."""
        while True:
            at = self._buf.find(needle)
            if at >= 0:
                end = self._buf.find("</prompt>", at)
                if end >= 0:
                    end += len("</prompt>")
                    out, self._buf = self._buf[:end], self._buf[end:]
                    return out
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._from_coq], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(self._from_coq, 1 << 16)
            if not chunk:
                raise EOFError(self._buf[-2000:])
            self._buf += chunk.decode("utf-8", "replace")

    def _exchange(self, sentence: str, queries: Sequence[str], timeout: float) -> _Reply:
        """Send one sentence, a nonce, then trusted queries; split the output at the nonce."""
        nonce = "ps_nonce_" + secrets.token_hex(8)
        closing = "ps_end_" + secrets.token_hex(8)
        lines = [sentence, f"Locate {nonce}.", *queries, f"Locate {closing}."]
        self._write("".join(line.replace("\n", " ") + "\n" for line in lines))
        deadline = time.monotonic() + timeout
        head = self._read_until(f"No object of basename {nonce}", deadline)
        tail = self._read_until(f"No object of basename {closing}", deadline)
        marker = head.rfind(f"No object of basename {nonce}")
        prompts = list(_PROMPT.finditer(head, 0, marker))
        if not prompts:
            raise EOFError("no prompt before the nonce")
        after = prompts[-1]
        last = list(_PROMPT.finditer(tail))[-1]
        self.current_sid = int(last.group(2))  # the state the next sentence runs in
        return _Reply(untrusted=head[:after.start()], after=(after.group(1), int(after.group(2))),
                      trusted=tail, last=(last.group(1), int(last.group(2))))

    # ----------------------------------------------------------------- lifecycle

    def _load(self) -> None:
        boot = time.monotonic() + max(60.0, self.task.limits.wall_s)
        self._read_until("</prompt>", boot)  # the banner and first prompt
        prefix = coq._joined(coq.context_of(self.task, self.opts), self.task.statement, self.opts.proof_command)
        reply = self._exchange(prefix.rstrip("\n"), ["Show."], max(60.0, self.task.limits.wall_s))
        expected = self.opts.name.rsplit(".", 1)[-1]
        if reply.after[0] != expected:
            # the first error is the cause (a failed proof in the context leaves it open: then "Nested proofs")
            error = reply.untrusted.split("Error:", 1)[1].split("<prompt>", 1)[0] if "Error:" in reply.untrusted \
                else "no proof open"
            error = " ".join(_PROMPT.sub(" ", error).split())[:500]  # one line, without coqtop's prompt
            raise SessionError(f"task {self.task.id}: the prefix does not load in coqtop: {error}")
        goals = _goals_text(reply.trusted)
        self.root = State(task_id=self.task.id, goals=goals, hash=state_hash(self.task.id, goals))
        # trail[i] = (steps after i tactics, the coqtop state number that reached them)
        self.trail: list[tuple[tuple[str, ...], int]] = [((), reply.last[1])]
        self.proof_name = reply.after[0]
        # what automation this environment offers (lia needs Lia loaded, sauto needs Hammer's tactics, ...)
        listed = self._exchange("idtac.", ["Print Libraries."], 60.0).trusted
        self.libraries = frozenset(re.findall(r"^\s*((?:\w|')+(?:\.(?:\w|')+)+)\s*$", _PROMPT.sub("\n", listed),
                                              re.MULTILINE))

    def close(self) -> None:
        """Kill the coqtop and free its sandbox slot."""
        if not self.alive:
            return
        self.alive = False
        for fd in (self._to_coq, self._from_coq):
            try:
                os.close(fd)
            except OSError:
                pass
        self._proc.kill()
        self._proc.wait(0)

    def peak_mb(self) -> float:
        """The session's peak memory so far (cgroup), or the guess where there is no cgroup."""
        kb = self._proc.peak_kb()
        return kb / 1024 if kb else SESSION_MB_GUESS

    # ----------------------------------------------------------------- steps

    def _goto(self, steps: tuple[str, ...]) -> StepResult | None:
        """Move coqtop to the state `steps` reached: BackTo the common ancestor, replay the rest."""
        common = 0
        while (common + 1 < len(self.trail) and common < len(steps)
               and self.trail[common + 1][0] == steps[:common + 1]):
            common += 1
        if common + 1 < len(self.trail):
            sid = self.trail[common][1]
            self._exchange(f"BackTo {sid}.", [], 30.0)
            del self.trail[common + 1:]
        for k in range(common, len(steps)):
            result = self._run_tactic(steps[k], steps[:k])
            if result.status != "ok":
                return result
        return None

    def _run_tactic(self, tactic: str, before: tuple[str, ...], timeout_s: float | None = None) -> StepResult:
        """Run one audited tactic (maybe several sentences) at the current state; extend the trail."""
        started = time.monotonic()
        timeout_s = self.step_timeout_s if timeout_s is None else timeout_s
        start_sid = self.trail[-1][1]
        sentences = [s.text for s in split_sentences(tactic).sentences]
        reply = None
        printed = ""
        for sentence in sentences:
            bullet = re.fullmatch(r"-+|\++|\*+|\{|\}|(\d+|\[[\w']+\])\s*:\s*\{", sentence.strip())
            sent = sentence if bullet else f"Timeout {max(1, round(timeout_s))} {sentence}"
            before_sid = self.current_sid
            reply = self._exchange(sent, ["Show."], timeout_s + WATCHDOG_GRACE_S)
            printed += reply.untrusted
            if reply.after[1] <= before_sid:  # coqtop only moves to a new state when the sentence succeeded
                message = reply.untrusted.split("Error:", 1)[-1].strip() if "Error:" in reply.untrusted \
                    else reply.untrusted.strip()
                self._exchange(f"BackTo {start_sid}.", [], 30.0)
                if "Timeout!" in message:
                    return StepResult(status="unknown", reason="timeout", error=message,
                                      wall_s=time.monotonic() - started)
                return StepResult(status="error", reason="coq_error", error=message[:2000],
                                  wall_s=time.monotonic() - started)
        assert reply is not None
        goals = _goals_text(reply.trusted)
        count = goal_count(goals)
        if count > 1:
            more = self._exchange("idtac.", [f"Show {i}." for i in range(2, min(count, _MAX_SHOWN_GOALS) + 1)],
                                  30.0)
            goals += "\n" + _goals_text(more.trusted)
            reply = more
        steps = (*before, tactic)
        self.trail.append((steps, reply.last[1]))
        solved = goals.strip().startswith("No more goals.")
        state = State(task_id=self.task.id, steps=steps, goals=goals, hash=state_hash(self.task.id, goals),
                      solved=solved)
        return StepResult(status="ok", state=state, goals=goals, solved=solved, wall_s=time.monotonic() - started,
                          messages=_PROMPT.sub("\n", printed)[-4000:])

    def step(self, state: State, tactic: str, timeout_s: float | None = None) -> StepResult:
        """Run `tactic` from `state` (see the module docstring), under Coq's `Timeout` of `timeout_s` seconds."""
        started = time.monotonic()
        audit = audit_script(tactic)
        if not audit.ok:
            return StepResult(status="error", reason="audit", error=audit.message)
        body = " ".join(s.text for s in split_sentences(audit.body).sentences)
        if not body:
            return StepResult(status="error", reason="audit", error="the step holds no tactic")
        self.last_used = time.monotonic()
        try:
            failed = self._goto(state.steps)
            if failed is not None:
                return failed.model_copy(update={"error": f"replaying the state's tactics failed: {failed.error}"})
            result = self._run_tactic(body, state.steps, timeout_s)
        except TimeoutError:
            self.close()
            return StepResult(status="unknown", reason="timeout", error="Coq did not answer; the session was recycled",
                              wall_s=time.monotonic() - started)
        except (EOFError, OSError) as exc:
            self.close()
            return StepResult(status="unknown", reason="crash", error=f"the Coq session died: {str(exc)[-300:]}",
                              wall_s=time.monotonic() - started)
        return result.model_copy(update={"wall_s": time.monotonic() - started})

    def query(self, state: State, commands: Sequence[str], timeout_s: float = 10.0) -> list[str]:
        """The output of each of proofsmith's own read-only commands (`Search`, `Locate`) run at `state`.

        The commands run after the nonce, so nothing a candidate's tactic printed can pose as their
        output. They must not change the proof: only queries belong here. A failed session gives "".
        """
        self.last_used = time.monotonic()
        try:
            if self._goto(state.steps) is not None:
                return [""] * len(commands)
            reply = self._exchange("idtac.", [f"Timeout {max(1, round(timeout_s))} {c}" for c in commands],
                                   timeout_s * max(1, len(commands)) + WATCHDOG_GRACE_S)
        except (TimeoutError, EOFError, OSError):
            self.close()
            return [""] * len(commands)
        outputs = [re.sub(r"</?infomsg>", "", part).strip() for part in _PROMPT.split(reply.trusted)]
        # split() also yields each prompt's groups: keep the text between prompts only
        texts = outputs[::5]
        return (texts + [""] * len(commands))[:len(commands)]

    def finish(self, state: State, timeout: float,
               forbidden: frozenset[str] = frozenset()) -> tuple[bool, str, frozenset[str] | None]:
        """`Qed` at `state`, then `Print Assumptions`; returns (closed, Coq's message, assumptions).

        With `forbidden` libraries, a closed proof that depends on one of
        them comes back not closed, the message naming what it used (see
        `coq_dependencies`); None assumptions where that could not be read.
        """
        self._goto(state.steps)
        sid = self.trail[-1][1]
        reply = self._exchange("Qed.", [f"Print Assumptions {self.proof_name}."], timeout)
        closed = reply.after[0] == "Coq" or reply.after[0] != self.proof_name
        message = reply.untrusted.split("Error:", 1)[-1].strip() if "Error:" in reply.untrusted else ""
        printed = reply.trusted.split("<prompt>", 1)[0]
        assumptions = coq.parse_assumptions("X\n" + printed, "X") if closed else None
        if closed and forbidden:
            used = self._forbidden_uses(forbidden, timeout)
            if used is None:
                assumptions = None
            elif used:
                closed, message = False, f"the proof depends on {used[0]}, from a library the hammer option loads"
        self._exchange(f"BackTo {sid}.", [], 30.0)
        del self.trail[len(state.steps) + 1:]
        return closed, message, assumptions

    def _forbidden_uses(self, forbidden: frozenset[str], timeout: float) -> list[str] | None:
        """What the just-closed proof depends on in `forbidden` libraries; None if Coq's answer is unreadable."""
        marker = deps.dependency_marker()
        listed = self._exchange("idtac.", deps.dependency_commands(self.proof_name, marker), timeout).trusted
        at = listed.rfind(marker)
        names = deps.parse_dependencies(_plain(listed[at + len(marker):])) if at >= 0 else None
        paths = None
        if names is not None:
            about = deps.dependency_marker()
            found = self._exchange("idtac.", deps.about_commands(names, about), timeout).trusted
            paths = deps.parse_paths(_PROMPT.sub("\n", found), names, about)
        # goals are printed at Coq's default width everywhere else (their hashes are compared)
        self._exchange("idtac.", [f"Set Printing Width {_DEFAULT_WIDTH}."], 30.0)
        return None if paths is None else deps.forbidden_uses(paths, forbidden)


def _plain(trusted: str) -> str:
    """Trusted output without coqtop's prompts, its tags and the exchange's own `Locate` answers."""
    text = _PROMPT.sub("\n", trusted)
    text = re.sub(r"No object of basename ps_\w+", "", text)
    return re.sub(r"</?infomsg>", "", text)


def _goals_text(trusted: str) -> str:
    """The answer to the first `Show` in trusted output, prompts removed."""
    return _plain(trusted).strip()


# --------------------------------------------------------------------------- pool


def _default_budget_mb() -> int:
    try:
        with builtins.open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        available = int(info["MemAvailable"].split()[0]) // 1024
    except (OSError, KeyError, ValueError):
        available = 4096
    return max(SESSION_MB_GUESS, available // 2)


class SessionPool:
    """Warm sessions keyed by task, bounded by count and memory; least recently used closed first."""

    def __init__(self, sandbox: Sandbox | None = None, *, max_sessions: int = 4, memory_mb: int | None = None,
                 step_timeout_s: float = STEP_TIMEOUT_S) -> None:
        self.sandbox = sandbox or get_sandbox("bwrap")
        self.max_sessions = max_sessions
        self.memory_mb = memory_mb or _default_budget_mb()
        self.step_timeout_s = step_timeout_s
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._tasks: dict[str, Task] = {}
        self._axioms: dict[str, frozenset[str]] = {}
        self.started = 0  # sessions started, for tests and benchmarks

    def _session(self, task_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(task_id)
            if session is not None and session.alive:
                self._sessions.move_to_end(task_id)
                return session
            self._sessions.pop(task_id, None)
            self._make_room()
            task = self._tasks.get(task_id)
            if task is None:
                raise SessionError(f"no open task {task_id!r}: call open(task) first")
            session = Session(task, self.sandbox, step_timeout_s=self.step_timeout_s)
            self.started += 1
            self._sessions[task_id] = session
            return session

    def _make_room(self) -> None:
        used = sum(s.peak_mb() for s in self._sessions.values())
        while self._sessions and (len(self._sessions) >= self.max_sessions
                                  or used + SESSION_MB_GUESS > self.memory_mb):
            _, oldest = self._sessions.popitem(last=False)
            used -= oldest.peak_mb()
            with oldest.lock:
                oldest.close()

    def open(self, task: Task) -> State:
        """The State at the start of the task's proof (starts or reuses a warm session)."""
        problem = coq.validate(task)
        if problem:
            raise SessionError(problem)
        self._tasks[task.id] = task
        session = self._session(task.id)
        return session.root

    def step(self, state: State, tactic: str, timeout_s: float | None = None) -> StepResult:
        """Run `tactic` from `state`; a dead or recycled session is restarted and the state replayed."""
        for _ in range(3):  # another thread may recycle the session between lookup and lock
            session = self._session(state.task_id)
            with session.lock:
                if session.alive:
                    return session.step(state, tactic, timeout_s)
        return StepResult(status="unknown", reason="crash", error="the Coq session kept dying")

    def query(self, state: State, commands: Sequence[str], timeout_s: float = 10.0) -> list[str]:
        """Run read-only commands (`Search`, `Locate`) at `state`; each one's output ("" when the session failed)."""
        session = self._session(state.task_id)
        with session.lock:
            return session.query(state, commands, timeout_s) if session.alive else [""] * len(commands)

    def libraries(self, task_id: str) -> frozenset[str]:
        """The library modules loaded where the task's proof starts (`Print Libraries`)."""
        return self._session(task_id).libraries

    def check(self, task: Task, candidate: Candidate) -> Verdict:
        """Whole-proof check in the warm session: audit, each sentence, `Qed`, assumptions vs the reference."""
        started = time.monotonic()
        box = self.sandbox
        man = coq.manifest(task, box, None)
        man = Manifest(**{**man.model_dump(), "options": {**man.options, "mode": "session"}})

        def verdict(status: str, reason: str | None, diagnostics=()) -> Verdict:
            return Verdict(task_id=task.id, candidate_id=candidate.id, status=status, reason=reason,
                           reward=1.0 if status == "verified" else 0.0, diagnostics=list(diagnostics),
                           wall_s=time.monotonic() - started, manifest=man)

        audit = audit_script(candidate.text)
        if not audit.ok:
            return verdict("refuted", "audit", [Diagnostic(message=audit.message or "", line=audit.line,
                                                           column=audit.column)])
        try:
            allowed = self._reference_axioms(task)
        except SessionError as exc:
            return verdict("unknown", "toolchain", [Diagnostic(message=str(exc))])
        forbidden = deps.forbidden_libraries(task)
        if forbidden is None:
            return verdict("unknown", "toolchain", [Diagnostic(message=coq.FORBIDDEN_HINT)])
        outcome = self._run_whole(task, audit.body, forbidden)
        if isinstance(outcome, StepResult):
            if outcome.status == "unknown":
                return verdict("unknown", outcome.reason or "crash", [Diagnostic(message=outcome.error or "")])
            return verdict("refuted", "coq_error", [Diagnostic(message=outcome.error or "")])
        closed, message, assumptions = outcome
        if closed and assumptions is None:
            return verdict("unknown", "internal", [Diagnostic(message="Coq's assumptions or dependencies were "
                                                                      "not readable")])
        if not closed or assumptions is None:
            return verdict("refuted", "coq_error", [Diagnostic(message=message or "the proof is not complete")])
        extra = sorted(assumptions - allowed)
        if extra:
            return verdict("refuted", "axioms", [Diagnostic(message=f"the proof uses an assumption the reference "
                                                                    f"proof does not: {a}") for a in extra])
        return verdict("verified", None)

    def _run_whole(self, task: Task, body: str,
                   forbidden: frozenset[str] = frozenset()) -> StepResult | tuple[bool, str, frozenset[str] | None]:
        state = self.open(task)
        for sentence in split_sentences(body).sentences:
            result = self.step(state, sentence.text)
            if result.status != "ok" or result.state is None:
                return result
            state = result.state
        session = self._session(task.id)
        with session.lock:
            try:
                return session.finish(state, max(30.0, task.limits.wall_s), forbidden)
            except (TimeoutError, EOFError, OSError):
                session.close()
                return StepResult(status="unknown", reason="timeout", error="Qed did not finish; session recycled")

    def _reference_axioms(self, task: Task) -> frozenset[str]:
        if task.id in self._axioms:
            return self._axioms[task.id]
        allowed: frozenset[str] = frozenset()
        if task.reference:
            outcome = self._run_whole(task, audit_script(task.reference).body)
            if isinstance(outcome, StepResult) or not outcome[0] or outcome[2] is None:
                raise SessionError(f"task {task.id}: the reference proof does not check in a session")
            allowed = outcome[2]
        self._axioms[task.id] = allowed
        return allowed

    def close(self) -> None:
        """Close every session."""
        with self._lock:
            for session in self._sessions.values():
                with session.lock:
                    session.close()
            self._sessions.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DEFAULT: SessionPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool() -> SessionPool:
    """The process-wide pool that `open` and `step` use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = SessionPool()
        return _DEFAULT


def open(task: Task) -> State:
    """The State at the start of `task`'s proof, in the default pool."""
    return default_pool().open(task)


def step(state: State, tactic: str) -> StepResult:
    """Run `tactic` from `state` in the default pool."""
    return default_pool().step(state, tactic)


__all__ = ["SessionPool", "default_pool", "open", "step"]
