"""Proving power: the share of lemmas proved within 10, 30 and 60 s each, per prover configuration.

The question (issue 19): does each part of the prover earn its place? Each
configuration searches every task once with a wall-clock budget of
`--wall` seconds (MCTS, the `prove` default), one task at a time on this
machine; a task counts as proved within T seconds when the search's proof
was confirmed by `coqc` from scratch and the search had found it by T
(`solved_at.wall_s`, which includes starting the warm Coq session). The
configurations:

| name | model | automation portfolio | lemma retrieval | CoqHammer |
|---|---|---|---|---|
| model | default (0.5B) | - | - | - |
| portfolio | none | yes | - | - |
| hammer | none | - | - | `hammer` once, at the root |
| automation | none | yes | yes | yes, where allowed |
| model+portfolio | default | yes | - | - |
| model+portfolio+retrieval | default | yes | yes | - |
| full | default | yes | yes | yes, where allowed |
| full-1.5b | large (1.5B) | yes | yes | yes, where allowed |

CoqHammer runs where the task may import it (`hammer` option, added by this
script; `search.checker.hammer_allowed`): not for a stdlib lemma of a module
that Hammer's own imports load (its ATPs pick the compiled original there,
and the checker rejects any proof depending on that module or on a loaded
library that needs it, `provers.coq_dependencies`); the table counts the
tasks that had it.

The few-shot example pool (read from the whole installed library) is loaded
once before the first search, as a long-running prover process would have it.
Every (config, task) pair is appended to DIR/results.jsonl as it finishes; a
rerun with the same DIR skips what is there. The verdict cache is off. Each
step the checker runs is logged by (state, tactic): the table's `repeats`
column counts a (state, tactic) pair checked twice in one search (the search
promises none).

Run: `make bench-prove`, or `.venv/bin/python benchmarks/prove.py --suite coq-stdlib-mini
--suite coq-textbook --config full --config portfolio --config model --out DIR`;
`--limit N` takes N tasks evenly spaced over each suite; `--report-only` rewrites DIR/prove.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("PROOFSMITH_NO_CACHE", "1")

CONFIGS: dict[str, dict] = {
    "model": {"model": "default", "automation": False, "retrieval": False, "hammer": False},
    "portfolio": {"model": "none", "automation": True, "retrieval": False, "hammer": False},
    "hammer": {"model": "none", "hammer_only": True},
    "automation": {"model": "none", "automation": True, "retrieval": True, "hammer": None},
    "model+portfolio": {"model": "default", "automation": True, "retrieval": False, "hammer": False},
    "model+portfolio+retrieval": {"model": "default", "automation": True, "retrieval": True, "hammer": False},
    "full": {"model": "default", "automation": True, "retrieval": True, "hammer": None},
    "full-1.5b": {"model": "large", "automation": True, "retrieval": True, "hammer": None},
}
LIMITS = (10, 30, 60)
ANCHORS = "Tactician 39.3 % of the Coq stdlib; CoqHammer's hammer 40.8 %; Tactician + CoqHammer 56.7 % (about 40 s each)"


def _tasks(suite: str, limit: int | None, only: list[str] | None = None):
    from proofsmith.datasets.cli import load_split_tasks

    tasks = load_split_tasks(suite)
    if limit is not None and limit < len(tasks):
        tasks = [tasks[i * len(tasks) // limit] for i in range(limit)]
    if only:
        tasks = [t for t in tasks if any(part in t.id for part in only)]
    return tasks


def _with_hammer(task) -> tuple[object, bool]:
    """The task with the `hammer` import allowed, where CoqHammer may be used for it."""
    from proofsmith.search.checker import hammer_allowed

    if not hammer_allowed(task):
        return task, False
    return task.model_copy(update={"options": {**task.options, "hammer": True}}), True


def _counting_checker(**kwargs):
    from proofsmith.search.checker import SearchChecker

    class CountingChecker(SearchChecker):
        """The real checker, logging each (state, tactic) step it runs."""

        def __init__(self, **kw) -> None:
            super().__init__(**kw)
            self.steps: Counter[tuple[str, str]] = Counter()

        def step(self, state, step: str, timeout_s: float | None = None):
            self.steps[(state.hash, " ".join(step.split()))] += 1
            return super().step(state, step, timeout_s)

    return CountingChecker(**kwargs)


def _hammer_once(task, checker, wall: float) -> dict:
    """CoqHammer alone: `hammer` at the root, its reconstruction kept, confirmed by coqc."""
    from proofsmith import provers
    from proofsmith.schema import Candidate
    from proofsmith.search.portfolio import hammer_reconstructions

    started = time.monotonic()
    state = checker.open(task)
    result = checker.step(state, "hammer.", timeout_s=wall)
    solved_at = None
    if result.status == "ok" and result.solved:
        for tactic in hammer_reconstructions(result.messages):
            again = checker.step(state, tactic, timeout_s=10)
            if again.status == "ok" and again.solved:
                verdict = provers.check(task, Candidate(task_id=task.id, text=tactic + "\n"))
                if verdict.status == "verified":
                    solved_at = time.monotonic() - started
                break
    return {"solved": solved_at is not None, "solved_at_s": solved_at, "wall_s": time.monotonic() - started,
            "model_calls": 0, "tokens": 0, "stats": {}}


def run(suites: list[str], configs: list[str], limit: int | None, wall: float, out: Path,
        only: list[str] | None = None) -> None:
    from proofsmith.models import load_policy
    from proofsmith.search import Budget, search
    from proofsmith.search.mcts import MCTS

    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = {(r["config"], r["task"]) for r in _read(results)}
    from proofsmith.search.examples import examples_for

    # the few-shot pool is read from the whole installed library once per process: not a lemma's cost
    warm = time.monotonic()
    for suite in suites:
        examples_for(_tasks(suite, 1)[0])
    print(f"few-shot pool loaded in {time.monotonic() - warm:.1f} s", flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores", flush=True)
    for name in configs:
        spec = CONFIGS[name]
        todo = [(s, t) for s in suites for t in _tasks(s, limit, only) if (name, t.id) not in done]
        if not todo:
            continue
        hammer_only = spec.get("hammer_only", False)
        checker = _counting_checker(automation=spec.get("automation", False), retrieval=spec.get("retrieval", False),
                                    hammer=spec.get("hammer"))
        with load_policy(spec["model"]) as policy, checker:
            for i, (suite, task) in enumerate(todo, 1):
                with_hammer = False
                if hammer_only or spec.get("hammer") is None:
                    task, with_hammer = _with_hammer(task)
                checker.steps.clear()
                row = {"config": name, "suite": suite, "task": task.id, "hammer": with_hammer,
                       "load": round(os.getloadavg()[0], 2)}
                try:
                    if hammer_only:
                        row |= _hammer_once(task, checker, wall) if with_hammer else \
                            {"solved": False, "solved_at_s": None, "wall_s": 0.0, "model_calls": 0, "tokens": 0,
                             "stats": {"hammer_not_allowed": 1}}
                    else:
                        result = search(task, policy, strategy=MCTS(), checker=checker,
                                        budget=Budget(model_calls=None, wall_s=wall))
                        row |= {"solved": result.solved,
                                "solved_at_s": result.solved_at.wall_s if result.solved and result.solved_at else None,
                                "wall_s": result.spend.wall_s, "model_calls": result.spend.model_calls,
                                "tokens": result.spend.tokens, "stats": result.stats,
                                "proof": result.candidate.text if result.solved and result.candidate else None}
                except Exception as exc:  # noqa: BLE001 -- a task whose prefix does not load is a failed row, not a stopped run
                    row |= {"solved": False, "solved_at_s": None, "wall_s": 0.0, "model_calls": 0, "tokens": 0,
                            "stats": {}, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
                row["repeats"] = sum(n - 1 for n in checker.steps.values() if n > 1)
                with results.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                mark = f"proved in {row['solved_at_s']:.1f} s" if row["solved"] else "not proved"
                print(f"[{name} {i}/{len(todo)}] {task.id}: {mark}", flush=True)
    report(out, wall)


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mean_load(rows: list[dict]) -> str:
    """The machine's mean 1-minute load average at the start of these rows' searches ("?" for older rows)."""
    loads = [r["load"] for r in rows if "load" in r]
    return f"{sum(loads) / len(loads):.1f}" if loads else "?"


def report(out: Path, wall: float) -> str:
    """The table of solved shares per configuration and suite, printed and written to DIR/prove.md."""
    rows = _read(out / "results.jsonl")
    suites = sorted({r["suite"] for r in rows})
    lines = [f"Proved within T seconds per lemma (MCTS, one lemma at a time, 2 cores; coqc-confirmed). {ANCHORS}.",
             ""]
    for suite in suites:
        lines += [f"### {suite}", "",
                  "| config | n | " + " | ".join(f"<= {t} s" for t in LIMITS if t <= wall) +
                  " | mean model calls | hammer allowed | repeats | errors | load (1-min, mean) |",
                  "|---|---|" + "---|" * len([t for t in LIMITS if t <= wall]) + "---|---|---|---|---|"]
        for name in CONFIGS:
            mine = [r for r in rows if r["config"] == name and r["suite"] == suite]
            if not mine:
                continue
            n = len(mine)
            cells = []
            for t in LIMITS:
                if t > wall:
                    continue
                k = sum(1 for r in mine if r["solved"] and r["solved_at_s"] is not None and r["solved_at_s"] <= t)
                cells.append(f"{100 * k / n:.1f} % ({k})")
            calls = sum(r["model_calls"] for r in mine) / n
            lines.append(f"| {name} | {n} | " + " | ".join(cells) +
                         f" | {calls:.1f} | {sum(r.get('hammer', False) for r in mine)} | "
                         f"{sum(r.get('repeats', 0) for r in mine)} | {sum(1 for r in mine if r.get('error'))} | "
                         f"{_mean_load(mine)} |")
        lines.append("")
    text = "\n".join(lines)
    (out / "prove.md").write_text(text + "\n")
    print(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", default=None, help="suite (repeatable); default both")
    parser.add_argument("--config", action="append", default=None, choices=list(CONFIGS),
                        help="configuration (repeatable); default all")
    parser.add_argument("--limit", type=int, default=None, help="N tasks evenly spaced per suite")
    parser.add_argument("--wall", type=float, default=60.0, help="seconds per lemma (default 60)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/prove"))
    parser.add_argument("--task", action="append", default=None,
                        help="only the tasks whose id contains this text (repeatable; after --limit)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    if args.report_only:
        report(args.out, args.wall)
        return 0
    run(args.suite or ["coq-stdlib-mini", "coq-textbook"], args.config or list(CONFIGS), args.limit, args.wall,
        args.out, args.task)
    return 0


if __name__ == "__main__":
    sys.exit(main())
