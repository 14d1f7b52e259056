"""Self-repair: each failed answer goes back to the model with the checker's complaint.

A chain starts from the plain prompt; while the latest attempt is refuted and
the chain is shorter than `depth` repairs, the next prompt shows that attempt
and the checker's message (the Coq error, the failing test and its output).
After `depth` repairs the chain starts over from the plain prompt, and so it
does as soon as a repair repeats an attempt of its chain: the next prompt would
be the one that produced the repeat, so the chain is stuck (small models
resubmit the program they were asked to fix about half the time). In the
trace, a repair is the child of the attempt it repairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from proofsmith.models.base import Policy
from proofsmith.models.extract import ExtractionError
from proofsmith.models.prompts import Feedback, feedback_from_verdict
from proofsmith.schema import Task
from proofsmith.search.base import Examples, ProcessRewardModel, SearchResult
from proofsmith.search.budget import Budget, BudgetExhausted
from proofsmith.search.candidates import ANSWER_TOKENS, answer_prompt, answer_stops, to_candidate
from proofsmith.search.checker import SearchChecker
from proofsmith.search.episode import Episode
from proofsmith.search.trace import TraceWriter


@dataclass
class Refine:
    """Sample, check, repair with the checker's feedback up to `depth` times, start over; repeat."""

    depth: int = 3
    temperature: float = 0.8
    name: str = "refine"

    def run(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
            budget: Budget, *, seed: int = 0, trace: TraceWriter | None = None,
            examples: Examples = ()) -> SearchResult:
        """Repair chains until a candidate verifies or the budget runs out."""
        ep = Episode(task, policy, checker, prm, budget, strategy=self.name, seed=seed, trace=trace, examples=examples,
                     info={"depth": self.depth, "temperature": self.temperature})
        feedback: Feedback | None = None
        parent, repairs = 0, 0
        chain: set[str] = set()
        try:
            while not ep.solved:
                [proposal] = ep.sample(answer_prompt(task, policy, feedback, ep.examples), 1,
                                       max_tokens=ANSWER_TOKENS[task.language], stop=answer_stops(policy),
                                       temperature=self.temperature)
                node = ep.node(parent, proposal.text, "solved", logprob=proposal.sum_logprob)
                if feedback is not None:
                    ep.count("repairs")
                try:
                    candidate = to_candidate(task, proposal.text, f"n{node}")
                    attempt = candidate.text
                    verdict = ep.check(node, candidate, score=ep.score([candidate.text]))
                except ExtractionError as exc:
                    attempt = proposal.text
                    verdict = ep.reject(node, exc)
                if verdict.status == "verified":
                    break
                repeated = _normalized(attempt) in chain
                if repeated:
                    ep.count("repeated_repairs")
                chain.add(_normalized(attempt))
                if repairs < self.depth and verdict.status == "refuted" and not repeated:
                    feedback, parent, repairs = feedback_from_verdict(attempt, verdict), node, repairs + 1
                else:
                    feedback, parent, repairs = None, 0, 0
                    chain.clear()
                    ep.count("restarts")
        except BudgetExhausted:
            pass
        return ep.result()


def _normalized(text: str) -> str:
    # whitespace-only edits are the same attempt to the checker
    return " ".join(text.split())
