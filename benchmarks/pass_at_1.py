"""Plain pass@1 of one model through the search's own prompts (HumanEval, LeetCode): the bar search has to clear.

One sample per task, graded by the hidden tests. The sample is drawn by
`proofsmith.search.search` with `BestOfN(batch=1)` and a budget of one model
call, so prompt, stop strings, token limit and per-request seed are exactly
what every search strategy uses (a comparison "0.5B + search vs 1.5B sampled
once" is then same prompts, same checker, same machine). The search runs in
`oracle` mode: with one sample there is nothing to choose, so the one check
it makes is the hidden-test grade, and all 164 tasks count (13 have no
docstring example, which visible mode would need); `solved` is that grade.
`--suite leetcode-hard` (or `leetcode`) measures the harder suite the same way.

`--temperature 0` (the default) is greedy decoding; `--temperature 0.8` with
`--seed S` samples as the searches do. `--limit N` takes N tasks evenly
spaced. Rows go to DIR/results.jsonl keyed by (suite, model, temperature,
seed, task), one line per finished task, so a rerun continues where a stop left
off; the table covers every configuration in the file (run the 0.5B and the
1.5B model into the same DIR and they print side by side). The verdict cache
is off: every check runs.

Run: `make bench-pass1 [PASS1_MODEL=large PASS1_TEMP=0.8 PASS1_SEED=1]`, or
`.venv/bin/python benchmarks/pass_at_1.py --model default --temperature 0 --out DIR`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from results_file import append_row, open_for_append, read_rows
from rich.console import Console
from rich.table import Table
from suites import SuiteError, load_suite

os.environ["PROOFSMITH_NO_CACHE"] = "1"

RESULTS = "results.jsonl"


#: suites whose hidden tests grade a program (rows written before `--suite` existed are HumanEval's)
SUITES = ("humaneval", "leetcode", "leetcode-hard")


def row_key(row: dict) -> tuple[str, str, float, int, str]:
    """A row's identity: (suite, model, temperature, seed, task)."""
    return (row.get("suite", "humaneval"), row["model"], float(row["temperature"]), int(row["seed"]), row["task"])


def summarise(rows: list[dict]) -> list[dict]:
    """Per (suite, model, temperature, seed): tasks run, pass@1, errors, mean generated tokens, seconds, load."""
    groups: dict[tuple[str, str, float, int], list[dict]] = {}
    for r in rows:
        groups.setdefault(row_key(r)[:4], []).append(r)
    out = []
    for (suite, model, temperature, seed), mine in sorted(groups.items()):
        n = len(mine)
        out.append({"suite": suite, "model": model, "temperature": temperature, "seed": seed, "n": n,
                    "passed": sum(1 for r in mine if r["solved"]),
                    "errors": sum(1 for r in mine if r.get("error")),
                    "tokens": sum(r["tokens"] for r in mine) / n, "seconds": sum(r["wall_s"] for r in mine) / n,
                    "load_min": min(r["load1"] for r in mine), "load_max": max(r["load1"] for r in mine)})
    return out


