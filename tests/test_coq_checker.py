"""The Coq checker on a real Coq: original proofs verify, wrong ones are refuted, each audit rule stops its exploit."""

from __future__ import annotations

import shutil

import pytest
from coq_tasks import (
    ADD_0_R,
    CLASSICAL,
    private_cache,  # noqa: F401  (a module-scoped autouse fixture)
)

from proofsmith.provers import check, coq, validate_task
from proofsmith.provers.coq_audit import audit_script
from proofsmith.schema import Candidate, Limits, Task

pytestmark = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (apt-get install coq)")

#: inside a Section and a Module: the checker must close both after Qed, and print M.in_section
SECTIONED = Task(
    id="sectioned", language="coq", kind="proof",
    context="Module M.\nSection S.\nVariable A : Type.\n",
    statement="Lemma in_section : forall l : list A, l = l.",
    reference="reflexivity.",
    limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048),
    options={"name": "M.in_section", "closers": "End S.\nEnd M."},
)


def run(task: Task, text: str, mode: coq.Mode = "auto", bwrap=None):
    return coq.check(task, Candidate(task_id=task.id, text=text), sandbox=bwrap, mode=mode)


@pytest.mark.parametrize("mode", ["cold", "prefix"])
def test_a_correct_proof_verifies_in_both_modes(bwrap, mode):
    verdict = run(ADD_0_R, "intros n. induction n as [|n IH]; simpl; [reflexivity | rewrite IH; reflexivity].",
                  mode, bwrap)
    assert verdict.status == "verified", verdict.diagnostics
    assert verdict.reward == 1.0 and verdict.manifest.checker == "coq"


def test_wrong_proofs_are_refuted_with_coqs_message_and_line(bwrap):
    verdict = run(ADD_0_R, "intros n.\n  exact I.", bwrap=bwrap)
    assert verdict.status == "refuted" and verdict.reason == "coq_error"
    diag = verdict.diagnostics[0]
    assert 'The term "I" has type "True"' in diag.message
    assert (diag.line, diag.column) == (2, 8)
    verdict = run(ADD_0_R, "reflexivity.", bwrap=bwrap)
    assert verdict.status == "refuted" and verdict.diagnostics[0].line == 1
    verdict = run(ADD_0_R, "intros n.", bwrap=bwrap)  # goals left: Qed refuses
    assert verdict.status == "refuted" and "incomplete proof" in verdict.diagnostics[0].message


def test_a_candidate_that_is_not_coq_is_refuted_with_the_parsers_message(bwrap):
    verdict = run(ADD_0_R, "intros n; induction n as [|n IH.", bwrap=bwrap)
    assert verdict.status == "refuted"
    assert verdict.diagnostics[0].message.startswith("Syntax error")


def test_a_proof_inside_sections_and_modules_is_closed_and_checked(bwrap):
    assert run(SECTIONED, "intros l. reflexivity.", bwrap=bwrap).status == "verified"
    assert run(SECTIONED, "exact I.", bwrap=bwrap).status == "refuted"


# --------------------------------------------------------------------------- audit: each rule and its exploit


@pytest.mark.parametrize("text, word", [
    ("admit.", "admit"),
    ("intros n. induction n; [reflexivity | admit].", "admit"),
    ("give_up.", "give_up"),
    ("Admitted.", "Admitted"),
    ("intros n. Abort.", "Abort"),
    # the original lemma is in the compiled library: Require inside a proof would load it
    ("Require Import Arith. exact Nat.add_0_r.", "Require"),
    ("From Coq Require Import Arith. exact Nat.add_0_r.", "From"),
    ("Axiom cheat : forall n : nat, n + 0 = n. exact cheat.", "Axiom"),
    ("Parameter cheat : forall n : nat, n + 0 = n. exact cheat.", "Parameter"),
    ("Unset Guard Checking. exact (fix f n := f n).", "Unset"),
    # close the proof early, then restate something easy under another name
    ("Qed. Theorem x : True.", "Qed"),
    ("Defined. Lemma x : True.", "Defined"),
    # Admitted hidden behind a notation or an Ltac definition: those are vernacular too
    ('Notation done := Admitted. done.', "Notation"),
    ("Ltac done := admit. done.", "admit"),
    ("Ltac done := auto. done.", "Ltac"),
    ("#[local] Ltac done := idtac. done.", "#"),
    ("Time Qed.", "Time"),
    ("Local Set Default Proof Mode \"Classic\".", "Local"),
])
def test_the_audit_rejects_each_escape_hatch(bwrap, text, word):
    verdict = run(ADD_0_R, text, bwrap=bwrap)
    assert verdict.status == "refuted" and verdict.reason == "audit", verdict
    assert f"'{word}" in verdict.diagnostics[0].message


