"""Fault injection: kill the machinery mid-work, starve it of slots or disk, and check the verdicts.

Each test names the failure it injects. The rule every one of them checks:
the check hit by the fault comes back `unknown` (never `verified`), the
system recovers (the next check on the same sandbox or pool is decided
normally), and no other check's result is lost or changed.

Everything runs for real (bubblewrap, coqc, coqtop, the `proofsmith` CLI);
processes are found through this test process's own descendants, or by a
marker only this test writes, never by a broad name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from proofsmith.provers import check
from proofsmith.provers import python as python_checker
from proofsmith.schema import Candidate, Limits, Task, Verdict

ROOT = Path(__file__).resolve().parents[1]
needs_coq = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (apt-get install coq)")


# --------------------------------------------------------------------------- process helpers


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (through /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as fh:
                    children = fh.read().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def pipes_of(pid: int) -> set[str]:
    """The pipe inodes `pid` holds open."""
    found = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("pipe:"):
                found.add(target)
    except OSError:
        pass
    return found


def wait_for(predicate, timeout: float, interval: float = 0.02):
    """Poll until `predicate()` is truthy; its value, or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def py_task(entry: str, wall_s: float = 20) -> Task:
    return Task(id=f"fault-{entry}", language="python", kind="program", statement=f"def {entry}(a, b):\n",
                entry_point=entry,
                test_code="def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 2) == 4\n",
                limits=Limits(wall_s=wall_s, cpu_s=10, memory_mb=256))


def slow_correct(entry: str, seconds: float) -> str:
    return f"import time\n\ndef {entry}(a, b):\n    time.sleep({seconds})\n    return a + b\n"


# --------------------------------------------------------------------------- pool exhaustion


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_fault_pool_exhausted_more_concurrent_python_checks_than_slots(bwrap_or_skip):
    """Inject: 16 Python checks at once on a sandbox with 4 slots (each check needs 2 at a time).

    Before the pair gate in provers/python.py this hung for good: every thread
    held a candidate slot and waited for a judge slot. Now every check is
    decided, with the same verdict it gets alone.
    """
    from proofsmith.sandbox.bwrap import BwrapSandbox

    box = BwrapSandbox(slots=4)
    task = py_task("add")
    cands = [Candidate(task_id=task.id, id=f"c{i}", text=("def add(a, b):\n    return a + b\n" if i % 2 == 0
                                                           else "def add(a, b):\n    return a - b\n"))
             for i in range(16)]
    results: list[Verdict | None] = [None] * len(cands)

    def one(i: int) -> None:
        results[i] = python_checker.check(task, cands[i], sandbox=box)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(cands))]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150 - (time.monotonic() - started))
    assert not any(t.is_alive() for t in threads), "checks still waiting for slots: the pool deadlocked"
    statuses = [v.status if v else None for v in results]
    assert statuses == ["verified", "refuted"] * 8, statuses
    # and the pool is whole again: one more check goes through at once
    assert python_checker.check(task, cands[0], sandbox=box).status == "verified"


def test_fault_every_slot_held_gives_unknown_sandbox_in_one_line_not_a_hang(bwrap_or_skip, monkeypatch):
    """Inject: every slot of the shared bwrap sandbox held (as warm provers hold theirs), then a check.

    Before SLOT_WAIT_S a run waited for a slot forever; now the check is
    `unknown` (reason sandbox) with one line saying what to do, and the next
    check, once a slot is free, is decided as usual.
    """
    from proofsmith.sandbox import get_sandbox, slots

    monkeypatch.setattr(slots, "SLOT_WAIT_S", 0.5)
    box = get_sandbox("bwrap")
    task = py_task("add")
    cand = Candidate(task_id=task.id, text="def add(a, b):\n    return a + b\n")
    held = []
    try:
        while len(held) < box.slots.size:
            held.append(box.slots.acquire(timeout=5))
        started = time.monotonic()
        busy = check(task, cand, sandbox="bwrap", use_cache=False)
        assert time.monotonic() - started < 30
    finally:
        for slot in held:
            box.slots.release(slot)
    assert busy.status == "unknown" and busy.reason == "sandbox", busy.diagnostics
    assert "no sandbox slot came free" in busy.diagnostics[0].message and "\n" not in busy.diagnostics[0].message
    assert check(task, cand, sandbox="bwrap", use_cache=False).status == "verified"


