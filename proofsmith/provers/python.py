"""The Python checker: runs a candidate program against its task's tests.

Three sandboxed processes may take part in a check, each with its own slot uid:

- the candidate (`python_harness.py serve`): loads the program, answers calls;
- the judge (`python_harness.py judge`): runs the task's tests with a proxy for
  the candidate and writes its report to its own stdout;
- for efficiency, a reference process serving the task's reference solution.

The candidate therefore cannot patch the harness, fake success by exiting,
read the tests or their expected outputs, or write a result file: none of
those live in its process or its file system. Under `--sandbox warm` the
pair runs in a zygote of the warm pool, which never holds the judge's input
(sandbox/zygote.py).

Outcomes: all tests pass -> verified. The candidate at fault -> refuted: a
test fails, the program does not load, an answer is too large, it exhausts
its CPU or memory, or it does not answer within its wall-clock budget (the
judge keeps that budget) while the machine gives it its time. The checker
unable to decide -> unknown: the sandbox or the judge fails (reason sandbox,
crash, or timeout for a judge that never finishes), or the machine is
overloaded (reason overload, see `overload`).

A task with `options: {"contracts": "crosshair"}` also gets a symbolic check
of the program's docstring contracts (`python_contracts`), as one more
diagnostic beside the tests' outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import NamedTuple

from proofsmith.provers import efficiency as eff
from proofsmith.provers import python_contracts
from proofsmith.provers.prover_check import CheckFrame, Outcome
from proofsmith.provers.python_harness import encode
from proofsmith.sandbox import Pairs, RunResult, Sandbox, SandboxUnsupported, Spawns, get_sandbox, spawning
from proofsmith.sandbox.supervise import overload
from proofsmith.sandbox.tools import CANDIDATE_PYTHON
from proofsmith.sandbox.zygote import PEER_READ_FD, PEER_WRITE_FD, REPORT_FD, Peer, WarmProgram
from proofsmith.schema import (
    Candidate,
    Diagnostic,
    Limits,
    Manifest,
    PartialCredit,
    Resources,
    Task,
    Verdict,
)
from proofsmith.version import __version__

HARNESS = Path(__file__).with_name("python_harness.py")
#: The code a Python verdict depends on: this checker, its harness, timers and contract check, and every sandbox
#: (the warm pool's zygote included): a change to any of them is a new checker version.
_VERSIONED = [Path(__file__), HARNESS, Path(__file__).with_name("efficiency.py"),
              Path(__file__).with_name("python_contracts.py"),
              *sorted((Path(__file__).parents[1] / "sandbox").glob("*.py"))]
#: Changes whenever the checker's code does, so cached verdicts of older code are not reused.
CHECKER_VERSION = "2+" + hashlib.sha256(b"".join(path.read_bytes() for path in _VERSIONED)).hexdigest()[:12]
#: What the warm pool's zygotes run for this checker: the harness, imported once, with what tests often import.
WARM_PROGRAM = WarmProgram(
    python=CANDIDATE_PYTHON, module_name="python_harness", module=HARNESS.read_bytes(),
    preload=("ast", "collections", "functools", "hashlib", "heapq", "itertools", "math", "random", "re", "string",
             "typing"),
)


def program_text(task: Task, candidate: Candidate) -> str:
    """The whole program to run: context, then the prompt when the candidate is only a completion."""
    body = task.statement + candidate.text if candidate.completion else candidate.text
    return f"{task.context}\n{body}" if task.context else body


def validate(task: Task) -> str | None:
    """A one-line problem with a Python task, or None when it can be checked."""
    if not task.entry_point:
        return f"task {task.id} has no entry_point: name the function the tests call"
    if not task.test_code and not task.io_tests:
        return f"task {task.id} has no tests: give test_code or io_tests"
    if task.test_code:
        try:
            compile(task.test_code, f"{task.id}/test_code", "exec")
        except SyntaxError as exc:
            return f"task {task.id}: test_code does not parse (line {exc.lineno}: {exc.msg})"
    return None


def _toolchain() -> dict[str, str]:
    try:
        real = os.path.realpath(CANDIDATE_PYTHON)
        return {"python": os.path.basename(real), "python_path": CANDIDATE_PYTHON}
    except OSError:
        return {"python_path": CANDIDATE_PYTHON}


def manifest(task: Task, sandbox: Sandbox, efficiency: str | None) -> Manifest:
    """The manifest every verdict of this checker carries."""
    return Manifest(
        checker="python",
        checker_version=CHECKER_VERSION,
        proofsmith_version=__version__,
        toolchain=_toolchain(),
        options={"efficiency": efficiency},
        limits=task.limits,
        sandbox=sandbox.kind,
        isolation=sandbox.layers(),
    )


def judge_limits(limits: Limits) -> Limits:
    """The judge gets the task's wall time and enough memory for big test data."""
    return Limits(
        wall_s=limits.wall_s + 5.0,
        cpu_s=limits.wall_s + 5.0,
        memory_mb=max(1024, limits.memory_mb),
        pids=16,
        output_bytes=8 << 20,
        file_size_mb=16,
        open_files=64,
    )


