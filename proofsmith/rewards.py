"""Reward functions for RL loops: TRL's GRPO, verl, and plain Python.

- `trl_reward(prompts, completions, **columns) -> list[float | None]`: TRL's
  reward-function signature (`GRPOTrainer(reward_funcs=[trl_reward])`).
  `completions` are strings or, for conversational datasets, lists of
  messages (the last message's `content` is used). Every dataset column
  arrives as a keyword list; the task of sample i is `task_id[i]` looked up
  among tasks given to `configure(tasks=...)` / `register_tasks`, or
  `task[i]` (a Task, its dict, its JSON, or a registered id). When TRL passes
  `log_metric`, the share of unknown verdicts in the batch is logged as
  `rewards/<name>/unknown_share`; when it passes `log_extra`, each sample's
  verdict (`verified`, `refuted: <reason>`, `unknown: <reason>`) becomes a
  `<name>/verdict` column of TRL's completions table. Other keywords TRL
  passes (`completion_ids`, `trainer_state`, ...) are ignored.
- `async_trl_reward`: the same, as a coroutine (TRL runs async reward
  functions concurrently with the others).
- `compute_score(data_source, solution_str, ground_truth, extra_info=None,
  **options)`: verl's custom reward signature; `ground_truth` is the task
  (Task, dict, JSON, or a registered task id), or `extra_info["task"]` is.
  It returns the same dict every time: `{"score": float, "unknown": bool,
  "reason": str}` (verl puts the extra keys in `reward_extra_info`).

The reward of a sample is 1.0 when its candidate is verified and 0.0 when it
is refuted (including output with no usable answer in it). An `unknown`
verdict (timeout, crash, sandbox or toolchain failure, deadline) is never read
as a pass nor as a failure where the trainer can mask: `trl_reward` gives
`None`, which TRL turns into NaN and keeps out of the loss (the sample's
advantage is 0). verl's reward managers need a number for every sample, so
`compute_score` gives an unknown `unknown_score` (a `RewardConfig` option,
default 0.0) and `"unknown": True`, never `None`.

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
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from proofsmith.schema import Candidate, Task, Verdict

__all__ = ["RewardConfig", "Rewarder", "VerlScore", "async_trl_reward", "compute_score", "configure",
           "make_trl_reward", "register_tasks", "score", "task_column", "trl_reward", "verl_score"]


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
    #: the score `compute_score` gives verl for an unknown verdict: verl's reward managers need a number for
    #: every sample and cannot mask one (TRL can: `trl_reward` returns None there)
    unknown_score: float = 0.0


def score(verdict: Verdict, efficiency_weight: float = 0.0) -> float | None:
    """The reward of one verdict: None for unknown, 0.0 refuted, 1.0 verified (blended with efficiency)."""
    if verdict.status == "unknown":
        return None
    if verdict.status != "verified":
        return 0.0
    if efficiency_weight and verdict.efficiency is not None:
        return (1.0 - efficiency_weight) + efficiency_weight * verdict.efficiency.score
    return 1.0


class VerlScore(TypedDict):
    """What `compute_score` returns to verl, the same keys every time (verl's batches need one shape)."""

    score: float
    #: the checker could not decide; `score` is then `RewardConfig.unknown_score`
    unknown: bool
    #: the verdict's reason (`tests_failed`, `timeout`, ...); "" when verified
    reason: str


def verl_score(verdict: Verdict, efficiency_weight: float = 0.0, unknown_score: float = 0.0) -> VerlScore:
    """verl's view of one verdict: `score(verdict)`, with `unknown_score` where that is None."""
    reward = score(verdict, efficiency_weight)
    return VerlScore(score=unknown_score if reward is None else reward, unknown=reward is None,
                     reason=verdict.reason or "")


def _label(verdict: Verdict) -> str:
    """A verdict in a few words, for TRL's completions table."""
    return verdict.status if verdict.status == "verified" else f"{verdict.status}: {verdict.reason or '-'}"


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

    def _report_to_trl(self, name: str, verdicts: Sequence[Verdict], columns: Mapping[str, Any]) -> list[float | None]:
        """Rewards for TRL, and the unknown share and verdicts through TRL's `log_metric` / `log_extra` if given."""
        rewards = [score(v, self.config.efficiency_weight) for v in verdicts]
        log_metric, log_extra = columns.get("log_metric"), columns.get("log_extra")
        if callable(log_metric) and rewards:
            log_metric(f"rewards/{name}/unknown_share", sum(r is None for r in rewards) / len(rewards))
        if callable(log_extra):
            log_extra(f"{name}/verdict", [_label(v) for v in verdicts])
        return rewards

    def trl(self, prompts: Sequence[Any] | None, completions: Sequence[Any], *, reward_name: str = "trl_reward",
            **columns: Any) -> list[float | None]:
        """TRL reward function: one reward per completion, None where unknown (`reward_name` names its metrics)."""
        tasks = self._tasks_from_columns(len(completions), columns)
        return self._report_to_trl(reward_name, self.verdicts(tasks, [_text(c) for c in completions]), columns)

    async def atrl(self, prompts: Sequence[Any] | None, completions: Sequence[Any], *,
                   reward_name: str = "async_trl_reward", **columns: Any) -> list[float | None]:
        """Async TRL reward function."""
        tasks = self._tasks_from_columns(len(completions), columns)
        verdicts = await self.averdicts(tasks, [_text(c) for c in completions])
        return self._report_to_trl(reward_name, verdicts, columns)

    def verl(self, data_source: str, solution_str: str, ground_truth: Any,
             extra_info: Mapping[str, Any] | None = None) -> VerlScore:
        """verl `compute_score`: the score of one response; an unknown scores `config.unknown_score`."""
        value = extra_info.get("task") if extra_info and extra_info.get("task") is not None else ground_truth
        task = self.task_of(value)
        verdict = self.verdicts([task], [solution_str])[0]
        return verl_score(verdict, self.config.efficiency_weight, self.config.unknown_score)


_DEFAULT: Rewarder | None = None
_DEFAULT_LOCK = threading.Lock()


def configure(tasks: Iterable[Task] | None = None, **config: Any) -> Rewarder:
    """Set the module-level rewarder that `trl_reward`, `async_trl_reward` and `compute_score` use."""
    global _DEFAULT
    rewarder = Rewarder(RewardConfig(**config), tasks)
    with _DEFAULT_LOCK:
        _DEFAULT = rewarder
        _OVERRIDES.clear()
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
    return _default().trl(prompts, completions, reward_name="trl_reward", **columns)


async def async_trl_reward(prompts: Sequence[Any] | None, completions: Sequence[Any],
                           **columns: Any) -> list[float | None]:
    """`trl_reward` as a coroutine, for TRL's concurrent async reward functions."""
    return await _default().atrl(prompts, completions, reward_name="async_trl_reward", **columns)


#: keywords verl's reward-loop managers pass to every custom reward; a checker has no use for them
_VERL_PASSES = frozenset({"reward_router_address", "reward_model_tokenizer"})
#: rewarders with verl's reward_kwargs on top of the module-level one (emptied by `configure`)
_OVERRIDES: dict[str, Rewarder] = {}


def _verl_rewarder(options: Mapping[str, Any]) -> Rewarder:
    """The module-level rewarder, or one with `options` (RewardConfig fields) on top of its configuration.

    verl runs reward functions in its own worker processes, where `configure()` was never called: its
    `custom_reward_function.reward_kwargs` (which arrive here as keywords) are how a run configures them.
    """
    base = _default()
    settings: dict[str, Any] = {}
    for key, value in options.items():
        if key in RewardConfig.model_fields:
            settings[key] = value
        elif key not in _VERL_PASSES:  # the warnings filter shows it once per keyword
            warnings.warn(f"compute_score ignores the keyword {key!r}: it is no RewardConfig field "
                          f"({', '.join(RewardConfig.model_fields)})", stacklevel=3)
    if not settings:
        return base
    cache_key = json.dumps(settings, sort_keys=True, default=str)
    with _DEFAULT_LOCK:
        rewarder = _OVERRIDES.get(cache_key)
        if rewarder is None:
            rewarder = Rewarder(RewardConfig(**{**base.config.model_dump(), **settings}))
            rewarder.tasks = base.tasks  # tasks registered later are found too
            _OVERRIDES[cache_key] = rewarder
        return rewarder


def compute_score(data_source: str, solution_str: str, ground_truth: Any,
                  extra_info: Mapping[str, Any] | None = None, **options: Any) -> VerlScore:
    """verl custom reward: `{"score", "unknown", "reason"}` for one response, never None.

    An unknown verdict scores `unknown_score` (default 0.0) with `"unknown": True`: verl cannot mask a
    sample. Keywords that name `RewardConfig` fields (`unknown_score=-1.0`, `url=...`, `jobs=4`; in verl,
    `custom_reward_function.reward_kwargs`) override the module-level configuration; the ones verl's
    reward-loop managers add (`reward_router_address`, `reward_model_tokenizer`) are ignored, and any
    other keyword is ignored with a warning naming it.
    """
    return _verl_rewarder(options).verl(data_source, solution_str, ground_truth, extra_info)


def make_trl_reward(tasks: Iterable[Task] | None = None, *, name: str = "proofsmith_reward", asynchronous: bool = False,
                    **config: Any):
    """A TRL reward function with its own configuration (TRL logs it under `name`)."""
    rewarder = Rewarder(RewardConfig(**config), tasks)
    if asynchronous:
        async def reward(prompts, completions, **columns):
            return await rewarder.atrl(prompts, completions, reward_name=name, **columns)
    else:
        def reward(prompts, completions, **columns):
            return rewarder.trl(prompts, completions, reward_name=name, **columns)
    reward.__name__ = reward.__qualname__ = name
    reward.rewarder = rewarder  # type: ignore[attr-defined]
    return reward


def task_column(task: Task) -> str:
    """A task as one JSON string, for a dataset's `task` column (datasets store strings well)."""
    return json.dumps(task.model_dump(mode="json"))