# --------------------------------------------------------------------------- a checker process killed


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_fault_python_judge_killed_mid_check_is_unknown_and_the_other_check_is_untouched(bwrap):
    """Inject: SIGKILL the judge process of one of two concurrent Python checks while it waits on a call.

    The victim's candidate is correct, so a verified would be a lie about a
    check that never finished: it must be unknown. The neighbour, running at
    the same time on the same sandbox, is verified; the victim's check run
    again afterwards is verified.
    """
    victim_task, other_task = py_task("victim_add"), py_task("other_add")
    victim = Candidate(task_id=victim_task.id, text=slow_correct("victim_add", 2.0))
    other = Candidate(task_id=other_task.id, text=slow_correct("other_add", 1.0))
    t_victim, victim_box = in_thread(check, victim_task, victim, sandbox="bwrap", use_cache=False)
    t_other, other_box = in_thread(check, other_task, other, sandbox="bwrap", use_cache=False)

    def victims_judge() -> int | None:
        # the victim's candidate is the one serving `victim_add`; its judge holds the other ends of its pipes
        procs = descendants(os.getpid())
        cand = [p for p in procs if b"victim_add" in cmdline(p) and b"serve" in cmdline(p)
                and not cmdline(p).startswith(b"/usr/bin/bwrap")]
        if not cand:
            return None
        pipes = pipes_of(cand[0])
        judges = [p for p in procs if b"judge" in cmdline(p) and not cmdline(p).startswith(b"/usr/bin/bwrap")
                  and pipes & pipes_of(p)]
        return judges[0] if judges else None

    judge = wait_for(victims_judge, 20)
    assert judge, "the victim's judge never showed up"
    time.sleep(0.3)  # the judge is now waiting on the candidate's first (slow) answer
    os.kill(judge, signal.SIGKILL)
    t_victim.join(60)
    t_other.join(60)
    assert "error" not in victim_box and "error" not in other_box, (victim_box, other_box)
    killed: Verdict = victim_box["value"]
    assert killed.status == "unknown" and killed.reason == "crash", killed
    assert other_box["value"].status == "verified", other_box["value"]
    assert check(victim_task, victim, sandbox="bwrap", use_cache=False).status == "verified"


@needs_coq
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_fault_coqc_killed_mid_check_is_unknown_and_coq_recovers(bwrap):
    """Inject: SIGKILL coqc while it compiles a (correct, slow) proof; a Python check runs beside it."""
    marker = f"ps_fault_{uuid.uuid4().hex[:8]}"
    task = Task(id=marker, language="coq", kind="proof", statement=f"Theorem {marker} : 1 = 1.",
                options={"name": marker}, limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048))
    slow = Candidate(task_id=task.id, text="do 1000000000 idtac.\nreflexivity.")
    t_coq, coq_box = in_thread(check, task, slow, sandbox="bwrap", use_cache=False)
    py = py_task("beside_add")
    t_py, py_box = in_thread(check, py, Candidate(task_id=py.id, text=slow_correct("beside_add", 0.5)),
                             sandbox="bwrap", use_cache=False)

    def coqc() -> int | None:
        # coqc compiling Task.v in its sandbox (bwrap execs it: the cmdline is coqc's own); a task without a
        # reference proof has exactly one such run
        found = [p for p in descendants(os.getpid())
                 if cmdline(p).startswith(b"/usr/bin/coqc") and cmdline(p).endswith(b"Task.v\0")]
        return found[0] if len(found) == 1 else None

    pid = wait_for(coqc, 30)
    assert pid, "coqc never started"
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    t_coq.join(60)
    t_py.join(60)
    verdict: Verdict = coq_box["value"]
    assert verdict.status == "unknown" and verdict.reason == "crash", verdict
    assert py_box["value"].status == "verified", py_box["value"]
    fast = Candidate(task_id=task.id, text="reflexivity.")
    assert check(task, fast, sandbox="bwrap", use_cache=False).status == "verified"


