"""Step-level search spaces: where a partial proof or program can go next.

A `Point` is a partial answer; `expand` asks the policy for k next steps and
applies each, recording every step in the trace and returning the points it
reached. Two spaces:

- `TacticSpace` (Coq): a step is one tactic, run by the checker's step mode;
  a point is a proof state (goals and a stable hash of them), so equal goals
  reached by different tactics are one state. A rejected tactic reaches no
  point. A point with no goals left is `done`.
- `TextSpace` (any language, used for programs): a step is the next chunk of
  the answer, up to a blank line; the checker sees only the finished answer.
  A point is `done` when the model closes its code block or stops writing.

`value` is what strategies rank points by when there is no PRM: checker
feedback for tactics (fewer and smaller goals are better), the policy's own
confidence (mean token probability) for text.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from proofsmith.models.extract import ExtractionError, extract_tactic
from proofsmith.models.prompts import STOP, build_messages, complete_tactic, render, stop_for
from proofsmith.provers.coq_session import goal_count
from proofsmith.schema import Candidate
from proofsmith.search.candidates import ANSWER_TOKENS, prefilled_prompt, to_candidate
from proofsmith.search.episode import Episode
from proofsmith.search.trace import NodeStatus

#: Tokens one tactic may take.
TACTIC_TOKENS = 64
#: Tokens one chunk of program text may take.
CHUNK_TOKENS = 192


@dataclass(frozen=True)
class Point:
    """A partial answer: the steps so far and what the checker (or the text) says about them."""

    steps: tuple[str, ...]
    hash: str
    node: int
    #: Coq: the goals left; text: the answer so far
    view: str = ""
    done: bool = False
    #: sum of token log-probabilities and tokens along the path (the policy's confidence)
    logprob: float = 0.0
    n_tokens: int = 0
    #: the checker's state object (tactic spaces)
    state: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Child:
    """A point reached by one step, with the policy's log-probability of that step."""

    point: Point
    step: str
    logprob: float
    #: the PRM's score of the point, else the space's `value`
    score: float
    #: how many of the k proposals led here (particle filtering keeps them as separate particles)
    count: int = 1


class Space(Protocol):
    """What step-level strategies search over."""

    def root(self) -> Point:
        """The empty answer."""
        ...

    def expand(self, point: Point, k: int, temperature: float = 0.8) -> list[Child]:
        """Sample up to `k` next steps from `point` and apply them; the distinct points reached."""
        ...

    def candidate(self, point: Point) -> Candidate:
        """The whole candidate a `done` point stands for; ExtractionError when there is none."""
        ...

    def value(self, point: Point) -> float:
        """A score in [0, 1] for ranking points without a PRM."""
        ...


def space_for(episode: Episode, *, steps: str = "auto") -> Space:
    """Tactic steps where the task's checker has a step mode (unless `steps="text"`), else text chunks."""
    if steps not in ("auto", "tactic", "text"):
        raise ValueError(f"steps must be auto, tactic or text, not {steps!r}")
    if steps == "tactic" or (steps == "auto" and episode.checker.can_step(episode.task)):
        return TacticSpace(episode)
    return TextSpace(episode)


def _mean_prob(logprob: float, n_tokens: int) -> float:
    return math.exp(logprob / n_tokens) if n_tokens else 0.5


