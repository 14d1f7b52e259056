"""The HTTP API's wire format: one pydantic model per request and response.

Everything that crosses the service boundary is one of these models (or a
`Task`, `Candidate`, `Verdict`, `State`, `StepResult` from the core), so a
malformed request is refused with one line naming the field, before it
reaches a queue. The client parses replies with the same models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from proofsmith.schema import Candidate, Task, Verdict
from proofsmith.steps import State, StepResult

#: The most items one POST /v1/check may carry.
MAX_BATCH = 1024


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckItem(_Wire):
    """One task and one candidate for it."""

    task: Task
    candidate: Candidate

    @model_validator(mode="after")
    def _same_task(self) -> CheckItem:
        if self.candidate.task_id != self.task.id:
            raise ValueError(f"candidate is for task {self.candidate.task_id!r}, not {self.task.id!r}")
        return self


class CheckRequest(_Wire):
    """POST /v1/check: one or a batch of checks, admitted all together or refused (429) all together."""

    items: list[CheckItem] = Field(min_length=1, max_length=MAX_BATCH)
    #: seconds from arrival; checks still queued when it passes come back unknown (reason `deadline`)
    deadline_s: float | None = Field(None, gt=0, le=3600)
    efficiency: Literal["cpu", "exact"] | None = None
    use_cache: bool = True


class CheckResponse(_Wire):
    """The verdicts, one per item, in request order."""

    verdicts: list[Verdict]


class StepRequest(_Wire):
    """POST /v1/step: run `tactic` from `state` (the start of the proof when omitted).

    Without a tactic the reply is just the state at the start of the proof
    (the session is opened and kept warm).
    """

    task: Task
    state: State | None = None
    tactic: str | None = Field(None, min_length=1)
    deadline_s: float | None = Field(None, gt=0, le=3600)

    @model_validator(mode="after")
    def _same_task(self) -> StepRequest:
        if self.state is not None and self.state.task_id != self.task.id:
            raise ValueError(f"state is for task {self.state.task_id!r}, not {self.task.id!r}")
        return self


class StepResponse(_Wire):
    """The state reached (or the start state), and what the tactic did when one was sent."""

    state: State | None = None
    result: StepResult | None = None


class HealthResponse(_Wire):
    """GET /v1/health: up, and how full each lane is (needs no token)."""

    status: Literal["ok", "starting"]
    version: str
    sandbox: str
    workers: dict[str, int]
    queue_depth: dict[str, int]
    queue_capacity: dict[str, int]


class WorkerInfo(_Wire):
    """One worker process."""

    lane: str
    slot: int
    pid: int | None
    busy: bool
    jobs: int


class WorkersResponse(_Wire):
    """GET /v1/workers: every worker process (pids, for operators and tests)."""

    workers: list[WorkerInfo]


class ErrorResponse(_Wire):
    """Every error reply: one line saying what went wrong and, where there is one, the way out."""

    error: str
