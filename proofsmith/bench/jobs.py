"""Jobs: one (task, configuration, seed) each, and the function every executor runs on them.

`expand` turns a RunSpec into jobs (loading the suites' tasks, so a missing
suite or task fails here, before any model loads). `Worker` is what a worker
process (a local pool process or a Ray actor) holds for its lifetime: the
policies it has loaded (each once) and one SearchChecker, whose checks run in
proofsmith's sandbox as subprocesses: candidate code never runs in the
worker's own interpreter. `Worker.run(job)` returns a `JobResult`, never
raises for a failed search: an exception inside the search is an `unknown`
result with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import traceback
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from proofsmith.bench.spec import RunSpec, Settings, SpecError
from proofsmith.schema import Task
from proofsmith.search.budget import Spend
from proofsmith.search.checker import SearchChecker
from proofsmith.search.visibility import TestsMode

#: how a job ended: solved (the full checker verified the candidate), unsolved, or unknown (no decision: the
#: worker crashed, timed out, or the search raised); unknown is never counted as solved
Outcome = Literal["solved", "unsolved", "unknown"]


class Config(BaseModel):
    """One configuration scored on every task: a model, a strategy, a budget (model calls) and a tests mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    strategy: str
    budget: int = Field(ge=1)
    #: best-of-N that keeps sampling after a verified answer (pass@k from one search)
    collect: bool = False
    max_tokens: int | None = None
    max_seconds: float | None = None
    #: what the search checks programs against: their visible tests (graded by the hidden ones after), or the
    #: hidden tests themselves (`oracle`: pass@k measurements); proofs are searched the same way in both
    tests: TestsMode = "visible"

    @property
    def label(self) -> str:
        """A short readable name: `model/strategy@budget` (`best_of_n+collect` for sampling), `+oracle` for oracle."""
        strategy = f"{self.strategy}+collect" if self.collect else self.strategy
        return f"{self.model}/{strategy}@{self.budget}" + ("+oracle" if self.tests == "oracle" else "")


class Job(BaseModel):
    """One search to run: a task of a suite, a configuration and a seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    suite: str
    task_id: str
    language: str
    config: Config
    seed: int

    @model_validator(mode="before")
    @classmethod
    def _stored_before_modes(cls, data):
        # a job stored before configurations had a tests mode searched with the hidden tests: say so
        if isinstance(data, dict) and isinstance(data.get("config"), dict) and "tests" not in data["config"]:
            data = {**data, "config": {**data["config"], "tests": "oracle"}}
        return data


class JobResult(BaseModel):
    """What the store keeps for a finished job."""

    model_config = ConfigDict(extra="forbid")

    job_id: str
    outcome: Outcome
    #: why the outcome is unknown (crash, timeout, error: ...), or the best candidate's verdict reason
    reason: str | None = None
    #: the full checker's verdict on the best candidate (programs: its hidden tests; None: nothing was checked)
    verdict: Literal["verified", "refuted", "unknown"] | None = None
    #: the best candidate passed the search's own tests (visible ones; in oracle mode the hidden ones)
    solved_visible: bool | None = None
    candidate: str | None = None
    spend: Spend = Field(default_factory=Spend)
    #: model calls spent when the first candidate verified (coverage curves)
    solved_at_calls: int | None = None
    #: whole candidates checked, and how many verified (pass@k for collecting configurations)
    checked: int = 0
    verified: int = 0
    #: seconds spent in the checker (whole checks, proof steps, the final confirmation)
    checker_s: float = 0.0
    #: the verified candidate's efficiency score in [0, 1] against the task's reference, when measured
    efficiency: float | None = None
    wall_s: float = 0.0
    trace_path: str | None = None
    #: the verdict's manifest (checker, toolchain, sandbox, limits) and the model: enough to reproduce it
    manifest: dict = Field(default_factory=dict)
    #: how many times the job's worker died before this result
    crashes: int = 0


def job_id(suite: str, task: Task, config: Config, seed: int) -> str:
    """A stable id: the same task content (with the visible tests it is searched with), configuration and seed
    always give the same job. Oracle jobs keep the ids they had before the modes existed."""
    payload = {"suite": suite, "task": task.id, "task_hash": task.content_hash(),
               "config": config.model_dump(mode="json", exclude={"tests"} if config.tests == "oracle" else None),
               "seed": seed}
    if config.tests == "visible":
        payload["visible"] = task.model_dump(mode="json", include={"visible_tests", "visible_test_code"})
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def configurations(spec: RunSpec) -> list[Config]:
    """Every configuration of the spec: models x strategies x budgets, plus one sampling configuration."""
    limits = {"max_tokens": spec.limits.max_tokens, "max_seconds": spec.limits.max_seconds, "tests": spec.tests}
    configs = [Config(model=m, strategy=s, budget=b, **limits)
               for m in spec.models for s in spec.strategies for b in spec.budgets]
    if spec.samples:
        configs += [Config(model=m, strategy="best_of_n", budget=spec.samples, collect=True, **limits)
                    for m in spec.models]
    return configs


def select_tasks(spec: RunSpec) -> list[tuple[str, Task]]:
    """(suite, task) for every task the spec names; SpecError naming the field for a missing suite or task."""
    import click

    from proofsmith.datasets.cli import find_task, load_split_tasks
    from proofsmith.provers import validate_task

    chosen: list[tuple[str, Task]] = []
    for i, entry in enumerate(spec.suites):
        try:
            tasks = load_split_tasks(entry.suite)
        except click.ClickException as exc:
            raise SpecError(f"suites[{i}].suite: {exc.format_message()}") from None
        if entry.tasks:
            picked = []
            for j, key in enumerate(entry.tasks):
                try:
                    picked.append(find_task(tasks, entry.suite, key))
                except click.ClickException as exc:
                    raise SpecError(f"suites[{i}].tasks[{j}]: {exc.format_message()}") from None
            tasks = picked
        if entry.limit is not None and entry.limit < len(tasks):
            tasks = [tasks[k * len(tasks) // entry.limit] for k in range(entry.limit)]
        for task in tasks:
            problem = validate_task(task)
            if problem:
                raise SpecError(f"suites[{i}]: task {task.id}: {problem}")
            chosen.append((entry.suite, task))
    return chosen


def expand(spec: RunSpec) -> tuple[list[Job], dict[str, Task]]:
    """The jobs of a spec, task by task (every configuration and seed of one task, then the next), and the tasks."""
    tasks = select_tasks(spec)
    jobs, by_id = [], {}
    for suite, task in tasks:
        by_id[task.id] = task
        for config in configurations(spec):
            for seed in spec.seeds:
                jobs.append(Job(id=job_id(suite, task, config, seed), suite=suite, task_id=task.id,
                                language=task.language, config=config, seed=seed))
    return jobs, by_id


class TimedChecker(SearchChecker):
    """The search's checker, also counting the seconds spent checking (spend per solve reports them)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seconds = 0.0

    def _timed(self, method, *args):
        started = time.perf_counter()
        try:
            return method(*args)
        finally:
            self.seconds += time.perf_counter() - started

    def check(self, task, candidate):
        return self._timed(super().check, task, candidate)

    def confirm(self, task, candidate):
        return self._timed(super().confirm, task, candidate)

    def open(self, task):
        return self._timed(super().open, task)

    def step(self, state, step):
        return self._timed(super().step, state, step)


