"""Search scaling: solved fraction vs budget (model calls) for every search strategy, in one run.

Tasks: a fixed subset of coq-stdlib-mini (`--coq N`) and HumanEval
(`--humaneval M`), each taken evenly spaced over the whole split (task
`floor(i * len / N)` for i < N), so the same N always gives the same tasks.
Policy: one llama.cpp model (`--model`, default Qwen2.5-Coder-0.5B Q4_K_M)
loaded once; one `SearchChecker` (warm coqtop sessions) reused by every search.
Every strategy runs with its default settings and no process reward model.

Anytime curves. No strategy reads its budget to decide what to do; the budget
only stops it. So each (strategy, task) pair runs ONCE with
`Budget(model_calls=--max-budget)` and counts as solved at budget B iff
`result.solved` (the full checker's confirmation in `search()`, e.g. `coqc`
from scratch for Coq) and `result.solved_at.model_calls <= B`. Caveat: the
step strategies sample k proposals per request (beam 3, mcts 4, particles up
to 4 per group) and a solve is credited with the whole request, while a real
run with budget B would trim its last request to what is left; so their
curves are a lower bound by at most one partial batch at budgets that are
not a multiple of k. best_of_n credits a solve with the samples up to the one
that verified, and refine samples one at a time: both exact.

Question measured (the goal from the issue): do particle filtering and MCTS
reach best-of-N's solve rate at the max budget with 4x fewer model calls? For
each strategy the report gives the smallest budget on the grid, and the exact
number of calls, at which its solved count reaches best_of_n's count at the
max budget (on the tasks both have finished), or "not reached".

Crash safety: each finished pair is appended to DIR/results.jsonl at once
(task, language, strategy, solved, solved_at calls, spend, wall, stats); a
rerun with the same DIR skips pairs already there (`--retry-errors` reruns
those that raised). A search that raises (say a Coq prefix that does not load)
is an error row, counted unsolved. Pairs run task by task (every strategy on
one task, then the next task, alternating languages), so an interrupted run
still compares the strategies on the same tasks. Before the first search of a
Coq task, its reference proof is checked once untimed (warm session and
compiled prefix), so no strategy pays the one-off setup in its wall time. The
verdict cache is off (`PROOFSMITH_NO_CACHE=1`): every check runs, in every
strategy, and times are not flattered by earlier runs.

Output: one table per language (rows strategies, columns budgets 1, 2, 4, ...,
max: solved fraction with count/finished; mean wall seconds per pair including
the confirmation, mean model calls and generated tokens spent: a call is
one proposal, a whole answer for best_of_n and refine but one tactic or one
chunk for the step strategies, so calls cost very different amounts), the
"reach" lines, and the same as
markdown in DIR/scaling.md; DIR/scaling.png plots solved fraction vs budget
(log2 axis), one panel per language (needs matplotlib: the `bench` extra).

Run: `make bench-search [COQ=30 HE=30]`, or
`.venv/bin/python benchmarks/search_scaling.py --coq 30 --humaneval 30 --max-budget 32 --out DIR`;
`--report-only` rewrites the tables and plot from DIR/results.jsonl without the model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

# every check runs (no verdicts from earlier runs or from another strategy's identical candidate)
os.environ["PROOFSMITH_NO_CACHE"] = "1"

ALL_STRATEGIES = ("best_of_n", "refine", "beam", "mcts", "particles")
BASELINE = "best_of_n"
LANGUAGES = ("coq", "python")
LANGUAGE_TITLES = {"coq": "coq-stdlib-mini", "python": "HumanEval"}
RESULTS = "results.jsonl"
CONFIG = "config.json"
#: the claim under test: reach the baseline's solve rate with this many times fewer calls
GOAL_FACTOR = 4


def evenly_spaced(items: list, n: int) -> list:
    """`n` items spread over the whole list (item floor(i * len / n)); all of them when n >= len."""
    if n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def budget_grid(max_budget: int) -> list[int]:
    """1, 2, 4, ... up to `max_budget` (which is always included)."""
    grid, b = [], 1
    while b < max_budget:
        grid.append(b)
        b *= 2
    return [*grid, max_budget]


def load_tasks(n_coq: int, n_python: int, console: Console) -> list | None:
    """The chosen tasks, alternating languages (coq 0, python 0, coq 1, ...); None with a message on failure."""
    coq_tasks, python_tasks = [], []
    if n_coq > 0:
        from proofsmith.datasets.coq_library import LibraryError, load_split

        try:
            coq_tasks = evenly_spaced(load_split("coq-stdlib-mini"), n_coq)
        except LibraryError as exc:
            console.print(f"coq-stdlib-mini: {exc}")
            return None
    if n_python > 0:
        from proofsmith.datasets.humaneval import HumanEvalMissing
        from proofsmith.datasets.humaneval import load_tasks as humaneval_tasks

        try:
            python_tasks = evenly_spaced(humaneval_tasks(), n_python)
        except HumanEvalMissing as exc:
            console.print(str(exc))
            return None
    ordered = []
    for i in range(max(len(coq_tasks), len(python_tasks))):
        ordered += coq_tasks[i:i + 1] + python_tasks[i:i + 1]
    return ordered


# ---------------------------------------------------------------------------------------------- results file


def read_rows(path: Path) -> dict[tuple[str, str], dict]:
    """Finished rows keyed by (task, strategy); a torn last line (a crash mid-write) is ignored."""
    rows: dict[tuple[str, str], dict] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            rows[(row["task"], row["strategy"])] = row
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return rows


def open_for_append(path: Path):
    """The results file for appending, after a newline if a crash left the last line unfinished."""
    torn = path.is_file() and path.stat().st_size > 0 and path.read_bytes()[-1:] != b"\n"
    fh = path.open("a", encoding="utf-8")
    if torn:
        fh.write("\n")
    return fh


def check_config(out: Path, config: dict, console: Console) -> bool:
    """Refuse to mix results of another model, seed or max budget into DIR."""
    path = out / CONFIG
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        differ = [k for k in ("model", "seed", "max_budget") if old.get(k) != config[k]]
        if differ:
            console.print(f"{out} holds results for " + ", ".join(f"{k}={old.get(k)!r}" for k in differ)
                          + ": use another --out, or the same settings")
            return False
        return True
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return True


# ---------------------------------------------------------------------------------------------- running


def run_pairs(args: argparse.Namespace, tasks: list, strategies: list[str], out: Path, console: Console) -> int:
    """Run every pending (task, strategy) pair, appending each result; the number run."""
    from proofsmith.models import load_policy
    from proofsmith.schema import Candidate
    from proofsmith.search import Budget, SearchChecker

    results = out / RESULTS
    done = read_rows(results)
    if args.retry_errors:
        done = {k: r for k, r in done.items() if not r.get("error")}
    pending = [(task, s) for task in tasks for s in strategies if (task.id, s) not in done]
    skipped = len(tasks) * len(strategies) - len(pending)
    if skipped:
        console.print(f"resuming: {skipped} pair(s) already in {results}, {len(pending)} to run")
    if not pending:
        return 0
    started = time.perf_counter()
    policy = load_policy(args.model, n_threads=args.threads, n_parallel=args.parallel, n_ctx=args.ctx)
    console.print(f"model {policy.name} loaded in {time.perf_counter() - started:.1f}s "
                  f"({args.threads} threads, {args.parallel} slots)")
    budget = Budget(model_calls=args.max_budget)
    checker = SearchChecker()
    warmed: set[str] = set()
    count = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    try:
        with open_for_append(results) as fh, Progress(*columns, console=console) as progress:
            bar = progress.add_task("search", total=len(pending))
            for task, strategy in pending:
                progress.update(bar, description=f"{strategy} on {task.id}")
                warmup = {}
                if task.language == "coq" and task.id not in warmed:
                    warmed.add(task.id)
                    warmup = _warm_up(checker, task, Candidate)
                    if warmup.get("warmup_problem"):
                        progress.console.print(f"{task.id}: warm-up: {warmup['warmup_problem']}", highlight=False)
                row = {**_run_one(task, strategy, policy, checker, budget, args, out), **warmup}
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                count += 1
                progress.advance(bar)
                progress.console.print(_line(row, count, len(pending)), highlight=False)
    finally:
        checker.close()
        policy.close()
    return count


def _warm_up(checker, task, candidate_type) -> dict:
    """Check the task's reference proof once, fast path and full checker, untimed: the one-off setup."""
    if not task.reference:
        return {"warmup_s": None}
    started = time.perf_counter()
    reference = candidate_type(task_id=task.id, id="reference", text=task.reference)
    problem = None
    try:
        fast = checker.check(task, reference)
        full = checker.confirm(task, reference)
        if fast.status != "verified" or full.status != "verified":
            problem = f"reference proof: session {fast.status}/{fast.reason}, full {full.status}/{full.reason}"
    except Exception as exc:  # noqa: BLE001 - the searches meet the same problem and record it
        problem = f"{type(exc).__name__}: {exc}"[:500]
    return {"warmup_s": round(time.perf_counter() - started, 3), "warmup_problem": problem}


