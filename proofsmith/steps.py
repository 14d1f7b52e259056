"""The step contract: proof states and what one step did, shared by every step-level checker.

A step session (Coq's `coq_session`, Lean's `lean_session`) opens a task at
the start of its proof and runs one tactic at a time. Each answers with the
types here: a `State` (the tactics so far, the goals they leave, a stable
hash of the normalised goals for transposition tables) and a `StepResult`
(a new State, the prover's error, or unknown). The search, the HTTP service
and the PRM read only these, never a particular prover's module.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict


class SessionError(RuntimeError):
    """A session could not be started or its task's prefix does not load; the message says why."""


class State(BaseModel):
    """A point in a proof: the tactics from the start of the proof, and the goals they leave."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    steps: tuple[str, ...] = ()
    goals: str
    #: sha256 of the task id and the normalised goals: equal goals, equal hash
    hash: str
    solved: bool = False


class StepResult(BaseModel):
    """What one tactic did: a new State, Coq's error, or unknown (timeout, crash)."""

    status: Literal["ok", "error", "unknown"]
    #: for `unknown`: timeout, crash, sandbox, toolchain; for `error`: coq_error or audit
    reason: str | None = None
    error: str | None = None
    state: State | None = None
    goals: str = ""
    solved: bool = False
    wall_s: float = 0.0
    #: what the step printed (untrusted: the tactic may print anything), e.g. CoqHammer's reconstruction
    messages: str = ""


def normalise_goals(text: str) -> str:
    """Goals text without evar ids and layout, so equal goals compare equal."""
    text = re.sub(r"\s*\(ID \d+\)", "", text)
    text = re.sub(r"\?\w+@\{[^}]*\}", "?_", text)
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines() if line.strip())


def state_hash(task_id: str, goals: str) -> str:
    """The transposition-table key of a proof state."""
    return hashlib.sha256(f"{task_id}\0{normalise_goals(goals)}".encode()).hexdigest()


def goal_count(goals: str) -> int:
    """How many goals a goal display shows: Coq's `N goals` header, else Lean's `⊢` lines (0 for none)."""
    m = re.match(r"(\d+) goals?\b", goals.strip())
    if m:
        return int(m.group(1))
    return sum(1 for line in goals.splitlines() if line.lstrip().startswith("⊢"))


#: One goal of a Coq goal display: its hypothesis lines (a long one joined onto one line), its conclusion.
Goal: TypeAlias = tuple[tuple[str, ...], str]


def goal_list(view: str) -> list[Goal]:
    """A goal display as (hypotheses in order, conclusion) pairs; without Coq's separators, one opaque goal."""
    blocks = view.split("============================")
    if len(blocks) < 2:
        text = " ".join(view.split())
        return [((), text)] if text and not text.startswith("No more goals") else []
    goals = []
    for before, after in itertools.pairwise(blocks):
        hyps: list[str] = []
        for line in before.split("\n\n")[-1].splitlines():
            if re.match(r"\s{0,2}[A-Za-z_][\w', ]*\s*:", line):
                hyps.append(" ".join(line.split()))
            elif hyps and line.strip():  # a long hypothesis runs on over deeper-indented lines
                hyps[-1] += " " + " ".join(line.split())
        conclusion = re.split(r"\n\s*\n|\ngoal \d+", after.strip(), maxsplit=1)[0]
        goals.append((tuple(hyps), " ".join(conclusion.split())))
    return goals
