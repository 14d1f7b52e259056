"""Starting a sandboxed process and watching it from outside.

The supervisor owns everything the candidate cannot be trusted with: the wall
clock (RLIMIT_CPU does not stop `sleep`), the output files and their cap, and
the kill of the whole process tree (session, pid namespace and slot cgroup, so
a `setsid` daemon does not outlive the check).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from proofsmith.sandbox import limits as rl
from proofsmith.sandbox import runqueue
from proofsmith.sandbox.slots import Slot
from proofsmith.schema import LimitHit, Limits


class RunResult(BaseModel):
    """What one sandboxed process did."""

    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_memory_kb: int | None = None
    limit_hit: LimitHit | None = None
    sandbox: str
    isolation: list[str] = []
    #: the sandbox itself failed (could not start); the program's result is unknown
    error: str | None = None
    #: seconds the run's live processes had waited for a CPU when its wall time ran out (runqueue.py);
    #: None when the run ended by itself or the kernel keeps no schedstat
    run_delay_s: float | None = None
    #: a process of the run had lowered its own priority by then (so its waiting is its own doing)
    deprioritized: bool = False

    @property
    def ok(self) -> bool:
        """Exited 0 with no limit hit and no sandbox error."""
        return self.error is None and self.exit_code == 0 and self.limit_hit is None


def _read_capped(fh, cap: int) -> tuple[str, bool, int]:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    data = fh.read(cap)
    return data.decode("utf-8", errors="replace"), size > cap, size


class Running:
    """A started sandboxed process; `wait` collects its `RunResult` exactly once."""

    def __init__(
        self,
        proc: subprocess.Popen,
        slot: Slot,
        limits: Limits,
        out, err,
        sandbox: str,
        isolation: list[str],
        on_exit: Callable[[], None],
        decode_signal: Callable[[int], tuple[int | None, int | None]],
        outer: bool = False,
    ) -> None:
        self.proc = proc
        self._outer = outer
        self.pid = proc.pid
        self._slot = slot
        self._limits = limits
        self._out, self._err = out, err
        self._sandbox, self._isolation = sandbox, isolation
        self._on_exit = on_exit
        self._decode = decode_signal
        self._started = time.monotonic()
        self._result: RunResult | None = None
        self._wall_killed = False
        self._stopped = False
        self._queue: runqueue.RunQueue | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(proc.pid)
        except OSError:
            self._pidfd = None

    def cpu_s(self) -> float | None:
        """CPU seconds the run has used so far, measured from outside (slot cgroup)."""
        return self._slot.cgroup.cpu_s()

    def peak_kb(self) -> int | None:
        """Peak memory of the run so far, KiB, measured from outside (slot cgroup)."""
        return self._slot.cgroup.peak_kb()

    def run_queue(self) -> runqueue.RunQueue | None:
        """How long the run's live processes have waited for a CPU, and whether one lowered its priority."""
        pids = self._slot.cgroup.pids_in()
        if pids is None:
            pids = runqueue.descendants([self.pid])
        return runqueue.measure(pids)

    def kill(self) -> None:
        """Kill the whole tree now: every process in the slot cgroup, and the session."""
        cg = self._slot.cgroup
        if self._outer and cg.groups():
            # Program first, sparing the outer process (bwrap), which then reaps it and
            # exits; killing both at once leaves the program a zombie of the host's init.
            cg.kill_all(spare=self.pid)
            if self._wait_exit(1.0):
                return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        cg.kill_all()

    def _wait_exit(self, timeout: float) -> bool:
        if self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], max(0.0, timeout))
            return bool(ready)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return True
            time.sleep(0.002)
        return False

    def finish(self) -> RunResult:
        """Stop the run now because its caller is done with it (no limit it hit), and collect its result.

        A run still going is measured first (`run_queue`, kept in the result) and then killed.
        """
        if self._result is None and not self._stopped:
            self._stopped = True
            if not self._wait_exit(0):
                self._queue = self.run_queue()
                self.kill()
        return self.wait()

    def wait(self, timeout: float | None = None) -> RunResult:
        """Wait up to the wall limit (or `timeout`), kill on expiry, return the result."""
        if self._result is not None:
            return self._result
        budget = self._limits.wall_s if timeout is None else timeout
        remaining = budget - (time.monotonic() - self._started)
        if not self._stopped and not self._wait_exit(remaining):
            self._wall_killed = True
            self._queue = self.run_queue()  # before the kill: a dead process's waiting is gone with it
            self.kill()
        _, status, usage = os.wait4(self.pid, 0)
        self.proc.returncode = status  # keep Popen from waiting on a reaped pid
        wall = time.monotonic() - self._started
        self._slot.cgroup.kill_all()  # nothing of this run survives it
        if self._pidfd is not None:
            os.close(self._pidfd)
        exit_code: int | None = None
        term: int | None = None
        if os.WIFSIGNALED(status):
            term = os.WTERMSIG(status)
        else:
            exit_code, term = self._decode(os.WEXITSTATUS(status))
        stdout, out_trunc, out_size = _read_capped(self._out, self._limits.output_bytes)
        stderr, err_trunc, _ = _read_capped(self._err, self._limits.output_bytes)
        self._out.close()
        self._err.close()
        cg = self._slot.cgroup
        cpu = cg.cpu_s()
        if cpu is None:  # rusage misses grandchildren that a pid-1 reaped
            cpu = usage.ru_utime + usage.ru_stime
        peak = cg.peak_kb()
        hit = rl.limit_hit(
            self._limits,
            wall_killed=self._wall_killed,
            term_signal=term,
            cpu_s=cpu,
            memory_hit=cg.memory_hit(),
            pids_hit=cg.pids_hit(),
            stdout_size=out_size,
            stderr_tail=stderr[-2000:],
        )
        self._on_exit()
        self._result = RunResult(
            exit_code=exit_code,
            signal=term,
            stdout=stdout,
            stderr=stderr,
            stdout_truncated=out_trunc,
            stderr_truncated=err_trunc,
            cpu_s=cpu,
            wall_s=wall,
            peak_memory_kb=peak if peak is not None else usage.ru_maxrss,
            limit_hit=hit,
            sandbox=self._sandbox,
            isolation=self._isolation,
            run_delay_s=self._queue.delay_s if self._queue else None,
            deprioritized=bool(self._queue and self._queue.deprioritized),
        )
        return self._result


