"""Pydantic models shared by every part of proofsmith.

These are the contracts of DESIGN.md: a `Task` goes in, a `Candidate` is
proposed, a `Verdict` comes out, carrying a `Manifest` that says exactly how it
was produced. Everything that crosses a module, process or network boundary is
one of these models, validated on the way in.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from proofsmith import languages


def _registered_language(value: Any) -> Any:
    # the error a Literal of the registered names would give, so messages stay as they were
    if not isinstance(value, str) or languages.get(value) is None:
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": languages.described()})
    return value


def _language_enum(schema: dict[str, Any]) -> None:
    schema["enum"] = languages.names()


#: A registered language's name (`proofsmith.languages`): python, coq, lean, fstar, smt and any registered later.
Language = Annotated[str, BeforeValidator(_registered_language)]
TaskKind = Literal["proof", "program"]
Status = Literal["verified", "refuted", "unknown"]
LimitHit = Literal["wall", "cpu", "memory", "output", "pids", "file_size"]

#: Reasons an `unknown` verdict may give. A checker that cannot decide says
#: which of these stopped it; metrics group unknowns by this code.
UNKNOWN_REASONS = (
    "timeout",  # wall or CPU limit hit before a decision
    "memory",  # memory limit hit
    "output",  # output cap hit
    "crash",  # the checker or judge died without a decision
    "sandbox",  # the sandbox could not be set up
    "toolchain",  # the prover or interpreter is missing or broken
    "deadline",  # the request's deadline passed before it ran
    "internal",  # a bug in proofsmith itself
    "undecided",  # the prover answered `unknown` within its limits (an incomplete theory, e.g. Z3 on nonlinear ints)
    "overload",  # the machine was too loaded to give the candidate its wall-clock budget (run-queue delay)
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(_Model):
    """Resource limits for one check. Enforced from outside the candidate."""

    wall_s: float = Field(10.0, gt=0, description="wall-clock seconds, killed by the supervisor")
    cpu_s: float = Field(10.0, gt=0, description="CPU seconds (RLIMIT_CPU)")
    memory_mb: int = Field(1024, gt=0, description="memory (cgroup, else RLIMIT_AS)")
    pids: int = Field(64, gt=0, description="processes (cgroup pids, else RLIMIT_NPROC per slot uid)")
    output_bytes: int = Field(1 << 20, gt=0, description="cap on captured stdout and on stderr each")
    file_size_mb: int = Field(16, gt=0, description="largest file the candidate may write (RLIMIT_FSIZE)")
    open_files: int = Field(64, gt=0, description="RLIMIT_NOFILE")


class Source(_Model):
    """Where a task comes from, so a leaderboard can cite it."""

    benchmark: str
    version: str | None = None
    licence: str | None = None
    url: str | None = None


class IOTest(_Model):
    """One function-call test: call the entry point with `args`, expect `expected`."""

    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    expected: Any = None
    #: absolute tolerance for float comparison (EvalPlus' `atol`); 0 means exact
    atol: float = 0.0


#: The Task fields that hold visible tests (what a search may run); never part of a verdict.
VISIBLE_FIELDS = frozenset({"visible_tests", "visible_test_code"})


class Task(_Model):
    """A problem to solve: a theorem to prove or a program to write."""

    id: str = Field(min_length=1)
    language: Language = Field(json_schema_extra=_language_enum)
    kind: TaskKind
    #: the theorem statement, or the function signature + docstring (the prompt)
    statement: str
    #: imports, header, premises: text the candidate is checked after
    context: str = ""
    #: Python: the function the tests call
    entry_point: str | None = None
    #: Python: HumanEval-style test code defining `check(candidate)`
    test_code: str | None = None
    #: Python: function-call tests, an alternative or addition to `test_code`
    io_tests: list[IOTest] = Field(default_factory=list)
    #: Python: the tests a search may run (HumanEval: the docstring's examples; a user's task: the tests they
    #: give). `test_code` and `io_tests` above are the hidden tests, the grader's: `proofsmith synth` checks
    #: candidates against these and grades its answer once by those (`proofsmith.search.visibility`).
    visible_tests: list[IOTest] = Field(default_factory=list)
    #: Python: visible tests as HumanEval-style test code defining `check(candidate)`, beside `visible_tests`
    visible_test_code: str | None = None
    #: Python: a reference solution (whole code), for efficiency and diff testing
    reference: str | None = None
    #: Python: argument lists for the efficiency timer, each a list of positional args
    perf_inputs: list[list[Any]] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    #: checker-specific options (Coq load paths, Lean header, ...)
    options: dict[str, Any] = Field(default_factory=dict)
    source: Source | None = None

    def content_hash(self) -> str:
        """A stable hash of everything that affects a verdict (not `source`).

        The visible tests are left out: a checker grades by `test_code` and
        `io_tests` only, and a search's visible view (a copy whose tests are
        the visible ones) hashes as the task it is. Tasks without visible
        tests keep the hashes they had before the field existed.
        """
        payload = self.model_dump(mode="json", exclude={"source", *VISIBLE_FIELDS})
        return _sha256_json(payload)


_Options = TypeVar("_Options", bound=BaseModel)


def task_options(task: Task, model: type[_Options]) -> _Options:
    """`task.options` validated as a checker's options `model`; ValueError with one line naming the field."""
    try:
        return model.model_validate(task.options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"task {task.id}: options.{where}: {first['msg']}") from None


