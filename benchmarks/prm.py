"""Does a trained PRM raise solved@budget? Beam search and particle filtering, with and without it, one run.

Training data: step labels (`proofsmith prm label`) from searches on tasks
that are NOT evaluated here (`--labels`); the benchmark trains the encoder PRM
on them (seed 0) into DIR/prm, or uses `--prm DIR`. Held-out tasks: `--coq N`
lemmas of coq-stdlib-mini (evenly spaced over the split), `--stdlib S` stdlib
lemmas outside it as short as the ones the labels usually come from (the
training distribution, where a 0.5B policy solves some at small budgets), and
`--humaneval M` HumanEval tasks; a task the labels cover is refused, so
nothing trained on is evaluated.

Each (task, strategy, PRM or not) runs once with `Budget(model_calls=MAX)`
and counts as solved at budget B when it verified (confirmed by the full
checker) with `solved_at.model_calls <= B` (the anytime reading of
benchmarks/search_scaling.py, with the same caveat about the last batch).
Without a PRM, steps are ranked by the checker's feedback (Coq: fewer and
smaller goals) or the policy's mean token probability (programs); with it, by
the PRM's score. Same model, seed, budgets and checker in both arms; the PRM
arm also pays the encoder's time (in the wall column).

The loop section (`--loop-tasks K --rounds R`, off with 0) runs expert
iteration (`proofsmith prm loop`) on K training-side lemmas, starting from the
PRM under test and its labels, and prints solved@budget per round.

Crash safety: every finished search is appended to DIR/results.jsonl; a rerun
with the same DIR resumes. Output: a table (rows strategy x PRM, columns
budgets), DIR/prm.md.

Run: `make bench-prm LABELS=steps.jsonl [COQ=20 HE=0]`.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_scaling import _warm_up, evenly_spaced, open_for_append

STRATEGIES = ("beam", "particles")
ARMS = ("none", "prm")


def short_stdlib_lemmas(exclude: set[str]) -> list:
    """Stdlib lemmas outside coq-stdlib-mini with short statements and proofs, not in `exclude`, sorted by id."""
    from proofsmith.datasets.coq_library import library_tasks, load_split

    mini = {t.id for t in load_split("coq-stdlib-mini")}
    return sorted((t for t in library_tasks("stdlib") if t.id not in mini and t.id not in exclude
                   and len(t.reference or "") < 120 and len(t.statement) < 200), key=lambda t: t.id)


def load_eval_tasks(n_coq: int, n_he: int, exclude: set[str], n_stdlib: int = 0) -> list:
    """Held-out tasks, alternating languages; SystemExit naming the clash when a task was trained on."""
    tasks = []
    if n_coq:
        from proofsmith.datasets.coq_library import load_split

        tasks += evenly_spaced(load_split("coq-stdlib-mini"), n_coq)
    if n_stdlib:
        tasks += evenly_spaced(short_stdlib_lemmas(exclude), n_stdlib)
    if n_he:
        from proofsmith.datasets.humaneval import load_tasks

        tasks += evenly_spaced(load_tasks(), n_he)
    clash = [t.id for t in tasks if t.id in exclude]
    if clash:
        raise SystemExit(f"the PRM's labels cover evaluated task {clash[0]} (and {len(clash) - 1} more): "
                         "label traces of other tasks")
    return tasks


def train_or_load(args: argparse.Namespace, out: Path, console: Console):
    """The PRM under test, and the task ids its labels cover."""
    from proofsmith.prm import load_prm, read_labels
    from proofsmith.prm.train import train_prm

    labels = read_labels(args.labels) if args.labels else []
    covered = {x.task_id for x in labels}
    if args.prm:
        return load_prm(args.prm), covered
    directory = out / "prm"
    if (directory / "config.json").is_file():
        return load_prm(directory), covered
    if not labels:
        raise SystemExit("give --labels STEPS.jsonl (from `proofsmith prm label`) or --prm DIR")
    started = time.perf_counter()
    prm, report = train_prm(labels, seed=0)
    name = prm.save(directory)
    report = report.model_copy(update={"name": name})
    (directory / "report.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    console.print(f"trained {name} on {report.steps['train']} steps in {time.perf_counter() - started:.0f}s: "
                  f"held-out AUROC {report.test.auroc}, accepted-step AUROC {report.test_accepted.auroc}")
    return prm, covered


def read_done(path: Path) -> dict[tuple[str, str, str], dict]:
    """Finished rows keyed by (task, strategy, arm); a torn last line is ignored."""
    rows = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                rows[(row["task"], row["strategy"], row["arm"])] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return rows


def run(args: argparse.Namespace, tasks: list, prm, out: Path, console: Console) -> dict:
    """Run every pending search; all rows."""
    from proofsmith.models import load_policy
    from proofsmith.schema import Candidate
    from proofsmith.search import Budget, SearchChecker, search

    results = out / "results.jsonl"
    done = read_done(results)
    pending = [(t, s, a) for t in tasks for s in STRATEGIES for a in ARMS if (t.id, s, a) not in done]
    if not pending:
        return done
    policy = load_policy(args.model, n_threads=args.threads)
    checker = SearchChecker()
    warmed: set[str] = set()
    try:
        with open_for_append(results) as fh:
            for i, (task, strategy, arm) in enumerate(pending, 1):
                if task.language == "coq" and task.id not in warmed:
                    warmed.add(task.id)
                    _warm_up(checker, task, Candidate)
                started = time.perf_counter()
                trace = out / "traces" / arm / strategy / (task.id.replace("/", "_") + ".jsonl")
                result = search(task, policy, strategy=strategy, budget=Budget(model_calls=args.max_budget),
                                checker=checker, prm=prm if arm == "prm" else None, seed=args.seed, trace=trace)
                row = {"task": task.id, "language": task.language, "strategy": strategy, "arm": arm,
                       "prm": prm.name if arm == "prm" else None, "solved": result.solved,
                       "solved_at": result.solved_at.model_calls if result.solved_at else None,
                       "calls": result.spend.model_calls, "tokens": result.spend.tokens,
                       "wall_s": round(time.perf_counter() - started, 2), "load1": round(os.getloadavg()[0], 2)}
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                done[(task.id, strategy, arm)] = row
                mark = f"solved at {row['solved_at']}" if row["solved"] else "unsolved"
                console.print(f"[{i}/{len(pending)}] {strategy:9} {arm:4} {task.id}: {mark} ({row['wall_s']}s)",
                              highlight=False)
    finally:
        checker.close()
        policy.close()
    return done


def budgets(max_budget: int) -> list[int]:
    """4, 8, 16, ... up to the max budget."""
    grid, b = [], 4
    while b < max_budget:
        grid.append(b)
        b *= 2
    return [*grid, max_budget]


def report(rows: dict, tasks: list, args: argparse.Namespace, out: Path, console: Console) -> None:
    """The solved@budget table per language, printed and written to DIR/prm.md."""
    grid = budgets(args.max_budget)
    lines = [f"model {args.model}, seed {args.seed}, max budget {args.max_budget} model calls", ""]
    for language in sorted({t.language for t in tasks}):
        ids = [t.id for t in tasks if t.language == language]
        table = Table(title=f"{language}: solved@budget on {len(ids)} held-out tasks")
        header = ["strategy", "ranking", *[f"@{b}" for b in grid], "mean wall s", "mean tokens"]
        for column in header:
            table.add_column(column)
        lines += [f"### {language} ({len(ids)} held-out tasks)", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        for strategy in STRATEGIES:
            for arm in ARMS:
                got = [rows[(i, strategy, arm)] for i in ids if (i, strategy, arm) in rows]
                if not got:
                    continue
                cells = [f"{sum(r['solved'] and r['solved_at'] <= b for r in got)}/{len(got)}" for b in grid]
                wall = sum(r["wall_s"] for r in got) / len(got)
                tokens = sum(r["tokens"] for r in got) / len(got)
                label = "checker feedback" if arm == "none" else got[0]["prm"]
                row = [strategy, label, *cells, f"{wall:.1f}", f"{tokens:.0f}"]
                table.add_row(*row)
                lines.append("| " + " | ".join(row) + " |")
        console.print(table)
        lines.append("")
    (out / "prm.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def loop_section(args: argparse.Namespace, prm, covered: set[str], evaluated: set[str], out: Path,
                 console: Console) -> None:
    """Expert iteration on `--loop-tasks` training-side lemmas (not evaluated above).

    It starts from the PRM under test and its labels: each round searches with
    the current PRM, adds the new labels to all earlier ones and retrains.
    """
    from proofsmith.models import load_policy
    from proofsmith.prm import read_labels
    from proofsmith.prm.loop import run_loop

    tasks = evenly_spaced(short_stdlib_lemmas(covered | evaluated), args.loop_tasks)
    policy = load_policy(args.model, n_threads=args.threads)
    lines = []

    def on_round(r) -> None:
        line = (f"round {r.round}: {r.strategy} solved@{r.budget} {r.solved}/{r.tasks} with "
                f"{r.prm or 'no PRM (checker feedback)'}; trained {r.trained} on {r.labels} steps "
                f"(held-out AUROC {r.report.test.auroc if r.report else None})")
        console.print(line, highlight=False)
        lines.append(line)

    with policy:
        run_loop(tasks, policy, out / "loop", rounds=args.rounds, strategy="beam", budget=args.loop_budget,
                 seed=args.seed, prm=prm, extra_labels=read_labels(args.labels) if args.labels else (),
                 on_round=on_round)
    with (out / "prm.md").open("a", encoding="utf-8") as fh:
        fh.write(f"### expert iteration on {len(tasks)} training-side stdlib lemmas\n\n" +
                 "".join(f"- {line}\n" for line in lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", help="Step labels to train the PRM on (tasks not evaluated here).")
    parser.add_argument("--prm", help="Use this PRM checkpoint instead of training one.")
    parser.add_argument("--coq", type=int, default=20, help="Held-out coq-stdlib-mini lemmas.")
    parser.add_argument("--stdlib", type=int, default=0,
                        help="Held-out short stdlib lemmas outside coq-stdlib-mini (the training distribution).")
    parser.add_argument("--humaneval", type=int, default=0, help="Held-out HumanEval tasks.")
    parser.add_argument("--max-budget", type=int, default=32)
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loop-tasks", type=int, default=0, help="Lemmas for the expert-iteration section.")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--loop-budget", type=int, default=16)
    parser.add_argument("--out", default="benchmarks/results/prm")
    args = parser.parse_args()
    os.environ.setdefault("PROOFSMITH_NO_CACHE", "1")
    console = Console()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prm, covered = train_or_load(args, out, console)
    tasks = load_eval_tasks(args.coq, args.humaneval, covered, args.stdlib)
    rows = run(args, tasks, prm, out, console)
    report(rows, tasks, args, out, console)
    if args.loop_tasks:
        loop_section(args, prm, covered, {t.id for t in tasks}, out, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
