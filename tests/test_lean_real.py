"""The Lean checker against a real Lean REPL: runs wherever one is configured, skipped elsewhere.

Point it at a REPL with `PROOFSMITH_LEAN_REPL='lake env repl'` and
`PROOFSMITH_LEAN_PROJECT=<a Lean project with the REPL built>` (the
proofsmith/lean image has both: containers/README.md). Only Lean's core is
used (no Mathlib), so any toolchain the REPL supports will do. Never run on
the build machines of this project: they have no Lean.
"""

from __future__ import annotations

import os

import pytest

from proofsmith.provers import lean
from proofsmith.provers.lean_repl import toolchain_from_env
from proofsmith.sandbox import get_sandbox
from proofsmith.schema import Candidate, Limits, Task

TOOLCHAIN = toolchain_from_env()
pytestmark = [
    pytest.mark.needs_lean,
    pytest.mark.skipif(TOOLCHAIN is None or TOOLCHAIN.standin,
                       reason="no real Lean REPL configured (set PROOFSMITH_LEAN_REPL, see containers/README.md)"),
]

TASK = Task(id="real_add_zero", language="lean", kind="proof", context="", limits=Limits(wall_s=120),
            statement="theorem real_add_zero (n : Nat) : n + 0 = n")


def check(text: str, **kw):
    return lean.check(TASK, Candidate(task_id=TASK.id, text=text), toolchain=TOOLCHAIN,
                      sandbox=get_sandbox(os.environ.get("PROOFSMITH_TEST_SANDBOX", "auto")), **kw)


def test_a_real_proof_is_verified_with_the_kernel_recheck():
    v = check("by simp")
    assert v.status == "verified", v.diagnostics


@pytest.mark.parametrize(("text", "reason"), [
    ("by sorry", "sorry"),
    ("by admit", "sorry"),
    ('by simp\nmacro "#print" "axioms" x:ident : command => `(#check 1)', "audit"),
    ("by rfl\n  exact wrong_name", "lean_error"),
])
def test_real_lean_exploits_are_refuted_by_the_audit_alone(text, reason):
    v = check(text, precheck=False)
    assert v.status == "refuted" and v.reason == reason, v.diagnostics


def test_real_native_decide_shows_its_axiom_and_is_refuted_unless_allowed():
    task = TASK.model_copy(update={"id": "real_lt", "statement": "theorem real_lt : 10 < 20"})
    v = lean.check(task, Candidate(task_id=task.id, text="by native_decide"), toolchain=TOOLCHAIN, precheck=False)
    assert v.status == "refuted" and v.reason == "axioms", v.diagnostics
    allowed = task.model_copy(update={"id": "real_lt_ok", "options": {"allow_native_decide": True}})
    v = lean.check(allowed, Candidate(task_id=allowed.id, text="by native_decide"), toolchain=TOOLCHAIN)
    assert v.status == "verified", v.diagnostics
