"""Search traces: every node, step, score, verdict and spend, as JSONL.

A trace is a tree: node 0 is the task's start; every other node has a parent
and the step that led to it (a tactic, a chunk of program text, or a whole
candidate for sampling strategies). Each line is one `TraceEvent`; the PRM
trains from these (labels come from the checker fields), and
`proofsmith trace show` draws them as a tree. Lines are flushed as they are
written, so a search that dies halfway still leaves a readable trace.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from proofsmith.search.budget import Spend

EventKind = Literal["start", "node", "check", "end"]
#: ok: the checker accepted the step; error: it rejected it; open: no checker ran (text steps);
#: solved: no goals left / the program is complete (a full check follows in a `check` event)
NodeStatus = Literal["ok", "error", "unknown", "open", "solved"]


class TraceEvent(BaseModel):
    """One line of a trace."""

    model_config = ConfigDict(extra="forbid")

    event: EventKind
    #: node id (node and check events); the best node (end)
    node: int | None = None
    parent: int | None = None
    step: str | None = None
    status: NodeStatus | None = None
    #: the checker's view after the step: Coq's goals, or its error message
    goals: str | None = None
    error: str | None = None
    state_hash: str | None = None
    #: log-probability of the step under the policy, and the PRM's (or the heuristic's) score
    logprob: float | None = None
    score: float | None = None
    #: check events: the verdict of the candidate the node stands for
    verdict: Literal["verified", "refuted", "unknown"] | None = None
    #: check events: the verdict's reward (for programs, the fraction of tests passed)
    reward: float | None = None
    reason: str | None = None
    spend: Spend | None = None
    #: start and end events: the task, strategy, budget, seed, model and result
    info: dict[str, Any] | None = None


class TraceWriter:
    """Appends events to a JSONL file (or only keeps them in memory when `path` is None).

    `on_event` is called with every event after it is written (live progress displays use it).
    """

    def __init__(self, path: str | os.PathLike[str] | None,
                 on_event: Callable[[TraceEvent], None] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.on_event = on_event
        self.events: list[TraceEvent] = []
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")

    def write(self, event: TraceEvent) -> None:
        """Record one event."""
        with self._lock:
            self.events.append(event)
            if self._fh is not None:
                self._fh.write(event.model_dump_json(exclude_none=True) + "\n")
                self._fh.flush()
        if self.on_event is not None:
            self.on_event(event)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class TraceError(ValueError):
    """A trace file that cannot be read; the message names the file and line."""


def read_trace(path: str | os.PathLike[str]) -> list[TraceEvent]:
    """The events of a trace file; TraceError naming the line for a bad one."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: no such trace file")
    events = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                events.append(TraceEvent.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as exc:
                first = str(exc).splitlines()[0]
                raise TraceError(f"{path}:{number}: not a trace event ({first})") from None
    return events
