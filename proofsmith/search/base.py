"""The search contracts: a Strategy, a process reward model, and what a search returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from proofsmith.models.base import Policy
from proofsmith.models.prompts import Example
from proofsmith.schema import Candidate, Task, Verdict
from proofsmith.search.budget import Budget, Spend
from proofsmith.search.checker import SearchChecker
from proofsmith.search.trace import TraceWriter

#: Few-shot examples for a search: a list, or a function that chooses them when a prompt first needs them.
Examples: TypeAlias = Sequence[Example] | Callable[[], Sequence[Example]]


class ProcessRewardModel(Protocol):
    """Scores each prefix of a partial proof or program: one float in [0, 1] per step, higher is better.

    `views`, where the search has them, are the checker's view after each step
    (Coq's goals; None for a step nothing checked). A PRM may ignore them.
    """

    def score(self, task: Task, steps: Sequence[str], *,
              views: Sequence[str | None] | None = None) -> list[float]:
        """The score after each of `steps` (same length as `steps`)."""
        ...


def prm_name(prm: ProcessRewardModel | None) -> str | None:
    """How traces and manifests name a PRM: its `name` (a trained checkpoint's id), else its class."""
    if prm is None:
        return None
    return str(getattr(prm, "name", None) or type(prm).__name__)


class SearchResult(BaseModel):
    """The outcome of one search: the best candidate, its verdict, the spend, and where the trace is."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    strategy: str
    #: the answer is right: the full checker verified it (programs: it passed the hidden tests). A strategy run
    #: on its own says whether a candidate passed the checks the search made (`solved_visible`)
    solved: bool
    #: the verified candidate, else the best one checked (most tests passed, then best score); None if none
    candidate: Candidate | None = None
    #: the grading verdict on `candidate` (the hidden tests, or the full checker from scratch)
    verdict: Verdict | None = None
    #: what the search checked candidates against: the visible tests, or the hidden ones (`oracle`)
    tests: Literal["visible", "oracle"] = "visible"
    #: the answer passed the checks the search made (its visible tests; in oracle mode the hidden ones)
    solved_visible: bool = False
    #: the answer passed the grader (hidden tests, full checker); None: not graded (a strategy run on its own)
    solved_hidden: bool | None = None
    #: the search's own verdict on `candidate` (visible tests) where it differs from `verdict`
    search_verdict: Verdict | None = None
    spend: Spend
    #: the spend when the first candidate verified (coverage curves read this)
    solved_at: Spend | None = None
    nodes: int = 0
    #: whole candidates checked, and how many verified (pass@k when a strategy collects)
    checked: int = 0
    verified: int = 0
    trace_path: str | None = None
    #: strategy-specific counters: transposition hits, resamples, repairs, ...
    stats: dict[str, float] = Field(default_factory=dict)


class Strategy(Protocol):
    """A search algorithm: one `run` per task."""

    name: str

    def run(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
            budget: Budget, *, seed: int = 0, trace: TraceWriter | None = None,
            examples: Examples = ()) -> SearchResult:
        """Search for a candidate that verifies, within `budget`; the best so far when the budget runs out.

        `examples` are solved tasks shown in every prompt (few-shot).
        """
        ...
