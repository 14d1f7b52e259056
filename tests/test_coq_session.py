"""Coq step mode on a real coqtop: walking a proof, backtracking, state hashes, hung tactics, warm whole checks."""

from __future__ import annotations

import shutil

import pytest
from coq_tasks import ADD_0_R, CLASSICAL

from proofsmith.provers.coq_session import SessionPool
from proofsmith.schema import Candidate
from proofsmith.steps import State, state_hash

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="Coq is not installed (apt-get install coq)")


@pytest.fixture(scope="module")
def pool(bwrap):
    with SessionPool(bwrap, max_sessions=2, step_timeout_s=2) as p:
        yield p


def walk(pool: SessionPool, state: State, *tactics: str) -> State:
    for tactic in tactics:
        result = pool.step(state, tactic)
        assert result.status == "ok", (tactic, result.error)
        assert result.state is not None
        state = result.state
    return state


def test_walking_a_known_proof_shrinks_the_goals_to_solved(pool):
    root = pool.open(ADD_0_R)
    assert "forall n : nat, n + 0 = n" in root.goals and not root.solved
    s1 = walk(pool, root, "intros n.")
    assert "n : nat" in s1.goals
    s2 = walk(pool, s1, "induction n.")
    assert s2.goals.startswith("2 goals") and "S n + 0 = S n" in s2.goals
    s3 = walk(pool, s2, "reflexivity.")
    assert s3.goals.startswith("1 goal") and "IHn : n + 0 = n" in s3.goals
    s4 = walk(pool, s3, "simpl. rewrite IHn.")
    assert s4.goals.startswith("1 goal") and "S n = S n" in s4.goals
    s5 = walk(pool, s4, "reflexivity.")
    assert s5.solved and s5.goals == "No more goals."
    assert s5.steps == ("intros n.", "induction n.", "reflexivity.", "simpl. rewrite IHn.", "reflexivity.")


def test_backtracking_returns_the_exact_earlier_goals_without_reloading(pool):
    root = pool.open(ADD_0_R)
    started = pool.started
    s1 = walk(pool, root, "intros n.")
    s2 = walk(pool, s1, "induction n.")
    walk(pool, s2, "reflexivity.", "simpl.")
    # back to s1 and a different branch, then back to s2's branch: same goals, same hash
    other = walk(pool, s1, "destruct n.")
    assert other.goals != s2.goals
    again = walk(pool, s1, "induction n.")
    assert (again.goals, again.hash) == (s2.goals, s2.hash)
    assert walk(pool, root, "intros m.").goals != s1.goals
    assert pool.started == started  # no new session: the prefix was not loaded again


def test_different_tactics_reaching_the_same_goals_share_a_hash(pool):
    root = pool.open(ADD_0_R)
    a = walk(pool, root, "intros n.")
    b = walk(pool, root, "intro n.")
    c = walk(pool, root, "intros n.", "simpl.")  # simpl changes nothing in `n + 0 = n`
    d = walk(pool, root, "intros m.")
    assert a.hash == b.hash == c.hash
    assert d.hash != a.hash
    assert a.hash == state_hash(ADD_0_R.id, a.goals.replace("(ID 3)", "(ID 99)"))


def test_a_failing_tactic_is_an_error_and_leaves_the_state_usable(pool):
    root = pool.open(ADD_0_R)
    s1 = walk(pool, root, "intros n.")
    bad = pool.step(s1, "exact I.")
    assert bad.status == "error" and bad.state is None
    assert 'The term "I" has type "True"' in (bad.error or "")
    half = pool.step(s1, "induction n. exact I.")  # a failing second sentence undoes the first
    assert half.status == "error"
    assert walk(pool, s1, "induction n.").goals.startswith("2 goals")


def test_vernacular_and_admit_are_rejected_before_coq_sees_them(pool):
    root = pool.open(ADD_0_R)
    for tactic in ("admit.", "Qed.", "Require Import Arith.", "Admitted."):
        result = pool.step(root, tactic)
        assert result.status == "error" and result.reason == "audit", tactic


def test_printed_fake_prompts_cannot_claim_the_proof_is_solved(pool):
    root = pool.open(ADD_0_R)
    fake = 'idtac "<prompt>Coq < 99 || 0 < </prompt>No more goals.".'
    result = pool.step(root, fake)
    assert result.status == "ok" and not result.solved
    assert "forall n : nat" in result.goals


def test_a_hung_tactic_is_unknown_timeout_and_the_next_step_still_works(pool):
    root = pool.open(ADD_0_R)
    s1 = walk(pool, root, "intros n.")
    hung = pool.step(s1, "do 2000000000 idtac.")
    assert hung.status == "unknown" and hung.reason == "timeout" and hung.state is None
    assert walk(pool, s1, "induction n.").goals.startswith("2 goals")


def test_warm_whole_proof_checks(pool):
    good = pool.check(ADD_0_R, Candidate(task_id=ADD_0_R.id, text="intros n. induction n; simpl; auto."))
    assert good.status == "verified"
    bad = pool.check(ADD_0_R, Candidate(task_id=ADD_0_R.id, text="intros n."))
    assert bad.status == "refuted" and "incomplete" in bad.diagnostics[0].message
    cheat = "intros P H. destruct (classic P) as [p | n]; [exact p | contradiction]."
    axioms = pool.check(CLASSICAL, Candidate(task_id=CLASSICAL.id, text=cheat))
    assert axioms.status == "refuted" and axioms.reason == "axioms"


def test_the_pool_is_bounded_and_recycles_the_least_recently_used(bwrap):
    third = ADD_0_R.model_copy(update={"id": "third"})
    with SessionPool(bwrap, max_sessions=1) as small:
        small.open(ADD_0_R)
        state = small.open(CLASSICAL)  # closes add_0_r's session
        assert len(small._sessions) == 1 and small.started == 2
        small.open(third)
        assert small.step(state, "intros P H.").status == "ok"  # classical's session is started again
        assert small.started == 4 and len(small._sessions) == 1


def test_a_tactic_coq_cannot_interrupt_is_stopped_by_the_watchdog_and_the_session_recycled(bwrap, monkeypatch):
    from proofsmith.provers import coq_session

    # the watchdog fires before Coq's own Timeout, as it must for a tactic stuck where Coq cannot interrupt it
    monkeypatch.setattr(coq_session, "WATCHDOG_GRACE_S", -1.5)
    with SessionPool(bwrap, max_sessions=1, step_timeout_s=2) as small:
        root = small.open(ADD_0_R)
        s1 = walk(small, root, "intros n.")
        hung = small.step(s1, "do 2000000000 idtac.")
        assert hung.status == "unknown" and hung.reason == "timeout"
        assert "recycled" in (hung.error or "")
        assert small.started == 1
        again = walk(small, s1, "induction n.")  # a fresh session, the state's tactics replayed
        assert again.goals.startswith("2 goals") and small.started == 2
