"""How long a process tree waited for a CPU, and whether it lowered its own priority (standard library only).

The kernel counts, per thread, the time it was runnable but not running (its
run-queue delay: `/proc/<pid>/task/<tid>/schedstat`, second field, in ns).
A candidate that ran past its wall budget while its processes spent most of
that budget in the run queue was starved by the machine, not slow by itself:
that is how the Python checker tells overload (unknown) from a candidate's
own timeout (refuted).

A process can make itself wait (nice, SCHED_IDLE/BATCH, a narrow CPU mask,
sched_yield, its autogroup's nice): the seccomp filter refuses those calls,
and `measure` reports a process that lowered its priority anyway (through
/proc/<pid>/autogroup) so that its waiting is never read as overload.

This file also runs inside the warm pool's zygotes, so it imports nothing
of proofsmith.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NamedTuple

_SCHED_OTHER = 0


class RunQueue(NamedTuple):
    """What `measure` found for a set of live processes."""

    #: seconds the processes' threads were runnable but waited for a CPU, since each started
    delay_s: float
    #: some process runs at a lower priority than the supervisor gave it (nice, policy or autogroup)
    deprioritized: bool


def _stat_fields(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    return data[data.rfind(b")") + 2:].decode().split()


def descendants(roots: Iterable[int]) -> set[int]:
    """`roots` and every live process below them, from the parent pids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(f"/proc/{name}/stat")
        if fields and len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(name))
    found: set[int] = set()
    todo = [pid for pid in roots if os.path.exists(f"/proc/{pid}")]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _autogroup_nice(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/autogroup") as fh:
            return int(fh.read().split()[-1])  # "/autogroup-123 nice 0"
    except (OSError, ValueError, IndexError):
        return 0


def measure(pids: Iterable[int]) -> RunQueue | None:
    """Run-queue delay of every thread of `pids`, and whether any runs at a lower priority than the caller.

    The caller is the supervisor that started them, whose nice they inherit;
    each sandbox starts its processes in a session of their own, whose
    autogroup starts at nice 0. None when this kernel keeps no schedstat
    (then overload cannot be told).
    """
    base_nice = os.getpriority(os.PRIO_PROCESS, 0)
    delay_ns, deprioritized, seen = 0, False, False
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # gone already
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    delay_ns += int(fh.read().split()[1])
                seen = True
            except (OSError, ValueError, IndexError):
                continue
            fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
            # fields from the state (field 3): nice is field 19, policy field 41
            if fields and len(fields) > 38 and (int(fields[16]) > base_nice or int(fields[38]) != _SCHED_OTHER):
                deprioritized = True
        if _autogroup_nice(pid) > 0:
            deprioritized = True
    return RunQueue(delay_ns / 1e9, deprioritized) if seen else None