@needs_coq
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_fault_coq_session_killed_mid_step_is_unknown_and_the_pool_restarts_it(bwrap):
    """Inject: SIGKILL the warm coqtop while a (slow) tactic runs; the next step gets a fresh session."""
    from proofsmith.provers.coq_session import SessionPool

    marker = f"ps_fault_{uuid.uuid4().hex[:8]}"
    task = Task(id=marker, language="coq", kind="proof", statement=f"Theorem {marker} : forall n : nat, n = n.",
                options={"name": marker}, limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048))
    with SessionPool(bwrap, max_sessions=1, step_timeout_s=30) as pool:
        root = pool.open(task)
        intro = pool.step(root, "intro n.")
        assert intro.status == "ok" and intro.state is not None
        coqtops = [p for p in descendants(os.getpid()) if cmdline(p).startswith(b"/usr/bin/coqtop")]
        assert len(coqtops) == 1, coqtops
        t, box = in_thread(pool.step, intro.state, "do 1000000000 idtac.")
        time.sleep(1.0)
        os.kill(coqtops[0], signal.SIGKILL)
        t.join(60)
        result = box["value"]
        assert result.status == "unknown" and result.reason == "crash", result
        assert result.state is None
        # recovery: the same state, stepped again, is replayed in a new session and finishes the proof
        done = pool.step(intro.state, "reflexivity.")
        assert done.status == "ok" and done.solved, done
        assert pool.started == 2
        whole = pool.check(task, Candidate(task_id=task.id, text="intro n. reflexivity."))
        assert whole.status == "verified", whole


# --------------------------------------------------------------------------- the supervisor killed


def _cli_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PROOFSMITH_NO_CACHE",)}
    env.update(PYTHONPATH=str(ROOT), PROOFSMITH_CACHE_DIR=str(cache))
    return env


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_fault_supervisor_killed_mid_batch_leaves_no_sandbox_and_loses_no_decided_verdict(bwrap, tmp_path):
    """Inject: SIGKILL the `proofsmith check` process (the sandboxes' supervisor) in the middle of a batch.

    Nothing it started outlives it; the verdicts decided before the kill are
    in the cache and come back on the rerun; the check that was running gets
    no verdict from the killed run and is decided afresh by the rerun.
    """
    marker = f"ps_fault_{uuid.uuid4().hex[:8]}"
    tasks, cands = [], []
    for i in range(4):
        entry = f"{marker}_{i}"
        tasks.append(py_task(entry).model_dump(mode="json"))
        slow = i == 3
        body = slow_correct(entry, 3.0) if slow else f"def {entry}(a, b):\n    return a {'+' if i % 2 == 0 else '-'} b\n"
        cands.append({"task_id": f"fault-{entry}", "id": f"c{i}", "text": body})
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cands))
    cache = tmp_path / "cache"
    argv = [sys.executable, "-m", "proofsmith.cli", "check", str(tmp_path / "t.jsonl"), str(tmp_path / "c.jsonl"),
            "--json", "--jobs", "1", "--sandbox", "bwrap"]
    proc = subprocess.Popen(argv, env=_cli_env(cache), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    slow_entry = f"{marker}_3".encode()
    try:
        running = wait_for(lambda: [p for p in descendants(proc.pid) if slow_entry in cmdline(p)], 60)
        assert running, "the slow check never started"
        time.sleep(0.5)
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def leftovers() -> list[int]:
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and marker.encode() in cmdline(int(p))]

    assert wait_for(lambda: not leftovers(), 5) is not None or not leftovers(), f"survivors: {leftovers()}"
    rerun = subprocess.run(check=False, args=argv, env=_cli_env(cache), cwd=ROOT, capture_output=True, text=True, timeout=120)
    verdicts = [Verdict.model_validate_json(line) for line in rerun.stdout.splitlines()]
    assert [v.status for v in verdicts] == ["verified", "refuted", "verified", "verified"], rerun.stderr
    assert [v.cached for v in verdicts] == [True, True, True, False], "decided verdicts were lost or the killed " \
                                                                      "check was cached"


# --------------------------------------------------------------------------- a full disk


