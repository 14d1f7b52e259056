"""Step labels from search traces: what the checkers said about every step.

A search trace is a tree of steps (`proofsmith.search.trace`). Every step in
it gets labels straight from the checker calls the search already made:

- `accepted`: the checker took the step (a Coq tactic ran; None where nothing
  checked it, as for a chunk of program text);
- `progress`: the step closed a goal (fewer goals than before, or none left);
- `verified_below`: the step or a step under it reached a verified proof or
  program (a `check` event with verdict verified);
- `reward_below`: the best check reward under it (for programs: the fraction
  of tests passed), None where nothing under it was checked.

The hard label is `verified_below` (Math-Shepherd's "hard estimation": some
continuation reaches a correct answer). The soft label is the Monte-Carlo
value where rollouts were run (`montecarlo.py`: the fraction of k rollouts
from the step's prefix that verify), else the best check reward under the
step, else the hard label. Labels are written as JSONL, one `StepLabel` a line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith.search.trace import TraceEvent, read_trace
from proofsmith.steps import goal_count

#: bumped when the meaning of a field changes; `read_labels` refuses other versions
LABELS_VERSION = 1


class LabelError(ValueError):
    """A label file or trace that cannot be used; the message names the file and what to do."""


class StepLabel(BaseModel):
    """One step of a search trace with its checker labels (one line of a label file)."""

    model_config = ConfigDict(extra="forbid")

    version: int = LABELS_VERSION
    task_id: str
    language: str
    #: the task's statement (what the PRM reads besides the steps)
    statement: str
    #: the steps from the start up to and including this one
    steps: list[str]
    #: the checker's view after the step (Coq's goals); None where nothing was checked or the step failed
    view: str | None = None
    trace: str | None = None
    node: int
    strategy: str | None = None
    accepted: bool | None = None
    progress: bool | None = None
    #: this node's own check verdict, where its whole candidate was checked (Best-of-N reranking reads it)
    verdict: str | None = None
    verified_below: bool = False
    reward_below: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Monte-Carlo value: fraction of `mc_rollouts` rollouts from this prefix that verified
    mc_value: float | None = Field(default=None, ge=0.0, le=1.0)
    mc_rollouts: int = 0

    @property
    def hard(self) -> int:
        """The hard label: 1 when some continuation under the step verified."""
        return int(self.verified_below)

    @property
    def soft(self) -> float:
        """The soft label: the Monte-Carlo value, else the best reward under the step, else the hard label."""
        if self.mc_value is not None:
            return self.mc_value
        if self.accepted is False:
            return 0.0
        if self.reward_below is not None:
            return max(self.reward_below, float(self.hard))
        return float(self.hard)


def label_events(events: Sequence[TraceEvent], *, trace: str | None = None,
                 statement: str | None = None, language: str | None = None) -> list[StepLabel]:
    """Labels for every step node of one trace (see the module docstring).

    `statement` and `language` are needed only for traces written before the
    start event carried them; LabelError when neither has them.
    """
    start = next((e for e in events if e.event == "start"), None)
    info = start.info if start is not None and start.info else {}
    task_id = info.get("task_id")
    statement = info.get("statement") or statement
    language = info.get("language") or language
    where = trace or "trace"
    if not task_id:
        raise LabelError(f"{where}: no start event naming the task; is this a proofsmith search trace?")
    if statement is None or language is None:
        raise LabelError(f"{where}: the trace does not carry the task's statement; pass the tasks it came from "
                         "(--suite or --task-file)")
    nodes: dict[int, TraceEvent] = {}
    children: dict[int, list[int]] = {}
    verified: set[int] = set()
    reward: dict[int, float] = {}
    verdicts: dict[int, str] = {}
    for event in events:
        if event.event == "node" and event.node is not None:
            nodes[event.node] = event
            children.setdefault(event.parent if event.parent is not None else 0, []).append(event.node)
        elif event.event == "check" and event.node is not None:
            if event.verdict == "verified":
                verified.add(event.node)
            if event.verdict is not None and verdicts.get(event.node) != "verified":
                verdicts[event.node] = event.verdict
            value = event.reward if event.reward is not None else (1.0 if event.verdict == "verified" else 0.0)
            reward[event.node] = max(reward.get(event.node, 0.0), value)

    below_verified: dict[int, bool] = {}
    below_reward: dict[int, float | None] = {}

    def visit(node: int) -> None:
        # iterative post-order: search trees can be deeper than Python's recursion limit
        stack = [(node, False)]
        while stack:
            current, done = stack.pop()
            kids = children.get(current, [])
            if not done:
                stack.append((current, True))
                stack.extend((kid, False) for kid in kids)
                continue
            found = current in verified or any(below_verified[k] for k in kids)
            rewards = [r for r in [reward.get(current), *(below_reward[k] for k in kids)] if r is not None]
            below_verified[current] = found
            below_reward[current] = max(rewards) if rewards else None

    visit(0)
    labels = []
    for node_id, event in nodes.items():
        if node_id not in below_verified:  # a node whose parent never appeared: a truncated trace
            continue
        path = _path(node_id, nodes)
        if path is None:
            continue
        parent = nodes.get(event.parent) if event.parent else None
        labels.append(StepLabel(
            task_id=task_id, language=language, statement=statement, steps=path,
            view=event.goals if event.status in ("ok", "solved") else None,
            trace=trace, node=node_id, strategy=info.get("strategy"),
            accepted=_accepted(event), progress=_progress(event, parent), verdict=verdicts.get(node_id),
            verified_below=below_verified[node_id], reward_below=below_reward[node_id]))
    return labels


def _path(node: int, nodes: dict[int, TraceEvent]) -> list[str] | None:
    steps = []
    seen = set()
    while node != 0:
        event = nodes.get(node)
        if event is None or node in seen or event.step is None:
            return None
        seen.add(node)
        steps.append(event.step)
        node = event.parent if event.parent is not None else 0
    return steps[::-1]


def _accepted(event: TraceEvent) -> bool | None:
    if event.status == "error":
        return False
    # a step the checker ran shows its goals; text steps and whole candidates are judged by their check event
    return True if event.goals is not None else None


def _progress(event: TraceEvent, parent: TraceEvent | None) -> bool | None:
    if event.status == "error":
        return False
    if event.goals is None:
        return None
    if event.status == "solved":
        return True
    if parent is None or parent.goals is None:
        return None
    return goal_count(event.goals) < goal_count(parent.goals)


def label_trace(path: str | os.PathLike[str], *, statements: dict[str, tuple[str, str]] | None = None
                ) -> list[StepLabel]:
    """Labels for one trace file; `statements` maps task id -> (language, statement) for old traces."""
    events = read_trace(path)
    task_id = next((e.info or {} for e in events if e.event == "start"), {}).get("task_id")
    language, statement = (statements or {}).get(task_id, (None, None)) if task_id else (None, None)
    return label_events(events, trace=str(path), statement=statement, language=language)


def trace_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The trace files named by `paths` (files, or directories searched for `*.jsonl`), sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.jsonl")))
        elif path.is_file():
            found.append(path)
        else:
            raise LabelError(f"{path}: no such trace file or directory")
    return found


def write_labels(labels: Iterable[StepLabel], path: str | os.PathLike[str]) -> int:
    """Write labels as JSONL (atomically: a temporary file renamed into place); how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for label in labels:
            fh.write(label.model_dump_json(exclude_none=True) + "\n")
            count += 1
    tmp.replace(path)
    return count


def read_labels(path: str | os.PathLike[str]) -> list[StepLabel]:
    """The labels of a label file; LabelError naming the line for a bad one."""
    return list(_iter_labels(Path(path)))


def _iter_labels(path: Path) -> Iterator[StepLabel]:
    if not path.is_file():
        raise LabelError(f"{path}: no such label file (write one with `proofsmith prm label TRACES -o FILE`)")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LabelError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if isinstance(raw, dict) and raw.get("version", LABELS_VERSION) != LABELS_VERSION:
                raise LabelError(f"{path}:{number}: label version {raw.get('version')} (this proofsmith reads "
                                 f"{LABELS_VERSION}); relabel the traces with `proofsmith prm label`")
            try:
                yield StepLabel.model_validate(raw)
            except ValidationError as exc:
                raise LabelError(f"{path}:{number}: not a step label ({str(exc).splitlines()[0]})") from None
