"""Speed and stability benchmarks of the verification core; prints tables.

1. Throughput: the 164 canonical HumanEval solutions checked three ways in the
   same run: one bubblewrap per process, the warm pool, and a plain
   unsandboxed subprocess per program (no judge separation: the floor).
   Reported as checks per second per core and as ratios to the plain run.
2. Efficiency-timer stability: a reference loop and a candidate doing exactly
   20 % more iterations, measured REPEATS times in each mode; the coefficient
   of variation of the candidate/reference ratio.

Targets (issue 2): warm pool within 1.5x of plain subprocess throughput;
ratio spread under 3 % in cpu mode, 0 % in exact mode.

Run: `make bench` (or `python benchmarks/run.py [--quick]`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from rich.console import Console
from rich.table import Table

from proofsmith.datasets.humaneval import canonical_candidates, load_tasks
from proofsmith.provers import check_many
from proofsmith.provers.efficiency import measure
from proofsmith.provers.python import CANDIDATE_PYTHON, program_text
from proofsmith.sandbox import get_sandbox
from proofsmith.schema import Task

JOBS = 2
# Same loop body; the candidate runs exactly 20 % more iterations. Both return
# None, so the exact mode's same-answers check holds.
REFERENCE = """
def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
"""
SLOWER = """
def work(n):
    total = 0
    for i in range(n + n // 5):
        total += i * i % 7
"""


def plain_subprocess(pairs) -> float:
    """Seconds to run every program + its tests in one unsandboxed `python3` each."""

    def one(pair) -> bool:
        task, cand = pair
        program = program_text(task, cand) + "\n" + (task.test_code or "") + f"\ncheck({task.entry_point})\n"
        return subprocess.run([CANDIDATE_PYTHON, "-I", "-S", "-c", program], capture_output=True, timeout=60).returncode == 0

    start = time.perf_counter()
    with ThreadPoolExecutor(JOBS) as pool:
        results = list(pool.map(one, pairs))
    elapsed = time.perf_counter() - start
    assert all(results), "a canonical solution failed under plain subprocess"
    return elapsed


def sandboxed(pairs, kind: str) -> float:
    """Seconds to check every pair with the given sandbox kind (cache off)."""
    get_sandbox(kind)  # start-up (zygotes) is not part of the per-check cost
    start = time.perf_counter()
    verdicts = check_many(pairs, jobs=JOBS, sandbox=kind, use_cache=False)
    elapsed = time.perf_counter() - start
    bad = [v.task_id for v in verdicts if v.status != "verified"]
    assert not bad, f"{kind}: not verified: {bad}"
    return elapsed


def throughput_table(console: Console, rounds: int) -> None:
    tasks = load_tasks()
    pairs = list(zip(tasks, canonical_candidates(tasks)))
    times: dict[str, list[float]] = {"plain subprocess (no isolation)": [], "warm pool": [], "bwrap per process": []}
    for _ in range(rounds):  # interleaved, so drift in machine load hits every variant alike
        times["plain subprocess (no isolation)"].append(plain_subprocess(pairs))
        times["warm pool"].append(sandboxed(pairs, "warm"))
        times["bwrap per process"].append(sandboxed(pairs, "bwrap"))
    plain = statistics.median(times["plain subprocess (no isolation)"])
    table = Table(title=f"HumanEval canonical solutions: {len(pairs)} checks, {JOBS} jobs, median of {rounds} rounds")
    for col in ("variant", "seconds", "checks/s/core", "time vs plain"):
        table.add_column(col, justify="right" if col != "variant" else "left")
    for name, values in times.items():
        secs = statistics.median(values)
        table.add_row(name, f"{secs:.2f}", f"{len(pairs) / secs / JOBS:.1f}", f"{secs / plain:.2f}x")
    console.print(table)


def ratio_spread(mode: str, repeats: int, n: int) -> tuple[float, float, list[float]]:
    task = Task(id="bench/work", language="python", kind="program", statement="", entry_point="work",
                test_code="def check(candidate):\n    assert candidate(10) is None\n",
                reference=REFERENCE, perf_inputs=[[n]])
    box = get_sandbox("bwrap")
    ratios = []
    for _ in range(repeats):
        eff = measure(task, SLOWER, box, mode=mode)
        assert eff.ratio is not None, f"{mode}: no ratio: {eff.note}"
        ratios.append(eff.ratio)
    mean = statistics.mean(ratios)
    return mean, statistics.pstdev(ratios) / mean, ratios


def efficiency_table(console: Console, repeats: int) -> None:
    table = Table(title=f"Efficiency timer: candidate doing exactly 1.2x the reference's iterations, {repeats} repeats")
    for col in ("mode", "input n", "mean ratio", "CV of ratio", "min..max", "target CV"):
        table.add_column(col, justify="right" if col != "mode" else "left")
    for mode, n, target in (("cpu", 300_000, "< 3 %"), ("exact", 300_000, "0 %")):
        mean, cv, ratios = ratio_spread(mode, repeats, n)
        table.add_row(mode, f"{n:,}", f"{mean:.4f}", f"{cv * 100:.2f} %", f"{min(ratios):.4f}..{max(ratios):.4f}", target)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one throughput round and 3 timer repeats")
    args = parser.parse_args()
    console = Console()
    console.print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    # Timers first: hundreds of bubblewraps leave the kernel tearing namespaces down
    # for a while, and that background work shows up as timer noise (8.9 % CV seen).
    efficiency_table(console, repeats=3 if args.quick else 10)
    throughput_table(console, rounds=1 if args.quick else 3)


if __name__ == "__main__":
    main()
