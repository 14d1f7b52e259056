"""Reward functions for RL loops: TRL's GRPO, verl, and plain Python.

- `trl_reward(prompts, completions, **columns) -> list[float | None]`: TRL's
  reward-function signature (`GRPOTrainer(reward_funcs=[trl_reward])`).
  `completions` are strings or, for conversational datasets, lists of
  messages (the last message's `content` is used). Every dataset column
  arrives as a keyword list; the task of sample i is `task[i]` (a Task, its
  dict or its JSON) or `task_id[i]` looked up among tasks given to
  `configure(tasks=...)` / `register_tasks`. Other keywords TRL passes
  (`completion_ids`, `trainer_state`, ...) are ignored.
- `async_trl_reward`: the same, as a coroutine (TRL runs async reward
  functions concurrently with the others).
- `compute_score(data_source, solution_str, ground_truth, extra_info=None)`:
  verl's custom reward signature; `ground_truth` is the task (Task, dict,
  JSON, or a registered task id), or `extra_info["task"]` is.

The reward of a sample is 1.0 when its candidate is verified and 0.0 when it
is refuted (including output with no usable answer in it); an `unknown`
verdict (timeout, crash, sandbox or toolchain failure, deadline) gives
`None`, which TRL masks out of the loss and verl users must mask likewise:
an unknown is never read as a pass nor as a failure.

Efficiency can be blended in with `efficiency_weight = w` in [0, 1]: a
verified Python candidate then earns `(1 - w) + w * efficiency.score`, where
`efficiency.score` is the ENAMEL-style score in [0, 1] against the task's
reference (1 = as fast as the reference or faster, 0 = at the time cap);
checks then also time the candidate (`efficiency="cpu"`), which costs a few
reference and candidate runs per check. w = 0 (the default) ignores speed.

Checks run locally (the `check_many` thread pool, `jobs` at a time) or, with
`url` set (or `$PROOFSMITH_SERVE_URL`), on a `proofsmith serve` service
through its client, which retries 429s with jitter.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from proofsmith.schema import Candidate, Task, Verdict

__all__ = ["RewardConfig", "Rewarder", "async_trl_reward", "compute_score", "configure", "make_trl_reward",
           "register_tasks", "score", "task_column", "trl_reward"]


class RewardConfig(BaseModel):
    """Where checks run and how verdicts become rewards."""

    model_config = ConfigDict(extra="forbid")

    #: a `proofsmith serve` URL; None checks in this process
    url: str | None = Field(default_factory=lambda: os.environ.get("PROOFSMITH_SERVE_URL") or None)
    token: str | None = Field(default_factory=lambda: os.environ.get("PROOFSMITH_SERVE_TOKEN") or None)
    #: weight of the efficiency score in a verified Python candidate's reward (0 = correctness only)
    efficiency_weight: float = Field(0.0, ge=0.0, le=1.0)
    efficiency_mode: Literal["cpu", "exact"] = "cpu"
    #: local checks at once
    jobs: int = Field(2, ge=1)
    sandbox: str = "auto"
    #: per-request deadline on the service (queued checks past it come back unknown -> None)
    deadline_s: float | None = Field(None, gt=0)
    use_cache: bool = True
    #: pull the answer out of model output (fences, chatter); False checks the text as it is
    extract: bool = True
    #: pairs per request to the service
    batch_size: int = Field(64, ge=1)


def score(verdict: Verdict, efficiency_weight: float = 0.0) -> float | None:
    """The reward of one verdict: None for unknown, 0.0 refuted, 1.0 verified (blended with efficiency)."""
    if verdict.status == "unknown":
        return None
    if verdict.status != "verified":
        return 0.0
    if efficiency_weight and verdict.efficiency is not None:
        return (1.0 - efficiency_weight) + efficiency_weight * verdict.efficiency.score
    return 1.0


def _text(completion: Any) -> str:
    """A completion's text: a string, or the last message's content for conversational completions."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return str(completion.get("content", ""))
    if isinstance(completion, Sequence) and completion:
        return _text(completion[-1])
    raise TypeError(f"a completion must be a string or a list of messages, not {type(completion).__name__}")


def _tree_sitter() -> bool:
    try:
        import tree_sitter  # noqa: F401
        import tree_sitter_python  # noqa: F401
    except ImportError:
        return False
    return True