class TacticSpace:
    """Coq proofs one tactic at a time, every tactic run by the checker (see the module docstring)."""

    def __init__(self, episode: Episode) -> None:
        self.ep = episode
        self._root: Point | None = None

    def root(self) -> Point:
        if self._root is None:
            state = self.ep.checker.open(self.ep.task)
            self._root = Point(steps=(), hash=state.hash, node=0, view=state.goals, state=state)
        return self._root

    def expand(self, point: Point, k: int, temperature: float = 0.8) -> list[Child]:
        ep, task, policy = self.ep, self.ep.task, self.ep.policy
        prompt = render(build_messages(task, step=True, goals=point.view, steps=point.steps, examples=ep.examples),
                        policy.chat_template, system_prompt=policy.system_prompt)
        proposals = ep.sample(prompt, k, max_tokens=TACTIC_TOKENS,
                              stop=stop_for(policy.chat_template, step=True, language=task.language),
                              temperature=temperature)
        tried: dict[str, float] = {}
        counts: dict[str, int] = {}
        for proposal in proposals:
            try:
                text = proposal.text if proposal.finish_reason == "length" else complete_tactic(proposal.text,
                                                                                                 task.language)
                tactic = extract_tactic(text, task.language)
            except ExtractionError as exc:
                ep.node(point.node, proposal.text.strip()[:200], "error", error=str(exc),
                        logprob=proposal.sum_logprob)
                continue
            lp = proposal.sum_logprob if proposal.sum_logprob is not None else 0.0
            counts[tactic] = counts.get(tactic, 0) + 1
            if tactic in tried:
                ep.count("duplicate_steps")
            tried[tactic] = max(tried.get(tactic, -math.inf), lp)
        children = []
        for tactic, lp in tried.items():
            ep.meter.charge_checker()
            result = ep.checker.step(point.state, tactic)
            if result.status != "ok" or result.state is None:
                status: NodeStatus = "unknown" if result.status == "unknown" else "error"
                ep.node(point.node, tactic, status, error=result.error, logprob=lp)
                continue
            state = result.state
            if state.hash == point.hash and not state.solved:
                ep.node(point.node, tactic, "error", error="the tactic left the goals unchanged", logprob=lp)
                continue
            steps = (*point.steps, tactic)
            n_tokens = point.n_tokens + max(1, len(tactic) // 4)
            draft = Point(steps=steps, hash=state.hash, node=-1, view=state.goals, done=state.solved,
                          logprob=point.logprob + lp, n_tokens=n_tokens, state=state)
            score = ep.score(steps, state.goals)
            score = score if score is not None else self.value(draft)
            node = ep.node(point.node, tactic, "solved" if state.solved else "ok", goals=state.goals,
                           state_hash=state.hash, logprob=lp, score=score)
            children.append(Child(point=replace(draft, node=node), step=tactic, logprob=lp, score=score,
                                  count=counts[tactic]))
        return children

    def candidate(self, point: Point) -> Candidate:
        return Candidate(task_id=self.ep.task.id, text="\n".join(point.steps) + "\n", steps=list(point.steps))

    def value(self, point: Point) -> float:
        if point.done:
            return 1.0
        goals = max(1, goal_count(point.view))
        # fewer goals, then smaller ones: a crude progress signal straight from the checker
        return 0.9 / goals / (1.0 + len(point.view) / 2000)


class TextSpace:
    """Answers written a chunk at a time (up to a blank line), checked when finished."""

    def __init__(self, episode: Episode) -> None:
        self.ep = episode

    def root(self) -> Point:
        return Point(steps=(), hash=_text_hash(""), node=0)

    def expand(self, point: Point, k: int, temperature: float = 0.8) -> list[Child]:
        ep = self.ep
        prompt = prefilled_prompt(ep.task, ep.policy, point.view, ep.examples)
        budget_left = ANSWER_TOKENS.get(ep.task.language, 512) - point.n_tokens
        proposals = ep.sample(prompt, k, max_tokens=max(16, min(CHUNK_TOKENS, budget_left)),
                              stop=[*STOP.get(ep.policy.chat_template, []), "\n\n"], temperature=temperature)
        children: dict[str, Child] = {}
        for proposal in proposals:
            # the closing fence must stay visible here (it is how a chunk says the answer is finished),
            # so text steps stop at the end of the turn and at blank lines only
            chunk = proposal.text
            done = False
            if "```" in chunk:
                chunk, done = chunk.split("```", 1)[0], True
            if not chunk.strip():
                done = True
            if proposal.finish_reason == "length" and point.n_tokens + proposal.n_tokens >= \
                    ANSWER_TOKENS.get(ep.task.language, 512):
                done = True  # out of room: check what there is
            text = point.view + chunk + ("" if done or proposal.finish_reason == "length" else "\n\n")
            key = _text_hash(text) + ("+" if done else "")
            lp = proposal.sum_logprob if proposal.sum_logprob is not None else 0.0
            if key in children:
                ep.count("duplicate_steps")
                children[key] = replace(children[key], count=children[key].count + 1)
                continue
            steps = (*point.steps, chunk)
            draft = Point(steps=steps, hash=key, node=-1, view=text, done=done, logprob=point.logprob + lp,
                          n_tokens=point.n_tokens + proposal.n_tokens)
            score = ep.score(steps)
            score = score if score is not None else self.value(draft)
            node = ep.node(point.node, chunk, "solved" if done else "open", logprob=lp, score=score)
            children[key] = Child(point=replace(draft, node=node), step=chunk, logprob=lp, score=score)
        return list(children.values())

    def candidate(self, point: Point) -> Candidate:
        return to_candidate(self.ep.task, f"```\n{point.view}\n```")

    def value(self, point: Point) -> float:
        return _mean_prob(point.logprob, point.n_tokens)


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def finish(episode: Episode, space: Space, point: Point, score: float | None = None) -> bool:
    """Check a `done` point's whole candidate exactly; True when it verified."""
    try:
        candidate = space.candidate(point)
    except ExtractionError as exc:
        episode.reject(point.node, exc)
        return False
    verdict = episode.check(point.node, candidate, score=score)
    return verdict.status == "verified"