def _run_one(task, strategy: str, policy, checker, budget, args: argparse.Namespace, out: Path) -> dict:
    from proofsmith.search import search

    trace = None
    if args.traces:
        trace = out / "traces" / strategy / (re.sub(r"[^\w.-]", "_", task.id) + ".jsonl")
        trace.parent.mkdir(parents=True, exist_ok=True)
    row = {"task": task.id, "language": task.language, "strategy": strategy, "seed": args.seed,
           "max_budget": args.max_budget}
    started = time.perf_counter()
    try:
        result = search(task, policy, strategy=strategy, budget=budget, checker=checker, seed=args.seed,
                        trace=trace)
    except Exception as exc:  # noqa: BLE001 - recorded as an error row, the run goes on
        tail = traceback.format_exception(exc)[-3:]
        return {**row, "solved": False, "solved_at": None, "spend": None,
                "wall_s": round(time.perf_counter() - started, 3),
                "error": f"{type(exc).__name__}: {exc}"[:500], "traceback": "".join(tail)[-2000:],
                "load1": round(os.getloadavg()[0], 2)}
    verdict = result.verdict
    return {**row, "solved": result.solved,
            "solved_at": result.solved_at.model_calls if result.solved_at is not None else None,
            "unconfirmed": bool(result.stats.get("unconfirmed")),
            "spend": result.spend.model_dump(), "wall_s": round(time.perf_counter() - started, 3),
            "verdict": verdict.status if verdict else None, "reason": verdict.reason if verdict else None,
            "nodes": result.nodes, "checked": result.checked, "verified": result.verified,
            "stats": result.stats, "error": None, "load1": round(os.getloadavg()[0], 2)}


