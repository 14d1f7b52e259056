"""Efficiency timers: how fast a verified candidate is against the reference.

Two modes (notes/sandbox.md section 3):

- `cpu` (default): for every perf input, `ROUNDS` times, the reference and
  the candidate (alternating which goes first) each load in a fresh sandboxed
  process (so no memo survives a round) and run the call once; its cost is the
  slot cgroup's CPU counter read from outside around the request, never the
  process's own word, and the candidate's answer must equal the reference's.
  The reference's cost is its best of `ROUNDS`; the candidate's is that times
  the median of the rounds' candidate/reference ratios, so a load that comes
  or goes mid-measurement does not land on one side only.
- `exact`: `valgrind --tool=cachegrind --cache-sim=no` instruction counts of
  a run that calls the function on every input, minus the same run without
  the calls, with `PYTHONHASHSEED=0`: deterministic, and it sees C-level work.
  The answers must equal the reference's, the run must exit cleanly, and it
  may not fork (so nothing can write a fake summary after valgrind's own).

Score: ENAMEL's per-input efficiency `max(0, T - t) / (T - t_ref)` with the
time cap `T = CAP_FACTOR * t_ref`, clipped to [0, 1] and averaged over inputs.
A candidate that runs past the cap scores 0 for that input: that is a result,
not a crash.
"""

from __future__ import annotations

import json
import os
import re
import statistics
from pathlib import Path
from typing import NamedTuple

from proofsmith.provers.python_harness import Channel, decode, encode, values_equal
from proofsmith.sandbox import Running, Spawns
from proofsmith.sandbox.tools import CANDIDATE_PYTHON
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


def measure(task: Task, program: str, sandbox: Spawns, *, mode: str = "cpu") -> Efficiency:
    """Measure `program` against `task.reference` on `task.perf_inputs`."""
    if mode == "exact":
        return _measure_exact(task, program, sandbox)
    if mode != "cpu":
        raise ValueError(f"unknown efficiency mode {mode!r}: choose cpu or exact")
    return _measure_cpu(task, program, sandbox)


def _serve_limits(task: Task) -> Limits:
    # One process answers one timed call; allow for start-up on a busy machine.
    return task.limits.model_copy(update={"wall_s": task.limits.wall_s + 10.0})


