"""Lean step mode (open/step, the Coq session contract) through the REPL stand-in (NOT Lean).

The stand-in's tactic rules are textual (intro, constructor, closing tactics;
see proofsmith/provers/standins/lean_repl.py): these tests show the session
plumbing (proof states per process, replay on another process, hashes,
timeouts, crashes, the whole-proof re-check), not Lean's behaviour.
"""

from __future__ import annotations

import shutil

import pytest

from proofsmith.provers.lean_repl import repl_pool, standin_toolchain
from proofsmith.provers.lean_session import LeanSessionPool
from proofsmith.schema import Candidate, Limits, Task
from proofsmith.steps import SessionError, state_hash

TASK = Task(id="and_swap", language="lean", kind="proof", context="import Mathlib\n",
            statement="theorem and_swap (p q : Prop) (hp : p) (hq : q) : p → q ∧ p", limits=Limits(wall_s=5))


@pytest.fixture
def sessions(bwrap):
    pool = repl_pool(standin_toolchain(), bwrap, memory_mb=512, max_processes=2)
    with LeanSessionPool(pool=pool, step_timeout_s=1.5) as s:
        yield s
    pool.close()


def walk(sessions, state, *tactics):
    for tactic in tactics:
        result = sessions.step(state, tactic)
        assert result.status == "ok", (tactic, result.error)
        state = result.state
    return state


def test_walking_a_proof_to_solved_and_rechecking_it_whole(sessions):
    root = sessions.open(TASK)
    assert root.goals == "⊢ p → q ∧ p" and not root.solved and root.hash == state_hash(TASK.id, root.goals)
    s1 = walk(sessions, root, "intro h")
    assert s1.goals == "h : p\n⊢ q ∧ p"
    s2 = walk(sessions, s1, "constructor")
    assert s2.goals.count("⊢") == 2
    done = walk(sessions, s2, "exact hq", "exact h")
    assert done.solved and done.steps == ("intro h", "constructor", "exact hq", "exact h")
    verdict = sessions.check(TASK, Candidate(task_id=TASK.id, text="\n".join(done.steps), steps=list(done.steps)))
    assert verdict.status == "verified", verdict.diagnostics


def test_equal_goals_hash_equal_and_errors_are_dead_ends(sessions):
    root = sessions.open(TASK)
    a = walk(sessions, root, "intro h")
    b = walk(sessions, root, "intros h")
    assert a.hash == b.hash and a.steps != b.steps
    bad = sessions.step(a, "wrong")
    assert bad.status == "error" and bad.reason == "lean_error" and "unsolved goals" in bad.error
    assert sessions.step(a, "sorry").reason == "audit"
    assert sessions.step(a, "set_option debug.skipKernelTC true in simp").reason == "audit"


def test_a_hung_tactic_is_unknown_and_the_state_is_replayed_on_a_fresh_process(sessions):
    root = sessions.open(TASK)
    s1 = walk(sessions, root, "intro h")
    hung = sessions.step(s1, "simp -- standin: hang")
    assert hung.status == "unknown" and hung.reason == "timeout"
    again = sessions.step(s1, "constructor")  # s1 lived in the killed process: replayed from the root
    assert again.status == "ok" and again.state.goals.count("⊢") == 2
    crashed = sessions.step(s1, "simp -- standin: crash")
    assert crashed.status == "unknown" and crashed.reason == "crash"


def test_a_statement_that_does_not_open_a_proof_is_a_session_error(sessions):
    broken = TASK.model_copy(update={"id": "broken", "context": "import NoSuchThing\n"})
    with pytest.raises(SessionError):
        sessions.open(broken)


def test_the_search_checker_steps_lean_through_the_repl_next_to_a_real_coq_session(monkeypatch, bwrap):
    """SearchChecker routes each State's steps to its own language's sessions; Lean needs a configured REPL."""
    from coq_tasks import ADD_0_R

    from proofsmith.search.checker import SearchChecker

    if shutil.which("coqtop") is None:
        pytest.skip("Coq is not installed (apt-get install coq)")
    monkeypatch.delenv("PROOFSMITH_LEAN_REPL", raising=False)
    assert not SearchChecker(sandbox="bwrap").can_step(TASK)
    monkeypatch.setenv("PROOFSMITH_LEAN_REPL", "standin")
    assert not SearchChecker(sandbox="docker").can_step(TASK)  # docker holds no warm process
    with SearchChecker(sandbox="bwrap") as checker:
        assert checker.can_step(TASK) and checker.can_step(ADD_0_R)
        lean_root = checker.open(TASK)
        coq_root = checker.open(ADD_0_R)
        lean_1 = checker.step(lean_root, "intro h")
        coq_1 = checker.step(coq_root, "intros n.")
        assert lean_1.status == "ok" and lean_1.state.goals == "h : p\n⊢ q ∧ p"
        assert coq_1.status == "ok" and "n + 0 = n" in coq_1.state.goals
        lean_2 = checker.step(lean_1.state, "constructor")
        assert lean_2.status == "ok" and lean_2.state.goals.count("⊢") == 2
