"""Step-level beam search: keep the `width` best partial answers, extend each by `expand` sampled steps.

Points are ranked by the PRM's score, or without a PRM by the space's checker
feedback (`Space.value`: fewer, smaller goals for tactics), ties broken by the
policy's log-probability. Equal states (same goals) are kept once. A beam
that dies out (every step rejected) or reaches `max_depth` starts over from
the root with fresh samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from proofsmith.models.base import Policy
from proofsmith.schema import Task
from proofsmith.search.base import Examples, ProcessRewardModel, SearchResult
from proofsmith.search.budget import Budget, BudgetExhausted
from proofsmith.search.checker import SearchChecker
from proofsmith.search.episode import Episode
from proofsmith.search.space import Child, Point, finish, space_for
from proofsmith.search.trace import TraceWriter


@dataclass
class Beam:
    """Beam search over steps (see the module docstring)."""

    width: int = 3
    expand: int = 3
    max_depth: int = 24
    temperature: float = 0.8
    steps: str = "auto"
    name: str = "beam"

    def run(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
            budget: Budget, *, seed: int = 0, trace: TraceWriter | None = None,
            examples: Examples = ()) -> SearchResult:
        """Beam search until a candidate verifies or the budget runs out."""
        ep = Episode(task, policy, checker, prm, budget, strategy=self.name, seed=seed, trace=trace, examples=examples,
                     info={"width": self.width, "expand": self.expand, "max_depth": self.max_depth})
        try:
            space = space_for(ep, steps=self.steps)
            root = space.root()
            beams: list[Point] = [root]
            depth = 0
            progress = (-1, -1)
            while True:
                pool: dict[str, Child] = {}
                for point in beams:
                    for child in space.expand(point, self.expand, self.temperature):
                        if child.point.done:
                            if finish(ep, space, child.point, child.score):
                                return ep.result()
                        elif child.point.hash not in pool:
                            pool[child.point.hash] = child
                depth += 1
                if not pool or depth >= self.max_depth:
                    spend = ep.meter.spend
                    if (spend.model_calls, spend.checker_calls) == progress:
                        ep.count("exhausted")  # the last descent sampled and checked nothing new
                        break
                    progress = (spend.model_calls, spend.checker_calls)
                    ep.count("restarts")
                    beams, depth = [root], 0
                    continue
                ranked = sorted(pool.values(), key=lambda c: (c.score, c.point.logprob), reverse=True)
                beams = [c.point for c in ranked[: self.width]]
        except BudgetExhausted:
            pass
        return ep.result()