def _line(row: dict, n: int, total: int) -> str:
    if row.get("error"):
        what = f"ERROR {row['error'][:80]}"
    elif row["solved"]:
        what = f"solved at {row['solved_at']} calls"
    elif row.get("unconfirmed"):
        what = f"found at {row['solved_at']} calls but NOT confirmed ({row['verdict']}/{row['reason']})"
    else:
        what = f"unsolved ({row['verdict']}/{row['reason']})"
    calls = row["spend"]["model_calls"] if row.get("spend") else "-"
    return (f"[{n}/{total}] {row['language']:6} {row['task']}  {row['strategy']:9}  {what}  "
            f"{row['wall_s']:.1f}s, {calls} calls")


# ---------------------------------------------------------------------------------------------- report


def summarise(rows: dict[tuple[str, str], dict], tasks: list, strategies: list[str], grid: list[int]) -> dict:
    """Per language and strategy: finished pairs, solved counts per budget, errors, means, solve points."""
    summary: dict[str, dict] = {}
    for lang in LANGUAGES:
        ids = [t.id for t in tasks if t.language == lang]
        if not ids:
            continue
        per: dict[str, dict] = {}
        for s in strategies:
            mine = [rows[(i, s)] for i in ids if (i, s) in rows]
            ok = [r for r in mine if not r.get("error")]
            points = {r["task"]: r["solved_at"] for r in mine if r["solved"] and r["solved_at"] is not None}
            per[s] = {
                "done": len(mine),
                "solved": [sum(1 for at in points.values() if at <= b) for b in grid],
                "errors": len(mine) - len(ok),
                "unconfirmed": sum(1 for r in ok if r.get("unconfirmed")),
                "wall": sum(r["wall_s"] for r in ok) / len(ok) if ok else None,
                "calls": sum(r["spend"]["model_calls"] for r in ok) / len(ok) if ok else None,
                "tokens": sum(r["spend"]["tokens"] for r in ok) / len(ok) if ok else None,
                "points": points,
                "tasks": {r["task"] for r in mine},
            }
        summary[lang] = {"total": len(ids), "strategies": per}
    return summary


