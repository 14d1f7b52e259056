"""The frame every checker shares (provers/prover_check.py): versions, tool versions, resources, the prover skeleton.

The checkers' own tests (test_coq_checker, test_lean, test_fstar, test_python_checker, test_smt) show the verdicts
each builds through it; these pin the shared pieces directly. The `ProverSetup.check` tests give it jobs whose runs
are plain functions in place of a Lean or F* process (neither prover runs here): they test the skeleton's choices
(no toolchain, a refutation before any run, one-shot or pool, the one retry), not a prover.
"""

from __future__ import annotations

import sys

import pytest

from proofsmith.provers.prover_check import (
    CheckFrame,
    Outcome,
    ProverJob,
    ProverSetup,
    checker_manifest,
    checker_version,
    tool_version,
)
from proofsmith.provers.prover_process import ReplFailure, Toolchain
from proofsmith.sandbox import Spawns
from proofsmith.schema import Candidate, Limits, Task

TASK = Task(id="t", language="lean", kind="proof", statement="theorem t : True", limits=Limits(wall_s=5))
CANDIDATE = Candidate(task_id="t", id="c", text="trivial")


def test_checker_version_follows_every_named_module_and_only_them(tmp_path):
    for name, text in (("a.py", "x = 1\n"), ("b.py", "y = 2\n"), ("c.py", "z = 3\n")):
        (tmp_path / name).write_text(text)
    anchor = str(tmp_path / "a.py")
    first = checker_version(anchor, ("a.py", "b.py"))
    assert first.startswith("1+") and len(first) == 2 + 12
    assert checker_version(anchor, ("a.py", "b.py"), generation="2") == "2+" + first[2:]
    (tmp_path / "c.py").write_text("z = 4\n")  # not named: same version
    assert checker_version(anchor, ("a.py", "b.py")) == first
    (tmp_path / "b.py").write_text("y = 3\n")
    assert checker_version(anchor, ("a.py", "b.py")) != first


def test_tool_version_is_what_the_tool_prints_or_none(tmp_path):
    assert tool_version([sys.executable, "-c", "print(' 9.9 build ')"]) == "9.9 build"
    assert tool_version([sys.executable, "-c", "import os; print(os.getcwd())"], cwd=str(tmp_path)) == str(tmp_path)
    assert tool_version([sys.executable, "-c", "pass"]) is None
    assert tool_version([str(tmp_path / "no-such-prover"), "--version"]) is None


def test_a_frame_carries_the_measured_run_once_there_is_one(process_sandbox):
    box = process_sandbox
    manifest = checker_manifest("lean", "1+abc", TASK, box, toolchain={"repl": "missing"}, options={})
    assert (manifest.sandbox, manifest.limits, manifest.checker_version) == (box.kind, TASK.limits, "1+abc")
    frame = CheckFrame(TASK, CANDIDATE, manifest)
    early = frame.verdict(Outcome.refuted("audit", "no"))
    assert (early.status, early.reason, early.reward, early.diagnostics[0].message) == ("refuted", "audit", 0.0, "no")
    assert early.resources.wall_s == early.wall_s and early.resources.cpu_s == 0.0
    run = box.run(["/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"], {}, Limits(wall_s=30))
    assert run.ok and run.cpu_s > 0
    frame.measure(run)
    late = frame.verdict(Outcome(status="verified"))
    assert late.reward == 1.0
    assert (late.resources.cpu_s, late.resources.wall_s, late.resources.peak_memory_kb) == \
        (run.cpu_s, run.wall_s, run.peak_memory_kb)


SETUP = ProverSetup(from_env=lambda: None, image_var="PROOFSMITH_TEST_NO_IMAGE", default_image="none",
                    image_command=("prover",), install_hint="install the prover")
TOOLCHAIN = Toolchain(command=("prover",))


class _RunOnly:
    """A sandbox with `run` only (what docker offers these checkers): no warm process."""

    kind = "oneshot"

    def layers(self) -> list[str]:
        return []

    def run(self, *args, **kwargs):
        raise AssertionError("the job's own run is called, not the sandbox's")


def _check(prepare, *, sandbox, toolchain=TOOLCHAIN, pool=None):
    return SETUP.check(TASK, CANDIDATE, sandbox=sandbox, toolchain=toolchain, pool=pool,
                       manifest=lambda box, tc: checker_manifest("lean", "1+x", TASK, box, toolchain={}, options={}),
                       prepare=prepare)


def test_no_toolchain_is_unknown_with_the_install_hint_and_nothing_is_prepared(monkeypatch):
    monkeypatch.delenv("PROOFSMITH_TEST_NO_IMAGE", raising=False)

    def prepare():
        raise AssertionError("prepared without a toolchain")

    verdict = _check(prepare, sandbox=_RunOnly(), toolchain=None)
    assert (verdict.status, verdict.reason, verdict.diagnostics[0].message) == \
        ("unknown", "toolchain", "install the prover")


def test_a_refutation_before_any_run_is_the_verdict():
    verdict = _check(lambda: Outcome.refuted("audit", "sorry"), sandbox=_RunOnly())
    assert (verdict.status, verdict.reason) == ("refuted", "audit")


def _job(calls: list[str], crashes: int) -> ProverJob:
    def pooled(pool):
        calls.append(f"pooled:{pool}")
        if calls.count(f"pooled:{pool}") <= crashes:
            raise ReplFailure("crash", "the prover died")
        return Outcome(status="verified")

    return ProverJob(once=lambda box, tc: calls.append(f"once:{tc.command[0]}") or Outcome(status="verified"),
                     pooled=pooled, pool_for=lambda tc, box: "default-pool")  # type: ignore[arg-type,return-value]


def test_a_sandbox_without_spawn_runs_the_job_once():
    calls: list[str] = []
    verdict = _check(lambda: _job(calls, crashes=0), sandbox=_RunOnly(), pool="given")  # type: ignore[arg-type]
    assert verdict.status == "verified" and calls == ["once:prover"]


@pytest.mark.parametrize("crashes, status, reason", [(0, "verified", None), (1, "verified", None),
                                                     (2, "unknown", "crash")])
def test_a_spawning_sandbox_runs_on_the_pool_with_one_retry_after_a_crash(crashes, status, reason, process_sandbox):
    box = process_sandbox
    assert isinstance(box, Spawns)
    calls: list[str] = []
    verdict = _check(lambda: _job(calls, crashes), sandbox=box)
    assert (verdict.status, verdict.reason) == (status, reason)
    assert calls == ["pooled:default-pool"] * min(crashes + 1, 2)
    if crashes == 2:
        assert verdict.diagnostics[0].message == "the prover died (after one retry on a fresh process)"
    calls.clear()
    assert _check(lambda: _job(calls, 0), sandbox=box, pool="given").status == "verified"  # type: ignore[arg-type]
    assert calls == ["pooled:given"]
