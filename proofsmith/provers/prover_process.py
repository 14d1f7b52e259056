"""A warm prover kept as a sandboxed process behind pipes, and a pool of them: what Lean and F* share.

Neither the Lean REPL nor `fstar.exe --ide` has a timeout, a memory cap or
crash recovery of its own (repl#94, kimina-lean-server#25), so `PipedProcess`
enforces them from outside, for both:

- each read has a wall-clock deadline; past it the process is killed and the
  request fails with reason `timeout`;
- the process tree's resident memory is polled while a request runs: over
  `memory_mb` it is killed (reason `memory`); the sandbox's cgroup (or
  RLIMIT_AS), set `HARD_CAP_FACTOR` times higher so the monitor acts first,
  is the hard backstop, and a process that died saying it ran out of memory
  is `memory` too;
- a process that dies is `crash`, with the tail of its stderr.

The protocols (blank-line JSON frames for Lean, JSON lines for F*) live in
`lean_repl` and `fstar_ide`; each wraps a `PipedProcess`.

`ProcessPool` keeps warm processes keyed by what they loaded (Lean: the
import header, as Kimina's server does; F*: the file, include path and
context). A free process with the same key is reused; otherwise a new one
starts if there is room, else the least recently used free process of
another key is evicted, else the caller waits (at most `wait_s`). A process
is retired after `max_uses` checks or when its memory passes `recycle_mb`.

`Toolchain` says how to start a prover and what the sandbox must show it.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, Protocol, Self

from pydantic import BaseModel, ConfigDict

from proofsmith.sandbox import Running, Sandbox, SandboxUnsupported, Spawns
from proofsmith.schema import Limits

__all__ = ["HARD_CAP_FACTOR", "PipedProcess", "PooledProcess", "ProcessPool", "ReplFailure", "Toolchain",
           "died_of_memory", "send", "shared_pool", "standin_toolchain", "toolchain_from_env",
           "tree_rss_kb"]

#: The sandbox's hard memory cap is this much above the limit the monitor kills at, so a process that grows is
#: caught by the monitor (reason `memory`) before an allocation fails inside it (which reads as a crash).
HARD_CAP_FACTOR = 1.5
_OOM_TEXTS = ("out of memory", "MemoryError", "std::bad_alloc", "Cannot allocate memory", "Out_of_memory")
_POLL_S = 0.2
#: Writes bigger than this go from a thread (see `send`).
_THREADED_WRITE_BYTES = 16384


class ReplFailure(Exception):
    """A request got no usable answer; `reason` is an unknown-verdict reason (timeout, memory, crash, toolchain)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------- toolchain


class Toolchain(BaseModel):
    """How to start a prover (a Lean REPL, `fstar.exe`): the command, where it runs, what the sandbox must show it."""

    model_config = ConfigDict(frozen=True)

    #: argv of the prover, before the flags its checker adds (e.g. ["lake", "env", "repl"], ["fstar.exe"])
    command: tuple[str, ...]
    #: directory to start it in, inside the sandbox (Lean: the project whose packages it imports)
    cwd: str | None = None
    #: host directories a bwrap sandbox must mount read-only (elan toolchains, F*'s install with its Z3)
    ro_paths: tuple[str, ...] = ()
    #: files put in the sandbox's work dir before start (the stand-in script)
    files: tuple[tuple[str, str], ...] = ()
    #: extra environment variables for the prover
    env: tuple[tuple[str, str], ...] = ()
    #: True for a test stand-in (proofsmith.provers.standins), never a real prover
    standin: bool = False

    def describe(self) -> str:
        """One line for manifests and messages."""
        return ("stand-in: " if self.standin else "") + shlex.join(self.command)


def standin_toolchain(script: str, *flags: str) -> Toolchain:
    """The protocol stand-in `script` (`lean_repl`, `fstar_ide`; NOT the prover: see provers/standins) with flags."""
    from proofsmith.provers.standins import script_source

    name = f"{script}_standin.py"
    return Toolchain(command=("/usr/bin/python3", "-u", name, *flags), files=((name, script_source(script)),),
                     standin=True)


