"""Turning `Limits` into rlimits, and telling which limit a run hit.

rlimits are set in the child between fork and exec, before it drops to the
slot's uid (rlimits never bind root; notes/sandbox.md section 1).
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import signal
from collections.abc import Callable

from proofsmith.schema import LimitHit, Limits

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1


def rlimits(limits: Limits, *, memory_by_cgroup: bool, pids_by_cgroup: bool) -> list[tuple[int, int]]:
    """(resource, value) pairs for a run; soft == hard except for CPU."""
    out = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_FSIZE, max(limits.file_size_mb << 20, limits.output_bytes + 4096)),
    ]
    if not memory_by_cgroup:
        out.append((resource.RLIMIT_AS, limits.memory_mb << 20))
    if not pids_by_cgroup:
        out.append((resource.RLIMIT_NPROC, limits.pids))
    return out


def cpu_rlimit(limits: Limits, *, pid1: bool = False) -> tuple[int, int]:
    """RLIMIT_CPU soft/hard: SIGXCPU at the limit, SIGKILL a second later.

    A program that is pid 1 of its namespace never gets SIGXCPU's default
    action, so for it the hard limit is the limit itself.
    """
    soft = max(1, math.ceil(limits.cpu_s))
    return soft, soft if pid1 else soft + 1


def child_setup(
    *,
    uid: int,
    procs_files: list[bytes],
    limits: list[tuple[int, int]],
    cpu: tuple[int, int],
) -> Callable[[], None]:
    """A preexec function: join the slot cgroups, set rlimits, drop to `uid`.

    It only makes syscalls on precomputed values, which keeps it safe to run
    between fork and exec in a threaded supervisor.
    """
    libc = ctypes.CDLL(None, use_errno=True)

    parent = os.getpid()

    def setup() -> None:
        pid = str(os.getpid()).encode()
        for path in procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        for res, value in limits:
            resource.setrlimit(res, (value, value))
        resource.setrlimit(resource.RLIMIT_CPU, cpu)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        # After the uid change, which clears the parent-death signal (a kill before it was set is caught below).
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(137)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")

    return setup


def limit_hit(
    limits: Limits,
    *,
    wall_killed: bool,
    term_signal: int | None,
    cpu_s: float,
    memory_hit: bool,
    pids_hit: bool,
    stdout_size: int,
    stderr_tail: str,
) -> LimitHit | None:
    """Which limit ended or hampered the run, if any (most decisive first)."""
    if wall_killed:
        return "wall"
    if term_signal == signal.SIGXCPU:
        return "cpu"
    if memory_hit or "MemoryError" in stderr_tail:
        return "memory"
    # The kernel's RLIMIT_CPU SIGKILL; the cgroup's CPU clock may read a hair under the limit.
    if term_signal == signal.SIGKILL and cpu_s >= math.ceil(limits.cpu_s) - 0.05:
        return "cpu"
    if stdout_size > limits.output_bytes or term_signal == signal.SIGXFSZ or "File too large" in stderr_tail:
        return "output" if stdout_size > limits.output_bytes else "file_size"
    if pids_hit or "Resource temporarily unavailable" in stderr_tail and "fork" in stderr_tail:
        return "pids"
    return None
