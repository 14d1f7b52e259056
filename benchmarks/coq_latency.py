"""Latency of one Coq check, three ways, on the same 20 coq-stdlib-mini tasks in one run.

- cold: `coqc` on the whole file (prefix + statement + proof), as a first check costs;
- prefix: `coqc` on a small file that `Require`s the task's compiled `Prefix.vo`;
- warm: the proof sent sentence by sentence to a warm coqtop session that has the
  prefix loaded, then `Qed` and `Print Assumptions`.

Each candidate is the task's original proof, so every check must verify; the
one-off costs (reference axioms, compiling Prefix.vo, starting a session) are
paid before timing and reported apart. Sequential, one check at a time, bwrap.
Target (issue 3): warm at least 10x faster than cold on the median task.

Run: `make bench-coq` (or `python benchmarks/coq_latency.py [--tasks N]`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from rich.console import Console
from rich.table import Table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20, help="how many coq-stdlib-mini tasks (default 20)")
    args = parser.parse_args()
    # A fresh task cache: the one-off costs are measured in this run, not inherited.
    os.environ["PROOFSMITH_CACHE_DIR"] = tempfile.mkdtemp(prefix="proofsmith-coq-bench-")

    from proofsmith.datasets.coq_library import LibraryError, load_split
    from proofsmith.provers import coq
    from proofsmith.provers.coq_session import SessionPool
    from proofsmith.sandbox import get_sandbox
    from proofsmith.schema import Candidate

    console = Console(width=150)  # full task names in logs and pipes
    if not coq.coq_version():
        console.print(coq.INSTALL_HINT)
        return 2
    try:
        tasks = load_split("coq-stdlib-mini")[: args.tasks]
    except LibraryError as exc:
        console.print(str(exc))
        return 2
    box = get_sandbox("bwrap")
    rows = []
    setup = {"reference": 0.0, "prefix": 0.0, "session": 0.0}
    statuses: list[str] = []
    with SessionPool(box, max_sessions=2) as pool:
        for n, task in enumerate(tasks, 1):
            cand = Candidate(task_id=task.id, text=task.reference or "")
            opts = coq.options_of(task)
            t0 = time.monotonic()
            coq.reference(box, task, opts, "cold")
            t1 = time.monotonic()
            mode = coq.choose_mode(box, task, opts)  # compiles Prefix.vo and checks the reference through it
            t2 = time.monotonic()
            pool.check(task, cand)  # starts the session and learns the reference's assumptions
            t3 = time.monotonic()
            setup["reference"] += t1 - t0
            setup["prefix"] += t2 - t1
            setup["session"] += t3 - t2

            cold = coq.check(task, cand, sandbox=box, mode="cold")
            prefix = coq.check(task, cand, sandbox=box, mode="prefix") if mode == "prefix" else None
            t4 = time.monotonic()
            warm = pool.check(task, cand)
            warm_s = time.monotonic() - t4
            statuses += [cold.status, warm.status] + ([prefix.status] if prefix else [])
            rows.append((task.id, cold.wall_s, prefix.wall_s if prefix else None, warm_s))
            print(f"[{n}/{len(tasks)}] {task.id}: cold {cold.wall_s:.2f}s "
                  f"prefix {prefix.wall_s if prefix else float('nan'):.2f}s warm {warm_s * 1000:.1f}ms", file=sys.stderr)

    table = Table(title=f"Coq check latency, {len(rows)} coq-stdlib-mini tasks (original proofs), seconds")
    for name in ("task", "cold coqc", "cached prefix", "warm session", "cold/prefix", "cold/warm"):
        table.add_column(name, justify="left" if name == "task" else "right")
    for tid, cold_s, prefix_s, warm_s in rows:
        table.add_row(tid.removeprefix("stdlib:Coq."), f"{cold_s:.3f}", f"{prefix_s:.3f}" if prefix_s else "-",
                      f"{warm_s:.4f}", f"{cold_s / prefix_s:.1f}x" if prefix_s else "-", f"{cold_s / warm_s:.0f}x")
    colds = [r[1] for r in rows]
    prefixes = [r[2] for r in rows if r[2]]
    warms = [r[3] for r in rows]
    med_cold, med_warm = statistics.median(colds), statistics.median(warms)
    med_prefix = statistics.median(prefixes) if prefixes else float("nan")
    table.add_section()
    table.add_row("median", f"{med_cold:.3f}", f"{med_prefix:.3f}", f"{med_warm:.4f}",
                  f"{med_cold / med_prefix:.1f}x", f"{med_cold / med_warm:.0f}x")
    table.add_row("mean", f"{statistics.mean(colds):.3f}", f"{statistics.mean(prefixes):.3f}" if prefixes else "-",
                  f"{statistics.mean(warms):.4f}", "", "")
    console.print(table)
    ratios = sorted(c / w for _, c, _, w in rows)
    console.print(f"median per-task cold/warm ratio: {statistics.median(ratios):.0f}x (target >= 10x); "
                  f"prefix path used on {len(prefixes)}/{len(rows)} tasks")
    console.print(f"one-off costs for all tasks: reference proofs {setup['reference']:.1f}s, "
                  f"Prefix.vo + its check {setup['prefix']:.1f}s, session start + reference {setup['session']:.1f}s")
    bad = [s for s in statuses if s != "verified"]
    console.print(f"verdicts: {len(statuses) - len(bad)}/{len(statuses)} verified")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