def toolchain_from_env(command_var: str, ro_var: str, *, standin: str, project_var: str | None = None,
                       on_path: str | None = None) -> Toolchain | None:
    """The toolchain environment variables name, or None.

    `command_var` holds the prover's command line, or `standin [FLAGS]` for
    the `standin` script; when it is unset, `on_path` is looked up on PATH.
    `ro_var` lists (colon-separated) host directories a bwrap sandbox must
    mount read-only; `project_var` names the directory to run in (mounted too).
    """
    command = os.environ.get(command_var, "").strip()
    if not command and on_path is not None:
        command = shutil.which(on_path) or ""
    if not command:
        return None
    words = shlex.split(command)
    if words[0] == "standin":
        return standin_toolchain(standin, *words[1:])
    project = (os.environ.get(project_var) or None) if project_var else None
    ro = [p for p in os.environ.get(ro_var, "").split(":") if p]
    if project:
        ro.append(project)
    return Toolchain(command=tuple(words), cwd=project, ro_paths=tuple(dict.fromkeys(ro)))


# --------------------------------------------------------------------------- one process


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


def send(fd: int, data: bytes) -> None:
    """Write all of `data` to a prover's stdin pipe; a big write goes from a thread, so the caller can read.

    A request bigger than the pipe can fill both pipes at once (the prover
    blocks writing its answer while we block writing the request). A write
    to a dead prover is dropped: the read side reports the death.
    """
    if len(data) > _THREADED_WRITE_BYTES:
        threading.Thread(target=_write_all, args=(fd, data), daemon=True).start()
    else:
        _write_all(fd, data)


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        pass


class PipedProcess:
    """A prover started in the sandbox with its stdin and stdout on pipes; reads have deadlines and a memory watch.

    `what` names the prover in failure messages ("the REPL", "F*"). stderr
    stays the sandbox's capture, for the tail a crash reports.
    """

    def __init__(self, toolchain: Toolchain, sandbox: Sandbox, args: Sequence[str], *, what: str, memory_mb: int,
                 pids: int, open_files: int, files: dict[str, str] | None = None) -> None:
        if not isinstance(sandbox, Spawns):
            raise SandboxUnsupported(f"the {sandbox.kind} sandbox cannot keep a prover running ({what}): "
                                     "use bwrap or process")
        self.what = what
        self.memory_mb = memory_mb
        self.alive = False
        self._buf = b""
        to_r, self._to = os.pipe()
        self._from, from_w = os.pipe()
        # bash, not sh: dash cannot redirect from descriptors above 9
        cd = 'cd "$1" || exit 97; ' if toolchain.cwd else ""
        script = f'{cd}shift; exec "$@" <&{to_r} >&{from_w}'
        argv = ["/bin/bash", "-c", script, "bash", toolchain.cwd or ".", *toolchain.command, *args]
        limits = Limits(wall_s=7 * 24 * 3600, cpu_s=7 * 24 * 3600, memory_mb=int(memory_mb * HARD_CAP_FACTOR),
                        pids=pids, output_bytes=1 << 20, file_size_mb=256, open_files=open_files)
        try:
            self._proc: Running = sandbox.spawn(argv, {**dict(toolchain.files), **(files or {})}, limits,
                                                pass_fds=(to_r, from_w), env=dict(toolchain.env))
        finally:
            os.close(to_r)
            os.close(from_w)
        self.alive = True

    def write(self, data: bytes) -> None:
        """Send `data` to the prover's stdin (a dead prover is reported by the next read)."""
        send(self._to, data)

    def read_until(self, separator: bytes, deadline: float) -> bytes:
        """The bytes before the next `separator` on stdout (ReplFailure timeout/memory/crash; the process dies)."""
        while True:
            at = self._buf.find(separator)
            if at >= 0:
                chunk, self._buf = self._buf[:at], self._buf[at + len(separator):]
                return chunk
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise ReplFailure("timeout", f"{self.what} did not answer in time; the process was killed")
            ready, _, _ = select.select([self._from], [], [], min(left, _POLL_S))
            if not ready:
                self.check_memory()
                continue
            data = os.read(self._from, 1 << 16)
            if not data:
                result = self.kill()
                if died_of_memory(result):
                    raise ReplFailure("memory", f"{self.what} ran out of memory (limit {self.memory_mb} MB)")
                tail = (result.stderr.strip()[-300:] if result is not None else "") or "no message"
                code = f"signal {result.signal}" if result is not None and result.signal else \
                    f"exit {result.exit_code if result is not None else '?'}"
                raise ReplFailure("crash", f"{self.what} died ({code}): {tail}")
            self._buf += data

    def check_memory(self) -> None:
        """Kill the prover if its tree passed `memory_mb` (ReplFailure `memory`)."""
        if self.rss_mb() > self.memory_mb:
            self.kill()
            raise ReplFailure("memory", f"{self.what} passed {self.memory_mb} MB; the process was killed")

    def rss_mb(self) -> float:
        """Resident memory of the whole sandboxed tree now, MB (read from outside)."""
        return tree_rss_kb(self._proc.pid) / 1024

    def kill(self) -> Any:
        """Kill the process tree; its RunResult (for the stderr tail and the limit it hit), or None if gone."""
        if not self.alive:
            return None
        self.alive = False
        for fd in (self._to, self._from):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._proc.kill()
        return self._proc.wait(5)


