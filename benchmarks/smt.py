"""Counterexample-guided synthesis: `refine` and `cegis` (Z3's counterexamples fed back) vs `best_of_n`, same budget.

Tasks: `--tasks N` of the `bitvec` suite, evenly spaced (task floor(i * 56 / N)),
so the same N always gives the same tasks. Policy: one llama.cpp model
(`--model`, default Qwen2.5-Coder-0.5B Q4_K_M) loaded once; one SearchChecker.
The strategies run with their defaults (best_of_n: 4 samples per request;
refine: up to 3 repairs per chain, a chain ends early when a repair repeats
one of its attempts; cegis: one fresh sample per request, the last 4
counterexamples listed under the task) and `Budget(model_calls=--budget)`;
each candidate is checked by the SMT checker (Z3 in the sandbox, for all
inputs). refine's repair prompt shows the wrong answer and the checker's
message: for a wrong program the counterexample (`f(12) returned 12, but the
correct result is 8`), for one outside the supported subset the construct;
cegis shows the messages only. A solve counts only after the
full checker confirms it (`proofsmith.search.search`).

As in benchmarks/search_scaling.py, a pair runs once at the max budget and
counts as solved at budget B iff it was solved with `solved_at <= B` model
calls (no strategy reads its budget to decide what to do), so the table gives
the anytime curve too. The verdict cache is off.

Crash safety: each finished pair is appended to DIR/results.jsonl at once; a
rerun with the same DIR skips pairs already there. Pairs run task by task
(every strategy on one task, then the next).

Run: `make bench-smt [SMT_TASKS=16 SMT_BUDGET=8]` (under the shared lock on
shared machines: `flock /tmp/proofsmith-heavy.lock make bench-smt`), or
`.venv/bin/python benchmarks/smt.py --tasks 20 --budget 8 --out DIR`;
`--report-only` prints the table from DIR/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

os.environ["PROOFSMITH_NO_CACHE"] = "1"
sys.path.insert(0, str(Path(__file__).parent))

from search_scaling import (  # a sibling script, found through the path above
    _run_one,
    budget_grid,
    check_config,
    evenly_spaced,
    open_for_append,
    read_rows,
)

STRATEGIES = ("best_of_n", "refine", "cegis")
#: the stat that counts each strategy's use of the checker's feedback
FEEDBACK = {"refine": "repairs", "cegis": "counterexamples"}
RESULTS = "results.jsonl"


def run_pairs(args: argparse.Namespace, tasks: list, out: Path, console: Console) -> int:
    """Run every pending (task, strategy) pair, appending each result; the number run."""
    from proofsmith.models import load_policy
    from proofsmith.search import Budget, SearchChecker

    done = read_rows(out / RESULTS)
    pending = [(t, s) for t in tasks for s in STRATEGIES if (t.id, s) not in done]
    if len(pending) < len(tasks) * len(STRATEGIES):
        console.print(f"resuming: {len(tasks) * len(STRATEGIES) - len(pending)} pair(s) done, {len(pending)} to run")
    if not pending:
        return 0
    started = time.perf_counter()
    policy = load_policy(args.model, n_threads=args.threads, n_parallel=4, n_ctx=4096)
    console.print(f"model {policy.name} loaded in {time.perf_counter() - started:.1f}s")
    args.max_budget, args.traces = args.budget, True
    checker = SearchChecker()
    count = 0
    try:
        with open_for_append(out / RESULTS) as fh:
            for task, strategy in pending:
                row = _run_one(task, strategy, policy, checker, Budget(model_calls=args.budget), args, out)
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                count += 1
                mark = f"solved at {row['solved_at']}" if row["solved"] else "unsolved"
                console.print(f"[{count}/{len(pending)}] {strategy:<9} {task.id:<36} {mark:<12} "
                              f"{row['wall_s']:6.1f}s {row.get('error') or ''}", highlight=False)
    finally:
        checker.close()
        policy.close()
    return count


def report(rows: dict, tasks: list, budget: int, console: Console, out: Path) -> None:
    """Solved count per strategy at each budget on the grid, wall and spend; also as markdown in DIR/smt.md."""
    grid = budget_grid(budget)
    ids = [t.id for t in tasks]
    header = ["strategy", "pairs", *[f"solved @{b}" for b in grid], "calls/task", "s/task", "feedback used"]
    lines = []
    for s in STRATEGIES:
        mine = [rows[(i, s)] for i in ids if (i, s) in rows]
        ok = [r for r in mine if not r.get("error")]
        points = [r["solved_at"] for r in mine if r["solved"] and r["solved_at"] is not None]
        cells = [f"{sum(1 for p in points if p <= b)}/{len(mine)}" for b in grid]
        calls = sum(r["spend"]["model_calls"] for r in ok) / len(ok) if ok else 0
        wall = sum(r["wall_s"] for r in ok) / len(ok) if ok else 0
        stat = FEEDBACK.get(s)
        repairs = f"{sum(r.get('stats', {}).get(stat, 0) for r in ok):.0f} {stat}" if stat else "-"
        errors = len(mine) - len(ok)
        lines.append([s, f"{len(mine)}" + (f" ({errors} errors)" if errors else ""), *cells, f"{calls:.1f}",
                      f"{wall:.1f}", str(repairs)])
    table = Table(title=f"bitvec: refine and cegis (counterexample feedback) vs best_of_n, budget {budget} model calls")
    for h in header:
        table.add_column(h, justify="left" if h == "strategy" else "right")
    for line in lines:
        table.add_row(*line)
    console.print(table)
    both = [i for i in ids if all((i, s) in rows for s in STRATEGIES)]
    for s in STRATEGIES:
        solved = sorted(i for i in both if rows[(i, s)]["solved"] and
                        not any(rows[(i, o)]["solved"] for o in STRATEGIES if o != s))
        console.print(f"solved by {s} only: {', '.join(x.split('/')[-1] for x in solved) or 'none'}", highlight=False)
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(line) + " |" for line in lines]
    (out / "smt.md").write_text("\n".join(md) + "\n", encoding="utf-8")


def main() -> int:
    from proofsmith.datasets.bitvec import load_tasks
    from proofsmith.models.registry import DEFAULT_MODEL

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=16, help="bitvec tasks, evenly spaced (default 16)")
    parser.add_argument("--budget", type=int, default=8, help="model calls per search (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"registry name or .gguf path (default {DEFAULT_MODEL})")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="llama.cpp threads")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/smt"))
    parser.add_argument("--report-only", action="store_true", help="the table from DIR/results.jsonl only")
    args = parser.parse_args()
    console = Console(width=160)
    tasks = evenly_spaced(load_tasks(), args.tasks)
    args.out.mkdir(parents=True, exist_ok=True)
    if not check_config(args.out, {"model": args.model, "seed": args.seed, "max_budget": args.budget}, console):
        return 2
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {len(tasks)} bitvec tasks x "
                  f"{len(STRATEGIES)} strategies, budget {args.budget}, results in {args.out / RESULTS}")
    if not args.report_only:
        started = time.perf_counter()
        try:
            n = run_pairs(args, tasks, args.out, console)
            console.print(f"{n} pair(s) run in {time.perf_counter() - started:.0f}s")
        except KeyboardInterrupt:
            console.print("interrupted: finished pairs are saved; run the same command again to resume")
            report(read_rows(args.out / RESULTS), tasks, args.budget, console, args.out)
            return 130
    report(read_rows(args.out / RESULTS), tasks, args.budget, console, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
