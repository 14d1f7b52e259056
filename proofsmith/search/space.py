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
  A program whose statement is its signature and docstring starts from that
  statement (`answer_head`): the steps write the body.

`value` is what strategies rank points by when there is no PRM: checker
feedback for tactics (fewer and smaller goals are better), the policy's own
confidence (mean token probability) for text.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from proofsmith.models.base import PromptTooLong
from proofsmith.models.extract import ExtractionError, extract_tactic
from proofsmith.models.prompts import STOP, build_messages, complete_tactic, render, stop_for
from proofsmith.schema import Candidate
from proofsmith.search.budget import BudgetExhausted
from proofsmith.search.candidates import ANSWER_TOKENS, answer_head, prefilled_prompt, to_candidate
from proofsmith.provers.coq_dependencies import forbidden_libraries, hammer_libraries
from proofsmith.search.checker import hammer_allowed
from proofsmith.search.episode import Episode
from proofsmith.search.portfolio import (
    HAMMER_MIN_SECONDS,
    HAMMER_SHARE,
    ROOT_SECONDS,
    STATE_SECONDS,
    coq_closers,
    hammer_reconstructions,
    portfolio,
    tactic_key,
)
from proofsmith.search.retrieval import lemma_names, lemma_tactics, parse_search, rank, search_commands, unknown_name
from proofsmith.search.similar_proofs import STEP_SECONDS as SIMILAR_STEP_SECONDS
from proofsmith.search.similar_proofs import (
    first_steps,
    frequent_openings,
    name_analogies,
    proof_sentences,
    similar_proofs,
)
from proofsmith.search.trace import NodeStatus
from proofsmith.steps import Goal, goal_count, goal_list

#: Tokens one tactic may take.
TACTIC_TOKENS = 64
#: Seconds into a search before CoqHammer's call at the root runs (sooner when the tree runs dry, or, with no
#: wall-clock limit, when the model is about to be asked): the root's children come first, automation's multi-step
#: proofs take a few seconds and the ATPs 15-25. Running it beside the search in a second session was tried (ee95f47,
#: reverted): on 2 cores its ATP processes starved the search, whose automation proofs of Zle_bool_plus_mono and
#: Zdiv_le_compat_l came at 16.9 and 44.9 s instead of 1.7 and 2.3 s.
HAMMER_DEFER_SECONDS = 8.0
#: Seconds of automation the search may spend beyond the model's time before a newly reached state also asks the
#: model. Deferring the model wherever automation reaches new states starved it: on coq-stdlib-mini at 60 s
#: (2026-12-06) MCTS made no model call on 3 of 6 lemmas, whose minutes went to 5,716-17,766 automation steps. After
#: this lead the two share the clock about evenly; automation's quick proofs (1.7-2.3 s here) come well within it.
AUTOMATION_LEAD_SECONDS = 10.0
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
        checker = episode.checker
        return TacticSpace(episode, automation=checker.automation, retrieval=checker.retrieval, hammer=checker.hammer)
    return TextSpace(episode)


def _mean_prob(logprob: float, n_tokens: int) -> float:
    return math.exp(logprob / n_tokens) if n_tokens else 0.5


