"""Why a search scaling run came out as it did: what each strategy's checks said, read from its traces.

Reads one or more `search_scaling.py --traces` result directories (DIR/results.jsonl and
DIR/traces/STRATEGY/sSEED/TASK.jsonl) and prints, per suite and strategy:

- searches, solved (the hidden grade), and answers that passed the search's own
  checks but failed the hidden grade (overfit to the visible tests);
- checks, and the share of them by verdict reason (verified, counterexample,
  tests_failed, unsupported, load_error, ...);
- generated tokens per check (what one checkable candidate cost);
- echo: the share of generated non-blank lines that repeat a line of the task's
  statement (signature, docstring, examples), fences and bare quotes left out;
- the constructs most often refused as unsupported (SMT) or the first line of
  the most common check errors.

With `--recheck`, every distinct program a check refused as `unsupported` is
checked again by the current checker, and the table says what it decides now
(verified, counterexample, still unsupported, ...): what a change to the SMT
subset turns from refusals into verdicts, on the programs the model really
wrote. The program is rebuilt as the search built it: a whole-program
strategy's step is the model's whole answer; a step search's path of chunks
follows the statement (`answer_head`) where the task has one.

Run: `.venv/bin/python benchmarks/search_traces.py benchmarks/results/search_scaling-bitvec-s0 ...`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from results_file import read_rows
from search_scaling import row_key

#: lines that say nothing about echo: code fences and bare docstring quotes
_TRIVIAL = {"```", "```python", '"""', "'''"}


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() not in _TRIVIAL]


def _error_kind(error: str) -> str:
    """A check error cut to what it names: the refused construct, or the error's first clause."""
    if error.startswith("counterexample"):
        return "counterexample"
    m = re.match(r"unsupported construct: (.*?)(?:\. The checker|:|$)", error)
    if m:
        return "unsupported: " + re.sub(r"line \d+: ", "", m.group(1))[:60]
    return error.splitlines()[0][:70] if error else ""


def _rows(d: Path) -> dict:
    """A run's rows by (task, strategy, seed), as search_scaling.py keys them (a torn last line left out)."""
    return read_rows(d / "results.jsonl", row_key)


def read_traces(dirs: list[Path]) -> dict[tuple[str, str], dict]:
    """Per (suite, strategy): counts of checks by reason, tokens, echo lines and error kinds over every trace."""
    stats: dict[tuple[str, str], dict] = defaultdict(lambda: {
        "checks": 0, "reasons": Counter(), "errors": Counter(), "gen_lines": 0, "echo_lines": 0, "tokens": 0})
    for d in dirs:
        suites = {run: row["suite"] for run, row in _rows(d).items()}
        for path in sorted((d / "traces").glob("*/s*/*.jsonl")):
            statement: set[str] = set()
            key = None
            tokens = 0
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if event["event"] == "start":
                    info = event["info"]
                    run = (info["task_id"], info["strategy"], int(info["seed"]))
                    if run not in suites:
                        break  # a search still running, or one whose row was lost: no grade to read it beside
                    statement = set(_lines(info.get("statement") or ""))
                    key = (suites[run], info["strategy"])
                elif key is None:
                    continue
                elif event["event"] == "node":
                    lines = _lines(event.get("step") or "")
                    stats[key]["gen_lines"] += len(lines)
                    stats[key]["echo_lines"] += sum(ln in statement for ln in lines)
                    tokens = max(tokens, (event.get("spend") or {}).get("tokens", 0))
                elif event["event"] == "check":
                    s = stats[key]
                    s["checks"] += 1
                    s["reasons"][event.get("reason") or event.get("verdict") or "?"] += 1
                    if event.get("verdict") != "verified":
                        s["errors"][_error_kind(event.get("error") or "")] += 1
            if key is not None:
                stats[key]["tokens"] += tokens
    return stats


#: strategies whose every step is a whole answer (the others' steps are chunks along a path)
WHOLE_ANSWERS = ("best_of_n", "refine", "cegis")