def launch(
    argv: Sequence[str],
    *,
    slot: Slot,
    limits: Limits,
    env: dict[str, str],
    cwd: str | None,
    pass_fds: Sequence[int],
    stdin: int | None,
    sandbox: str,
    isolation: list[str],
    on_exit: Callable[[], None],
    decode_signal: Callable[[int], tuple[int | None, int | None]] = lambda code: (code, None),
    pid1: bool = False,
    pids_overhead: int = 0,
    outer: bool = False,
) -> Running:
    """Start `argv` as the slot's uid with its cgroup, rlimits and output files.

    `outer` says `argv` is a sandbox's outer process (bwrap) that reaps the
    program it starts; `kill` then kills the program first and lets it reap.
    """
    cg = slot.cgroup
    # limits.pids counts the program's processes; the sandbox's own come on top.
    cg.prepare(memory_bytes=limits.memory_mb << 20, pids=limits.pids + pids_overhead)
    setup = rl.child_setup(
        uid=slot.uid,
        procs_files=cg.procs_files(),
        limits=rl.rlimits(limits, memory_by_cgroup=cg.memory is not None, pids_by_cgroup=cg.pids is not None),
        cpu=rl.cpu_rlimit(limits, pid1=pid1),
    )
    out = tempfile.TemporaryFile(prefix="proofsmith-out-")
    err = tempfile.TemporaryFile(prefix="proofsmith-err-")
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=cwd,
            pass_fds=tuple(pass_fds),
            start_new_session=True,
            preexec_fn=setup,
        )
    except BaseException:
        out.close()
        err.close()
        raise
    return Running(proc, slot, limits, out, err, sandbox, isolation, on_exit, decode_signal, outer)


def run_via_spawn(
    box,
    argv: Sequence[str],
    files,
    limits: Limits,
    *,
    stdin: bytes | None = None,
    env=None,
) -> RunResult:
    """`run` for sandboxes that have `spawn`: start, wait to the end or the wall limit, return what it did."""
    return box.spawn(argv, files, limits, stdin=stdin, env=env).wait()


#: Overload: the candidate's processes (and the judge) waited for a CPU more than this share of the wall
#: budget, and the candidate got less than (1 - this share) of the CPU time it may use.
OVERLOAD_SHARE = 0.5


def overload(limits: Limits, cand: RunResult, judge_delay_s: float | None = None) -> str | None:
    """Why the machine, not the candidate, used up the wall budget (one line); None when it did not.

    Overload is detected from the kernel's run-queue delay (runqueue.py): the
    candidate's live processes, measured when the budget ran out, and (for
    Python) the judge's own threads (its report) waited for a CPU for more than
    OVERLOAD_SHARE of the budget, while the candidate got less than the rest
    of the CPU time it may use (its CPU limit or its wall budget, whichever
    is smaller): a candidate whose own processes crowd each other gets its
    CPU time and is not overloaded. A candidate that lowered its own
    priority cannot claim overload, nor can any where the kernel keeps no
    schedstat (those time-outs are refuted).
    """
    if cand.deprioritized or (cand.run_delay_s is None and judge_delay_s is None):
        return None
    waited = (cand.run_delay_s or 0.0) + (judge_delay_s or 0.0)
    budget = limits.wall_s
    if waited > OVERLOAD_SHARE * budget and cand.cpu_s < (1.0 - OVERLOAD_SHARE) * min(budget, limits.cpu_s):
        return (f"the machine is overloaded: in the {budget:g} s wall-clock budget the candidate and the judge "
                f"waited {waited:.2f} s for a CPU and the candidate ran {cand.cpu_s:.2f} s; check it again on a "
                "machine with CPU to spare")
    return None
