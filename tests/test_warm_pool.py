"""The warm pool (`--sandbox warm`): what a candidate forked from a zygote can find, and the pool's wire protocol.

Everything runs for real: zygotes in bubblewrap, the real harness, the real
Python checker. The thief (tests/spec_thief.py) looks for the judge's spec in
every frame of its stack, every GC-tracked object and every readable byte of
its own memory; before the fix it found the spec in the zygote's read buffer.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import textwrap
import uuid

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