def _can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(check=False, args=["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, timeout=10)
    return probe.returncode == 0


_BOOT = """
import sys, tempfile
disk, mode = sys.argv.pop(1), sys.argv.pop(1)
tempfile.tempdir = disk + "/tmp"  # tempfile would skip a full TMPDIR: set the supervisor's choice directly
if mode == "fill-after-start":
    from proofsmith.sandbox import get_sandbox
    get_sandbox("bwrap")  # the sandbox is up, then the disk fills
    with open(disk + "/fill", "ab") as fh:
        try:
            while True:
                fh.write(bytes(65536))
                fh.flush()
        except OSError:
            pass
from proofsmith.cli import main
main(sys.argv[1:])
"""


@needs_coq
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_fault_full_disk_under_the_supervisor_gives_unknown_never_verified_and_recovers(bwrap, tmp_path):
    """Inject: the supervisor's temp dir (candidate output files) and cache dir are on a full 1 MiB tmpfs.

    Run in a private mount namespace (`unshare -m`), so nothing else on the
    machine sees the small file system. Full before start: one error line,
    exit 2, no verdict. Filled after the sandbox started: nothing comes back
    verified (the candidates are correct, so anything decided would be
    verified: each must be unknown), no traceback. With the disk freed, the
    same checks verify.
    """
    if not _can_mount_tmpfs():
        pytest.skip("cannot mount a private tmpfs here (needs root and unshare -m)")
    coq = {"id": "full-coq", "language": "coq", "kind": "proof", "statement": "Theorem full_coq : 2 + 2 = 4.",
           "options": {"name": "full_coq"}, "limits": {"wall_s": 60, "cpu_s": 60, "memory_mb": 2048}}
    py = py_task("full_add").model_dump(mode="json")
    (tmp_path / "t.jsonl").write_text(json.dumps(coq) + "\n" + json.dumps(py) + "\n")
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"task_id": "full-coq", "id": "coq", "text": "reflexivity."}) + "\n"
        + json.dumps({"task_id": py["id"], "id": "py", "text": "def full_add(a, b):\n    return a + b\n"}) + "\n")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = textwrap.dedent(f"""
        mount -t tmpfs -o size=1m tmpfs {disk} || exit 9
        mkdir -p {disk}/tmp {disk}/cache
        dd if=/dev/zero of={disk}/fill bs=64k count=64 2>/dev/null
        echo FULL $(df --output=avail {disk} | tail -1)
        PROOFSMITH_CACHE_DIR={disk}/cache "$@" {disk} full-before-start {{args}}; echo "EXIT $?"
        rm {disk}/fill
        echo PHASE2
        PROOFSMITH_CACHE_DIR={disk}/cache "$@" {disk} fill-after-start {{args}}; echo "EXIT $?"
        rm {disk}/fill
        echo PHASE3
        PROOFSMITH_CACHE_DIR={disk}/cache "$@" {disk} freed {{args}}; echo "EXIT $?"
    """).replace("{args}", f"check {tmp_path}/t.jsonl {tmp_path}/c.jsonl --json --jobs 1 --sandbox bwrap")
    env = {k: v for k, v in os.environ.items() if k not in ("PROOFSMITH_NO_CACHE", "PROOFSMITH_CACHE_DIR")}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(check=False, args=["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-c", _BOOT],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=200)
    log = out.stdout + out.stderr
    assert "FULL 0" in out.stdout, log
    assert "Traceback" not in out.stderr, log
    before, after_start, freed = out.stdout.split("FULL 0", 1)[1].replace("PHASE3", "PHASE2").split("PHASE2")

    def verdicts(text: str) -> list[Verdict]:
        return [Verdict.model_validate_json(line) for line in text.splitlines() if line.startswith("{")]

    assert "EXIT 2" in before and not verdicts(before), log  # the sandbox cannot start: one error line
    assert [line for line in out.stderr.splitlines() if line.startswith("error:")][:1], log
    filled = verdicts(after_start)
    assert [v.candidate_id for v in filled] == ["coq", "py"], log
    assert all(v.status == "unknown" for v in filled), [(v.status, v.reason, v.diagnostics[:1]) for v in filled]
    assert "EXIT 1" in after_start, log
    assert [v.status for v in verdicts(freed)] == ["verified", "verified"], log
    assert "EXIT 0" in freed, log