class TacticSpace:
    """Proofs one tactic at a time, every tactic run by the checker (see the module docstring).

    At a state reached for the first time, the automation portfolio
    (`search.portfolio`) and the lemmas retrieval finds for the goal
    (`search.retrieval`) are tried before the model is asked; the model's
    prompt then shows those lemmas and the tactics that already failed at
    this state, with Coq's errors. Where automation reaches new states, the
    model is asked only when the search expands the state again (a
    restarted tree, after automation's own tree is spent), for as long as
    automation's time is within `AUTOMATION_LEAD_SECONDS` of the model's;
    past that lead a new state asks the model beside automation's children,
    so automation that keeps finding new states cannot starve the model of
    a wall-clock budget. Automation steps cost milliseconds, a model request
    seconds. Per state, a tactic is checked at most
    once: a repeat gets the first result back without a checker call. A
    tactic naming a lemma that does not exist is rejected without a step. A
    state at least as hard as one on its own path is pruned (Proverbot9001's
    rule).
    """

    def __init__(self, episode: Episode, *, automation: bool = True, retrieval: bool = True,
                 hammer: bool | None = None) -> None:
        self.ep = episode
        self.automation = automation
        self.retrieval = retrieval
        #: CoqHammer's ATP call; None: wherever the environment loads Hammer and it cannot see the lemma
        self.hammer = hammer
        self._root: Point | None = None
        #: state hash -> {normalised tactic: the child it reached, or the error it gave}
        self._tried: dict[str, dict[str, Child | str]] = {}
        #: state hash -> lemmas retrieval found for it
        self._lemmas: dict[str, list] = {}
        #: state hash -> the hash of the state it was first reached from (the path, for pruning)
        self._parent: dict[str, str | None] = {}
        self._goals: dict[str, list[Goal]] = {}
        self._similar_sentences: list[str] | None = None
        #: CoqHammer's call at the root, (tactic, timeout), until it runs
        self._hammer_waiting: tuple[str, float | None] | None = None
        #: wall seconds spent on automation's tactics and on the model's (its requests and their checks)
        self.automation_s = 0.0
        self.model_s = 0.0

    def root(self) -> Point:
        if self._root is None:
            state = self.ep.checker.open(self.ep.task)
            self._root = Point(steps=(), hash=state.hash, node=0, view=state.goals, state=state)
            self._parent[state.hash] = None
            self._goals[state.hash] = goal_list(state.goals)
        return self._root

    # ------------------------------------------------------------------ expansion

    def expand(self, point: Point, k: int, temperature: float = 0.8) -> list[Child]:
        first = point.hash not in self._tried
        self._hammer_at_root(now=not first and not point.steps)
        if self.ep.solved:
            return []
        tried = self._tried.setdefault(point.hash, {})
        # one child per distinct tactic; two tactics reaching one state are both returned, so the strategy's
        # transposition table makes them one node
        children: list[Child] = []
        if first:
            # the portfolio gets a few seconds per state (the hammer waits, see HAMMER_DEFER_SECONDS): the rest is
            # the model's
            allowed = ROOT_SECONDS if not point.steps else STATE_SECONDS
            started = time.monotonic()
            try:
                children = self._automation_children(point, tried, started, allowed)
            finally:
                self.automation_s += time.monotonic() - started
            if any(child.point.done for child in children):
                return children
            if children and self.automation_s <= self.model_s + AUTOMATION_LEAD_SECONDS:
                # automation first: the model is asked here when the search comes back to this state (a
                # restarted tree, once automation's own tree is spent) or at once where automation found nothing
                self.ep.count("model_deferred")
                return children
            if children:
                self.ep.count("model_beside_automation")
        else:
            # a state expanded again (a restarted tree, another strategy's revisit): what it reached is free
            children += [result for result in tried.values() if isinstance(result, Child)]
        # without a clock the hammer's time costs no budget: before the model's first request, which might end it
        self._hammer_at_root(now=self.ep.meter.budget.wall_s is None)
        if self.ep.solved:
            return [c for c in children if c.point.done]
        known = {id(c) for c in children}
        started = time.monotonic()
        try:
            for tactic, lp, count in self._proposals(point, k, temperature, tried):
                child = self._apply(point, tactic, tried, logprob=lp, count=count)
                if child is not None and id(child) not in known:
                    known.add(id(child))
                    children.append(child)
        finally:
            self.model_s += time.monotonic() - started
        return children

    def _automation_children(self, point: Point, tried: dict[str, Child | str], started: float,
                             allowed: float) -> list[Child]:
        """Automation's children of a state reached for the first time (stopping at the first that closes it)."""
        children: list[Child] = []
        for tactic, timeout_s in self._automation(point):
            if tactic.startswith("hammer"):
                # the portfolio's ATP call (the root's only): it waits for the root's children
                self._hammer_waiting = (tactic, timeout_s)
                continue
            if time.monotonic() - started > allowed:
                self.ep.count("automation_cut")
                continue
            child = self._apply(point, tactic, tried, logprob=0.0, count=1, timeout_s=timeout_s, origin="automation")
            if child is not None:
                children.append(child)
                if child.point.done:
                    break
        return children

    def _automation(self, point: Point) -> list[tuple[str, float | None]]:
        """The portfolio's and retrieval's tactics for a new state, with their timeouts."""
        if not self.automation:
            return []
        ep, task = self.ep, self.ep.task
        libraries = ep.checker.libraries(point.state) if point.state is not None else None
        hammer = self.hammer if self.hammer is not None else hammer_allowed(task)
        if not point.steps and self.hammer is None and not hammer and task.language == "coq" and hammer_libraries():
            ep.count("hammer_left_out")  # its imports load the task's own library (see hammer_allowed)
        members = portfolio(task.language, point.view, libraries, root=not point.steps, hammer=hammer)
        tactics = [(m.tactic, m.timeout_s) for m in members if not m.tactic.startswith("hammer")]
        if not point.steps:
            # earlier proofs of the file with the names' difference applied (`leb` -> `ltb`), whole, first: a
            # family's next member is most often proved the way the last one was
            tactics = [(proof, SIMILAR_STEP_SECONDS) for proof in name_analogies(task)] + tactics
            # proofs of similar lemmas earlier in the file, whole: the stdlib's families differ in a name or two
            similar = similar_proofs(task)
            tactics += [(example.solution, SIMILAR_STEP_SECONDS) for example in similar]
            tactics += [(step, SIMILAR_STEP_SECONDS) for step in first_steps(similar)]
            # and the openings the file uses most (`intros; qc.`), whose states get retrieval of their own
            tactics += [(step, SIMILAR_STEP_SECONDS) for step in frequent_openings(task)]
        else:
            # and their sentences one by one (Tactician's reuse of what worked a few lemmas earlier)
            tactics += [(step, 1.0) for step in self._later_sentences()]
        lemmas = self._lookup(point)
        tactics += [(t, 2.0) for t in lemma_tactics(lemmas[:3], coq_closers(libraries))]
        # the ATP call last: it takes most of what is left
        tactics += [(m.tactic, m.timeout_s) for m in members if m.tactic.startswith("hammer")]
        seen = set()
        return [(t, s) for t, s in tactics if not (tactic_key(t) in seen or seen.add(tactic_key(t)))]

    def _hammer_timeout(self, timeout_s: float | None) -> float | None:
        """The hammer's timeout: the ATPs may take its whole timeout, the rest of a wall budget stays the model's."""
        left = self.ep.meter.seconds_left()
        if timeout_s is None or left is None:
            return timeout_s
        return min(timeout_s, HAMMER_SHARE * left)

    def _hammer_at_root(self, *, now: bool) -> None:
        """Run CoqHammer's waiting root call once its time has come (`now`: at once, if it waits).

        A proof it finds is checked at once (as any closing step), so the search ends at its next look.
        """
        if self._hammer_waiting is None or self._root is None:
            return
        if not now and self.ep.meter.spend.wall_s < HAMMER_DEFER_SECONDS:
            return
        tactic, timeout_s = self._hammer_waiting
        self._hammer_waiting = None
        timeout_s = self._hammer_timeout(timeout_s)
        if timeout_s is not None and timeout_s < HAMMER_MIN_SECONDS:
            return
        self.ep.count("hammer_deferred")
        root = self._root
        started = time.monotonic()
        try:
            self._apply(root, tactic, self._tried.setdefault(root.hash, {}), logprob=0.0, count=1,
                        timeout_s=timeout_s, origin="automation")
        finally:
            self.automation_s += time.monotonic() - started

    def _later_sentences(self) -> list[str]:
        """The sentences of the task's similar earlier proofs, ranked once per search (every later state tries them)."""
        if self._similar_sentences is None:
            self._similar_sentences = proof_sentences(similar_proofs(self.ep.task))
        return self._similar_sentences

    def _lookup(self, point: Point) -> list:
        """Lemmas that fit the state's first goal (Coq), found once per state."""
        if not self.retrieval or self.ep.task.language != "coq" or point.state is None:
            return []
        if point.hash not in self._lemmas:
            # the libraries the proof may not use (the hammer option loads them) stay out of the answers
            commands = search_commands(point.view, forbidden_libraries(self.ep.task) or ())
            outputs = self.ep.checker.query(point.state, commands) if commands else []
            self._lemmas[point.hash] = rank([parse_search(o) for o in outputs], point.view)
            self.ep.count("lemma_searches")
        return self._lemmas[point.hash]

    def _proposals(self, point: Point, k: int, temperature: float,
                   tried: dict[str, Child | str]) -> list[tuple[str, float, int]]:
        """The model's distinct tactics for `point` (each with its best log-probability and count)."""
        ep, task, policy = self.ep, self.ep.task, self.ep.policy
        failed = [(t, r) for t, r in tried.items() if isinstance(r, str)][-_SHOWN_FAILURES:]
        prompt = render(build_messages(task, step=True, goals=point.view, steps=point.steps, examples=ep.examples,
                                       lemmas=[f"{lem.name} : {lem.type}" for lem in self._lookup(point)],
                                       failed=failed),
                        policy.chat_template, system_prompt=policy.system_prompt)
        try:
            proposals = ep.sample(prompt, k, max_tokens=TACTIC_TOKENS,
                                  stop=stop_for(policy.chat_template, step=True, language=task.language),
                                  temperature=temperature)
        except PromptTooLong:
            # a state too big to show the model is a dead end for this search, not a reason to stop it
            ep.count("prompt_too_long")
            return []
        best: dict[str, tuple[str, float, int]] = {}
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
            key = tactic_key(tactic)
            if key in best:
                ep.count("duplicate_steps")
                _, old_lp, count = best[key]
                best[key] = (tactic, max(old_lp, lp), count + 1)
            else:
                best[key] = (tactic, lp, 1)
        return list(best.values())

    def _apply(self, point: Point, tactic: str, tried: dict[str, Child | str], *, logprob: float, count: int,
               timeout_s: float | None = None, origin: str = "model") -> Child | None:
        """Run `tactic` at `point` once (a repeat returns the first outcome); the child it reached, if any."""
        ep = self.ep
        left = ep.meter.seconds_left()
        if origin == "automation" and left is not None and left <= 0:
            # the model's proposals are paid for and get checked; automation stops at the wall-clock limit
            raise BudgetExhausted
        key = tactic_key(tactic)
        if key in tried:
            ep.count("repeats_skipped")
            previous = tried[key]
            return previous if isinstance(previous, Child) and previous.point.hash != point.hash else None
        if origin == "model" and self.retrieval and ep.task.language == "coq" and point.state is not None:
            names = lemma_names(tactic, point.view)
            if names:
                located = ep.checker.query(point.state, [f"Locate {n}." for n in names])
                unknown = [n for n, answer in zip(names, located, strict=True) if unknown_name(answer)]
                if unknown:
                    error = f"no lemma named {unknown[0]} exists here"
                    tried[key] = error
                    ep.count("unknown_names")
                    ep.node(point.node, tactic, "error", error=error, logprob=logprob)
                    return None
        ep.meter.charge_checker()
        if origin == "automation":
            ep.count("automation_steps")
        result = ep.checker.step(point.state, tactic, timeout_s=timeout_s)
        if result.status != "ok" or result.state is None:
            status: NodeStatus = "unknown" if result.status == "unknown" else "error"
            tried[key] = (result.error or result.reason or "failed")[:300]
            # automation failing is the common case: the trace keeps the model's failures, not each miss
            if origin == "model":
                ep.node(point.node, tactic, status, error=result.error, logprob=logprob)
            return None
        state = result.state
        if tactic.strip().startswith("hammer") and state.solved:
            ep.count("hammer_solved")
            # the final proof must not need the ATPs: CoqHammer's reconstruction instead, checked as any step
            for replacement in hammer_reconstructions(result.messages):
                child = self._apply(point, replacement, tried, logprob=logprob, count=count, origin="automation")
                if child is not None and child.point.done:
                    tried[key] = child
                    return child
            tried[key] = "hammer found a proof but no reconstruction of it checks"
            return None
        goals = goal_list(state.goals)
        if not state.solved and self._prunable(point.hash, goals):
            tried[key] = "the goals are at least as hard as at an earlier state of this proof"
            ep.count("pruned")
            if origin == "model":
                ep.node(point.node, tactic, "error", error=tried[key], state_hash=state.hash, logprob=logprob)
            return None
        steps = (*point.steps, tactic)
        n_tokens = point.n_tokens + max(1, len(tactic) // 4)
        draft = Point(steps=steps, hash=state.hash, node=-1, view=state.goals, done=state.solved,
                      logprob=point.logprob + logprob, n_tokens=n_tokens, state=state)
        score = ep.score(steps, state.goals)
        score = score if score is not None else self.value(draft)
        node = ep.node(point.node, tactic, "solved" if state.solved else "ok", goals=state.goals,
                       state_hash=state.hash, logprob=logprob, score=score)
        if state.solved:
            # closing the goals is not yet a proof (Qed, the assumptions, the hammer's library rule): a closing
            # tactic whose proof is refuted is a failed tactic here, so the rest of the state's tactics get
            # their turn and no restart pays for it again
            verdict = ep.check(node, self.candidate(draft), score=score, reuse=True)
            if verdict.status != "verified":
                message = verdict.diagnostics[0].message if verdict.diagnostics else verdict.reason
                tried[key] = f"the goals are closed but the proof is {verdict.status}: {message}"[:300]
                return None
        self._parent.setdefault(state.hash, point.hash)
        self._goals.setdefault(state.hash, goals)
        child = Child(point=replace(draft, node=node), step=tactic, logprob=logprob, score=score, count=count)
        tried[key] = child
        return child

    def _prunable(self, parent: str, goals: list[Goal]) -> bool:
        """Whether `goals` are at least as hard as the goals of `parent` or any state on its path."""
        at: str | None = parent
        seen = 0
        while at is not None and seen < 256:
            if at_least_as_hard(goals, self._goals.get(at, [])):
                return True
            at = self._parent.get(at)
            seen += 1
        return False

    def candidate(self, point: Point) -> Candidate:
        return Candidate(task_id=self.ep.task.id, text="\n".join(point.steps) + "\n", steps=list(point.steps))

    def value(self, point: Point) -> float:
        if point.done:
            return 1.0
        goals = max(1, goal_count(point.view))
        # fewer goals, then smaller ones: a crude progress signal straight from the checker
        return 0.9 / goals / (1.0 + len(point.view) / 2000)


#: Failed tactics (with the checker's error) shown in a step prompt at most.
_SHOWN_FAILURES = 6


def at_least_as_hard(goals: list[Goal], other: list[Goal]) -> bool:
    """Proverbot9001's test: every goal of `other` has a goal here with its conclusion and no more hypotheses."""
    if not other:
        return False
    return all(any(c == oc and set(h) <= set(oh) for h, c in goals) for oh, oc in other)


class TextSpace:
    """Answers written a chunk at a time (up to a blank line), checked when finished."""

    def __init__(self, episode: Episode) -> None:
        self.ep = episode
        self.head = answer_head(episode.task)

    def root(self) -> Point:
        return Point(steps=(), hash=_text_hash(self.head), node=0, view=self.head)

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
    verdict = episode.check(point.node, candidate, score=score, reuse=True)
    return verdict.status == "verified"
