"""Counterexample-guided sampling: fresh answers, each prompt listing what earlier wrong answers failed on.

`refine` shows the model its wrong answer and asks for a fix; a 0.5B model
mostly writes it back (43 of 70 repairs on the bitvec suite were
resubmissions). Counterexample-guided synthesis keeps the candidates
independent, as best-of-N does, and carries only the counterexamples
forward: the first diagnostic line of each refuted answer (SMT:
`counterexample: f(8) returned 8, but the correct result is 9.`; Python: the
failing assertion) joins a list shown under the task, the last `keep` of
them. Meant for SMT and Python tasks, where a diagnostic is a fact about the
function asked for; a Coq error is a fact about one attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from proofsmith.models.base import Policy
from proofsmith.models.extract import ExtractionError
from proofsmith.schema import Task
from proofsmith.search.base import Examples, ProcessRewardModel, SearchResult
from proofsmith.search.budget import Budget, BudgetExhausted
from proofsmith.search.candidates import ANSWER_TOKENS, answer_prompt, answer_stops, to_candidate
from proofsmith.search.checker import SearchChecker
from proofsmith.search.episode import Episode
from proofsmith.search.trace import TraceWriter

#: A counterexample shown to the model at most this long.
FACT_CHARS = 300


@dataclass
class CEGIS:
    """Independent samples, each prompted with the counterexamples of the wrong answers before it."""

    keep: int = 4
    temperature: float = 0.8
    name: str = "cegis"

    def run(self, task: Task, policy: Policy, checker: SearchChecker, prm: ProcessRewardModel | None,
            budget: Budget, *, seed: int = 0, trace: TraceWriter | None = None,
            examples: Examples = ()) -> SearchResult:
        """Sample one answer at a time until one verifies or the budget runs out."""
        ep = Episode(task, policy, checker, prm, budget, strategy=self.name, seed=seed, trace=trace, examples=examples,
                     info={"keep": self.keep, "temperature": self.temperature})
        facts: list[str] = []
        try:
            while not ep.solved:
                prompt = answer_prompt(task, policy, examples=ep.examples, counterexamples=facts[-self.keep:])
                [proposal] = ep.sample(prompt, 1, max_tokens=ANSWER_TOKENS[task.language],
                                       stop=answer_stops(policy), temperature=self.temperature)
                node = ep.node(0, proposal.text, "solved", logprob=proposal.sum_logprob)
                try:
                    candidate = to_candidate(task, proposal.text, f"n{node}")
                except ExtractionError as exc:
                    ep.reject(node, exc)
                    continue
                verdict = ep.check(node, candidate, score=ep.score([candidate.text]))
                message = verdict.diagnostics[0].message.strip() if verdict.status == "refuted" and \
                    verdict.diagnostics else ""
                fact = message.splitlines()[0][:FACT_CHARS] if message else ""
                if fact and fact not in facts:
                    facts.append(fact)
                    ep.count("counterexamples")
        except BudgetExhausted:
            pass
        return ep.result()