class Candidate(_Model):
    """What a model (or a person) proposed for a task."""

    task_id: str = Field(min_length=1)
    #: the whole proof script or program
    text: str
    #: for step-level search: the tactics / lines that built `text`
    steps: list[str] = Field(default_factory=list)
    id: str | None = None
    #: Python: `text` is only the body after the prompt (HumanEval completions)
    completion: bool = False


class Diagnostic(_Model):
    """One message from a checker, with a position in the candidate where known."""

    message: str
    line: int | None = None
    column: int | None = None
    severity: Literal["error", "warning", "info"] = "error"


class PartialCredit(_Model):
    """How many tests (or goals) passed, for reward shaping; never a pass by itself."""

    passed: int = Field(ge=0)
    total: int = Field(ge=0)

    @property
    def fraction(self) -> float:
        """Passed over total, 0 when there were none."""
        return self.passed / self.total if self.total else 0.0


class Efficiency(_Model):
    """How fast and lean the candidate is against the task's reference solution."""

    mode: Literal["cpu", "exact"]
    #: candidate cost / reference cost (lower is better; 1.0 = as fast)
    ratio: float | None = None
    candidate_cost: float | None = None
    reference_cost: float | None = None
    unit: Literal["ns", "instructions"]
    #: the candidate's own peak memory (VmHWM), KiB
    candidate_peak_kb: int | None = None
    reference_peak_kb: int | None = None
    #: ENAMEL-style efficiency score in [0, 1]: max(0, T - t) / (T - t_ref)
    score: float = Field(ge=0.0, le=1.0)
    #: the candidate ran past the time cap T: the score is 0, the check did not crash
    timed_out: bool = False
    #: why there is no ratio (the reference failed, a wrong answer on a perf input, ...)
    note: str | None = None


class Resources(_Model):
    """What one sandboxed run used."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_memory_kb: int | None = None
    limit_hit: LimitHit | None = None


class Manifest(_Model):
    """Everything needed to reproduce a verdict."""

    checker: str
    checker_version: str
    proofsmith_version: str
    toolchain: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    limits: Limits
    sandbox: str
    #: isolation layers that were active for this run (e.g. userns, netns, seccomp, cgroup-memory)
    isolation: list[str] = Field(default_factory=list)


class Verdict(_Model):
    """A checker's decision on one candidate. `unknown` is never a pass."""

    task_id: str
    candidate_id: str | None = None
    status: Status
    #: why: required for `unknown` (one of UNKNOWN_REASONS); a short code otherwise
    reason: str | None = None
    reward: float = Field(ge=0.0, le=1.0)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    partial: PartialCredit | None = None
    efficiency: Efficiency | None = None
    resources: Resources = Field(default_factory=Resources)
    wall_s: float = 0.0
    cache_key: str | None = None
    cached: bool = False
    manifest: Manifest

    @model_validator(mode="after")
    def _consistent(self) -> Verdict:
        if self.status == "unknown" and self.reason not in UNKNOWN_REASONS:
            raise ValueError(f"an unknown verdict needs a reason from {UNKNOWN_REASONS}, got {self.reason!r}")
        if self.status != "verified" and self.reward > 0.0:
            raise ValueError("only a verified candidate earns reward")
        return self


def _sha256_json(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_key(task: Task, candidate: Candidate, manifest: Manifest) -> str:
    """Content address of a check: task, candidate text and checker manifest."""
    return _sha256_json(
        {
            "task": task.content_hash(),
            "text": candidate.text,
            "completion": candidate.completion,
            "manifest": manifest.model_dump(mode="json"),
        }
    )
