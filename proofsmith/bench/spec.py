"""The run spec: what a leaderboard run scores, read from YAML or TOML and validated before any job starts.

A spec names suites (and which of their tasks), models, strategies, budgets
(model calls per search), seeds and limits; `expand` turns it into one `Job`
per (task, configuration, seed), where a configuration is one (model,
strategy, budget). Every name is checked up front (strategy, suite, model,
task), so a typo fails with one line naming the field before a model loads.
Specs shipped with proofsmith (`proofsmith/bench/specs/*.yaml`) can be named
without a path: `proofsmith bench run cpu-smoke`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

#: where the shipped specs live
SHIPPED_DIR = Path(__file__).parent / "specs"


class SpecError(ValueError):
    """A spec that cannot be run; the message is one line naming the file and the field."""


def _known_strategy(name: str) -> str:
    from proofsmith.search import STRATEGIES

    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")
    return name


def _known_model(name: str) -> str:
    from proofsmith.models.base import ModelError
    from proofsmith.models.registry import get_spec

    if name.endswith(".gguf"):
        if not Path(name).is_file():
            raise ValueError(f"{name}: no such model file")
        return name
    try:
        get_spec(name)
    except ModelError as exc:
        raise ValueError(str(exc)) from None
    return name


def _positive_budget(calls: int) -> int:
    if calls < 1:
        raise ValueError(f"a budget is model calls per search and must be at least 1, got {calls}")
    return calls


StrategyName = Annotated[str, AfterValidator(_known_strategy)]
ModelName = Annotated[str, AfterValidator(_known_model)]
BudgetCalls = Annotated[int, AfterValidator(_positive_budget)]


class SuiteSpec(BaseModel):
    """One suite (a split from `proofsmith datasets list`) and which of its tasks to run."""

    model_config = ConfigDict(extra="forbid")

    suite: str = Field(min_length=1)
    #: task ids or theorem names; empty means every task (after `limit`)
    tasks: list[str] = Field(default_factory=list)
    #: only this many tasks, evenly spaced over the split (task floor(i * len / limit)); None: all
    limit: int | None = Field(None, ge=1)

    @field_validator("suite")
    @classmethod
    def _known_suite(cls, name: str) -> str:
        from proofsmith.datasets.cli import _splits

        known = _splits()
        if name not in known:
            raise ValueError(f"unknown suite {name!r} (known: {', '.join(known)}; see `proofsmith datasets list`)")
        return name


class Limits(BaseModel):
    """Per-search limits besides the model-call budget, and how the runner treats a job that dies."""

    model_config = ConfigDict(extra="forbid")

    #: generated tokens per search (None: unlimited)
    max_tokens: int | None = Field(None, ge=1)
    #: wall seconds per search (None: unlimited)
    max_seconds: float | None = Field(None, gt=0)
    #: a job still running after this many seconds is killed and counted as a crash
    job_timeout_s: float = Field(1800, gt=0)
    #: a job whose worker died is run again this many times, then recorded unknown with the reason
    retries: int = Field(2, ge=0)


class Settings(BaseModel):
    """How each worker runs the model and the checker."""

    model_config = ConfigDict(extra="forbid")

    #: llama.cpp threads per worker (same value, same samples: keep it fixed when comparing executors)
    threads: int = Field(2, ge=1)
    #: llama.cpp parallel slots (the largest batch a strategy asks for)
    parallel: int = Field(4, ge=1)
    ctx: int = Field(4096, ge=256)
    #: solved examples shown in every prompt
    few_shot: int = Field(2, ge=0)
    #: also score verified Python programs for speed against the task's reference (eff@k)
    efficiency: Literal["cpu", "exact"] | None = None
    #: reuse verdicts of identical checks from the user cache (off: checker seconds are real)
    verdict_cache: bool = False
    #: write one JSONL trace per job under RUN_DIR/traces/
    traces: bool = True


class RunSpec(BaseModel):
    """A leaderboard run: suites x models x strategies x budgets x seeds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    suites: list[SuiteSpec] = Field(min_length=1)
    models: list[ModelName] = Field(default_factory=lambda: ["default"], min_length=1)
    strategies: list[StrategyName] = Field(min_length=1)
    #: model calls per search (one call = one sampled proposal)
    budgets: list[BudgetCalls] = Field(min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    #: best-of-N samples per task collected for pass@k and coverage curves (0: none); adds one configuration
    samples: int = Field(0, ge=0)
    #: the k of the pass@k columns (each needs that many samples or seeds)
    pass_k: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1])
    #: what searches check programs against: `visible` tests (graded by the hidden ones after), or `oracle`:
    #: the hidden tests during search (pass@k measurements; reports label those configurations `+oracle`)
    tests: Literal["visible", "oracle"] = "visible"
    limits: Limits = Field(default_factory=Limits)
    settings: Settings = Field(default_factory=Settings)

    @field_validator("strategies", "models")
    @classmethod
    def _distinct(cls, items: list) -> list:
        return list(dict.fromkeys(items))

    @field_validator("budgets", "pass_k")
    @classmethod
    def _ascending(cls, items: list[int]) -> list[int]:
        return sorted(set(items))


def resolve(name_or_path: str) -> Path:
    """The spec file for a path, or for the name of a shipped spec (`cpu-smoke`); SpecError if neither."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for suffix in ("", ".yaml", ".yml", ".toml"):
        shipped = SHIPPED_DIR / f"{name_or_path}{suffix}"
        if shipped.is_file() and "/" not in name_or_path:
            return shipped
    names = ", ".join(sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml")))
    raise SpecError(f"{name_or_path}: no such spec file, and no shipped spec of that name (shipped: {names})")


def parse(text: str, *, fmt: str, origin: str) -> RunSpec:
    """A RunSpec from YAML or TOML text; SpecError naming `origin` and the first bad field."""
    try:
        if fmt == "toml":
            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ImportError:
        raise SpecError("reading a YAML spec needs PyYAML: pip install 'proofsmith[bench]'") from None
    except Exception as exc:  # noqa: BLE001 - both parsers raise their own error types; the first line says where
        raise SpecError(f"{origin}: not valid {fmt.upper()}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: a spec is a mapping of fields (name, suites, strategies, budgets, ...)")
    try:
        return RunSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{origin}: {_first_error(exc)}") from None


def load(name_or_path: str) -> RunSpec:
    """Read and validate a spec file (or a shipped spec by name)."""
    path = resolve(name_or_path)
    fmt = "toml" if path.suffix == ".toml" else "yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse(text, fmt=fmt, origin=str(path))


def _first_error(exc: ValidationError) -> str:
    """`field.path: message` for the first validation error (pydantic's own text spans many lines)."""
    err = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".") or "(top level)"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{where}: {message}{more}"
