"""Telling an overloaded machine (unknown) from a candidate that takes too long (refuted), for real.

The overload is injected: this thread and four busy-looping processes are
pinned to one CPU, so a candidate started from here (bubblewrap inherits the
CPU mask) gets a fifth of it. Each busy loop runs in a session of its own, as
a sandboxed candidate does, so that the scheduler's autogroups weigh them
alike. The run-queue probe (sandbox/runqueue.py) is exercised on real
processes of this host.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from proofsmith.provers import check
from proofsmith.sandbox import runqueue
from proofsmith.schema import Candidate, Limits, Task

pytestmark = pytest.mark.usefixtures("bwrap_or_skip")

BUSY = "def add(a, b):\n    while True:\n        pass\n"


def add_task(wall_s: float) -> Task:
    return Task(id="add", language="python", kind="program", statement="def add(a, b):\n", entry_point="add",
                test_code="def check(candidate):\n    assert candidate(1, 2) == 3\n",
                limits=Limits(wall_s=wall_s, cpu_s=wall_s, memory_mb=256))


def _started(code: str, cpu: int | None = None) -> subprocess.Popen:
    """A Python process in a session (and autogroup) of its own, once it has said it is running `code`."""
    proc = subprocess.Popen([sys.executable, "-c", f"print('up', flush=True)\n{code}"], stdout=subprocess.PIPE,
                            start_new_session=True)
    if cpu is not None:
        os.sched_setaffinity(proc.pid, {cpu})
    assert proc.stdout.readline().strip() == b"up"
    return proc


def _spin(cpu: int) -> subprocess.Popen:
    return _started("while True: pass", cpu)


@pytest.mark.timeout(60)
def test_a_candidate_starved_of_cpu_by_other_processes_is_unknown_overload():
    cpu = min(os.sched_getaffinity(0))
    mask = os.sched_getaffinity(0)
    hogs = [_spin(cpu) for _ in range(4)]
    try:
        os.sched_setaffinity(0, {cpu})  # this thread only: the sandbox it starts inherits the mask
        v = check(add_task(2), Candidate(task_id="add", text=BUSY), sandbox="bwrap", use_cache=False)
    finally:
        os.sched_setaffinity(0, mask)
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert v.status == "unknown" and v.reason == "overload", v
    assert "overloaded" in v.diagnostics[0].message and "\n" not in v.diagnostics[0].message


@pytest.mark.timeout(60)
def test_the_same_candidate_gets_the_same_starvation_from_itself_and_is_refuted():
    """Control: the candidate forks the four busy loops itself, onto every CPU it has: its own doing."""
    source = ("import os\n"
              "def add(a, b):\n"
              "    for _ in range(4):\n"
              "        if os.fork() == 0:\n"
              "            break\n"
              "    while True:\n"
              "        pass\n")
    task = add_task(2)
    task.limits.pids = 16
    v = check(task, Candidate(task_id="add", text=source), sandbox="bwrap", use_cache=False)
    if v.status == "unknown" and v.reason == "overload":
        # the candidate's own processes share one autogroup: other load can still starve the lot
        pytest.skip(f"this machine was overloaded during the check: {v.diagnostics[0].message}")
    assert v.status == "refuted" and v.reason == "timeout", v


def test_the_run_queue_probe_sees_waiting_and_lowered_priority_on_real_processes():
    cpu = min(os.sched_getaffinity(0))
    pinned = [_spin(cpu) for _ in range(3)]
    nice = _started("import os, time; os.nice(5); print('set', flush=True); time.sleep(30)")
    autogroup = _started("open('/proc/self/autogroup', 'w').write('19'); print('set', flush=True)\n"
                         "import time; time.sleep(30)")
    plain = _started("print('set', flush=True); import time; time.sleep(30)")
    try:
        for proc in (nice, autogroup, plain):
            assert proc.stdout.readline().strip() == b"set"
        time.sleep(1.0)
        crowded = runqueue.measure([p.pid for p in pinned])
        if crowded is None:
            pytest.skip("this kernel keeps no schedstat")
        assert crowded.delay_s > 1.0, crowded  # three loops on one CPU: each waits about 2/3 of the second
        assert not crowded.deprioritized
        assert runqueue.measure([nice.pid]).deprioritized
        if os.path.exists("/proc/self/autogroup"):
            assert runqueue.measure([autogroup.pid]).deprioritized
        assert not runqueue.measure([plain.pid]).deprioritized
        assert runqueue.descendants([os.getpid()]) >= {p.pid for p in (*pinned, nice, autogroup, plain)}
    finally:
        for proc in (*pinned, nice, autogroup, plain):
            proc.kill()
            proc.wait()
