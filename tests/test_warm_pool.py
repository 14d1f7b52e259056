"""The warm pool (`--sandbox warm`): what a candidate forked from a zygote can find, and the pool's wire protocol.

Everything runs for real: zygotes in bubblewrap, the real harness, the real
Python checker. The thief (tests/spec_thief.py) looks for the judge's spec in
every frame of its stack, every GC-tracked object and every readable byte of
its own memory; before the fix it found the spec in the zygote's read buffer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import spec_thief

from proofsmith.provers import check
from proofsmith.provers import python as python_checker
from proofsmith.schema import Candidate, IOTest, Limits, Task

pytestmark = pytest.mark.usefixtures("warm_or_skip")


def messages(verdict) -> str:
    return "\n".join(d.message for d in verdict.diagnostics)


def secret_task(secret: str) -> Task:
    """A task whose only right answers are `secret`-bearing strings, in both test_code and io_tests."""
    tests = textwrap.dedent(f"""\
        def check(candidate):
            assert candidate(1) == "{secret}-one"
            assert candidate(2) == "{secret}-two"
    """)
    return Task(id=f"thief-{secret[:8]}", language="python", kind="program", statement="def answer(x):\n",
                entry_point="answer", test_code=tests,
                io_tests=[IOTest(args=[3], expected=f"{secret}-three")],
                limits=Limits(wall_s=10, cpu_s=5, memory_mb=512))


def right_answer(secret: str) -> str:
    return f"def answer(x):\n    return {{1: '{secret}-one', 2: '{secret}-two', 3: '{secret}-three'}}[x]\n"


@pytest.mark.timeout(60)
def test_the_thief_steals_nothing_from_a_warm_candidate_process():
    secret = f"secret-{uuid.uuid4().hex}"
    task = secret_task(secret)
    v = check(task, Candidate(task_id=task.id, text=spec_thief.program("answer")), sandbox="warm", use_cache=False)
    assert v.status == "refuted", v
    assert spec_thief.MARKER in messages(v), messages(v)  # it looked, and found nothing


@pytest.mark.timeout(60)
def test_the_previous_checks_spec_is_not_in_the_next_candidates_memory():
    """The same task checked twice on one zygote: the second candidate scans memory the first check's spec passed through."""
    secret = f"secret-{uuid.uuid4().hex}"
    task = secret_task(secret)
    first = check(task, Candidate(task_id=task.id, text=right_answer(secret)), sandbox="warm", use_cache=False)
    assert first.status == "verified", first
    v = check(task, Candidate(task_id=task.id, text=spec_thief.program("answer")), sandbox="warm", use_cache=False)
    assert v.status == "refuted", v
    assert spec_thief.MARKER in messages(v), messages(v)


@pytest.mark.timeout(60)
def test_the_thief_does_find_a_spec_that_is_in_its_memory():
    """Control for the tests above: the thief finds test code and io tests when they are in its process."""
    secret = f"secret-{uuid.uuid4().hex}"
    task = secret_task(secret)
    planted = json.dumps({"test_code": task.test_code, "io_tests": [{"args": [3], "expected": f"{secret}-three"}]})
    source = f"_PLANTED = {planted.encode()!r}\n" + spec_thief.program("answer")
    v = check(task, Candidate(task_id=task.id, text=source), sandbox="warm", use_cache=False)
    assert v.status == "verified", v


@pytest.mark.timeout(60)
def test_the_frames_above_a_warm_candidate_hold_no_test_or_expected_value():
    """The candidate lists every local of every frame up its stack; none holds the task's test text."""
    secret = f"secret-{uuid.uuid4().hex}"
    task = secret_task(secret)
    source = textwrap.dedent(f"""
        import sys
        def answer(x):
            seen = []
            frame = sys._getframe()
            while frame is not None:
                for name, value in list(frame.f_locals.items()):
                    text = value if isinstance(value, str) else bytes(value).decode("latin-1") \\
                        if isinstance(value, (bytes, bytearray, memoryview)) else repr(value)
                    if "{secret[:14]}" + "{secret[14:]}" in text:
                        return text
                    seen.append(frame.f_code.co_name + "." + name)
                frame = frame.f_back
            raise RuntimeError("FRAMES " + " ".join(seen))
    """)
    v = check(task, Candidate(task_id=task.id, text=source), sandbox="warm", use_cache=False)
    assert v.status == "refuted", v
    assert "FRAMES" in messages(v), messages(v)
    assert "zygote" in messages(v) or "serve" in messages(v), messages(v)  # it did walk up into the zygote's frames


@pytest.mark.timeout(120)
@pytest.mark.parametrize("changed", ["zygote_server.py", "zygote.py", "runqueue.py", "bwrap.py"])
def test_the_python_checker_version_changes_with_the_sandbox_code(tmp_path, changed):
    """Cached verdicts are keyed by CHECKER_VERSION: a fix in the sandbox must not leave old verdicts valid."""
    package = Path(python_checker.__file__).parents[1]
    copy = tmp_path / "proofsmith"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "sandbox" / changed
    target.write_text(target.read_text() + "\n# a fix\n")
    out = subprocess.run([sys.executable, "-c", "from proofsmith.provers import python; print(python.CHECKER_VERSION)"],
                         check=False, capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)}, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() != python_checker.CHECKER_VERSION


@pytest.mark.timeout(60)
@pytest.mark.parametrize("frame", [b"\x00\x00\x00\x09{}", b"\x00\x00", b"\x00\x00\x00\x02[]"])
def test_a_malformed_frame_ends_the_zygote_and_the_pool_starts_a_new_one(frame):
    """Frames are length-prefixed JSON objects read whole: a prefix that disagrees, a short frame or a non-object ends it."""
    from proofsmith.sandbox.zygote import WarmPool

    pool = WarmPool(1)
    try:
        worker = pool._acquire(python_checker.WARM_PROGRAM)
        worker.sock.send(frame)
        assert worker.proc.wait(timeout=20) != 0
        pool._retire(worker)
        task = secret_task(f"secret-{uuid.uuid4().hex}")
        secret = task.io_tests[0].expected.removesuffix("-three")
        v = python_checker.check(task, Candidate(task_id=task.id, text=right_answer(secret)), sandbox=pool)
        assert v.status == "verified", v
    finally:
        pool.close()