class Worker:
    """A worker's lifetime state: loaded policies (each once) and one checker; `run` does one job."""

    def __init__(self, settings: Settings, run_dir: str) -> None:
        if not settings.verdict_cache:
            os.environ["PROOFSMITH_NO_CACHE"] = "1"
        self.settings = settings
        self.run_dir = Path(run_dir)
        self.policies: dict = {}
        self.checker = TimedChecker(efficiency=settings.efficiency)

    def policy(self, model: str):
        """The policy for `model`, loaded on first use."""
        if model not in self.policies:
            from proofsmith.models import load_policy

            s = self.settings
            self.policies[model] = load_policy(model, n_threads=s.threads, n_parallel=s.parallel, n_ctx=s.ctx)
        return self.policies[model]

    def warm_up(self, tasks: list[Task]) -> None:
        """One-off setup before the first job, so no job's wall time pays it: the few-shot example pool."""
        from proofsmith.search.examples import examples_for

        for task in tasks:
            examples_for(task, self.settings.few_shot)

    def run(self, job: Job, task: Task) -> JobResult:
        """Run one job's search; an exception becomes an `unknown` result naming it."""
        from proofsmith.search import search
        from proofsmith.search.best_of_n import BestOfN
        from proofsmith.search.budget import Budget

        started = time.perf_counter()
        self.checker.seconds = 0.0
        trace = None
        if self.settings.traces:
            slug = re.sub(r"[^\w.-]+", "_", job.task_id).strip("_")
            trace = self.run_dir / "traces" / f"{slug}.{job.id}.jsonl"
        c = job.config
        try:
            policy = self.policy(c.model)
            strategy = BestOfN(collect=True) if c.collect else c.strategy
            budget = Budget(model_calls=c.budget, tokens=c.max_tokens, wall_s=c.max_seconds)
            result = search(task, policy, strategy=strategy, budget=budget, checker=self.checker, seed=job.seed,
                            trace=trace, few_shot=self.settings.few_shot, tests=c.tests)
        except Exception as exc:  # noqa: BLE001 - recorded as unknown with the reason; the run goes on
            tail = "".join(traceback.format_exception_only(exc)).strip().splitlines()[-1]
            return JobResult(job_id=job.id, outcome="unknown", reason=f"error: {tail}"[:500],
                             wall_s=round(time.perf_counter() - started, 3), checker_s=round(self.checker.seconds, 3),
                             manifest=self._manifest(c.model, None))
        verdict = result.verdict
        efficiency = None
        if result.solved and verdict is not None and verdict.efficiency is not None:
            efficiency = verdict.efficiency.score
        return JobResult(
            job_id=job.id,
            outcome="solved" if result.solved else "unsolved",
            reason=verdict.reason if verdict is not None else "nothing checked",
            verdict=verdict.status if verdict is not None else None,
            solved_visible=result.solved_visible,
            candidate=result.candidate.text if result.candidate is not None else None,
            spend=result.spend,
            solved_at_calls=result.solved_at.model_calls if result.solved and result.solved_at else None,
            checked=result.checked,
            verified=result.verified,
            checker_s=round(self.checker.seconds, 3),
            efficiency=efficiency,
            wall_s=round(time.perf_counter() - started, 3),
            trace_path=str(trace) if trace is not None else None,
            manifest=self._manifest(c.model, verdict),
        )

    def _manifest(self, model: str, verdict) -> dict:
        policy = self.policies.get(model)
        out = {"model": getattr(policy, "name", model), "settings": self.settings.model_dump(mode="json")}
        if verdict is not None:
            out["verdict"] = verdict.manifest.model_dump(mode="json")
        return out

    def close(self) -> None:
        """Close the checker's warm sessions and the policies."""
        self.checker.close()
        for policy in self.policies.values():
            policy.close()
        self.policies.clear()


def crashed_result(job: Job, reason: str, crashes: int) -> JobResult:
    """The unknown result recorded for a job whose worker died `crashes` times (no retries left)."""
    return JobResult(job_id=job.id, outcome="unknown", reason=reason, crashes=crashes)