def run(args: argparse.Namespace, tasks: list, results: Path, console: Console) -> int:
    """Sample and grade every task not yet in `results`; the number run."""
    from proofsmith.models import load_policy
    from proofsmith.search import BestOfN, Budget, SearchChecker, search

    model = args.model_name
    done = read_rows(results, row_key)
    run_of = {"suite": args.suite, "model": model, "temperature": args.temperature, "seed": args.seed}
    pending = [t for t in tasks if row_key({**run_of, "task": t.id}) not in done]
    if len(tasks) > len(pending):
        console.print(f"resuming: {len(tasks) - len(pending)} task(s) already in {results}, {len(pending)} to run")
    if not pending:
        return 0
    started = time.perf_counter()
    policy = load_policy(args.model, n_threads=args.threads, n_parallel=1, n_ctx=args.ctx)
    console.print(f"model {policy.name} loaded in {time.perf_counter() - started:.1f}s ({args.threads} threads)")
    strategy = BestOfN(batch=1, temperature=args.temperature)
    checker = SearchChecker()
    count = 0
    try:
        with open_for_append(results) as fh:
            for task in pending:
                row = {**run_of, "task": task.id}
                begun = time.perf_counter()
                try:
                    result = search(task, policy, strategy=strategy, budget=Budget(model_calls=1), checker=checker,
                                    seed=args.seed, tests="oracle")
                    row |= {"solved": result.solved, "tokens": result.spend.tokens,
                            "prompt_tokens": result.spend.prompt_tokens,
                            "reason": result.verdict.reason if result.verdict else "no candidate", "error": None}
                except Exception as exc:  # noqa: BLE001 - recorded as an error row (not passed), the run goes on
                    row |= {"solved": False, "tokens": 0, "prompt_tokens": 0, "reason": None,
                            "error": f"{type(exc).__name__}: {exc}"[:500],
                            "traceback": "".join(traceback.format_exception(exc)[-3:])[-2000:]}
                row |= {"wall_s": round(time.perf_counter() - begun, 3), "load1": round(os.getloadavg()[0], 2)}
                append_row(fh, row)
                count += 1
                mark = "pass" if row["solved"] else f"fail ({row['error'] or row['reason']})"
                console.print(f"[{count}/{len(pending)}] {task.id}: {mark}, {row['tokens']} tokens, "
                              f"{row['wall_s']:.1f}s, load {row['load1']}", highlight=False)
    finally:
        checker.close()
        policy.close()
    return count


def report(rows: list[dict], console: Console) -> None:
    """The table: one line per (suite, model, temperature, seed) in the results file."""
    header = ["suite", "model", "temperature", "seed", "n", "pass@1", "errors", "mean gen tokens", "mean s/task",
              "load avg (1 min)"]
    table = Table(title=f"pass@1 through the search's prompts (hidden tests; {os.cpu_count()} CPUs, "
                        f"{platform.machine()})")
    for col in header:
        table.add_column(col, justify="left" if col in ("suite", "model") else "right")
    for s in summarise(rows):
        table.add_row(s["suite"], s["model"], "greedy (0)" if s["temperature"] == 0 else f"{s['temperature']:g}",
                      str(s["seed"]), str(s["n"]), f"{s['passed'] / s['n'] * 100:.1f} % ({s['passed']}/{s['n']})",
                      str(s["errors"]), f"{s['tokens']:.0f}", f"{s['seconds']:.1f}",
                      f"{s['load_min']:.1f}-{s['load_max']:.1f}")
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="registry name or alias (default, large) or a .gguf path")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 is greedy (default); 0.8 as the searches")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (irrelevant when greedy)")
    parser.add_argument("--suite", choices=SUITES, default="humaneval", help="the tasks (default humaneval)")
    parser.add_argument("--limit", type=int, default=None, help="tasks, evenly spaced (default all of the suite)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="llama.cpp threads")
    parser.add_argument("--ctx", type=int, default=4096, help="context tokens")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pass_at_1"))
    parser.add_argument("--report-only", action="store_true", help="the table from DIR/results.jsonl only")
    args = parser.parse_args()

    console = Console(width=160)
    if args.temperature < 0 or (args.limit is not None and args.limit < 1):
        console.print("--temperature must be at least 0 and --limit at least 1")
        return 2
    from proofsmith.models import ModelError, get_spec

    try:
        args.model_name = args.model if args.model.endswith(".gguf") else get_spec(args.model).name
        tasks = load_suite(args.suite, args.limit)
    except (SuiteError, ModelError) as exc:
        console.print(str(exc), highlight=False)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / RESULTS
    interrupted = False
    if not args.report_only:
        console.print(f"{len(tasks)} {args.suite} tasks, model {args.model}, temperature {args.temperature:g}, "
                      f"seed {args.seed}; load average {os.getloadavg()[0]:.1f}; results in {results}")
        started = time.perf_counter()
        try:
            n = run(args, tasks, results, console)
            console.print(f"{n} task(s) run in {time.perf_counter() - started:.0f}s")
        except KeyboardInterrupt:
            interrupted = True
            console.print("interrupted: finished tasks are saved; run the same command again to resume")
    report(list(read_rows(results, row_key).values()), console)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
