"""Best-of-N: sample whole answers independently until one verifies (the "Large Language Monkeys" baseline)."""

from __future__ import annotations

from dataclasses import dataclass

from proofsmith.models.base import Policy
from proofsmith.models.extract import ExtractionError
from proofsmith.schema import Task
from proofsmith.search.base import Examples, ProcessRewardModel, SearchResult
from proofsmith.search.budget import Budget, BudgetExhausted
from proofsmith.search.candidates import (
    ANSWER_TOKENS,
    answer_head,
    answer_prompt,
    answer_stops,
    prefilled_prompt,
    to_candidate,
)
from proofsmith.search.checker import SearchChecker
from proofsmith.search.episode import Episode
from proofsmith.search.trace import TraceWriter


@dataclass
class BestOfN:
    """Repeated sampling: `batch` answers per model request, each checked in order; stops at the first verified.

    With `collect`, it keeps sampling to the end of the budget and counts every
    verified answer (`SearchResult.verified` over `checked` gives pass@k).
    With `from_statement` (`best_of_n_head`), a program whose statement is its
    signature and docstring is sampled as a body after it (`answer_head`), as
    the chunk searches write it: the baseline that does not pay for echoing
    the statement.
    """

    batch: int = 4
    temperature: float = 0.8
    collect: bool = False
    from_statement: bool = False
    name: str = "best_of_n"

    def run(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
            budget: Budget, *, seed: int = 0, trace: TraceWriter | None = None,
            examples: Examples = ()) -> SearchResult:
        """Sample and check until a candidate verifies or the budget runs out."""
        ep = Episode(task, policy, checker, prm, budget, strategy=self.name, seed=seed, trace=trace, examples=examples,
                     info={"batch": self.batch, "temperature": self.temperature, "collect": self.collect})
        head = answer_head(task) if self.from_statement else ""
        prompt = prefilled_prompt(task, policy, head, ep.examples) if head else answer_prompt(task, policy,
                                                                                             examples=ep.examples)
        try:
            while self.collect or not ep.solved:
                before = ep.meter.spend
                drawn, generated = before.model_calls, before.tokens
                proposals = ep.sample(prompt, self.batch, max_tokens=ANSWER_TOKENS[task.language],
                                      stop=answer_stops(policy), temperature=self.temperature)
                for index, proposal in enumerate(proposals):
                    generated += proposal.n_tokens
                    node = ep.node(0, proposal.text, "solved", logprob=proposal.sum_logprob)
                    try:
                        text = f"```\n{head}{proposal.text}\n```" if head else proposal.text
                        candidate = to_candidate(task, text, f"n{node}")
                    except ExtractionError as exc:
                        ep.reject(node, exc)
                        continue
                    # samples are independent: one that verifies counts as found after the samples before it
                    verdict = ep.check(node, candidate, score=ep.score([candidate.text]),
                                       model_calls=drawn + index + 1, tokens=generated)
                    if verdict.status == "verified" and not self.collect:
                        break
        except BudgetExhausted:
            pass
        return ep.result()
