"""Particle filtering over steps (Puri et al., arXiv:2502.01618).

`n` particles, each a partial answer, are extended one step at a time. After
each step every live particle is weighted by its score (the PRM's, else the
space's checker feedback) and `n` particles are drawn again from the softmax
of the scores at `temperature`: good partial answers multiply, poor ones die
out. A step the checker rejects kills its particle; a finished particle is
checked exactly (verified ends the search, refuted dies). Particles at the
same point are extended by one batched request. When every particle is dead,
or they reach `max_depth`, the filter starts again from the root.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from proofsmith.models.base import Policy
from proofsmith.schema import Task
from proofsmith.search.base import Examples, ProcessRewardModel, SearchResult
from proofsmith.search.budget import Budget, BudgetExhausted
from proofsmith.search.checker import SearchChecker
from proofsmith.search.episode import Episode
from proofsmith.search.space import Child, finish, space_for
from proofsmith.search.trace import TraceWriter


def resample(scores: list[float], n: int, temperature: float, rng) -> list[int]:
    """`n` indices drawn with replacement, index i with probability softmax(scores / temperature)[i]."""
    if not scores:
        return []
    top = max(scores)
    weights = [math.exp((s - top) / max(temperature, 1e-6)) for s in scores]
    return rng.choices(range(len(scores)), weights=weights, k=n)


@dataclass
class Particles:
    """Particle filtering (see the module docstring)."""

    n: int = 4
    temperature: float = 0.2
    sample_temperature: float = 0.8
    max_depth: int = 24
    steps: str = "auto"
    name: str = "particles"

    def run(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
            budget: Budget, *, seed: int = 0, trace: TraceWriter | None = None,
            examples: Examples = ()) -> SearchResult:
        """Filter until a candidate verifies or the budget runs out."""
        ep = Episode(task, policy, checker, prm, budget, strategy=self.name, seed=seed, trace=trace, examples=examples,
                     info={"n": self.n, "temperature": self.temperature, "max_depth": self.max_depth})
        try:
            space = space_for(ep, steps=self.steps)
            root = space.root()
            particles = [root] * self.n
            depth = 0
            while True:
                groups = Counter(p.hash for p in particles)
                firsts = {p.hash: p for p in particles}
                live: list[Child] = []
                for key, count in groups.items():
                    for child in space.expand(firsts[key], count, self.sample_temperature):
                        if child.point.done:
                            if finish(ep, space, child.point, child.score):
                                return ep.result()
                            continue
                        live.extend([child] * child.count)
                depth += 1
                if not live or depth >= self.max_depth:
                    ep.count("restarts")
                    particles, depth = [root] * self.n, 0
                    continue
                picks = resample([c.score for c in live], self.n, self.temperature, ep.rng)
                ep.count("resamples")
                ep.count("distinct_after_resample", len(set(picks)))
                particles = [live[i].point for i in picks]
        except BudgetExhausted:
            pass
        return ep.result()