def refused_programs(dirs: list[Path]) -> dict[tuple[str, str], tuple[Any, str]]:
    """Every distinct (task id, program) a check refused as `unsupported`: its task and the strategy that wrote it."""
    from proofsmith.models.extract import ExtractionError
    from proofsmith.search.candidates import answer_head, to_candidate
    from suites import load_suite

    tasks: dict[str, Any] = {}
    loaded: set[str] = set()
    found: dict[tuple[str, str], tuple[Any, str]] = {}
    for d in dirs:
        suites = {run: row["suite"] for run, row in _rows(d).items()}
        for path in sorted((d / "traces").glob("*/s*/*.jsonl")):
            events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            info = events[0].get("info", {}) if events else {}
            run = (info.get("task_id"), info.get("strategy"), int(info.get("seed", -1)))
            if run not in suites:
                continue  # a search still running, or one whose row was lost
            if suites[run] not in loaded:
                loaded.add(suites[run])
                tasks.update((task.id, task) for task in load_suite(suites[run], None))
            task = tasks.get(run[0])
            if task is None:
                continue
            nodes = {e["node"]: e for e in events if e["event"] == "node"}
            for event in events:
                if event["event"] != "check" or event.get("reason") != "unsupported":
                    continue
                steps, at = [], event["node"]
                while at in nodes:
                    steps.append(nodes[at].get("step") or "")
                    at = nodes[at].get("parent") if run[1] not in WHOLE_ANSWERS else None
                output = "".join(reversed(steps))
                if run[1] not in WHOLE_ANSWERS:
                    output = answer_head(task) + output
                try:
                    program = to_candidate(task, output).text
                except ExtractionError:
                    continue
                found.setdefault((task.id, program), (task, run[1]))
    return found


def recheck(dirs: list[Path]) -> tuple[Counter, Counter, Counter]:
    """What the current checker says of the programs the traces refused as unsupported: counts by (status,
    reason), by (task, strategy) those that verify now, and the constructs still refused."""
    from proofsmith import provers
    from proofsmith.schema import Candidate

    counts: Counter = Counter()
    verified: Counter = Counter()
    still: Counter = Counter()
    for (task_id, program), (task, strategy) in refused_programs(dirs).items():
        verdict = provers.check(task, Candidate(task_id=task_id, text=program), use_cache=False)
        counts[(verdict.status, verdict.reason or "")] += 1
        if verdict.status == "verified":
            verified[(task_id, strategy)] += 1
        elif verdict.reason == "unsupported" and verdict.diagnostics:
            still[_error_kind(verdict.diagnostics[0].message)] += 1
    return counts, verified, still


def read_results(dirs: list[Path]) -> dict[tuple[str, str], dict]:
    """Per (suite, strategy): searches, solved by the hidden grade, and answers found but graded wrong."""
    out: dict[tuple[str, str], dict] = defaultdict(lambda: {"searches": 0, "solved": 0, "overfit": 0})
    for d in dirs:
        for row in _rows(d).values():
            if row.get("error"):
                continue
            o = out[(row["suite"], row["strategy"])]
            o["searches"] += 1
            o["solved"] += bool(row.get("solved"))
            o["overfit"] += bool(row.get("found_at")) and not row.get("solved")
    return out


def report(dirs: list[Path]) -> str:
    """The per-strategy table and the most common errors, as markdown."""
    traces, results = read_traces(dirs), read_results(dirs)
    reasons = sorted({r for s in traces.values() for r in s["reasons"]},
                     key=lambda r: -sum(s["reasons"][r] for s in traces.values()))
    head = ["suite", "strategy", "searches", "solved", "found, graded wrong", "checks",
            *[f"% {r}" for r in reasons], "tokens/check", "% echo lines"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in sorted(set(traces) | set(results)):
        t, r = traces[key], results[key]
        checks = t["checks"] or 1
        out.append("| " + " | ".join([
            key[0], key[1], str(r["searches"]), str(r["solved"]), str(r["overfit"]), str(t["checks"]),
            *[f"{100 * t['reasons'][x] / checks:.0f}" for x in reasons],
            f"{t['tokens'] / checks:.0f}",
            f"{100 * t['echo_lines'] / max(t['gen_lines'], 1):.0f}"]) + " |")
    for suite in sorted({k[0] for k in traces}):
        errors = sum((traces[k]["errors"] for k in traces if k[0] == suite), Counter())
        out += ["", f"Most common check errors, {suite}:"]
        out += [f"- {n} x {kind or '(no message)'}" for kind, n in errors.most_common(8)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print the report for the result directories named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="search_scaling.py --out directories run with --traces")
    parser.add_argument("--recheck", action="store_true",
                        help="check every program refused as unsupported again with the current checker")
    args = parser.parse_args(argv)
    for d in args.dirs:
        if not (d / "results.jsonl").is_file() or not (d / "traces").is_dir():
            print(f"search_traces: {d} has no results.jsonl and traces/: give a directory that "
                  "search_scaling.py --traces wrote", file=sys.stderr)
            return 2
    print(report(args.dirs))
    if args.recheck:
        counts, verified, still = recheck(args.dirs)
        print(f"\nPrograms refused as unsupported, checked again now ({sum(counts.values())} distinct):")
        print("| verdict now | reason | programs |\n|---|---|---:|")
        for (status, reason), n in counts.most_common():
            print(f"| {status} | {reason or '-'} | {n} |")
        if verified:
            print("\nVerified now: " + ", ".join(f"{t} by {s} x {n}" for (t, s), n in sorted(verified.items())))
        if still:
            print("\nStill refused:\n" + "\n".join(f"- {n} x {kind}" for kind, n in still.most_common(8)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
