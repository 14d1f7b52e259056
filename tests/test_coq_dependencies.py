"""The hammer option's library rule: a proof may not depend on the task's own library or on one that needs it."""

from __future__ import annotations

import shutil

import pytest

from proofsmith.datasets.coq_library import find_task
from proofsmith.provers import coq as coq_checker
from proofsmith.provers.coq_dependencies import (forbidden_libraries, forbidden_uses, hammer_libraries,
                                                 library_needs, parse_dependencies, parse_paths)
from proofsmith.provers.coq_session import SessionPool
from proofsmith.schema import Candidate, Task
from proofsmith.search.retrieval import search_commands

#: a circular proof: with Hammer loaded, Coq.ZArith.Zeven's compiled original is in scope under `Zeven.`
CIRCULAR = "intros; apply Zeven.Zeven_plus_Zeven; auto."
#: a proof of its own, from Zeven.v's lemmas before the theorem
HONEST = ("intros Ha Hb. apply Zeven_bool_iff in Ha. apply Zeven_bool_iff in Hb. apply Zeven_bool_iff. "
          "rewrite Z.even_add, Ha, Hb. reflexivity.")


@pytest.fixture(scope="module")
def coq(bwrap_or_skip) -> None:
    if shutil.which("coqtop") is None:
        pytest.skip("Coq is not installed (apt-get install coq)")


def _needs_hammer() -> None:
    if not hammer_libraries() or not library_needs():
        pytest.skip("CoqHammer or Coq's sources are not installed (apt-get install libcoq-hammer)")


def _zeven(hammer: bool) -> Task:
    task = find_task("coq-stdlib-mini", "stdlib:Coq.ZArith.Zeven.Zeven_plus_Zeven")
    return task.model_copy(update={"options": {**task.options, "hammer": hammer}})


def test_parse_dependencies_reads_one_entry_per_line_and_refuses_anything_else():
    text = ("\nTransparent constants:\nZ.succ : Z -> Z\nNat.add_0_r : forall n : nat, n + 0 = n\n"
            "Opaque constants:\nlong_name :\n  nat\nFetching opaque proofs from disk for Coq.Arith.PeanoNat\n"
            "Axioms:\nx' : False\n")
    assert parse_dependencies(text) == ["Z.succ", "Nat.add_0_r", "long_name", "x'"]
    assert parse_dependencies("Z.succ : Z -> Z\nforall (A : Type), A\n") is None  # a type at column 0: unreadable


def test_parse_paths_needs_one_expansion_per_name():
    out = ("No object of basename m_0\nfoo : nat\n\nExpands to: Constant Task.foo\n"
           "No object of basename m_1\neq_refl : x = x\nExpands to: Constructor Coq.Init.Logic.eq_refl\n")
    assert parse_paths(out, ["foo", "eq_refl"], "m") == ["Task.foo", "Coq.Init.Logic.eq_refl"]
    assert parse_paths(out, ["foo", "eq_refl", "bar"], "m") is None
    assert forbidden_uses(["Coq.ZArith.Zeven.Zeven", "Coq.ZArith.Zeven_x.y", "Task.Zeven"],
                          ["Coq.ZArith.Zeven"]) == ["Coq.ZArith.Zeven.Zeven"]


def test_forbidden_libraries_are_the_tasks_own_and_the_loaded_ones_that_need_it():
    _needs_hammer()
    forbidden = forbidden_libraries(_zeven(True))
    assert forbidden is not None
    assert {"Coq.ZArith.Zeven", "Coq.ZArith.Zdiv", "Coq.micromega.Lia"} <= forbidden  # Zdiv and Lia need Zeven
    assert not forbidden & {"Coq.ZArith.BinInt", "Coq.Bool.Bool"}  # what Zeven itself needs stays usable
    assert forbidden_libraries(_zeven(False)) == frozenset()  # no hammer option, nothing extra is loaded


def test_a_proof_through_the_compiled_lemma_under_test_is_refuted_by_coqc_and_the_session(coq):
    _needs_hammer()
    # without the option the compiled original is not loaded at all
    plain = coq_checker.check(_zeven(False), Candidate(task_id="t", text=CIRCULAR))
    assert plain.status == "refuted" and plain.reason == "coq_error"
    task = _zeven(True)
    circular = coq_checker.check(task, Candidate(task_id=task.id, text=CIRCULAR))
    assert circular.status == "refuted" and circular.reason == "dependencies"
    assert any("Coq.ZArith.Zeven.Zeven_plus_Zeven" in d.message for d in circular.diagnostics)
    for text in (HONEST, task.reference or ""):
        verdict = coq_checker.check(task, Candidate(task_id=task.id, text=text))
        assert verdict.status == "verified", verdict.diagnostics
    with SessionPool(max_sessions=1) as pool:
        assert pool.check(task, Candidate(task_id=task.id, text=CIRCULAR)).status == "refuted"
        assert pool.check(task, Candidate(task_id=task.id, text=HONEST)).status == "verified"


def test_lemma_search_leaves_the_forbidden_libraries_out(coq):
    _needs_hammer()
    task = find_task("coq-stdlib-mini", "stdlib:Coq.ZArith.Zbool.Zle_bool_plus_mono")
    task = task.model_copy(update={"options": {**task.options, "hammer": True}})
    forbidden = forbidden_libraries(task)
    assert forbidden and "Coq.ZArith.Zbool" in forbidden
    with SessionPool(max_sessions=1) as pool:
        root = pool.open(task)
        plain, restricted = search_commands(root.goals)[0], search_commands(root.goals, forbidden)[0]
        everywhere, allowed = pool.query(root, [plain, restricted])
    assert "Zbool.Zle_bool_plus_mono" in everywhere  # the compiled original of the lemma under test
    assert "Zle_bool_plus_mono" not in allowed
