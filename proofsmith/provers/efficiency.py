"""Efficiency timers: how fast a verified candidate is against the reference.

Two modes (notes/sandbox.md section 3):

- `cpu` (default): candidate and reference each load in their own sandboxed
  process; for every perf input the supervisor asks each, interleaved, to run
  the call once and report the in-process CPU time around it (best of
  `ROUNDS`). A hostile candidate could forge its own report, so the supervisor
  also reads the slot cgroup's CPU counter from outside around each request
  and uses that when the report is implausibly low.
- `exact`: `valgrind --tool=cachegrind --cache-sim=no` instruction counts of
  a run that calls the function on every input, minus the same run without
  the calls, with `PYTHONHASHSEED=0`: deterministic, and it sees C-level work.

Score: ENAMEL's per-input efficiency `max(0, T - t) / (T - t_ref)` with the
time cap `T = CAP_FACTOR * t_ref`, clipped to [0, 1] and averaged over inputs.
A candidate that runs past the cap scores 0 for that input: that is a result,
not a crash.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from proofsmith.provers.python_harness import Channel, encode
from proofsmith.sandbox import Running, Sandbox
from proofsmith.schema import Efficiency, Limits, Task

ROUNDS = 5
#: the time cap T is this many times the reference's cost (EvalPlus/EvalPerf use 4x)
CAP_FACTOR = 4.0
_HARNESS = Path(__file__).with_name("python_harness.py")
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def score(candidate_cost: float, reference_cost: float, cap_factor: float = CAP_FACTOR) -> float:
    """ENAMEL-style efficiency of one input in [0, 1]; 1 means at least as fast as the reference."""
    if reference_cost <= 0:
        return 1.0 if candidate_cost <= 0 else 0.0
    cap = cap_factor * reference_cost
    return max(0.0, min(1.0, (cap - candidate_cost) / (cap - reference_cost)))


def measure(task: Task, program: str, sandbox: Sandbox, *, mode: str = "cpu") -> Efficiency:
    """Measure `program` against `task.reference` on `task.perf_inputs`."""
    if mode == "exact":
        return _measure_exact(task, program, sandbox)
    if mode != "cpu":
        raise ValueError(f"unknown efficiency mode {mode!r}: choose cpu or exact")
    return _measure_cpu(task, program, sandbox)


def _python() -> str:
    from proofsmith.provers.python import CANDIDATE_PYTHON

    return CANDIDATE_PYTHON


def _perf_limits(task: Task) -> Limits:
    limits = task.limits
    return limits.model_copy(update={"wall_s": limits.wall_s * (ROUNDS * 2 + 2) * max(1, len(task.perf_inputs))})


class _Server:
    """One sandboxed `serve` process and the supervisor's end of its pipes."""

    def __init__(self, sandbox: Sandbox, source: str, entry: str, limits: Limits) -> None:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        try:
            self.proc: Running = sandbox.spawn(
                [_python(), "-I", "-S", "harness.py", "serve", str(to_r), str(from_w), "candidate.py", entry],
                {"harness.py": _HARNESS.read_bytes(), "candidate.py": source},
                limits,
                pass_fds=(to_r, from_w),
            )
        finally:
            os.close(to_r)
            os.close(from_w)
        self.chan = Channel(from_r, to_w)
        self._fds = (from_r, to_w)
        hello = self.chan.recv(limits.wall_s)
        loaded = self.chan.recv(limits.wall_s) if hello else None
        self.ready = bool(loaded and loaded.get("loaded"))

    def time_call(self, args: list, timeout: float) -> tuple[float | None, int | None]:
        """CPU seconds of one call (None past `timeout`) and the process's peak KiB."""
        before = self.proc.cpu_s()
        self.chan.send({"op": "time", "args": encode(list(args)), "repeat": 1})
        reply = self.chan.recv(timeout)
        after = self.proc.cpu_s()
        if not reply or not reply.get("ok"):
            return None, None
        reported = reply["times_ns"][0] / 1e9
        if before is not None and after is not None:
            outside = after - before
            # The report comes from inside the candidate's process; never believe
            # it when the kernel's counter says far more CPU was spent.
            if reported < 0.5 * outside - 0.002:
                reported = outside
        return reported, reply.get("peak_kb")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(0)
        for fd in self._fds:
            os.close(fd)


