"""Shared fixtures for the sandbox, checker and efficiency tests.

Everything here drives the real sandboxes (bubblewrap, the process backend)
and the real checker: no mocks.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from proofsmith.schema import Candidate, IOTest, Limits, Task

PYTHON = "/usr/bin/python3"


# --------------------------------------------------------------------------- sandboxes


def _bwrap_or_skip():
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    from proofsmith.sandbox import probe

    if not probe.bwrap_works():
        pytest.skip("bubblewrap cannot create its namespaces on this machine")
    from proofsmith.sandbox import get_sandbox

    return get_sandbox("bwrap")


@pytest.fixture(scope="session")
def bwrap():
    """The default sandbox, `get_sandbox("bwrap")`; skipped where bubblewrap cannot run."""
    return _bwrap_or_skip()


@pytest.fixture(scope="session")
def bwrap_or_skip() -> None:
    """Skip the test where bubblewrap cannot run (for checker tests that go through `check`)."""
    _bwrap_or_skip()


@pytest.fixture(scope="session")
def warm_or_skip() -> None:
    """Skip the test where the warm pool cannot start (its zygotes run in bubblewrap)."""
    _bwrap_or_skip()
    from proofsmith.sandbox import get_sandbox

    get_sandbox("warm")


@pytest.fixture(scope="session")
def process_sandbox():
    """The fallback sandbox (rlimits + slot uid + cgroups); needs root. Created without its warning."""
    if os.geteuid() != 0:
        pytest.skip("the process sandbox drops to slot uids and needs root")
    from proofsmith.sandbox.process import ProcessSandbox

    return ProcessSandbox(slots=2, warn=False)


# --------------------------------------------------------------------------- tasks


ADD_STATEMENT = 'def add(a, b):\n    """Return a + b."""\n'
ADD_TESTS = textwrap.dedent(
    """\
    def check(candidate):
        assert candidate(1, 2) == 3
        assert candidate(-4, 4) == 0
        assert candidate(10, 5) == 15
        assert candidate(2**40, 1) == 2**40 + 1
    """
)


def make_task(
    id: str = "add",
    *,
    entry_point: str = "add",
    statement: str = ADD_STATEMENT,
    test_code: str | None = ADD_TESTS,
    io_tests: list[IOTest] | None = None,
    reference: str | None = None,
    perf_inputs: list[list] | None = None,
    limits: Limits | None = None,
) -> Task:
    """A small Python program Task (by default: `add(a, b)` with four asserts)."""
    return Task(
        id=id,
        language="python",
        kind="program",
        statement=statement,
        entry_point=entry_point,
        test_code=test_code,
        io_tests=io_tests or [],
        reference=reference,
        perf_inputs=perf_inputs or [],
        limits=limits or Limits(wall_s=10, cpu_s=5, memory_mb=512),
    )


@pytest.fixture(scope="session")
def py_task() -> Callable[..., Task]:
    """Factory for small Python Tasks: `py_task(id=..., test_code=..., limits=...)`."""
    return make_task


@pytest.fixture(scope="session")
def candidate() -> Callable[..., Candidate]:
    """Factory: `candidate(task, source)` -> a Candidate (a whole program's source is dedented)."""

    def make(task: Task, source: str, *, id: str | None = None, completion: bool = False) -> Candidate:
        text = source if completion else textwrap.dedent(source)
        return Candidate(task_id=task.id, id=id, text=text, completion=completion)

    return make


# --------------------------------------------------------------------------- HumanEval, checked once


@pytest.fixture(scope="session")
def humaneval_default_verdicts() -> SimpleNamespace:
    """HumanEval's 164 tasks, each with its canonical solution and `return None`, checked once in the default sandbox.

    328 sandboxed checks: the Python checker's test reads them (every canonical
    solution verified, every `return None` refuted) and the warm-pool
    differential compares the warm pool's verdicts with each, so a run pays
    for them once. `elapsed` is the seconds `check_many` took.
    """
    humaneval = pytest.importorskip("proofsmith.datasets.humaneval")
    try:
        tasks = humaneval.load_tasks()
    except humaneval.HumanEvalMissing as exc:
        pytest.skip(str(exc))
    from proofsmith.provers import check_many

    pairs = [*zip(tasks, humaneval.canonical_candidates(tasks)), *zip(tasks, humaneval.wrong_candidates(tasks))]
    started = time.monotonic()
    verdicts = check_many(pairs, jobs=2, use_cache=False)
    return SimpleNamespace(tasks=tasks, pairs=pairs, verdicts=verdicts, elapsed=time.monotonic() - started)


# --------------------------------------------------------------------------- host helpers


def processes_with(marker: bytes) -> list[int]:
    """Host pids whose command line contains `marker` (zombies have none)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                if marker in fh.read():
                    found.append(int(name))
        except OSError:
            continue
    return found


def processes_of_uid(uid: int) -> list[int]:
    """Host pids (not zombies) whose real uid is `uid`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as fh:
                status = fh.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            found.append(int(name))
    return found


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@pytest.fixture
def host() -> SimpleNamespace:
    """Host-side probes: `host.processes_with(marker)`, `host.processes_of_uid(uid)`, `host.wait_until(...)`."""
    return SimpleNamespace(processes_with=processes_with, processes_of_uid=processes_of_uid, wait_until=wait_until)


# --------------------------------------------------------------------------- nothing left on the host


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def host_leftovers() -> list[str]:
    """proofsmith temp dirs and slot cgroups on this host that no live process owns.

    A temp dir is `proofsmith-<kind>-<pid>-...` in the temp dir; one without a
    pid in its name counts too (nothing of this version makes those). A slot
    cgroup is `<pid>-slot<n>` in a `proofsmith` group under this process's
    own cgroup, in each hierarchy.
    """
    found = []
    for path in Path(tempfile.gettempdir()).glob("proofsmith-*"):
        m = re.match(r"^proofsmith-[a-z]+-(\d+)-", path.name)
        if path.is_dir() and (m is None or _dead(int(m.group(1)))):
            found.append(str(path))
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, own = line.split(":", 2)
        for ctrl in ctrls.split(",") if ctrls else [""]:
            base = Path("/sys/fs/cgroup") / ctrl.removeprefix("name=") / own.lstrip("/") / "proofsmith"
            for group in (base.iterdir() if base.is_dir() else ()):
                m = re.match(r"^(\d+)-slot\d+$", group.name)
                if m and _dead(int(m.group(1))):
                    found.append(str(group))
    return sorted(set(found))


def pytest_sessionfinish(session, exitstatus) -> None:
    """Fail the run if a proofsmith process of this host left a temp dir or cgroup behind that cannot be swept.

    Tests kill supervisors on purpose (test_faults, test_sandbox_attacks): the
    next proofsmith process to make a sandbox sweeps what those left, so this
    check sweeps first, as that process would (`leftovers.sweep`), and then
    looks with its own eyes. What remains was either never tied to its
    process (no pid in its name) or still holds a process.
    """
    try:
        from proofsmith.sandbox import leftovers
    except ImportError:
        return
    leftovers.sweep()
    left = host_leftovers()
    if left:
        print(f"\nproofsmith left these behind on the host (no live owner): {', '.join(left[:20])}")
        session.exitstatus = 1
