"""The Lean REPL's wire protocol, one sandboxed REPL process, and a pool of them keyed by import header.

The REPL (leanprover-community/repl) reads JSON requests separated by blank
lines and answers each with one JSON object followed by a blank line:
`Command` (`{"cmd", "env"?}`), `ProofStep` (`{"tactic", "proofState"}`),
`PickleEnvironment` / `UnpickleEnvironment`; answers are `CommandResponse`,
`ProofStepResponse` or `ReplError` (`{"message"}`). One pydantic model per
message, validated at the boundary (as LeanInteract does).

The REPL has no timeout, memory cap or crash recovery of its own (repl#94,
kimina-lean-server#25), so everything is enforced from outside:

- each request has a wall-clock deadline; past it the process is killed and
  the request fails with reason `timeout`;
- the process tree's resident memory is polled while a request runs and
  after it: over `memory_mb` it is killed (reason `memory`), over
  `recycle_mb` it is retired after the request; the sandbox's cgroup (or
  RLIMIT_AS), set 1.5 times higher so the monitor acts first, is the hard
  backstop, and a process that died saying it ran out of memory is `memory`;
- a process that dies, answers with something that is not JSON, or answers
  out of step (the REPL numbers environments 0, 1, 2, ... per process, so
  every `env` in an answer is known in advance) is killed: reason `crash`.

`ReplPool` keeps warm processes keyed by their import header, as Kimina's
server does: the header (`import Mathlib ...`) is elaborated once per process
and every check after it sends only its body with `env` set to the header's
environment. A free process with the same header is reused; otherwise a new
one starts if there is room, else the oldest free process of another header
is evicted, else the caller waits. A process is retired after `max_uses`
checks or when its memory passes `recycle_mb`. The F* checker reuses the pool
with its own process factory, keyed by file (file affinity).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith.sandbox import Running, Sandbox, SandboxUnsupported
from proofsmith.schema import Limits

__all__ = ["Command", "CommandResponse", "LeanToolchain", "Message", "PickleEnvironment", "ProofStep",
           "ProofStepResponse", "ReplError", "ReplFailure", "ReplPool", "ReplProcess", "Sorry", "UnpickleEnvironment",
           "parse_response", "standin_toolchain", "toolchain_from_env"]

#: Checks a process serves before it is retired (Kimina's MAX_REPL_USES idea; the REPL dies after many, repl#77).
MAX_USES = 200
#: Memory a process may reach before it is retired after its request, MB.
RECYCLE_MB = 6144
#: Memory a process may never pass (killed mid-request), MB; also the sandbox's cgroup/RLIMIT_AS cap.
MEMORY_MB = 8192
#: Seconds to elaborate an import header (Mathlib takes tens of seconds cold).
HEADER_TIMEOUT_S = 600.0
_POLL_S = 0.2


# --------------------------------------------------------------------------- wire


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Pos(_Wire):
    """A position in a command's text: 1-based line, 0-based column."""

    line: int
    column: int


class Message(_Wire):
    """A message Lean logged while elaborating a command."""

    severity: Literal["trace", "info", "warning", "error"]
    pos: Pos | None = None
    endPos: Pos | None = None
    data: str


class Sorry(_Wire):
    """A `sorry` Lean found, with the proof state at it (tactic mode only)."""

    goal: str
    proofState: int | None = None
    pos: Pos | None = None
    endPos: Pos | None = None


class Command(_Wire):
    """Elaborate `cmd`, in environment `env` or (without one) a fresh one where `import` is allowed."""

    cmd: str
    env: int | None = None


class ProofStep(_Wire):
    """Run one tactic in a proof state the REPL numbered."""

    tactic: str
    proofState: int


class PickleEnvironment(_Wire):
    """Write environment `env` to an .olean file (what it adds to its imports)."""

    env: int
    pickleTo: str


class UnpickleEnvironment(_Wire):
    """Load an environment written by `PickleEnvironment` as a new environment."""

    unpickleEnvFrom: str


class CommandResponse(_Wire):
    """The answer to a command: its new environment, and what Lean said."""

    env: int
    messages: list[Message] = Field(default_factory=list)
    sorries: list[Sorry] = Field(default_factory=list)