def test_an_open_comment_or_string_cannot_swallow_the_qed(bwrap):
    for text in ["intros n. (* Qed. Theorem t : True.", 'idtac "', "intros n"]:
        verdict = run(ADD_0_R, text, bwrap=bwrap)
        assert verdict.status == "refuted" and verdict.reason == "audit", text


def test_admit_in_a_string_is_only_text_and_proof_qed_wrappers_are_tolerated():
    assert audit_script('idtac "admit". exact I.').ok
    result = audit_script("Proof.\n  intros n.\nQed.")
    assert result.ok and result.proof_command == "Proof." and "Qed" not in result.body
    assert result.body.count("\n") == 2  # positions kept for diagnostics


def test_print_assumptions_rejects_an_axiom_the_reference_does_not_use(bwrap):
    # tactics only, no vernacular: the classical axiom is reached through a lemma of the prefix
    cheat = "intros P H. destruct (classic P) as [p | n]; [exact p | contradiction]."
    verdict = run(CLASSICAL, cheat, bwrap=bwrap)
    assert verdict.status == "refuted" and verdict.reason == "axioms"
    assert "classic" in verdict.diagnostics[0].message
    assert run(CLASSICAL, "intros P H. assumption.", bwrap=bwrap).status == "verified"


def test_the_admitted_statement_of_the_compiled_prefix_cannot_be_cited(bwrap):
    verdict = run(ADD_0_R, "exact Prefix.add_0_r.", "prefix", bwrap)
    assert verdict.status == "refuted" and verdict.reason == "axioms"
    assert "Prefix.add_0_r" in verdict.diagnostics[0].message


def test_a_hung_proof_is_refuted_timeout_never_verified(bwrap):
    """The reference proof checks within the limits, so a proof that runs past them is the candidate's fault."""
    task = ADD_0_R.model_copy(update={"id": "hang", "limits": Limits(wall_s=4, cpu_s=4, memory_mb=2048)})
    verdict = run(task, "do 2000000000 idtac.", "cold", bwrap)  # runs for minutes, in constant memory
    if verdict.reason == "overload":  # the machine measurably starved coqc: unknown is the honest answer
        pytest.skip(f"this machine is overloaded: {verdict.diagnostics[0].message}")
    assert verdict.status == "refuted" and verdict.reason == "timeout"


# --------------------------------------------------------------------------- bad input


def test_a_missing_coq_is_one_line_naming_apt_get(monkeypatch):
    monkeypatch.setattr(coq, "COQC", "/nonexistent/coqc")
    coq.coq_version.cache_clear()
    try:
        problem = validate_task(ADD_0_R)
    finally:
        monkeypatch.undo()
        coq.coq_version.cache_clear()
    assert problem is not None and "\n" not in problem and "apt-get install coq" in problem


@pytest.mark.parametrize("options, needle", [
    ({}, "options.name"),
    ({"name": "x", "flags": ["-load-ml-source"]}, "not allowed"),
    ({"name": "x", "load_paths": [["-R", "/nonexistent/lib", "L"]]}, "does not exist"),
])
def test_bad_task_options_are_one_line(options, needle):
    problem = validate_task(ADD_0_R.model_copy(update={"options": options}))
    assert problem is not None and "\n" not in problem and needle in problem


def test_through_the_registry_and_the_mini_split(bwrap_or_skip):
    from proofsmith.datasets.coq_library import find_task

    task = find_task("coq-stdlib-mini", "orb_negb_r")
    good = check(task, Candidate(task_id=task.id, text=task.reference or ""), sandbox="bwrap", use_cache=False)
    assert good.status == "verified", good.diagnostics
    bad = check(task, Candidate(task_id=task.id, text="exact I."), sandbox="bwrap", use_cache=False)
    assert bad.status == "refuted" and bad.diagnostics[0].line == 1