def reach_lines(lang_summary: dict, strategies: list[str], grid: list[int]) -> list[str]:
    """For each strategy: calls to reach best_of_n's solved count at the max budget, on the tasks both finished."""
    per = lang_summary["strategies"]
    max_budget = grid[-1]
    if BASELINE not in per:
        return [f"(no {BASELINE} rows: the reach comparison needs the baseline among --strategies)"]
    base = per[BASELINE]
    if base["points"]:
        ats = sorted(base["points"].values())
        lines = [(f"{BASELINE} (the baseline) solves {len(ats)}/{base['done']} at {max_budget} calls, "
                  f"its last solve at {ats[-1]} calls")]
    else:
        lines = [f"{BASELINE} (the baseline) solves 0/{base['done']} at {max_budget} calls"]
    for s in strategies:
        if s == BASELINE:
            continue
        mine = per[s]
        common = base["tasks"] & mine["tasks"]
        if not common:
            lines.append(f"{s}: no tasks finished by both {s} and {BASELINE}")
            continue
        base_ats = sorted(at for t, at in base["points"].items() if t in common)
        target = len(base_ats)
        if target == 0:
            lines.append(f"{s}: {BASELINE} solved 0/{len(common)} common tasks at {max_budget} calls; nothing to reach")
            continue
        ats = sorted(at for t, at in mine["points"].items() if t in common)
        head = f"{s}: {BASELINE} solves {target}/{len(common)} at {max_budget} calls;"
        if len(ats) < target:
            lines.append(f"{head} not reached ({len(ats)}/{len(common)} at {max_budget} calls)")
            continue
        exact = ats[target - 1]
        on_grid = next(b for b in grid if b >= exact)
        goal = "meets" if exact * GOAL_FACTOR <= max_budget else "misses"
        lines.append(f"{head} reached at B={on_grid} ({exact} calls exactly: {max_budget / exact:.1f}x fewer than "
                     f"{max_budget}, {goal} the {GOAL_FACTOR}x goal; {BASELINE} itself got there at "
                     f"{base_ats[-1]} calls)")
    return lines


def _cell(count: int, done: int) -> str:
    return f"{count / done:.2f} ({count}/{done})" if done else "-"


def table_rows(lang_summary: dict, strategies: list[str]) -> list[list[str]]:
    out = []
    for s in strategies:
        d = lang_summary["strategies"][s]
        extra = f" ({d['unconfirmed']} unconfirmed)" if d["unconfirmed"] else ""
        out.append([s, f"{d['done']}/{lang_summary['total']}", *(_cell(c, d["done"]) for c in d["solved"]),
                    f"{d['errors']}{extra}", f"{d['wall']:.1f}" if d["wall"] is not None else "-",
                    f"{d['calls']:.1f}" if d["calls"] is not None else "-",
                    f"{d['tokens']:.0f}" if d["tokens"] is not None else "-"])
    return out


def report(summary: dict, strategies: list[str], grid: list[int], config: dict, out: Path, console: Console) -> None:
    header = ["strategy", "finished", *(f"B={b}" for b in grid), "errors", "mean wall s", "mean calls", "mean gen tokens"]
    machine = f"{os.cpu_count()} CPUs, {platform.machine()}"
    md = ["# Search scaling: solved fraction vs model calls\n",
          (f"Model `{config['model']}`, seed {config['seed']}, each pair run once with max budget "
           f"{grid[-1]} model calls and read at every B (anytime; see benchmarks/search_scaling.py). "
           f"Measured on {machine}. Cells: solved fraction (solved/finished pairs).\n")]
    for lang, lang_summary in summary.items():
        title = f"{LANGUAGE_TITLES[lang]}, {lang_summary['total']} tasks: solved fraction by budget (model calls)"
        table = Table(title=title)
        for col in header:
            table.add_column(col, justify="left" if col == "strategy" else "right")
        rows = table_rows(lang_summary, strategies)
        for r in rows:
            table.add_row(*r)
        console.print(table)
        reach = reach_lines(lang_summary, strategies, grid)
        console.print(f"model calls to reach {BASELINE}'s solve rate at budget {grid[-1]} ({LANGUAGE_TITLES[lang]}):")
        for line in reach:
            console.print(f"  {line}", highlight=False)
        md += [f"## {title}\n", "| " + " | ".join(header) + " |",
               "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
               *("| " + " | ".join(r) + " |" for r in rows), "",
               f"Model calls to reach {BASELINE}'s solve rate at budget {grid[-1]}:\n",
               *(f"- {line}" for line in reach), ""]
    (out / "scaling.md").write_text("\n".join(md), encoding="utf-8")
    console.print(f"wrote {out / 'scaling.md'}")
    plot(summary, strategies, grid, out / "scaling.png", console)