class Rewarder:
    """Turns (task, model output) pairs into rewards; one per configuration, shareable across threads."""

    def __init__(self, config: RewardConfig | None = None, tasks: Iterable[Task] | None = None) -> None:
        self.config = config or RewardConfig()
        self.tasks: dict[str, Task] = {}
        self._client = None
        self._lock = threading.Lock()
        if tasks is not None:
            self.register(tasks)

    def register(self, tasks: Iterable[Task]) -> None:
        """Make tasks findable by id (the `task_id` column, or verl's `ground_truth`)."""
        for task in tasks:
            self.tasks[task.id] = task

    # ----------------------------------------------------------------- inputs

    def task_of(self, value: Any) -> Task:
        """A Task from a Task, its dict, its JSON, or a registered id."""
        if isinstance(value, Task):
            return value
        if isinstance(value, Mapping):
            return Task.model_validate(value)
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("{"):
                return Task.model_validate_json(stripped)
            task = self.tasks.get(stripped)
            if task is None:
                raise KeyError(f"no task {stripped!r}: pass tasks to configure(tasks=...) or register_tasks(), "
                               f"or give the whole task in a `task` column")
            return task
        raise TypeError(f"a task must be a Task, a dict, JSON or a registered task id, not {type(value).__name__}")

    def candidate(self, task: Task, text: str, candidate_id: str | None = None) -> Candidate | Verdict:
        """The candidate in `text`, or a refuted verdict when the output holds no usable answer."""
        if not self.config.extract:
            return Candidate(task_id=task.id, id=candidate_id, text=text,
                             completion=task.language == "python" and f"def {task.entry_point}" not in text)
        from proofsmith.models.extract import (
            ExtractionError,
            code_blocks,
            extract_coq_proof,
            python_candidate,
            refuted_verdict,
        )

        try:
            if task.language == "python":
                if _tree_sitter():
                    return python_candidate(task, text, candidate_id)
                blocks = [b.text for b in code_blocks(text) if b.tag in ("python", "py", "")]
                code = blocks[0] if blocks else text
                return Candidate(task_id=task.id, id=candidate_id, text=code,
                                 completion=f"def {task.entry_point}" not in code)
            if task.language == "coq":
                return Candidate(task_id=task.id, id=candidate_id, text=extract_coq_proof(text, task.statement))
        except ExtractionError as exc:
            return refuted_verdict(task, exc, candidate_id)
        return Candidate(task_id=task.id, id=candidate_id, text=text)

    def _prepared(self, tasks: Sequence[Task], texts: Sequence[str]):
        slots: list[Candidate | Verdict] = [self.candidate(t, x, str(i)) for i, (t, x) in
                                            enumerate(zip(tasks, texts, strict=True))]
        pairs = [(t, c) for t, c in zip(tasks, slots, strict=True) if isinstance(c, Candidate)]
        return slots, pairs

    @staticmethod
    def _merge(slots: list[Candidate | Verdict], checked: list[Verdict]) -> list[Verdict]:
        it = iter(checked)
        return [next(it) if isinstance(s, Candidate) else s for s in slots]

    # ----------------------------------------------------------------- checking

    def _efficiency(self) -> str | None:
        return self.config.efficiency_mode if self.config.efficiency_weight > 0 else None

    def _remote(self):
        with self._lock:
            if self._client is None:
                from proofsmith.serve.client import Client

                self._client = Client(self.config.url, token=self.config.token, batch_size=self.config.batch_size)
            return self._client

    def check(self, pairs: Sequence[tuple[Task, Candidate]]) -> list[Verdict]:
        """Verdicts for the pairs, in order, locally or on the service."""
        if not pairs:
            return []
        if self.config.url:
            return self._remote().check_many(pairs, deadline_s=self.config.deadline_s, efficiency=self._efficiency(),
                                             use_cache=self.config.use_cache)
        from proofsmith.provers import check_many

        return check_many(pairs, jobs=self.config.jobs, sandbox=self.config.sandbox,  # type: ignore[arg-type]
                          efficiency=self._efficiency(), use_cache=self.config.use_cache)

    async def acheck(self, pairs: Sequence[tuple[Task, Candidate]]) -> list[Verdict]:
        """`check` as a coroutine: the async client on the service, a worker thread locally."""
        if not pairs:
            return []
        if not self.config.url:
            return await asyncio.to_thread(self.check, pairs)
        from proofsmith.serve.client import AsyncClient

        async with AsyncClient(self.config.url, token=self.config.token, batch_size=self.config.batch_size) as client:
            return await client.check_many(pairs, deadline_s=self.config.deadline_s, efficiency=self._efficiency(),
                                           use_cache=self.config.use_cache)

    def verdicts(self, tasks: Sequence[Task], texts: Sequence[str]) -> list[Verdict]:
        """A verdict per (task, model output)."""
        slots, pairs = self._prepared(tasks, texts)
        return self._merge(slots, self.check(pairs))

    async def averdicts(self, tasks: Sequence[Task], texts: Sequence[str]) -> list[Verdict]:
        slots, pairs = self._prepared(tasks, texts)
        return self._merge(slots, await self.acheck(pairs))

    def rewards(self, tasks: Sequence[Task], texts: Sequence[str]) -> list[float | None]:
        """A reward per (task, model output); None where the verdict is unknown."""
        return [score(v, self.config.efficiency_weight) for v in self.verdicts(tasks, texts)]

    # ----------------------------------------------------------------- trainer signatures

    def _tasks_from_columns(self, n: int, columns: Mapping[str, Any]) -> list[Task]:
        if columns.get("task") is not None:
            values = columns["task"]
        elif columns.get("task_id") is not None:
            values = columns["task_id"]
        else:
            raise KeyError("the reward needs a `task` column (Task JSON or dict) or a `task_id` column "
                           "with tasks registered through configure(tasks=...)")
        if len(values) != n:
            raise ValueError(f"{len(values)} tasks for {n} completions")
        return [self.task_of(v) for v in values]

    def trl(self, prompts: Sequence[Any] | None, completions: Sequence[Any], **columns: Any) -> list[float | None]:
        """TRL reward function: one reward per completion, None where unknown."""
        tasks = self._tasks_from_columns(len(completions), columns)
        return self.rewards(tasks, [_text(c) for c in completions])

    async def atrl(self, prompts: Sequence[Any] | None, completions: Sequence[Any],
                   **columns: Any) -> list[float | None]:
        """Async TRL reward function."""
        tasks = self._tasks_from_columns(len(completions), columns)
        verdicts = await self.averdicts(tasks, [_text(c) for c in completions])
        return [score(v, self.config.efficiency_weight) for v in verdicts]

    def verl(self, data_source: str, solution_str: str, ground_truth: Any,
             extra_info: Mapping[str, Any] | None = None) -> float | None:
        """verl `compute_score`: the reward of one response, None where unknown."""
        value = extra_info.get("task") if extra_info and extra_info.get("task") is not None else ground_truth
        task = self.task_of(value)
        return self.rewards([task], [solution_str])[0]


