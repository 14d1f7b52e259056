"""One search of one task: its budget meter, trace, seeds and best candidate so far.

Every strategy drives an Episode, so sampling, checking, spend and the trace
are accounted identically: `sample` asks the policy (trimmed to the budget),
`node` records a step, `check` verifies a whole candidate and keeps the best,
`result` closes the trace and returns the SearchResult.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence

from proofsmith.models.base import Policy, Proposal
from proofsmith.models.extract import ExtractionError, refuted_verdict
from proofsmith.models.prompts import Example
from proofsmith.schema import Candidate, Task, Verdict
from proofsmith.search.base import ProcessRewardModel, SearchResult, prm_name
from proofsmith.search.budget import Budget, Meter, Spend
from proofsmith.search.checker import SearchChecker
from proofsmith.search.trace import NodeStatus, TraceEvent, TraceWriter


class Episode:
    """The shared state of one search (see the module docstring)."""

    def __init__(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
                 budget: Budget, *, strategy: str, seed: int = 0, trace: TraceWriter | None = None,
                 examples: Sequence[Example] | Callable[[], Sequence[Example]] = (),
                 info: dict | None = None) -> None:
        self.task = task
        self.policy = policy
        self.checker = checker
        self.prm = prm
        self.meter = Meter(budget)
        self.strategy = strategy
        self.seed = seed
        # few-shot examples may come as a function: choosing them loads a library, which a search that
        # automation finishes before the model is asked never needs
        self._examples = examples if callable(examples) else list(examples)
        self.rng = random.Random(seed)
        self.trace = trace if trace is not None else TraceWriter(None)
        self._ids = itertools.count(1)
        self._calls = itertools.count()
        self.nodes = 0
        self.checked = 0
        self.verified = 0
        self.stats: dict[str, float] = {}
        self.best: tuple[tuple[float, float], Candidate, Verdict] | None = None
        self.solved_at: Spend | None = None
        #: decided verdicts by candidate text: the same candidate is never checked (or paid for) twice
        self._verdicts: dict[str, Verdict] = {}
        self.trace.write(TraceEvent(event="start", node=0, info={
            "task_id": task.id, "strategy": strategy, "seed": seed, "budget": budget.model_dump(),
            "policy": policy.name, "prm": prm_name(prm), "language": task.language,
            "statement": _clip(task.statement),
            "examples": None if callable(self._examples) else len(self._examples), **(info or {})}))

    @property
    def examples(self) -> list[Example]:
        """Solved examples shown in every prompt of this search (few-shot), chosen at first use."""
        if callable(self._examples):
            self._examples = list(self._examples())
        return self._examples

    # ------------------------------------------------------------------ policy

    def sample(self, prompt: str, n: int, *, max_tokens: int, stop: Sequence[str],
               temperature: float = 0.8) -> list[Proposal]:
        """Up to `n` proposals (fewer when the budget is nearly spent); BudgetExhausted when none are left."""
        n = self.meter.allow(n)
        # one seed per request, in request order: a fixed seed and model replay the same search
        seed = self.seed * 7919 + next(self._calls)
        before = self.policy.usage.prompt_tokens
        proposals = self.policy.propose(prompt, n=n, max_tokens=max_tokens, temperature=temperature,
                                        stop=list(stop), seed=seed)
        prompt_tokens = max(0, self.policy.usage.prompt_tokens - before)
        self.meter.charge_model(len(proposals), prompt_tokens, sum(p.n_tokens for p in proposals))
        return proposals

    # ------------------------------------------------------------------ trace

    def node(self, parent: int, step: str, status: NodeStatus, *, goals: str | None = None,
             error: str | None = None, state_hash: str | None = None, logprob: float | None = None,
             score: float | None = None) -> int:
        """Record a new node reached from `parent` by `step`; its id."""
        node = next(self._ids)
        self.nodes += 1
        self.trace.write(TraceEvent(event="node", node=node, parent=parent, step=step, status=status,
                                    goals=_clip(goals), error=_clip(error), state_hash=state_hash,
                                    logprob=_finite(logprob), score=score, spend=self.meter.spend))
        return node

    def count(self, stat: str, by: float = 1) -> None:
        """Add to a strategy counter reported in `SearchResult.stats`."""
        self.stats[stat] = self.stats.get(stat, 0) + by

    # ------------------------------------------------------------------ scores and checks

    def score(self, steps: Sequence[str], view: str | None = None) -> float | None:
        """The PRM's score of the last step (given the checker's `view` after it), or None without a PRM."""
        if self.prm is None or not steps:
            return None
        views = [None] * (len(steps) - 1) + [view]
        return float(self.prm.score(self.task, list(steps), views=views)[-1])

    def check(self, node: int, candidate: Candidate, *, score: float | None = None,
              model_calls: int | None = None, tokens: int | None = None, reuse: bool = False) -> Verdict:
        """Verify a whole candidate (charged to the budget), record it, keep the best so far.

        With `reuse`, a candidate checked before gets its first decided
        verdict back, free (step-level searches reach one finished proof
        from several places).

        `model_calls` and `tokens` are the proposals and generated tokens to
        credit if it verifies, where a strategy drew it in a batch but could
        have stopped after it (best-of-N).
        """
        known = self._verdicts.get(candidate.text) if reuse else None
        if known is not None:
            self.count("repeat_checks_skipped")
            return known
        self.meter.charge_checker()
        verdict = self.checker.check(self.task, candidate)
        if verdict.status != "unknown":
            self._verdicts[candidate.text] = verdict
        self.checked += 1
        self.trace.write(TraceEvent(event="check", node=node, verdict=verdict.status, reward=verdict.reward,
                                    reason=verdict.reason,
                                    error=_clip(verdict.diagnostics[0].message if verdict.diagnostics else None),
                                    spend=self.meter.spend))
        self.offer(candidate, verdict, score, model_calls, tokens)
        return verdict

    def reject(self, node: int, error: ExtractionError) -> Verdict:
        """Record output that held no candidate: refuted by the extractor, no checker call spent."""
        verdict = refuted_verdict(self.task, error)
        self.checked += 1
        self.trace.write(TraceEvent(event="check", node=node, verdict="refuted", reason="extract",
                                    error=_clip(str(error)), spend=self.meter.spend))
        return verdict

    def offer(self, candidate: Candidate, verdict: Verdict, score: float | None = None,
              model_calls: int | None = None, tokens: int | None = None) -> None:
        """Keep `candidate` if it is the best so far: verified first, then most tests passed, then score."""
        if verdict.status == "verified":
            self.verified += 1
            if self.solved_at is None:
                spend = self.meter.spend
                if model_calls is not None:
                    spend = spend.model_copy(update={"model_calls": min(model_calls, spend.model_calls)})
                if tokens is not None:
                    spend = spend.model_copy(update={"tokens": min(tokens, spend.tokens)})
                self.solved_at = spend
        key = (1.0 if verdict.status == "verified" else (verdict.partial.fraction if verdict.partial else 0.0) / 2,
               score if score is not None else 0.0)
        if self.best is None or key > self.best[0]:
            self.best = (key, candidate, verdict)

    @property
    def solved(self) -> bool:
        """Whether a candidate has verified."""
        return self.solved_at is not None

    # ------------------------------------------------------------------ result

    def result(self) -> SearchResult:
        """Close the trace and return what the search found."""
        spend = self.meter.spend
        candidate = self.best[1] if self.best else None
        verdict = self.best[2] if self.best else None
        result = SearchResult(task_id=self.task.id, strategy=self.strategy, solved=self.solved,
                              candidate=candidate, verdict=verdict, spend=spend, solved_at=self.solved_at,
                              nodes=self.nodes, checked=self.checked, verified=self.verified,
                              trace_path=str(self.trace.path) if self.trace.path else None, stats=dict(self.stats))
        self.trace.write(TraceEvent(event="end", spend=spend, info={
            "solved": result.solved, "checked": result.checked, "verified": result.verified,
            "stats": result.stats, "candidate": candidate.text if candidate else None}))
        return result


def _clip(text: str | None, limit: int = 2000) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + "..."


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None