# --------------------------------------------------------------------------- pool


class PooledProcess(Protocol):
    """What `ProcessPool` needs of a process: its key, liveness, use count, age, memory and a way to end it."""

    header: str
    alive: bool
    uses: int
    last_used: float

    def rss_mb(self) -> float: ...

    def close(self) -> None: ...


class ProcessPool:
    """Warm prover processes keyed by what they loaded (see the module docstring).

    `factory(key)` starts a process for a key; `toolchain` and `sandbox` are
    what the processes run and run in (the checkers read them back).
    """

    def __init__(self, toolchain: Toolchain, sandbox: Sandbox, factory: Callable[[str], PooledProcess], *,
                 max_processes: int, max_uses: int, recycle_mb: float, memory_mb: int, wait_s: float = 600.0,
                 what: str = "prover") -> None:
        self.toolchain = toolchain
        self.sandbox = sandbox
        self._factory = factory
        self.max_processes = max(1, max_processes)
        self.max_uses = max_uses
        self.recycle_mb = recycle_mb
        self.memory_mb = memory_mb
        self.wait_s = wait_s
        self.what = what
        self._cond = threading.Condition()
        self._free: list[Any] = []
        self._count = 0
        self._closed = False
        #: counters for tests and benchmarks
        self.started = 0
        self.retired = 0
        self.failed = 0

    def _take(self, key: str, prefer: Callable[[Any], bool] | None) -> Any:
        same = [p for p in self._free if p.header == key and p.alive]
        if prefer is not None:
            same.sort(key=lambda p: not prefer(p))
        if same:
            self._free.remove(same[0])
            return same[0]
        return None

    def _start(self, key: str) -> Any:
        try:
            proc = self._factory(key)
        except BaseException:
            with self._cond:
                self._count -= 1
                self.failed += 1
                self._cond.notify_all()
            raise
        with self._cond:
            self.started += 1
        return proc

    def acquire(self, key: str, prefer: Callable[[Any], bool] | None = None) -> Any:
        """A process with `key` loaded, lent to the caller alone until `release` (ReplFailure `timeout` past wait_s)."""
        deadline = time.monotonic() + self.wait_s
        evict = None
        with self._cond:
            while True:
                if self._closed:
                    raise ReplFailure("internal", f"the {self.what} pool is closed")
                proc = self._take(key, prefer)
                if proc is not None:
                    return proc
                if self._count < self.max_processes:
                    self._count += 1
                    break
                if self._free:  # room only by evicting the least recently used process of another key
                    evict = min(self._free, key=lambda p: p.last_used)
                    self._free.remove(evict)
                    self.retired += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ReplFailure("timeout", f"no {self.what} process became free in {self.wait_s:g} s")
                self._cond.wait(left)
        if evict is not None:
            evict.close()
        return self._start(key)

    def release(self, proc: Any) -> None:
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
    def checkout(self, key: str, prefer: Callable[[Any], bool] | None = None) -> Iterator[Any]:
        """`acquire` and `release` around a block."""
        proc = self.acquire(key, prefer)
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


_POOLS: dict[Hashable, ProcessPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(key: Hashable, make: Callable[[], ProcessPool]) -> ProcessPool:
    """The process-wide pool for `key` (a checker's name, toolchain and sandbox), made by `make` on first use."""
    with _POOLS_LOCK:
        if key not in _POOLS:
            _POOLS[key] = make()
        return _POOLS[key]
