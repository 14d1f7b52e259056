"""The Lean lexical pre-check and the audit's answer parsing, on plain text (no process involved)."""

from __future__ import annotations

import pytest

from proofsmith.provers import lean_audit as audit

LEGIT = [
    "by\n  intro n\n  induction n with\n  | zero => rfl\n  | succ k ih => simp [ih]",
    "by\n  set_option maxHeartbeats 400000 in\n  nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]",
    "by\n  open Real in\n  simp [Real.sqrt_eq_iff]",
    "fun n => Nat.add_zero n",
    "by\n  have h : (2:ℝ) ≠ 0 := by norm_num\n  field_simp\n  -- sorry, admit and axiom in a comment are fine\n  ring",
    "by\n  rcases h with ⟨x, hx⟩\n  exact ⟨x, hx⟩",
    'by\n  simp [show "sorry".length = 5 from rfl]',
    "by\n  simp (config := {decide := true}) only [Finset.sum_range_succ, Classical.not_not]",
    "by\n  exact Classical.axiom_of_choice h /- a block /- nested -/ comment -/",
    "(by\n  simp\n)",
]


@pytest.mark.parametrize("proof", LEGIT)
def test_ordinary_proofs_pass_the_precheck(proof):
    assert audit.precheck(proof) is None


def test_the_problem_says_where():
    problem = audit.precheck("by\n  simp\n  exact sorry")
    assert problem is not None and problem.line == 3 and problem.column == 8 and "'sorry'" in problem.message


def test_native_decide_needs_the_task_s_permission():
    assert audit.precheck("by native_decide") is not None
    assert audit.precheck("by native_decide", allow_native_decide=True) is None
    assert audit.precheck("by exact Lean.ofReduceBool _ _ rfl", allow_native_decide=True) is not None


def test_split_header_separates_imports_from_the_rest():
    header, rest = audit.split_header("-- a comment\nimport Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n"
                                      "open Real\n")
    assert header == "import Mathlib\nimport Aesop"
    assert rest == "set_option maxHeartbeats 0\nopen Real"


def test_split_candidate_accepts_only_the_same_statement():
    stmt = "theorem foo (n : Nat) : n + 0 = n"
    proof, _, problem = audit.split_candidate(stmt, "lemma foo (n : Nat) :\n    n + 0 = n := by simp")
    assert problem is None and proof.strip() == "by simp"
    assert audit.split_candidate(stmt, ":= by simp")[0] == " by simp"
    assert audit.split_candidate(stmt, "theorem foo (n : Nat) : n = n := by rfl")[2] is not None
    assert audit.split_candidate(stmt, "theorem foo (n : Nat) : n + 0 = n ∨ True := by simp")[2] is not None


def test_axiom_answers_are_read_exactly():
    assert audit.parse_axioms("'foo' depends on axioms: [propext, Classical.choice]", "foo") == \
        {"propext", "Classical.choice"}
    assert audit.parse_axioms("'add_zero'' does not depend on any axioms", "add_zero'") == frozenset()
    assert audit.parse_axioms("'Demo.foo' depends on axioms: [sorryAx]", "foo") == {"sorryAx"}
    assert audit.parse_axioms("'bar' does not depend on any axioms", "foo") is None
    assert audit.parse_axioms("foo is fine, trust me", "foo") is None
    assert audit.canary_ok("'ps_probe_1' depends on axioms: [ps_canary_1]", "ps_probe_1", "ps_canary_1")
    assert not audit.canary_ok("'ps_probe_1' does not depend on any axioms", "ps_probe_1", "ps_canary_1")
    assert not audit.canary_ok("'X.ps_probe_1' depends on axioms: [ps_canary_1]", "ps_probe_1", "ps_canary_1")


def test_only_the_standard_axioms_are_allowed_by_default():
    assert audit.axioms_allowed(frozenset({"propext", "Quot.sound", "Classical.choice"})) == []
    assert audit.axioms_allowed(frozenset({"sorryAx", "propext"})) == ["sorryAx"]
    native = frozenset({"Lean.ofReduceBool", "foo._native.native_decide.ax_1_3"})
    assert audit.axioms_allowed(native) == sorted(native)
    assert audit.axioms_allowed(native, allow_native_decide=True) == []
