"""The search strategies on real checkers: budget accounting, best-of-N, refine, cegis, beam, MCTS, particles, traces.

Checks run for real: Coq proofs and tactics in warm coqtop sessions in the
bwrap sandbox (the found proof confirmed by `coqc`), Python programs in the
sandboxed Python checker. Only the language model is replaced, by
`ScriptedPolicy`, so that what each strategy asks for, checks and keeps is
deterministic and can be asserted exactly.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter

import pytest
from coq_tasks import ADD_0_R, CLASSICAL
from search_doubles import FAIL, ScriptedPolicy, ScriptedPRM, steps_in, tactics

from proofsmith.models.base import PromptTooLong
from proofsmith.search import Beam, BestOfN, Budget, Refine, get_strategy, search
from proofsmith.search.budget import BudgetExhausted, Meter
from proofsmith.search.checker import SearchChecker
from proofsmith.search.mcts import MCTS
from proofsmith.search.particles import Particles, resample
from proofsmith.search.trace import TraceError, TraceWriter, read_trace

REFERENCE_STEPS = ["intros n.", "induction n.", "reflexivity.", "simpl.", "rewrite IHn.", "reflexivity."]


def coq_answer(body: str) -> str:
    """A whole-proof answer as a chat model writes it."""
    return f"Here is the proof.\n```coq\nTheorem add_0_r : forall n : nat, n + 0 = n.\nProof.\n{body}\nQed.\n```"


def python_answer(body: str) -> str:
    return f"```python\ndef add(a, b):\n    {body}\n```"


@pytest.fixture(scope="module")
def toolchains(bwrap_or_skip) -> None:
    """Skip the test where the real checkers cannot run (no Coq, or bubblewrap cannot sandbox)."""
    if shutil.which("coqtop") is None:
        pytest.skip("Coq is not installed (apt-get install coq)")


@pytest.fixture(scope="module")
def checker(toolchains):
    """One SearchChecker (warm Coq sessions) shared by the module."""
    with SearchChecker(max_sessions=2, automation=False, retrieval=False) as c:
        yield c


def node_events(events):
    return [e for e in events if e.event == "node"]


def check_events(events):
    return [e for e in events if e.event == "check"]


# --------------------------------------------------------------------------- budget


def test_budget_needs_a_bounding_limit_and_is_frozen():
    with pytest.raises(ValueError, match="needs a limit on model_calls, tokens or wall_s"):
        Budget(model_calls=None)
    with pytest.raises(ValueError, match="needs a limit"):
        Budget(model_calls=None, checker_calls=5)  # checker calls alone do not bound a search
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Budget(model_calls=0)
    with pytest.raises(ValueError, match="greater than 0"):
        Budget(wall_s=0)
    with pytest.raises(ValueError, match="Extra inputs"):
        Budget(calls=3)
    assert Budget(model_calls=None, tokens=100).tokens == 100
    assert Budget().model_calls == 16
    budget = Budget(model_calls=4)
    with pytest.raises(ValueError):
        budget.model_calls = 5  # type: ignore[misc]


def test_meter_trims_model_calls_to_what_is_left_and_never_overspends():
    meter = Meter(Budget(model_calls=6))
    assert meter.allow(4) == 4
    meter.charge_model(4, prompt_tokens=100, tokens=40)
    assert meter.allow(4) == 2  # a request for 4 with 2 left yields 2
    meter.charge_model(2, prompt_tokens=50, tokens=10)
    assert meter.exhausted()
    with pytest.raises(BudgetExhausted):
        meter.allow(1)
    spend = meter.spend
    assert (spend.model_calls, spend.prompt_tokens, spend.tokens, spend.checker_calls) == (6, 150, 50, 0)
    spend.model_calls = 0  # a snapshot, not the meter's own counters
    assert meter.spend.model_calls == 6


def test_meter_tokens_may_be_crossed_by_one_request_then_stop():
    meter = Meter(Budget(model_calls=None, tokens=25))
    assert meter.allow(8) == 8  # no model-call limit: nothing trimmed
    meter.charge_model(1, 0, 20)
    assert not meter.exhausted() and meter.allow(1) == 1
    meter.charge_model(1, 0, 20)  # 40 > 25: the request that crossed is allowed, the next is not
    assert meter.exhausted()
    with pytest.raises(BudgetExhausted):
        meter.allow(1)
    assert meter.spend.tokens == 40


def test_meter_checker_calls_stop_at_the_limit():
    meter = Meter(Budget(model_calls=10, checker_calls=2))
    meter.charge_checker()
    meter.charge_checker()
    assert meter.exhausted()
    with pytest.raises(BudgetExhausted):
        meter.charge_checker()
    assert meter.spend.checker_calls == 2
    with pytest.raises(BudgetExhausted):
        meter.allow(1)  # any exhausted limit stops sampling too


def test_best_of_n_trims_the_last_request_to_the_model_calls_left(checker):
    policy = ScriptedPolicy(lambda prompt: [coq_answer("intros n. exact wrong.")])
    result = BestOfN(batch=4).run(ADD_0_R, policy, checker, None, Budget(model_calls=6))
    assert [n for _, n in policy.requests] == [4, 2]
    assert result.spend.model_calls == 6 and result.checked == 6 and result.spend.checker_calls == 6
    assert not result.solved and result.solved_at is None


def test_token_budget_stops_after_the_request_that_crossed_it(checker):
    policy = ScriptedPolicy(lambda prompt: [coq_answer("intros n. exact wrong.")], tokens=10)
    result = BestOfN(batch=1).run(ADD_0_R, policy, checker, None, Budget(model_calls=None, tokens=25))
    assert len(policy.requests) == 3
    assert (result.spend.model_calls, result.spend.tokens) == (3, 30)
    assert result.spend.prompt_tokens == 3 * (len(policy.prompts[0]) // 4)


def test_checker_call_budget_stops_checking(checker):
    policy = ScriptedPolicy(lambda prompt: [coq_answer("intros n. exact wrong.")])
    result = BestOfN(batch=4).run(ADD_0_R, policy, checker, None, Budget(model_calls=10, checker_calls=2))
    assert result.spend.checker_calls == 2 and result.checked == 2
    assert result.spend.model_calls == 4  # the third check of the first batch hit the limit


# --------------------------------------------------------------------------- best of n


def test_best_of_n_stops_at_the_first_verified_candidate(checker):
    policy = ScriptedPolicy([
        coq_answer("intros n. reflexivity."),
        coq_answer("induction n; simpl; auto."),
        coq_answer("intros n. rewrite Nat.add_0_r. reflexivity."),  # also a proof: never checked
        coq_answer("intros n. exact wrong."),
    ])
    trace = TraceWriter(None)
    result = BestOfN(batch=4).run(ADD_0_R, policy, checker, None, Budget(model_calls=12), trace=trace)
    assert result.solved and result.verdict is not None and result.verdict.status == "verified"
    assert result.candidate is not None and result.candidate.text == "induction n; simpl; auto.\n"
    assert (result.checked, result.verified) == (2, 1)
    assert result.spend.model_calls == 4  # the whole first batch was drawn, and nothing more
    assert result.spend.checker_calls == 2
    assert len(policy.requests) == 1
    assert result.solved_at is not None and result.solved_at.checker_calls == 2
    assert [e.verdict for e in check_events(trace.events)] == ["refuted", "verified"]
    assert len(node_events(trace.events)) == 2


def test_best_of_n_collect_counts_every_verified_answer(checker):
    answers = [
        coq_answer("induction n; simpl; auto."),
        coq_answer("intros n. reflexivity."),
        "I think the proof is: intros n. induction n. (no Qed)",  # holds no candidate: rejected, not checked
        coq_answer("intros n. rewrite Nat.add_0_r. reflexivity."),
        coq_answer("intros n. exact wrong."),
        coq_answer(ADD_0_R.reference),
        coq_answer("exact I."),
        coq_answer("intros n. simpl. reflexivity."),
    ]
    policy = ScriptedPolicy(answers)
    result = BestOfN(batch=4, collect=True).run(ADD_0_R, policy, checker, None, Budget(model_calls=8))
    assert (result.checked, result.verified) == (8, 3)  # pass@8 = 3/8
    assert result.spend.checker_calls == 7  # the rejected output cost no checker call
    assert result.spend.model_calls == 8 and [n for _, n in policy.requests] == [4, 4]
    # the first answer verified: best-of-N is credited with the one sample it needed, not the batch of 4
    assert result.solved and result.solved_at is not None and result.solved_at.model_calls == 1
    assert result.candidate is not None and result.candidate.text == "induction n; simpl; auto.\n"


def test_budget_exhaustion_returns_the_best_so_far(checker, py_task):
    task = py_task()
    policy = ScriptedPolicy([
        python_answer("return 3"),  # passes 1 of the 4 tests
        python_answer("return a + b if a < 100 else 0"),  # passes 3 of 4
        python_answer("return a * b"),  # passes none
    ])
    result = BestOfN(batch=1).run(task, policy, checker, None, Budget(model_calls=3))
    assert not result.solved and result.solved_at is None
    assert (result.checked, result.verified, result.spend.model_calls) == (3, 0, 3)
    assert result.candidate is not None and "a < 100" in result.candidate.text
    assert result.verdict is not None and result.verdict.status == "refuted"
    assert result.verdict.partial is not None and (result.verdict.partial.passed, result.verdict.partial.total) == (3, 4)


# --------------------------------------------------------------------------- refine


def test_refine_shows_the_coq_error_in_the_repair_prompt(checker):
    def script(prompt: str) -> list[str]:
        if "The checker rejected that answer" in prompt:
            return [coq_answer(ADD_0_R.reference)]
        return [coq_answer("intros n. reflexivity.")]

    policy = ScriptedPolicy(script)
    trace = TraceWriter(None)
    result = Refine(depth=3).run(ADD_0_R, policy, checker, None, Budget(model_calls=5), trace=trace)
    assert result.solved and result.spend.model_calls == 2
    first, second = policy.prompts
    assert "rejected" not in first
    assert 'Unable to unify "n" with "n + 0"' in second  # Coq's own message
    assert "intros n. reflexivity." in second.split("<|im_start|>assistant")[1]  # the attempt it repairs
    assert result.stats == {"repairs": 1}
    nodes = node_events(trace.events)
    assert [(e.node, e.parent) for e in nodes] == [(1, 0), (2, 1)]  # the repair is the attempt's child


def test_refine_shows_the_failing_test_in_the_repair_prompt(checker, py_task):
    task = py_task()

    def script(prompt: str) -> list[str]:
        return [python_answer("return a + b" if "rejected" in prompt else "return a - b")]

    policy = ScriptedPolicy(script)
    result = Refine(depth=2).run(task, policy, checker, None, Budget(model_calls=4))
    assert result.solved and len(policy.prompts) == 2
    assert "assertion failed: candidate(1, 2) == 3" in policy.prompts[1]
    assert "return a - b" in policy.prompts[1]
    assert result.candidate is not None and "return a + b" in result.candidate.text


def test_refine_starts_over_after_depth_repairs(checker):
    policy = ScriptedPolicy([coq_answer(f"intros n. exact wrong_{i}.") for i in range(7)])
    trace = TraceWriter(None)
    result = Refine(depth=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=7), trace=trace)
    assert not result.solved and result.spend.model_calls == 7
    # each repair prompt shows the error of the attempt just before it, and only that one
    shown = [[i for i in range(7) if f"wrong_{i} was not found" in p] for p in policy.prompts]
    assert shown == [[], [0], [1], [], [3], [4], []]
    assert result.stats == {"repairs": 4, "restarts": 2}
    parents = [e.parent for e in node_events(trace.events)]
    assert parents == [0, 1, 2, 0, 4, 5, 0]


def test_refine_starts_over_when_a_repair_repeats_an_attempt_of_its_chain(checker):
    answers = ["exact wrong_0.", "exact  wrong_0.", "exact wrong_2.", "exact wrong_3.", "exact wrong_2."]
    policy = ScriptedPolicy([coq_answer(f"intros n. {a}") for a in answers])
    trace = TraceWriter(None)
    result = Refine(depth=3).run(ADD_0_R, policy, checker, None, Budget(model_calls=5), trace=trace)
    # the first repair resubmits attempt 0 (up to whitespace): the chain is stuck, the third call starts over;
    # the second chain's second repair goes back to its first attempt, which ends that chain too
    shown = [[i for i in range(4) if f"wrong_{i} was not found" in p] for p in policy.prompts]
    assert shown == [[], [0], [], [2], [3]]
    assert result.stats == {"repairs": 3, "repeated_repairs": 2, "restarts": 2}
    assert [e.parent for e in node_events(trace.events)] == [0, 1, 0, 3, 4]


# --------------------------------------------------------------------------- beam


def test_beam_finds_the_proof_one_tactic_at_a_time(checker):
    prefix = ("intros n.", "induction n.")
    policy = ScriptedPolicy(tactics({
        (): ["intros n.", FAIL],
        ("intros n.",): ["induction n.", "reflexivity."],
        prefix: ["simpl.", "reflexivity."],
        (*prefix, "reflexivity."): ["rewrite IHn.", "simpl."],
        (*prefix, "reflexivity.", "simpl."): ["rewrite IHn."],
        (*prefix, "reflexivity.", "simpl.", "rewrite IHn."): ["reflexivity."],
    }))
    trace = TraceWriter(None)
    result = Beam(width=2, expand=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=40), trace=trace)
    assert result.solved and result.candidate is not None
    assert result.candidate.steps == REFERENCE_STEPS
    assert result.verdict is not None and result.verdict.manifest.options.get("mode") == "session"
    assert "restarts" not in result.stats
    # at depth 3 both beams were expanded, the one with fewer goals left (after reflexivity) first
    depth3 = [steps_in(p) for p in policy.prompts if len(steps_in(p)) == 3]
    assert depth3 == [(*prefix, "reflexivity."), (*prefix, "simpl.")]
    statuses = Counter(e.status for e in node_events(trace.events))
    assert statuses["solved"] == 1 and statuses["error"] >= 4


def test_a_state_too_big_for_the_context_is_dropped_and_the_search_goes_on(checker):
    table = {
        (): ["intros n.", "destruct n."],
        ("intros n.",): ["induction n."],
        ("intros n.", "induction n."): ["reflexivity."],
        ("intros n.", "induction n.", "reflexivity."): ["simpl."],
        ("intros n.", "induction n.", "reflexivity.", "simpl."): ["rewrite IHn."],
        ("intros n.", "induction n.", "reflexivity.", "simpl.", "rewrite IHn."): ["reflexivity."],
    }

    def script(prompt: str):
        if steps_in(prompt) == ("destruct n.",):
            raise PromptTooLong("request (9617 tokens) exceeds the available context size (4096 tokens)")
        return table.get(steps_in(prompt), [FAIL])

    result = Beam(width=2, expand=2).run(ADD_0_R, ScriptedPolicy(script), checker, None, Budget(model_calls=40))
    assert result.solved and result.candidate is not None and result.candidate.steps == REFERENCE_STEPS
    assert result.stats["prompt_too_long"] == 1


def test_beam_keeps_the_width_best_distinct_states(checker):
    prm = ScriptedPRM({"intros n.": 0.9, "intro n.": 0.85, "destruct n.": 0.8, "intros m.": 0.5,
                       "induction n.": 0.1})
    policy = ScriptedPolicy(tactics({(): ["intros n.", "intro n.", "destruct n.", "intros m.", "induction n."]}))
    result = Beam(width=3, expand=5).run(ADD_0_R, policy, checker, prm, Budget(model_calls=20))
    # `intro n.` reaches the same goals as `intros n.`: kept once, so the third place goes to `intros m.`
    assert [steps_in(p) for p in policy.prompts] == [(), ("intros n.",), ("destruct n.",), ("intros m.",)]
    assert result.spend.model_calls == 20 and not result.solved


def test_beam_restarts_when_every_step_fails(checker):
    policy = ScriptedPolicy(tactics({}, default=[FAIL, "apply bogus.", FAIL]))
    trace = TraceWriter(None)
    result = Beam(width=2, expand=3).run(ADD_0_R, policy, checker, None, Budget(model_calls=6), trace=trace)
    assert not result.solved and result.candidate is None
    # the second expansion of the root proposes the same two tactics: neither is checked again
    assert result.stats == {"restarts": 2, "duplicate_steps": 2, "repeats_skipped": 2}
    assert [steps_in(p) for p in policy.prompts] == [(), ()]
    assert result.spend.checker_calls == 2
    nodes = node_events(trace.events)
    assert [e.status for e in nodes] == ["error"] * 2 and {e.parent for e in nodes} == {0}
    assert "bogus" in (nodes[1].error or "")
    # and the second prompt shows the model what already failed there, with Coq's error
    assert "already failed here" in policy.prompts[1] and "apply bogus." in policy.prompts[1]


def test_beam_writes_python_a_chunk_at_a_time(checker, py_task):
    task = py_task(statement='from typing import List\n\n\ndef add(a, b):\n    """Return a + b."""\n')

    def script(prompt: str) -> list[str]:
        so_far = prompt.rsplit("<|im_start|>assistant\n```python\n", 1)[1]
        if "total" not in so_far:
            return ["    total = a + b"]
        if "return" not in so_far:
            return ["    return total\n```\nThat is all."]
        return ["```\nThat is all."]  # where a stop string cut the closing fence off the chunk before

    policy = ScriptedPolicy(script)
    trace = TraceWriter(None)
    result = Beam(width=1, expand=1).run(task, policy, checker, None, Budget(model_calls=4), trace=trace)
    assert result.solved and result.spend.model_calls in (2, 3) and result.checked == 1
    # the answer starts from the statement (imports, signature, docstring), so the first step writes the body
    assert policy.prompts[0].endswith('```python\nfrom typing import List\n\n\ndef add(a, b):\n    """Return a + b."""\n')
    # each chunk's prompt is the answer so far, prefilled, ending at the blank line that ended the chunk
    assert policy.prompts[1].endswith('"""Return a + b."""\n    total = a + b\n\n')
    assert [e.status for e in node_events(trace.events)][:1] == ["open"]
    assert node_events(trace.events)[-1].status == "solved"
    assert result.candidate is not None and "return total" in result.candidate.text
    assert "That is all" not in result.candidate.text


def test_best_of_n_head_samples_bodies_after_the_statement(checker, py_task):
    """`best_of_n_head`: each sample continues the statement, and the candidate checked is statement + body."""
    from proofsmith.search import get_strategy

    task = py_task()
    policy = ScriptedPolicy(["    return a - b", "    return a + b"])
    strategy = get_strategy("best_of_n_head")
    result = strategy.run(task, policy, checker, None, Budget(model_calls=4))
    assert strategy.name == "best_of_n_head" and result.solved and result.checked == 2
    assert policy.prompts[0].endswith('```python\ndef add(a, b):\n    """Return a + b."""\n')
    assert result.candidate is not None and result.candidate.text.startswith("def add(a, b):")
    assert "return a + b" in result.candidate.text


def test_only_a_signature_and_docstring_statement_heads_a_program_answer(py_task):
    """`answer_head`: what the chunk searches start from; anything else than `def entry_point` + docstring last
    (a Coq lemma, a statement with a body, another function last, no docstring) starts from nothing."""
    from proofsmith.search.candidates import answer_head

    assert answer_head(py_task()) == 'def add(a, b):\n    """Return a + b."""\n'
    assert answer_head(py_task(statement='def add(a, b):\n    """Return a + b."""\n    return 0\n')) == ""
    assert answer_head(py_task(statement='def add(a, b):\n    """Sum."""\n\ndef helper(x):\n    """X."""\n')) == ""
    assert answer_head(py_task(statement="def add(a, b):\n    pass\n")) == ""
    assert answer_head(py_task(statement="Write add(a, b) returning a + b.")) == ""
    assert answer_head(ADD_0_R) == ""


# --------------------------------------------------------------------------- mcts


def test_mcts_counts_transpositions_drops_cycles_and_solves(checker):
    prefix = ("intros.", "induction n.")
    policy = ScriptedPolicy(tactics({
        (): [("intros.", -0.1), ("intros n.", -0.5)],  # the same goals: one node
        ("intros.",): [("revert n.", -0.1), ("induction n.", -0.2)],  # revert n. goes back to the root
        prefix: ["reflexivity.", FAIL],
        (*prefix, "reflexivity."): ["simpl.", "rewrite IHn."],
        (*prefix, "reflexivity.", "simpl."): ["rewrite IHn."],
        (*prefix, "reflexivity.", "simpl.", "rewrite IHn."): ["reflexivity."],
    }))
    trace = TraceWriter(None)
    result = MCTS(expand=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=30), trace=trace)
    assert result.solved and result.candidate is not None
    assert result.candidate.steps == ["intros.", "induction n.", "reflexivity.", "simpl.", "rewrite IHn.",
                                      "reflexivity."]
    assert result.stats["transpositions"] == 1  # intros n. (= intros.)
    # revert n. goes back to the root: the space prunes it (a state on its own path) before MCTS sees a cycle
    assert result.stats["pruned"] == 1 and "cycles" not in result.stats
    assert "restarts" not in result.stats
    # the cycle was not followed: nothing was ever proposed after `revert n.`, and no `intros n.` branch
    expanded = [steps_in(p) for p in policy.prompts]
    assert expanded == [(), ("intros.",), prefix, (*prefix, "reflexivity."), (*prefix, "reflexivity.", "simpl."),
                        (*prefix, "reflexivity.", "simpl.", "rewrite IHn.")]
    root_hash = checker.open(ADD_0_R).hash
    revert = [e for e in node_events(trace.events) if e.step == "revert n."]
    assert len(revert) == 1 and revert[0].status == "error" and revert[0].state_hash == root_hash
    assert "at least as hard" in (revert[0].error or "")
    same = {e.step: e.state_hash for e in node_events(trace.events) if e.parent == 0}
    assert same["intros."] == same["intros n."]


def test_mcts_never_selects_a_dead_end_again(checker):
    policy = ScriptedPolicy(tactics({
        # the policy prefers induction n. at the root, but every step after it fails
        (): [("induction n.", -0.01), ("intros n.", -3.0)],
        ("induction n.",): [FAIL, "apply bogus."],
        ("intros n.",): ["rewrite Nat.add_0_r.", FAIL],
        ("intros n.", "rewrite Nat.add_0_r."): ["reflexivity."],
    }))
    result = MCTS(expand=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=30))
    assert result.solved and result.candidate is not None
    assert result.candidate.steps == ["intros n.", "rewrite Nat.add_0_r.", "reflexivity."]
    assert [steps_in(p) for p in policy.prompts] == [(), ("induction n.",), ("intros n.",),
                                                     ("intros n.", "rewrite Nat.add_0_r.")]


def test_mcts_restarts_when_the_whole_tree_is_dead(checker):
    policy = ScriptedPolicy(tactics({(): ["intros n."], ("intros n.",): [FAIL]}))
    result = MCTS(expand=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=8))
    assert not result.solved
    # root -> intros n. -> every step fails: intros n. is dead, so the root is, and the tree starts over
    assert [steps_in(p) for p in policy.prompts] == [(), ("intros n.",)] * 2
    assert result.stats["restarts"] == 2
    assert result.stats["tree_size"] == 1  # the budget ran out right after the second restart: a fresh root


def test_mcts_checks_every_distinct_finished_proof(checker):
    # at `intros P H.` the first step finishes the proof with an axiom the reference does not use (refuted),
    # the second finishes it constructively: that proof must be checked and found
    policy = ScriptedPolicy(tactics({
        (): ["intros P H."],
        ("intros P H.",): [("destruct (classic P); exact H.", -0.1), ("exact H.", -0.2)],
    }))
    result = MCTS(expand=2).run(CLASSICAL, policy, checker, None, Budget(model_calls=6))
    assert result.solved
    assert result.candidate is not None and result.candidate.steps == ["intros P H.", "exact H."]


PARALLEL_SCRIPT = {
    (): ["intros n.", "intros m."],
    ("intros n.",): ["induction n.", "destruct n."],
    ("intros n.", "induction n."): ["reflexivity.", FAIL],
    ("intros n.", "induction n.", "reflexivity."): ["simpl.", FAIL],
    ("intros n.", "induction n.", "reflexivity.", "simpl."): ["rewrite IHn."],
    ("intros n.", "induction n.", "reflexivity.", "simpl.", "rewrite IHn."): ["reflexivity."],
}


def test_mcts_parallel_selections_solve_with_concurrent_steps(checker):
    policy = ScriptedPolicy(tactics(PARALLEL_SCRIPT))
    result = MCTS(expand=2, parallel=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=60))
    assert result.solved and result.candidate is not None and result.candidate.steps == REFERENCE_STEPS
    assert ("intros m.",) in {steps_in(p) for p in policy.prompts}  # virtual loss sent a selection elsewhere


def test_mcts_parallel_expands_each_leaf_once(checker):
    policy = ScriptedPolicy(tactics(PARALLEL_SCRIPT))
    result = MCTS(expand=2, parallel=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=60))
    assert result.solved
    expanded = Counter(steps_in(p) for p in policy.prompts)
    assert max(expanded.values()) == 1, expanded
    assert "transpositions" not in result.stats  # no two tactics in PARALLEL_SCRIPT reach the same goals


# --------------------------------------------------------------------------- particles


def test_resample_follows_the_softmax_of_the_scores():
    assert resample([], 5, 1.0, random.Random(0)) == []
    cold = resample([0.1, 0.9, 0.2], 200, 0.01, random.Random(1))
    assert len(cold) == 200 and set(cold) == {1}  # the best index takes every draw at low temperature
    hot = Counter(resample([0.1, 0.9, 0.2], 3000, 100.0, random.Random(2)))
    assert all(900 <= hot[i] <= 1100 for i in range(3))  # near uniform at high temperature
    # softmax([0, ln 3] / 1) = [1/4, 3/4]
    draws = Counter(resample([0.0, 1.0986122886681098], 4000, 1.0, random.Random(3)))
    assert 0.72 <= draws[1] / 4000 <= 0.78
    # seeded: the same draws again
    assert resample([0.3, 0.5, 0.4], 20, 0.2, random.Random(7)) == resample([0.3, 0.5, 0.4], 20, 0.2,
                                                                             random.Random(7))


def test_particles_find_the_proof_and_count_resamples(checker):
    policy = ScriptedPolicy(tactics({
        (): ["intros n.", FAIL],  # one particle dies at the first step, the other survives
        ("intros n.",): ["induction n."],
        ("intros n.", "induction n."): ["reflexivity."],
        ("intros n.", "induction n.", "reflexivity."): ["simpl."],
        ("intros n.", "induction n.", "reflexivity.", "simpl."): ["rewrite IHn."],
        ("intros n.", "induction n.", "reflexivity.", "simpl.", "rewrite IHn."): ["reflexivity."],
    }))
    result = Particles(n=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=40))
    assert result.solved and result.candidate is not None and result.candidate.steps == REFERENCE_STEPS
    assert result.stats["resamples"] == 5  # after each of the five steps before the last
    # both particles were resampled onto the survivor, and extended together by one batched request
    assert [n for _, n in policy.requests] == [2] * 6
    assert [len(steps_in(p)) for p in policy.prompts] == [0, 1, 2, 3, 4, 5]
    assert result.spend.model_calls == 12


def test_particles_move_to_the_better_scored_branch(checker):
    prm = ScriptedPRM({"intros m.": 1.0, "intros n.": 0.0})
    policy = ScriptedPolicy(tactics({(): ["intros n.", "intros m."]}, default=["simpl."]))
    result = Particles(n=4, temperature=0.01).run(ADD_0_R, policy, checker, prm, Budget(model_calls=8))
    assert [(steps_in(p), n) for p, n in policy.requests] == [((), 4), (("intros m.",), 4)]
    assert result.stats["resamples"] == 1 and result.stats["distinct_after_resample"] == 2


def test_particles_start_over_when_every_particle_dies(checker):
    policy = ScriptedPolicy(tactics({}, default=[FAIL]))
    result = Particles(n=3).run(ADD_0_R, policy, checker, None, Budget(model_calls=9))
    assert not result.solved and result.stats["restarts"] == 3 and "resamples" not in result.stats
    assert [(steps_in(p), n) for p, n in policy.requests] == [((), 3)] * 3


# --------------------------------------------------------------------------- search(), traces, confirmation


def test_search_confirms_with_coqc_and_writes_a_tree_trace(checker, tmp_path):
    path = tmp_path / "traces" / "add_0_r.jsonl"
    policy = ScriptedPolicy(tactics({
        (): ["intros n.", FAIL],
        ("intros n.",): ["induction n.", "reflexivity."],
        ("intros n.", "induction n."): ["simpl.", "reflexivity."],
        ("intros n.", "induction n.", "reflexivity."): ["simpl."],
        ("intros n.", "induction n.", "reflexivity.", "simpl."): ["rewrite IHn."],
        ("intros n.", "induction n.", "reflexivity.", "simpl.", "rewrite IHn."): ["reflexivity."],
    }))
    result = search(ADD_0_R, policy, strategy=Beam(width=2, expand=2), budget=Budget(model_calls=40),
                    checker=checker, seed=3, trace=path)
    assert result.solved and result.candidate is not None and result.candidate.steps == REFERENCE_STEPS
    # the reported verdict is coqc's from scratch, not the warm session's
    assert result.verdict is not None and result.verdict.status == "verified"
    assert result.verdict.manifest.checker == "coq" and "mode" not in result.verdict.manifest.options
    assert "unconfirmed" not in result.stats
    assert result.trace_path == str(path)

    events = read_trace(path)
    assert events[0].event == "start" and events[-1].event == "end"
    assert {e.event for e in events} == {"start", "node", "check", "end"}
    assert events[0].node == 0 and events[0].info is not None
    assert (events[0].info["task_id"], events[0].info["strategy"], events[0].info["seed"]) == ("add_0_r", "beam", 3)
    assert events[0].info["policy"] == "scripted" and events[0].info["budget"]["model_calls"] == 40
    nodes = node_events(events)
    ids = [e.node for e in nodes]
    assert ids == list(range(1, len(nodes) + 1)) and len(nodes) == result.nodes
    seen = {0}
    for e in nodes:  # every parent was written before its child: a tree rooted at node 0
        assert e.parent in seen
        seen.add(e.node)
    by_id = {e.node: e for e in nodes}
    [check] = check_events(events)
    assert check.verdict == "verified" and check.node in by_id and by_id[check.node].status == "solved"
    path_steps = []
    node = check.node
    while node != 0:
        path_steps.append(by_id[node].step)
        node = by_id[node].parent
    assert path_steps[::-1] == REFERENCE_STEPS
    assert events[-1].info is not None and events[-1].info["solved"] is True and events[-1].info["checked"] == 1
    assert events[-1].spend is not None and events[-1].spend.model_calls == result.spend.model_calls
    # one JSON object per line, unset fields left out
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == len(events) and all(None not in line.values() for line in lines)
    assert lines[1]["event"] == "node" and "verdict" not in lines[1]


def test_search_by_name_and_unknown_names(checker):
    policy = ScriptedPolicy([coq_answer("intros n. exact wrong."), coq_answer(ADD_0_R.reference)])
    result = search(ADD_0_R, policy, strategy="best_of_n", budget=Budget(model_calls=2), checker=checker)
    assert result.strategy == "best_of_n" and result.solved and result.checked == 2
    assert result.verdict is not None and "mode" not in result.verdict.manifest.options
    with pytest.raises(ValueError, match="unknown strategy 'greedy'.*best_of_n, refine, cegis, beam, mcts, particles"):
        get_strategy("greedy")


def test_search_unsolved_reports_the_best_so_far_without_confirming(checker, tmp_path):
    policy = ScriptedPolicy(lambda prompt: [coq_answer("intros n. exact wrong.")])
    path = tmp_path / "t.jsonl"
    result = search(ADD_0_R, policy, strategy=BestOfN(batch=2), budget=Budget(model_calls=3), checker=checker,
                    trace=path)
    assert not result.solved and result.spend.model_calls == 3 and result.checked == 3
    assert result.verdict is not None and result.verdict.manifest.options.get("mode") == "session"
    events = read_trace(path)
    assert events[-1].event == "end" and events[-1].info is not None and events[-1].info["solved"] is False
    assert [e.verdict for e in check_events(events)] == ["refuted"] * 3


class DisagreeingChecker(SearchChecker):
    """The real checker, except that its confirmation runs coqc on a wrong proof instead of the found one.

    A stand-in for the fast and the full checker disagreeing, which no pair of real checkers does on demand.
    """

    def confirm(self, task, candidate):
        return super().confirm(task, candidate.model_copy(update={"text": "intros n. exact wrong.\n"}))


def test_search_does_not_report_a_proof_the_full_checker_refutes(toolchains):
    policy = ScriptedPolicy([coq_answer(ADD_0_R.reference)])
    with DisagreeingChecker() as checker:
        result = search(ADD_0_R, policy, strategy=BestOfN(batch=1), budget=Budget(model_calls=1), checker=checker)
    assert not result.solved and result.stats["unconfirmed"] == 1
    assert result.verdict is not None and result.verdict.status == "refuted"
    assert "mode" not in result.verdict.manifest.options  # the confirmation's verdict is the one reported
    assert "wrong" in result.verdict.diagnostics[0].message


def test_wall_clock_budget_stops_the_search(checker):
    policy = ScriptedPolicy(lambda prompt: [coq_answer("intros n. exact wrong.")])
    result = BestOfN(batch=1).run(ADD_0_R, policy, checker, None, Budget(model_calls=None, wall_s=0.3))
    assert not result.solved and result.spend.model_calls >= 1
    assert 0.3 <= result.spend.wall_s < 5.0
    assert result.checked == result.spend.model_calls  # every sampled answer was checked before time ran out


def test_read_trace_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"event": "start", "node": 0}\n\n{"event": "teleport"}\n')
    with pytest.raises(TraceError, match=r"bad\.jsonl:3: not a trace event"):
        read_trace(path)
    with pytest.raises(TraceError, match="no such trace file"):
        read_trace(tmp_path / "missing.jsonl")