def _measure_cpu(task: Task, program: str, sandbox: Sandbox) -> Efficiency:
    limits = _perf_limits(task)
    entry = task.entry_point or ""
    cand = ref = None
    try:
        cand = _Server(sandbox, program, entry, limits)
        ref = _Server(sandbox, task.reference or "", entry, limits)
        if not (cand.ready and ref.ready):
            return Efficiency(mode="cpu", unit="ns", score=0.0, timed_out=not cand.ready)
        scores: list[float] = []
        cand_total = ref_total = 0.0
        cand_peak = ref_peak = 0
        timed_out = False
        for args in task.perf_inputs:
            best_c = best_r = float("inf")
            for _ in range(ROUNDS):
                t_r, peak_r = ref.time_call(args, task.limits.wall_s)
                if t_r is not None:
                    best_r = min(best_r, t_r)
                    ref_peak = max(ref_peak, peak_r or 0)
                cap = CAP_FACTOR * best_r if best_r != float("inf") else task.limits.wall_s
                t_c, peak_c = cand.time_call(args, max(cap * 2, 0.5))
                if t_c is None:
                    timed_out = True
                    break
                best_c = min(best_c, t_c)
                cand_peak = max(cand_peak, peak_c or 0)
            if timed_out or best_r == float("inf"):
                scores.append(0.0)
                break
            scores.append(score(best_c, best_r))
            cand_total += best_c
            ref_total += best_r
        if timed_out:
            return Efficiency(mode="cpu", unit="ns", score=0.0, timed_out=True,
                              reference_cost=ref_total * 1e9 or None)
        return Efficiency(
            mode="cpu",
            unit="ns",
            ratio=cand_total / ref_total if ref_total > 0 else None,
            candidate_cost=cand_total * 1e9,
            reference_cost=ref_total * 1e9,
            candidate_peak_kb=cand_peak or None,
            reference_peak_kb=ref_peak or None,
            score=sum(scores) / len(scores) if scores else 0.0,
        )
    finally:
        for server in (cand, ref):
            if server is not None:
                server.close()


def _instructions(sandbox: Sandbox, source: str, entry: str, inputs: str, calls: bool, limits: Limits) -> tuple[int | None, list | None]:
    result = sandbox.run(
        ["/usr/bin/valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         _python(), "-I", "-S", "harness.py", "bench", "candidate.py", entry, "inputs.json", "1" if calls else "0"],
        {"harness.py": _HARNESS.read_bytes(), "candidate.py": source, "inputs.json": inputs},
        limits,
        env={"PYTHONHASHSEED": "0"},
    )
    match = _IREFS.search(result.stderr)
    outputs = None
    for line in result.stdout.splitlines():
        if line.startswith("PROOFSMITH-BENCH "):
            outputs = json.loads(line[len("PROOFSMITH-BENCH "):])
    if match is None or result.limit_hit:
        return None, outputs
    return int(match.group(1).replace(",", "")), outputs


def _measure_exact(task: Task, program: str, sandbox: Sandbox) -> Efficiency:
    entry = task.entry_point or ""
    inputs = json.dumps([encode(list(args)) for args in task.perf_inputs])
    # valgrind runs the interpreter 35-40x slower and needs a few seconds to start.
    limits = task.limits.model_copy(update={"wall_s": task.limits.wall_s * 40 + 30, "cpu_s": task.limits.cpu_s * 40 + 30,
                                            "memory_mb": max(task.limits.memory_mb, 2048)})
    ref_full, ref_out = _instructions(sandbox, task.reference or "", entry, inputs, True, limits)
    ref_base, _ = _instructions(sandbox, task.reference or "", entry, inputs, False, limits)
    cand_full, cand_out = _instructions(sandbox, program, entry, inputs, True, limits)
    cand_base, _ = _instructions(sandbox, program, entry, inputs, False, limits)
    if ref_full is None or ref_base is None:
        return Efficiency(mode="exact", unit="instructions", score=0.0)
    ref_cost = max(ref_full - ref_base, 1)
    # The candidate must have computed the same answers, or it skipped the work.
    if cand_full is None or cand_base is None or cand_out != ref_out:
        return Efficiency(mode="exact", unit="instructions", reference_cost=ref_cost, score=0.0, timed_out=cand_full is None)
    cand_cost = max(cand_full - cand_base, 1)
    return Efficiency(
        mode="exact",
        unit="instructions",
        ratio=cand_cost / ref_cost,
        candidate_cost=cand_cost,
        reference_cost=ref_cost,
        score=score(cand_cost, ref_cost),
    )
