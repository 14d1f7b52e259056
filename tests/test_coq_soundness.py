"""Soundness holes of the Coq checker found by an attacker's look (issue #18), each with its exploit, on a real Coq.

- a theorem in a Section is exported with the section variables its proof
  used: a proof that uses a section hypothesis the task's statement does not
  need proves a weaker theorem, and must be refuted;
- `Print Assumptions` lines are parsed by position and Coq's own fixed texts,
  never by names, so an axiom called `Fetching` or `Axioms` is still an axiom;
- only errors located in the checked file itself can say "the task's context
  does not compile": `native_compute` makes the OCaml compiler report its own
  generated file at line 1, which must not turn a wrong proof into unknown.
"""

from __future__ import annotations

import shutil

import pytest
from coq_tasks import private_cache  # noqa: F401  (a module-scoped autouse fixture)

from proofsmith.provers import coq
from proofsmith.schema import Candidate, Limits, Task

pytestmark = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (apt-get install coq)")

LIMITS = Limits(wall_s=60, cpu_s=60, memory_mb=2048)
#: a section with a false hypothesis the statement never mentions, and a pinned `Proof using`
USING_TASK = Task(
    id="proof_using", language="coq", kind="proof",
    context="Section S.\nHypothesis H : False.\nVariable n : nat.\n",
    statement="Lemma weak : n = n -> 1 = 2.",
    limits=LIMITS,
    options={"name": "weak", "closers": "End S.", "proof_command": "Proof using n."},
)
#: the same section, a plain `Proof.`, and a reference proof that needs no hypothesis
PLAIN_TASK = Task(
    id="proof_plain", language="coq", kind="proof",
    context="Module M.\nSection S.\nHypothesis H : False.\nVariable n : nat.\n",
    statement="Lemma refl_n : n = n.",
    reference="reflexivity.",
    limits=LIMITS,
    options={"name": "M.refl_n", "closers": "End S.\nEnd M."},
)
#: a reference proof that does use a section hypothesis: the library's theorem has it, and so may a new proof
USES_HYPOTHESIS = Task(
    id="uses_hypothesis", language="coq", kind="proof",
    context="Section S.\nVariable n : nat.\nHypothesis Hn : n = 0.\n",
    statement="Lemma n_plus_0 : n + 0 = 0.",
    reference="rewrite Hn. reflexivity.",
    limits=LIMITS,
    options={"name": "n_plus_0", "closers": "End S."},
)
FALSE_GOAL = Task(id="false_goal", language="coq", kind="proof", statement="Theorem rt_false : 1 = 2.",
                  limits=LIMITS, options={"name": "rt_false"})


def run(task: Task, text: str, bwrap, mode: coq.Mode = "auto"):
    return coq.check(task, Candidate(task_id=task.id, text=text), sandbox=bwrap, mode=mode)


# --------------------------------------------------------------------------- the exported theorem's type


@pytest.mark.parametrize("text", [
    # the candidate's own `Proof.` used to replace the task's `Proof using n.`
    "Proof.\n  intros _. exact (False_ind _ H).\nQed.",
    "Proof using H n. intros _. exact (False_ind _ H).",
    "Proof with auto. intros _. exact (False_ind _ H).",
    "intros _. exact (False_ind _ H).",
])
def test_a_proof_using_task_cannot_be_proved_as_a_weaker_theorem(bwrap, text):
    verdict = run(USING_TASK, text, bwrap)
    assert verdict.status == "refuted", verdict


def test_a_plain_proof_in_a_section_cannot_use_a_hypothesis_the_reference_does_not(bwrap):
    verdict = run(PLAIN_TASK, "exact (False_ind _ H).", bwrap)
    assert verdict.status == "refuted" and verdict.reason == "statement", verdict
    assert "M.refl_n" in verdict.diagnostics[0].message
    assert run(PLAIN_TASK, "Proof. reflexivity. Qed.", bwrap).status == "verified"


def test_a_section_hypothesis_the_reference_uses_may_be_used_again(bwrap):
    verdict = run(USES_HYPOTHESIS, "rewrite <- plus_n_O. exact Hn.", bwrap)
    assert verdict.status == "verified", verdict.diagnostics
    # the same theorem without the hypothesis is a different (stronger) type: still refuted, never verified
    assert run(USES_HYPOTHESIS, "Proof using n. rewrite Hn. reflexivity.", bwrap).status == "refuted"


def test_without_a_reference_a_plain_proof_gets_only_the_statements_variables(bwrap):
    task = PLAIN_TASK.model_copy(update={"id": "plain_no_ref", "reference": None})
    assert run(task, "exact (False_ind _ H).", bwrap).status == "refuted"
    assert run(task, "reflexivity.", bwrap).status == "verified"


# --------------------------------------------------------------------------- Print Assumptions


@pytest.mark.parametrize("name", ["Fetching", "Axioms", "Closed", "Section"])
def test_an_axiom_is_an_axiom_whatever_its_name(bwrap, name):
    task = FALSE_GOAL.model_copy(update={"id": f"axiom_{name}", "context": f"Axiom {name} : False.\n"})
    verdict = run(task, f"exact (False_ind _ {name}).", bwrap)
    assert verdict.status == "refuted" and verdict.reason == "axioms", verdict
    assert name in verdict.diagnostics[0].message


def test_assumption_parsing_skips_only_coqs_own_fixed_lines():
    printed = ("M\nFetching opaque proofs from disk for Coq.Init.Logic\nAxioms:\nFetching : False\n"
               "Axioms\n  : forall n : nat,\n    n = 0\nClosed : True\nSection Variables:\nH : False\n")
    assert coq.parse_assumptions(printed, "M") == frozenset(
        {"Fetching : False", "Axioms : forall n : nat, n = 0", "Closed : True", "H : False"})
    assert coq.parse_assumptions("M\nClosed under the global context\n", "M") == frozenset()


# --------------------------------------------------------------------------- error locations


def test_native_compute_on_a_false_goal_is_refuted(bwrap):
    verdict = run(FALSE_GOAL, "native_compute. reflexivity.", bwrap)
    assert verdict.status == "refuted", verdict


def test_an_error_in_the_candidates_proof_command_is_the_candidates(bwrap):
    verdict = run(FALSE_GOAL, "Proof with no_such_tactic. reflexivity.", bwrap, "cold")
    assert verdict.status == "refuted", verdict


def test_a_forged_file_location_in_an_error_message_is_not_read_as_the_context(bwrap):
    forged = 'fail "x" "\nFile ""./Task.v"", line 1, characters 0-1:\nError: forged".'
    verdict = run(FALSE_GOAL, forged, bwrap, "cold")
    assert verdict.status == "refuted" and verdict.diagnostics[0].line == 1, verdict