def plot(summary: dict, strategies: list[str], grid: list[int], path: Path, console: Console) -> None:
    try:
        import matplotlib
    except ImportError:
        console.print("no plot: matplotlib is missing (`pip install matplotlib`, or `pip install -e '.[bench]'`)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = list(summary)
    if not langs:
        return
    fig, axes = plt.subplots(1, len(langs), figsize=(6 * len(langs), 4.5), squeeze=False)
    for ax, lang in zip(axes[0], langs, strict=True):
        per = summary[lang]["strategies"]
        for i, s in enumerate(strategies):
            d = per[s]
            if not d["done"]:
                continue
            # distinct markers, sizes and dashes: equal curves stay visible on top of each other
            ax.plot(grid, [c / d["done"] for c in d["solved"]], marker="os^Dv"[i % 5], markersize=9 - 1.2 * (i % 5),
                    linestyle=("-", "--", "-.", ":", (0, (5, 1)))[i % 5], label=f"{s} (n={d['done']})")
        ax.set_xscale("log", base=2)
        ax.set_xticks(grid, [str(b) for b in grid])
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("budget (model calls)")
        ax.set_ylabel("solved fraction")
        ax.set_title(f"{LANGUAGE_TITLES[lang]} ({summary[lang]['total']} tasks)")
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    console.print(f"wrote {path}")


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    from proofsmith.models.registry import DEFAULT_MODEL

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coq", type=int, default=30, help="coq-stdlib-mini tasks, evenly spaced (default 30)")
    parser.add_argument("--humaneval", type=int, default=30, help="HumanEval tasks, evenly spaced (default 30)")
    parser.add_argument("--max-budget", type=int, default=32, help="model calls per search (default 32)")
    parser.add_argument("--strategies", default=",".join(ALL_STRATEGIES),
                        help=f"comma-separated (default {','.join(ALL_STRATEGIES)})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"registry name or .gguf path (default {DEFAULT_MODEL})")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="llama.cpp threads")
    parser.add_argument("--parallel", type=int, default=4, help="llama.cpp slots (the largest batch a strategy asks)")
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/search_scaling"))
    parser.add_argument("--traces", action="store_true", help="write each search's trace under DIR/traces/")
    parser.add_argument("--retry-errors", action="store_true", help="rerun pairs whose search raised")
    parser.add_argument("--report-only", action="store_true", help="tables and plot from DIR/results.jsonl only")
    args = parser.parse_args()

    console = Console(width=160)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in ALL_STRATEGIES]
    if unknown or not strategies:
        console.print(f"unknown strategies {unknown}; choose from {', '.join(ALL_STRATEGIES)}")
        return 2
    if args.max_budget < 1:
        console.print("--max-budget must be at least 1")
        return 2
    tasks = load_tasks(args.coq, args.humaneval, console)
    if tasks is None:
        return 2
    if not tasks:
        console.print("no tasks: give --coq and/or --humaneval")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    config = {"model": args.model, "seed": args.seed, "max_budget": args.max_budget}
    if not check_config(args.out, config, console):
        return 2
    grid = budget_grid(args.max_budget)
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
                  f"{sum(t.language == 'coq' for t in tasks)} coq + {sum(t.language == 'python' for t in tasks)} "
                  f"HumanEval tasks x {len(strategies)} strategies, budget {args.max_budget} model calls, "
                  f"results in {args.out / RESULTS}")
    interrupted = False
    if not args.report_only:
        started = time.perf_counter()
        try:
            n = run_pairs(args, tasks, strategies, args.out, console)
            console.print(f"{n} pair(s) run in {time.perf_counter() - started:.0f}s")
        except KeyboardInterrupt:
            interrupted = True
            console.print("interrupted: finished pairs are saved; run the same command again to resume")
    summary = summarise(read_rows(args.out / RESULTS), tasks, strategies, grid)
    report(summary, strategies, grid, config, args.out, console)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