class ProofStepResponse(_Wire):
    """The answer to a tactic: the new proof state and its goals (empty when none are left)."""

    proofState: int
    goals: list[str]
    messages: list[Message] = Field(default_factory=list)
    sorries: list[Sorry] = Field(default_factory=list)
    #: newer REPLs: "Completed", "Incomplete: ...", "Error: ..."
    proofStatus: str | None = None


class ReplError(_Wire):
    """The REPL refused the request (unknown environment or proof state, bad JSON, a tactic error)."""

    message: str


Response = CommandResponse | ProofStepResponse | ReplError


class ReplFailure(Exception):
    """A request got no usable answer; `reason` is an unknown-verdict reason (timeout, memory, crash, toolchain)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_response(obj: Any) -> Response:
    """The typed answer for one decoded JSON object (ReplFailure `crash` when it is none of them)."""
    if not isinstance(obj, dict):
        raise ReplFailure("crash", f"the REPL answered {str(obj)[:200]!r}, not a JSON object")
    try:
        if "proofState" in obj and "goals" in obj:
            return ProofStepResponse.model_validate(obj)
        if "env" in obj:
            return CommandResponse.model_validate(obj)
        if "message" in obj:
            return ReplError.model_validate(obj)
    except ValidationError as exc:
        raise ReplFailure("crash", f"the REPL's answer does not match the protocol: {exc.errors()[0]['msg']}") from None
    raise ReplFailure("crash", f"the REPL's answer has none of env/proofState/message: {json.dumps(obj)[:200]}")


# --------------------------------------------------------------------------- toolchain


class LeanToolchain(BaseModel):
    """How to start a REPL: the command, where it runs, and what the sandbox must show it."""

    model_config = ConfigDict(frozen=True)

    #: argv of the REPL (e.g. ["lake", "env", "/opt/repl/.lake/build/bin/repl"])
    repl: tuple[str, ...]
    #: directory to start it in (the Lean project whose packages it imports), inside the sandbox
    cwd: str | None = None
    #: host directories a bwrap sandbox must mount read-only (elan toolchains, the project)
    ro_paths: tuple[str, ...] = ()
    #: files put in the sandbox's work dir before start (the stand-in script)
    files: tuple[tuple[str, str], ...] = ()
    #: extra environment variables for the REPL
    env: tuple[tuple[str, str], ...] = ()
    #: True for the test stand-in (proofsmith.provers.standins), never a real Lean
    standin: bool = False

    def describe(self) -> str:
        """One line for manifests and messages."""
        return ("stand-in: " if self.standin else "") + shlex.join(self.repl)


def standin_toolchain(*args: str) -> LeanToolchain:
    """The Lean REPL stand-in (NOT Lean; see proofsmith/provers/standins/lean_repl.py), with its flags."""
    from proofsmith.provers.standins import script_source

    return LeanToolchain(repl=("/usr/bin/python3", "-u", "lean_repl_standin.py", *args),
                         files=(("lean_repl_standin.py", script_source("lean_repl")),), standin=True)


def toolchain_from_env() -> LeanToolchain | None:
    """The toolchain `PROOFSMITH_LEAN_REPL` names, or None.

    `PROOFSMITH_LEAN_REPL` is the REPL's command line (`lake env repl`), or
    `standin [FLAGS]` for the test stand-in; `PROOFSMITH_LEAN_PROJECT` is the
    directory to run it in; `PROOFSMITH_LEAN_RO` lists (colon-separated) host
    directories the bwrap sandbox must mount read-only (e.g. `~/.elan`); the
    project directory is mounted too.
    """
    command = os.environ.get("PROOFSMITH_LEAN_REPL", "").strip()
    if not command:
        return None
    words = shlex.split(command)
    if words[0] == "standin":
        return standin_toolchain(*words[1:])
    project = os.environ.get("PROOFSMITH_LEAN_PROJECT") or None
    ro = [p for p in os.environ.get("PROOFSMITH_LEAN_RO", "").split(":") if p]
    if project:
        ro.append(project)
    return LeanToolchain(repl=tuple(words), cwd=project, ro_paths=tuple(dict.fromkeys(ro)))


# --------------------------------------------------------------------------- one process


#: The sandbox's hard memory cap is this much above the limit the monitor kills at, so a process that grows is
#: caught by the monitor (reason `memory`) before an allocation fails inside it (which reads as a crash).
HARD_CAP_FACTOR = 1.5
_OOM_TEXTS = ("out of memory", "MemoryError", "std::bad_alloc", "Cannot allocate memory", "Out_of_memory")


def died_of_memory(result: Any) -> bool:
    """Whether a dead process's RunResult says it ran out of memory (cgroup, or the tool's own words)."""
    if result is None:
        return False
    return result.limit_hit == "memory" or any(t in result.stderr[-4000:] for t in _OOM_TEXTS)


def tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and all its descendants, KiB, read from /proc (0 when gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
            fields = stat[stat.rfind(b")") + 2:].split()
            pid = int(name)
            children.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


class ReplProcess:
    """One REPL in the sandbox with an import header elaborated; one request at a time (the pool lends it)."""

    def __init__(self, toolchain: LeanToolchain, sandbox: Sandbox, header: str, *, memory_mb: int = MEMORY_MB,
                 header_timeout_s: float = HEADER_TIMEOUT_S) -> None:
        if not hasattr(sandbox, "spawn"):
            raise SandboxUnsupported(f"the {sandbox.kind} sandbox cannot hold a warm Lean REPL: use bwrap or process")
        self.toolchain = toolchain
        self.header = header
        self.memory_mb = memory_mb
        self.uses = 0
        self.alive = False
        self.last_used = time.monotonic()
        self.next_env = 0
        self.next_state = 0
        #: environments this process elaborated for a task context after the header: context text -> env
        self.contexts: dict[str, int] = {}
        #: tactic-mode states this process holds: (task id, steps) -> REPL proof state
        self.states: dict[tuple[str, tuple[str, ...]], int] = {}
        self._buf = b""
        to_r, self._to = os.pipe()
        self._from, from_w = os.pipe()
        # bash, not sh: dash cannot redirect from descriptors above 9. stderr stays the sandbox's capture.
        cd = 'cd "$1" || exit 97; ' if toolchain.cwd else ""
        script = f'{cd}shift; exec "$@" <&{to_r} >&{from_w}'
        argv = ["/bin/bash", "-c", script, "bash", toolchain.cwd or ".", *toolchain.repl]
        limits = Limits(wall_s=7 * 24 * 3600, cpu_s=7 * 24 * 3600, memory_mb=int(memory_mb * HARD_CAP_FACTOR), pids=256,
                        output_bytes=1 << 20, file_size_mb=256, open_files=4096)
        try:
            self._proc: Running = sandbox.spawn(argv, dict(toolchain.files), limits, pass_fds=(to_r, from_w),
                                                env=dict(toolchain.env))
        finally:
            os.close(to_r)
            os.close(from_w)
        self.alive = True
        try:
            reply = self.request(Command(cmd=header), header_timeout_s)
        except ReplFailure:
            self.close()
            raise
        if not isinstance(reply, CommandResponse):
            self.close()
            raise ReplFailure("toolchain", f"the REPL refused the header: {getattr(reply, 'message', reply)}")
        errors = [m.data for m in reply.messages if m.severity == "error"]
        if errors:
            self.close()
            raise ReplFailure("toolchain", f"the import header does not elaborate: {errors[0][:500]}")
        self.header_env = reply.env

    # ----------------------------------------------------------------- wire

    def _send(self, payload: dict[str, Any]) -> None:
        data = (json.dumps(payload, ensure_ascii=False) + "\n\n").encode()
        if len(data) > 16384:  # a big request can fill both pipes at once: write from a thread while we read
            threading.Thread(target=self._write_all, args=(data,), daemon=True).start()
        else:
            self._write_all(data)

    def _write_all(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._to, view):]
        except OSError:
            pass  # the process died; the read side reports it

    def _frame(self, deadline: float) -> Any:
        while True:
            at = self._buf.find(b"\n\n")
            while at == 0:
                self._buf = self._buf[2:]
                at = self._buf.find(b"\n\n")
            if at > 0:
                frame, self._buf = self._buf[:at], self._buf[at + 2:]
                if frame.strip():
                    try:
                        return json.loads(frame)
                    except ValueError:
                        self._die()
                        raise ReplFailure("crash", f"the REPL printed something that is not JSON: "
                                                   f"{frame[:300].decode('utf-8', 'replace')!r}") from None
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                self._die()
                raise ReplFailure("timeout", "the REPL did not answer in time; the process was killed")
            ready, _, _ = select.select([self._from], [], [], min(left, _POLL_S))
            if not ready:
                if self.rss_mb() > self.memory_mb:
                    self._die()
                    raise ReplFailure("memory", f"the REPL passed {self.memory_mb} MB; the process was killed")
                continue
            chunk = os.read(self._from, 1 << 16)
            if not chunk:
                result = self._die()
                if died_of_memory(result):
                    raise ReplFailure("memory", f"the REPL ran out of memory (limit {self.memory_mb} MB)")
                tail = (result.stderr.strip()[-300:] if result is not None else "") or "no message"
                code = f"signal {result.signal}" if result is not None and result.signal else \
                    f"exit {result.exit_code if result is not None else '?'}"
                raise ReplFailure("crash", f"the REPL died ({code}): {tail}")
            self._buf += chunk

    def request(self, payload: BaseModel, timeout: float) -> Response:
        """Send one request, wait for its answer (see the module docstring for what fails and how)."""
        if not self.alive:
            raise ReplFailure("crash", "the REPL process is gone")
        self.last_used = time.monotonic()
        self._send(payload.model_dump(exclude_none=True))
        reply = parse_response(self._frame(time.monotonic() + timeout))
        if isinstance(payload, (PickleEnvironment, UnpickleEnvironment)):
            # not candidate-driven; how pickling numbers environments is the REPL's business
            if isinstance(reply, CommandResponse):
                self.next_env = max(self.next_env, reply.env + 1)
        elif isinstance(reply, CommandResponse):
            if reply.env != self.next_env:
                self._die()
                raise ReplFailure("crash", f"the REPL answered out of step (env {reply.env}, expected "
                                           f"{self.next_env}); the process was killed")
            self.next_env += 1
        elif isinstance(reply, ProofStepResponse):
            self.next_state = max(self.next_state, reply.proofState + 1)
        if self.rss_mb() > self.memory_mb:
            self._die()
            raise ReplFailure("memory", f"the REPL passed {self.memory_mb} MB; the process was killed")
        return reply

    def command(self, cmd: str, env: int | None, timeout: float) -> CommandResponse:
        """Run one command; a refusal (`{"message"}`) is a protocol failure here."""
        reply = self.request(Command(cmd=cmd, env=env), timeout)
        if not isinstance(reply, CommandResponse):
            self._die()
            raise ReplFailure("crash", f"the REPL refused a command: {getattr(reply, 'message', reply)}")
        return reply

    def context_env(self, context: str, timeout: float) -> CommandResponse:
        """The environment of `context` elaborated on the header (once per process, then reused)."""
        if not context.strip():
            return CommandResponse(env=self.header_env)
        if context in self.contexts:
            return CommandResponse(env=self.contexts[context])
        reply = self.command(context, self.header_env, timeout)
        if not any(m.severity == "error" for m in reply.messages):
            self.contexts[context] = reply.env
        return reply

    def pickle_env(self, env: int, path: str, timeout: float = 120.0) -> Response:
        """Write environment `env` to `path` inside the sandbox (`pickleTo`)."""
        return self.request(PickleEnvironment(env=env, pickleTo=path), timeout)

    def unpickle_env(self, path: str, timeout: float = 120.0) -> Response:
        """Load an environment pickled in this sandbox as a new environment (`unpickleEnvFrom`)."""
        return self.request(UnpickleEnvironment(unpickleEnvFrom=path), timeout)

    # ----------------------------------------------------------------- lifecycle

    def rss_mb(self) -> float:
        """Resident memory of the whole sandboxed tree now, MB (read from outside)."""
        return tree_rss_kb(self._proc.pid) / 1024

    def _die(self):
        """Kill the process tree; its RunResult (for the stderr tail and the limit it hit), or None."""
        if not self.alive:
            return None
        self.alive = False
        for fd in (self._to, self._from):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._proc.kill()
        return self._proc.wait(5)

    def close(self) -> None:
        """Kill the REPL and free its sandbox slot."""
        self._die()


# --------------------------------------------------------------------------- pool


class ReplPool:
    """Warm REPL processes keyed by import header (see the module docstring)."""

    def __init__(self, toolchain: Any, sandbox: Sandbox, *, max_processes: int | None = None,
                 max_uses: int = MAX_USES, recycle_mb: float = RECYCLE_MB, memory_mb: int = MEMORY_MB,
                 header_timeout_s: float = HEADER_TIMEOUT_S, wait_s: float = 600.0,
                 factory: Callable[[str], Any] | None = None) -> None:
        #: the toolchain the processes run (a LeanToolchain, or F*'s for fstar.py's pool)
        self.toolchain: Any = toolchain
        #: starts a process for a key; default: a Lean REPL with that import header (F* passes its own)
        self._factory = factory
        self.sandbox = sandbox
        self.max_processes = max_processes or int(os.environ.get("PROOFSMITH_LEAN_REPLS", "0")) or \
            max(1, (os.cpu_count() or 2) - 1)
        self.max_uses = max_uses
        self.recycle_mb = recycle_mb
        self.memory_mb = memory_mb
        self.header_timeout_s = header_timeout_s
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._free: list[ReplProcess] = []
        self._count = 0
        self._closed = False
        #: counters for tests and benchmarks
        self.started = 0
        self.retired = 0
        self.failed = 0

    def _take(self, header: str, prefer: Callable[[ReplProcess], bool] | None) -> ReplProcess | None:
        same = [p for p in self._free if p.header == header and p.alive]
        if prefer is not None:
            same.sort(key=lambda p: not prefer(p))
        if same:
            self._free.remove(same[0])
            return same[0]
        return None

    def _start(self, header: str) -> ReplProcess:
        try:
            if self._factory is not None:
                proc = self._factory(header)
            else:
                proc = ReplProcess(self.toolchain, self.sandbox, header, memory_mb=self.memory_mb,
                                   header_timeout_s=self.header_timeout_s)
        except BaseException:
            with self._cond:
                self._count -= 1
                self.failed += 1
                self._cond.notify_all()
            raise
        with self._cond:
            self.started += 1
        return proc

    def acquire(self, header: str, prefer: Callable[[ReplProcess], bool] | None = None) -> ReplProcess:
        """A process with `header` elaborated, lent to the caller alone until `release`."""
        deadline = time.monotonic() + self.wait_s
        evict: ReplProcess | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise ReplFailure("internal", "the Lean REPL pool is closed")
                proc = self._take(header, prefer)
                if proc is not None:
                    return proc
                if self._count < self.max_processes:
                    self._count += 1
                    break
                if self._free:  # room only by evicting the least recently used process of another header
                    evict = min(self._free, key=lambda p: p.last_used)
                    self._free.remove(evict)
                    self.retired += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ReplFailure("timeout", f"no Lean REPL became free in {self.wait_s:g} s")
                self._cond.wait(left)
        if evict is not None:
            evict.close()
        return self._start(header)

    def release(self, proc: ReplProcess) -> None:
        """Give a process back: kept warm, or retired (dead, used up, or grown past `recycle_mb`)."""
        proc.uses += 1
        keep = proc.alive and proc.uses < self.max_uses and proc.rss_mb() <= self.recycle_mb and not self._closed
        if not keep:
            if proc.alive:
                with self._cond:
                    self.retired += 1
            proc.close()
        with self._cond:
            if keep:
                self._free.append(proc)
            else:
                self._count -= 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def checkout(self, header: str, prefer: Callable[[ReplProcess], bool] | None = None) -> Iterator[ReplProcess]:
        """`acquire` and `release` around a block."""
        proc = self.acquire(header, prefer)
        try:
            yield proc
        finally:
            self.release(proc)

    def size(self) -> int:
        """Processes alive now (lent or free)."""
        with self._cond:
            return self._count

    def close(self) -> None:
        """Kill every free process; lent ones die when given back."""
        with self._cond:
            self._closed = True
            free, self._free = self._free, []
            self._count -= len(free)
            self._cond.notify_all()
        for proc in free:
            proc.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