class _Server:
    """One sandboxed `serve` process and the supervisor's end of its pipes."""

    def __init__(self, sandbox: Spawns, source: str, entry: str, limits: Limits) -> None:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        try:
            self.proc: Running = sandbox.spawn(
                [CANDIDATE_PYTHON, "-I", "-S", "harness.py", "serve", str(to_r), str(from_w), "candidate.py", entry],
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

    def time_call(self, args: list, timeout: float) -> _Timed | None:
        """Run one call; its CPU cost measured from outside, or None past `timeout`."""
        before = self.proc.cpu_s()
        self.chan.send({"op": "time", "args": encode(list(args))})
        reply = self.chan.recv(timeout)
        after = self.proc.cpu_s()
        if not reply or not reply.get("ok"):
            return None
        reported = reply.get("time_ns")
        cost = reported / 1e9 if isinstance(reported, int) else None
        if before is not None and after is not None:
            # The kernel's counter for the whole sandbox is the cost: the in-process
            # report could be forged, and the answer could have been sent early.
            cost = after - before
        try:
            value = decode(reply.get("value"))
        except Exception:  # noqa: BLE001 - an undecodable answer is a wrong answer
            return _Timed(cost=cost or 0.0, value=_WRONG, peak_kb=None)
        return _Timed(cost=cost or 0.0, value=value, peak_kb=self.proc.peak_kb())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(0)
        for fd in self._fds:
            os.close(fd)


_WRONG = object()


class _Timed(NamedTuple):
    cost: float
    value: object
    peak_kb: int | None


def _timed_once(sandbox: Spawns, source: str, task: Task, args: list, timeout: float) -> _Timed | None:
    """Load `source` in a fresh process and time one call (no memo survives between rounds)."""
    server = _Server(sandbox, source, task.entry_point or "", _serve_limits(task))
    try:
        return server.time_call(args, timeout) if server.ready else None
    finally:
        server.close()


def paired_costs(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """(reference, candidate) cost from rounds of (reference, candidate) runs timed side by side.

    The reference's cost is its best run; the candidate's is that times the median of the rounds'
    candidate/reference ratios. Best-of-rounds on each side alone is fooled by a slowdown that
    starts mid-measurement (a noisy neighbour's steal time is charged to whatever runs): the
    reference keeps its one clean run and every candidate run is slow. Paired rounds see the
    slowdown on both sides; the median ignores two disturbed rounds out of five.
    """
    if not pairs:
        raise ValueError("paired_costs needs at least one round")
    best_r = min(r for r, _ in pairs)
    ratios = [c / r for r, c in pairs if r > 0]
    if best_r <= 0 or not ratios:
        return best_r, min(c for _, c in pairs)
    return best_r, best_r * statistics.median(ratios)


def _measure_cpu(task: Task, program: str, sandbox: Spawns) -> Efficiency:
    reference = task.reference or ""
    scores: list[float] = []
    cand_total = ref_total = 0.0
    cand_peak = ref_peak = 0
    for args in task.perf_inputs:
        best_r = float("inf")
        pairs: list[tuple[float, float]] = []
        for round_ in range(ROUNDS):
            # Alternate who goes first, and compare the two runs of one round with each other: a
            # load that starts or stops mid-measurement then moves both sides of a pair alike.
            timed: dict[str, _Timed] = {}
            for who in ("reference", "candidate") if round_ % 2 == 0 else ("candidate", "reference"):
                if who == "reference":
                    run = _timed_once(sandbox, reference, task, args, task.limits.wall_s)
                    if run is None:
                        return Efficiency(mode="cpu", unit="ns", score=0.0, note="the reference did not answer")
                    best_r = min(best_r, run.cost)
                    ref_peak = max(ref_peak, run.peak_kb or 0)
                else:
                    # Round 0 runs the reference first, so best_r is known here.
                    run = _timed_once(sandbox, program, task, args, max(CAP_FACTOR * best_r * 2, 0.5))
                    if run is None:
                        return Efficiency(mode="cpu", unit="ns", score=0.0, timed_out=True, reference_cost=best_r * 1e9)
                    cand_peak = max(cand_peak, run.peak_kb or 0)
                timed[who] = run
            cand, ref = timed["candidate"], timed["reference"]
            if cand.value is _WRONG or not values_equal(cand.value, ref.value, 1e-9):
                # Fast but wrong on a perf input: no efficiency credit.
                return Efficiency(mode="cpu", unit="ns", score=0.0, reference_cost=best_r * 1e9,
                                  note="the candidate's answer on a perf input differs from the reference's")
            pairs.append((ref.cost, cand.cost))
        best_r, best_c = paired_costs(pairs)
        scores.append(score(best_c, best_r))
        cand_total += best_c
        ref_total += best_r
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


class _Count(NamedTuple):
    """One valgrind run: its instruction count, or why there is none."""

    instructions: int | None
    outputs: list | None
    why: str | None = None
    limit: str | None = None


def _instructions(sandbox: Spawns, source: str, entry: str, inputs: str, calls: bool,
                  limits: Limits) -> _Count:
    result = sandbox.run(
        # Not -I: it implies -E, which would drop PYTHONHASHSEED and make counts vary.
        ["/usr/bin/valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         CANDIDATE_PYTHON, "-s", "-S", "-P", "harness.py", "bench", "candidate.py", entry, "inputs.json",
         "1" if calls else "0"],
        {"harness.py": _HARNESS.read_bytes(), "candidate.py": source, "inputs.json": inputs},
        limits,
        env={"PYTHONHASHSEED": "0"},
    )
    outputs = None
    for line in result.stdout.splitlines():
        if line.startswith("PROOFSMITH-BENCH "):
            try:
                outputs = json.loads(line[len("PROOFSMITH-BENCH "):])
            except ValueError:
                outputs = None
    # The program can write "I refs:" lines to stderr too, so only a clean exit
    # counts and only valgrind's last summary: the pids limit leaves the program
    # no child that could write after it.
    counts = _IREFS.findall(result.stderr)
    if result.exit_code != 0 or result.limit_hit or result.stderr_truncated or not counts:
        why = (f"valgrind run failed (exit {result.exit_code}, signal {result.signal}, limit {result.limit_hit}): "
               f"{result.error or result.stderr[-300:].strip()}")
        return _Count(None, outputs, why, result.limit_hit)
    return _Count(int(counts[-1].replace(",", "")), outputs)


def _measure_exact(task: Task, program: str, sandbox: Spawns) -> Efficiency:
    entry = task.entry_point or ""
    inputs = json.dumps([encode(list(args)) for args in task.perf_inputs])
    # valgrind runs the interpreter 35-40x slower and needs a few seconds to start.
    # pids=1: valgrind alone, no child that could print after its summary.
    limits = task.limits.model_copy(update={"wall_s": task.limits.wall_s * 40 + 30, "cpu_s": task.limits.cpu_s * 40 + 30,
                                            "memory_mb": max(task.limits.memory_mb, 2048), "pids": 1})
    ref_full = _instructions(sandbox, task.reference or "", entry, inputs, True, limits)
    ref_base = _instructions(sandbox, task.reference or "", entry, inputs, False, limits)
    for run in (ref_full, ref_base):
        if run.instructions is None:
            return Efficiency(mode="exact", unit="instructions", score=0.0, note=f"reference: {run.why}")
    ref_cost = max(ref_full.instructions - ref_base.instructions, 1)
    cand_full = _instructions(sandbox, program, entry, inputs, True, limits)
    cand_base = _instructions(sandbox, program, entry, inputs, False, limits)
    for run in (cand_full, cand_base):
        if run.instructions is None:
            return Efficiency(mode="exact", unit="instructions", reference_cost=ref_cost, score=0.0,
                              timed_out=run.limit in ("wall", "cpu"), note=f"candidate: {run.why}")
    # The candidate must have computed the same answers, or it skipped the work.
    if cand_full.outputs != ref_full.outputs:
        return Efficiency(mode="exact", unit="instructions", reference_cost=ref_cost, score=0.0,
                          note="the candidate's answers on the perf inputs differ from the reference's")
    cand_cost = max(cand_full.instructions - cand_base.instructions, 1)
    return Efficiency(
        mode="exact",
        unit="instructions",
        ratio=cand_cost / ref_cost,
        candidate_cost=cand_cost,
        reference_cost=ref_cost,
        score=score(cand_cost, ref_cost),
    )