def judge_spec(task: Task) -> str:
    """The judge's input file: tests, expected outputs, timeouts."""
    return json.dumps(
        {
            "entry_point": task.entry_point,
            "test_code": task.test_code,
            "prelude": f"{task.context}\n{task.statement}" if task.test_code else None,
            "io_tests": [
                {"args": encode(t.args), "kwargs": encode(t.kwargs), "expected": encode(t.expected), "atol": t.atol}
                for t in task.io_tests
            ],
            # the candidate's wall-clock budget, kept by the judge (its own sandbox's limit is 5 s longer)
            "budget_s": task.limits.wall_s,
        }
    )


class PairResult(NamedTuple):
    """What one judge + candidate run produced."""

    judge: RunResult
    candidate: RunResult
    #: the judge's report as written to its private fd ("" when it wrote none)
    report: str


_PAIR_GATES: dict[int, threading.BoundedSemaphore] = {}
_PAIR_GATES_LOCK = threading.Lock()


def _pair_gate(sandbox: Sandbox) -> contextlib.AbstractContextManager:
    """At most half the sandbox's slots may be in judge + candidate pairs at once.

    A pair takes its two slots one after the other; with more pairs than half
    the slots in flight, every pair can hold one slot and wait for a second
    that never frees (seen: `check_many(jobs=16)` on 8 slots hung for good).
    """
    size = getattr(getattr(sandbox, "slots", None), "size", None)
    if not isinstance(size, int) or size < 2:
        return contextlib.nullcontext()
    with _PAIR_GATES_LOCK:
        gate = _PAIR_GATES.get(id(sandbox))
        if gate is None:
            gate = _PAIR_GATES[id(sandbox)] = threading.BoundedSemaphore(size // 2)
    return gate


def run_pair(task: Task, program: str, sandbox: Sandbox) -> PairResult:
    """Run judge and candidate as two sandboxed processes joined by two pipes."""
    if isinstance(sandbox, Pairs):
        cand = Peer(argv=["serve", str(PEER_READ_FD), str(PEER_WRITE_FD), "candidate.py", task.entry_point or ""],
                    files={"candidate.py": program.encode()}, limits=task.limits)
        judge = Peer(argv=["judge", str(PEER_READ_FD), str(PEER_WRITE_FD), "spec.json", str(REPORT_FD)],
                     files={"spec.json": judge_spec(task).encode()}, limits=judge_limits(task.limits))
        return PairResult(*sandbox.run_pair(WARM_PROGRAM, cand, judge))
    if not isinstance(sandbox, Spawns):
        raise SandboxUnsupported(f"the {sandbox.kind} sandbox cannot run a judge beside the candidate; "
                                 "use --sandbox bwrap, warm or process for Python tasks")
    with _pair_gate(sandbox):
        return _run_pair(task, program, sandbox)


def _run_pair(task: Task, program: str, sandbox: Sandbox) -> PairResult:
    j2c_r, j2c_w = os.pipe()
    c2j_r, c2j_w = os.pipe()
    pipes: tuple[int, ...] = (j2c_r, j2c_w, c2j_r, c2j_w)
    report_fd = os.memfd_create("judge-report", 0)
    harness = HARNESS.read_bytes()
    candidate = judge = None
    try:
        candidate = sandbox.spawn(
            [CANDIDATE_PYTHON, "-I", "-S", "harness.py", "serve", str(j2c_r), str(c2j_w), "candidate.py",
             task.entry_point or ""],
            {"harness.py": harness, "candidate.py": program},
            task.limits,
            pass_fds=(j2c_r, c2j_w),
        )
        judge = sandbox.spawn(
            [CANDIDATE_PYTHON, "-I", "-S", "harness.py", "judge", str(c2j_r), str(j2c_w), "spec.json",
             str(report_fd)],
            {"harness.py": harness, "spec.json": judge_spec(task)},
            judge_limits(task.limits),
            pass_fds=(c2j_r, j2c_w, report_fd),
        )
        # Our copies must go before waiting, or the judge never sees the candidate's EOF.
        for fd in (j2c_r, j2c_w, c2j_r, c2j_w):
            os.close(fd)
        pipes = ()
        # The judge keeps the candidate's wall budget and stops on its own; this deadline is for a judge
        # that does not. The candidate is stopped with it (its run queue measured first).
        judge_result = judge.wait()
        cand_result = candidate.finish()
        os.lseek(report_fd, 0, os.SEEK_SET)
        report = os.read(report_fd, 1 << 20).decode("utf-8", "replace")
    except BaseException:
        for proc in (candidate, judge):
            if proc is not None:
                proc.kill()
                proc.wait(0)
        raise
    finally:
        for fd in (*pipes, report_fd):
            os.close(fd)
    return PairResult(judge_result, cand_result, report)


def parse_report(pair: PairResult) -> dict | None:
    """The judge's report, or None when the judge did not finish on its own.

    A judge killed at its wall limit, or one that hit any limit or exited
    non-zero, wrote no report we can trust.
    """
    judge = pair.judge
    if judge.exit_code != 0 or judge.limit_hit is not None or judge.error is not None:
        return None
    try:
        report = json.loads(pair.report)
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def check(task: Task, candidate: Candidate, *, sandbox: Sandbox | None = None, efficiency: str | None = None) -> Verdict:
    """Verify one Python candidate. Never raises for anything the candidate does."""
    box = sandbox or get_sandbox("auto")
    started = time.monotonic()
    frame = CheckFrame(task, candidate, manifest(task, box, efficiency), started)
    program = program_text(task, candidate)
    if python_contracts.wanted(task):  # symbolic, beside the tests: reported apart, never the verdict's status
        frame.notes = [python_contracts.check_contracts(program, box, task.limits).diagnostic()]
    pair = run_pair(task, program, box)
    cand_result = pair.candidate
    frame.resources = Resources(
        cpu_s=cand_result.cpu_s,
        wall_s=cand_result.wall_s,
        peak_memory_kb=cand_result.peak_memory_kb,
        limit_hit=cand_result.limit_hit,
    )
    return frame.verdict(_judge(task, program, box, efficiency, pair))


def _judge(task: Task, program: str, box: Sandbox, efficiency: str | None, pair: PairResult) -> Outcome:
    """What the judge's report (and the measured efficiency, when asked for) says of the candidate."""
    judge_result, cand_result = pair.judge, pair.candidate
    if judge_result.error:
        return Outcome.unknown("sandbox", judge_result.error)
    report = parse_report(pair)
    if judge_result.limit_hit == "wall":
        return Outcome.unknown("timeout", f"the judge did not finish within {judge_limits(task.limits).wall_s:g} s")
    if report is None:
        tail = (judge_result.stderr or judge_result.stdout)[-500:]
        return Outcome.unknown("crash", f"the judge ended without a report: {tail}")
    if not report["hello"]:
        return Outcome.unknown("sandbox", f"the candidate process did not start: {cand_result.stderr[-500:]}")
    partial = PartialCredit(passed=report["passed"], total=report["total"])
    if report["load_error"]:
        diag = Diagnostic(message=f"the program did not load: {report['load_error']}", line=report.get("load_line"))
        return Outcome(status="refuted", reason=_death_reason(cand_result) or "load_error", diagnostics=[diag],
                       partial=partial)
    diags = [Diagnostic(message=f["message"], line=f["line"] if isinstance(f["line"], int) else None)
             for f in report["failures"]]
    if report["passed"] < report["total"] or (report["died"] and not report.get("timed_out")):
        # a wrong answer is wrong however loaded the machine was
        if report["died"] and cand_result.limit_hit:
            diags.append(Diagnostic(message=f"the candidate hit its {cand_result.limit_hit} limit"))
        return Outcome(status="refuted", reason=_death_reason(cand_result) or "tests_failed", diagnostics=diags,
                       partial=partial)
    if report.get("timed_out"):
        busy = overload(task.limits, cand_result, report.get("run_delay_s"))
        if busy:
            return Outcome(status="unknown", reason="overload", diagnostics=[Diagnostic(message=busy)],
                           partial=partial)
        where = ("did not answer within its" if report["timed_out"] == "candidate"
                 else "and its tests ran past its")
        return Outcome(status="refuted", reason="timeout", diagnostics=[*diags, Diagnostic(
            message=f"the candidate {where} {task.limits.wall_s:g} s wall-clock budget")], partial=partial)
    if report["total"] == 0:
        return Outcome(status="unknown", reason="internal",
                       diagnostics=[Diagnostic(message="the tests ran no assertion")], partial=partial)
    measured = None
    if efficiency and task.reference and task.perf_inputs:
        # The timers drive their own processes, which the warm pool does not offer.
        measured = eff.measure(task, program, spawning(box), mode=efficiency)
    return Outcome(status="verified", partial=partial, efficiency=measured)


def _death_reason(cand: RunResult) -> str | None:
    return {"cpu": "cpu_limit", "memory": "memory_limit", "pids": "pids_limit", "output": "output_limit",
            "file_size": "file_size_limit"}.get(cand.limit_hit or "")
