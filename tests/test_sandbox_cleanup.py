"""Nothing a proofsmith process makes on the host outlives it: temp dirs and slot cgroups.

Each test runs real proofsmith processes (the warm pool, bubblewrap, the
process sandbox) as subprocesses with a private TMPDIR, lets them exit or
kills them, and then looks at the host: the private temp dir, and the
`proofsmith` cgroups under this process's own cgroup paths (a subprocess
inherits them). Slot cgroups are named `<pid>-slot<n>` by the process that
made them, which is how a leftover is tied to its dead owner here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("warm_or_skip")

ROOT = Path(__file__).resolve().parents[1]
_SLOT = re.compile(r"^(\d+)-slot\d+$")


def proofsmith_cgroup_dirs() -> list[Path]:
    """The `proofsmith` dir of each cgroup hierarchy this process sits in (v1 per controller, v2 unified)."""
    found = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        names = ctrls.split(",") if ctrls else ["unified"]
        for name in names:
            root = Path("/sys/fs/cgroup") / ("" if name == "unified" and Path("/sys/fs/cgroup/cgroup.controllers").exists()
                                             else name.removeprefix("name="))
            base = root / path.lstrip("/") / "proofsmith"
            if base.is_dir():
                found.append(base)
    return sorted(set(found))


def slot_cgroups_of(pid: int) -> list[Path]:
    """Slot cgroups named for `pid`."""
    return [group for base in proofsmith_cgroup_dirs() for group in base.iterdir()
            if (m := _SLOT.match(group.name)) and int(m.group(1)) == pid]


def run_script(source: str, tmpdir: Path, **kwargs) -> subprocess.Popen:
    """Start `source` in a fresh interpreter with TMPDIR=`tmpdir`; its stdout is a pipe."""
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(source)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


CHECKS = """
    import os, sys
    from proofsmith.provers import check
    from proofsmith.schema import Candidate, Limits, Task
    task = Task(id="add", language="python", kind="program", statement="def add(a, b):\\n",
                entry_point="add", test_code="def check(candidate):\\n    assert candidate(1, 2) == 3\\n",
                limits=Limits(wall_s=10, cpu_s=5, memory_mb=256))
    cand = Candidate(task_id="add", text="def add(a, b):\\n    return a + b\\n")
    for sandbox in ("warm", "bwrap"):
        v = check(task, cand, sandbox=sandbox, use_cache=False)
        assert v.status == "verified", v
    print(os.getpid(), flush=True)
"""


@pytest.mark.timeout(120)
def test_a_process_that_used_the_warm_pool_and_bwrap_leaves_no_temp_dir_or_cgroup(tmp_path):
    proc = run_script(CHECKS, tmp_path)
    out, err = proc.communicate(timeout=100)
    assert proc.returncode == 0, err.decode()[-2000:]
    pid = int(out.split()[-1])
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("proofsmith-")]
    assert not slot_cgroups_of(pid)


@pytest.mark.timeout(120)
def test_the_leftovers_of_a_killed_process_are_swept_by_the_next_one(tmp_path, host):
    """SIGKILL a process mid-check (no atexit runs), then start another: it removes what the dead one left."""
    if os.geteuid() != 0:
        pytest.skip("the process sandbox (whose work dir is the temp-dir leftover here) needs root")
    marker = f"ps-cleanup-{uuid.uuid4().hex}"
    victim = run_script(textwrap.dedent(CHECKS) + textwrap.dedent(f"""
        from proofsmith.sandbox.process import ProcessSandbox
        box = ProcessSandbox(slots=1, warn=False)
        print("sleeping", flush=True)
        box.run(["/usr/bin/python3", "-c", "import time; time.sleep(60)", "{marker[:12]}" + "{marker[12:]}"], {{"note.txt": "x"}},
                Limits(wall_s=60, cpu_s=60))
    """), tmp_path, start_new_session=True)
    line = victim.stdout.readline()
    assert line.strip().isdigit(), victim.stderr.read().decode()[-2000:] if victim.wait() else line
    pid = int(line)
    assert victim.stdout.readline().strip() == b"sleeping"
    assert host.wait_until(lambda: host.processes_with(marker.encode()), 10)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    # the sleeper dies with its supervisor (PDEATHSIG); what stays is the dead pid's work dir and slot cgroups
    assert host.wait_until(lambda: not host.processes_with(marker.encode()), 10)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("proofsmith-")]
    assert leftovers, "the killed process left nothing: this test would prove nothing"
    assert slot_cgroups_of(pid), "the killed process left no slot cgroup: this test would prove nothing"
    # a temp dir of the old warm pool (no pid in its name), from before this change
    legacy = tmp_path / "proofsmith-zygote-abc12345"
    legacy.mkdir()
    old = time.time() - 3600
    os.utime(legacy, (old, old))
    nxt = run_script("""
        from proofsmith.sandbox import get_sandbox
        get_sandbox("bwrap")
    """, tmp_path)
    _, err = nxt.communicate(timeout=60)
    assert nxt.returncode == 0, err.decode()[-2000:]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("proofsmith-")]
    assert not slot_cgroups_of(pid)
