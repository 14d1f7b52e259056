"""Expert iteration: search with the current PRM, label the new traces, retrain, repeat.

Round r searches every task with the PRM of round r-1 (round 0: none, or the
one given), writes its traces under `OUT/round-r/traces`, adds their labels to
everything labelled so far, trains `OUT/round-r/prm`, and records
solved@budget. A round that finished is not redone when the loop is run again
with the same OUT (its `round.json` is read back), so an interrupted loop
resumes at the round it was in.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from proofsmith.models.base import ModelError, Policy
from proofsmith.prm.labels import StepLabel, label_trace, read_labels, write_labels
from proofsmith.prm.train import TrainReport, train_prm
from proofsmith.schema import Task


class RoundReport(BaseModel):
    """One round of the loop."""

    round: int
    prm: str | None
    solved: int
    tasks: int
    budget: int
    strategy: str
    labels: int
    trained: str | None = None
    report: TrainReport | None = None


def _slug(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", task_id).strip("_") or "task"


def run_loop(tasks: Sequence[Task], policy: Policy, out: str | Path, *, rounds: int, strategy: str, budget: int,
             seed: int = 0, prm: Any | None = None, extra_labels: Sequence[StepLabel] = (),
             on_task: Callable[[int, Task, Any], None] | None = None,  # gets the SearchResult, or the error
             on_round: Callable[[RoundReport], None] | None = None, checker: Any | None = None,
             **train_options: Any) -> list[RoundReport]:
    """Run `rounds` rounds of search then training (see the module docstring); one report per round.

    `checker` is the `SearchChecker` to search with (the caller's, left open); by default the loop opens
    one with the default aids and closes it at the end.
    """
    from proofsmith.prm import load_prm
    from proofsmith.search import Budget, SearchChecker, search

    out = Path(out)
    labels = list(extra_labels)
    reports: list[RoundReport] = []
    with contextlib.nullcontext(checker) if checker is not None else SearchChecker() as searcher:
        for r in range(rounds):
            round_dir = out / f"round-{r}"
            done_file = round_dir / "round.json"
            if done_file.is_file():
                report = RoundReport.model_validate_json(done_file.read_text(encoding="utf-8"))
                labels = read_labels(round_dir / "labels.jsonl")
                prm = load_prm(round_dir / "prm") if report.trained else prm
                reports.append(report)
                if on_round is not None:
                    on_round(report)
                continue
            solved = 0
            for i, task in enumerate(tasks):
                trace = round_dir / "traces" / f"{_slug(task.id)}.{strategy}.s{seed}.jsonl"
                try:
                    result = search(task, policy, strategy=strategy, budget=Budget(model_calls=budget),
                                    checker=searcher, prm=prm, seed=seed, trace=trace)
                except (ModelError, KeyboardInterrupt):
                    raise
                except Exception as exc:  # noqa: BLE001 - one task that cannot be searched (say its prefix
                    # does not load) must not end the loop; it counts as unsolved and its partial trace is kept
                    result = None
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    error = None
                solved += int(result is not None and result.solved)
                if trace.is_file():
                    labels.extend(label_trace(trace))
                if on_task is not None:
                    on_task(i, task, result if result is not None else error)
            write_labels(labels, round_dir / "labels.jsonl")
            new_prm, train_report = train_prm(labels, seed=seed, **train_options)
            name = new_prm.save(round_dir / "prm")
            train_report = train_report.model_copy(update={"name": name})
            report = RoundReport(round=r, prm=getattr(prm, "name", None), solved=solved, tasks=len(tasks),
                                 budget=budget, strategy=strategy, labels=len(labels), trained=name,
                                 report=train_report)
            done_file.write_text(json.dumps(report.model_dump(), indent=2) + "\n", encoding="utf-8")
            reports.append(report)
            if on_round is not None:
                on_round(report)
            prm = new_prm
    return reports