_DEFAULT: Rewarder | None = None
_DEFAULT_LOCK = threading.Lock()


def configure(tasks: Iterable[Task] | None = None, **config: Any) -> Rewarder:
    """Set the module-level rewarder that `trl_reward`, `async_trl_reward` and `compute_score` use."""
    global _DEFAULT
    rewarder = Rewarder(RewardConfig(**config), tasks)
    with _DEFAULT_LOCK:
        _DEFAULT = rewarder
    return rewarder


def _default() -> Rewarder:
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Rewarder()
        return _DEFAULT


def register_tasks(tasks: Iterable[Task]) -> None:
    """Make tasks findable by id for the module-level reward functions."""
    _default().register(tasks)


def trl_reward(prompts: Sequence[Any] | None, completions: Sequence[Any], **columns: Any) -> list[float | None]:
    """TRL GRPO reward function: 1.0 verified, 0.0 refuted, None unknown (masked). See the module docstring."""
    return _default().trl(prompts, completions, **columns)


async def async_trl_reward(prompts: Sequence[Any] | None, completions: Sequence[Any],
                           **columns: Any) -> list[float | None]:
    """`trl_reward` as a coroutine, for TRL's concurrent async reward functions."""
    return await _default().atrl(prompts, completions, **columns)


def compute_score(data_source: str, solution_str: str, ground_truth: Any,
                  extra_info: Mapping[str, Any] | None = None) -> float | None:
    """verl custom reward: the reward of one response; None where the verdict is unknown (mask it)."""
    return _default().verl(data_source, solution_str, ground_truth, extra_info)


def make_trl_reward(tasks: Iterable[Task] | None = None, *, name: str = "proofsmith_reward", asynchronous: bool = False,
                    **config: Any):
    """A TRL reward function with its own configuration (TRL logs it under `name`)."""
    rewarder = Rewarder(RewardConfig(**config), tasks)
    if asynchronous:
        async def reward(prompts, completions, **columns):
            return await rewarder.atrl(prompts, completions, **columns)
    else:
        def reward(prompts, completions, **columns):
            return rewarder.trl(prompts, completions, **columns)
    reward.__name__ = reward.__qualname__ = name
    reward.rewarder = rewarder  # type: ignore[attr-defined]
    return reward


def task_column(task: Task) -> str:
    """A task as one JSON string, for a dataset's `task` column (datasets store strings well)."""
    return json.dumps(task.model_dump(mode="json"))
