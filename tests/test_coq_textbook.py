"""The coq-textbook split: loading, contexts, the issue-19 ten, and every reference proof checked by real Coq."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from proofsmith.datasets import coq_textbook as tb
from proofsmith.datasets.cli import datasets, find_task, load_split_tasks
from proofsmith.datasets.coq_library import scan_file, task_from_file
from proofsmith.provers import check_many
from proofsmith.provers.coq_audit import audit_script
from proofsmith.schema import Candidate, Task

needs_coq = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (apt-get install coq)")

HEADER = "Require Import Arith Lia List Bool.\nImport ListNotations.\n\n"
#: issue 19's ten user lemmas, as named in both data files
USER_TEN = ["add_zero_right", "double_is_twice", "rev_keeps_length", "le_chain", "mul_reverse_order",
            "map_keeps_length", "le_max_left_user", "app_length_sum", "negb_twice", "and_swap"]


def _references(tasks: list[Task]) -> list[tuple[Task, Candidate]]:
    return [(t, Candidate(task_id=t.id, id=f"{t.id}/reference", text=t.reference or "")) for t in tasks]


def _lemma_names(text: str) -> list[str]:
    return [f.name for f in scan_file(text)]


def test_the_split_loads_100_tasks_with_textbook_ids_and_its_source():
    tasks = load_split_tasks("coq-textbook")
    names = _lemma_names(tb.SUITE_FILE.read_text(encoding="utf-8"))
    assert len(tasks) == 100 and len(set(names)) == 100
    assert [t.id for t in tasks] == [f"textbook:{n}" for n in names]
    for task in tasks:
        assert task.language == "coq" and task.kind == "proof" and task.reference
        assert task.statement.startswith(f"Lemma {task.options['name']} :")
        assert task.options["closers"] == "" and task.options["file"] == "proofsmith/datasets/data/coq_textbook.v"
        assert task.source is not None
        assert (task.source.benchmark, task.source.version, task.source.licence) == ("coq-textbook", "1", "Apache-2.0")
    assert find_task(tasks, "coq-textbook", "le_chain").id == "textbook:le_chain"
    assert find_task(tasks, "coq-textbook", "textbook:negb_twice").options["name"] == "negb_twice"


def test_a_context_is_the_imports_alone_unless_the_lemma_builds_on_earlier_ones():
    tasks = {t.options["name"]: t for t in tb.load_tasks()}
    for name, task in tasks.items():
        if name not in tb.BUILDS_ON:
            assert task.context == HEADER, name
    comm = tasks["add_comm_by_induction"].context
    assert comm.startswith(HEADER) and "Lemma add_zero_right :" in comm and "Lemma add_succ_right :" in comm
    assert comm.index("add_zero_right") < comm.index("add_succ_right") and "Lemma mul_zero_right" not in comm
    rev = tasks["rev_twice_by_hand"].context
    assert rev.startswith(HEADER) and rev.count("Lemma ") == 1 and "Lemma rev_snoc :" in rev
    assert tasks["rev_snoc"].reference in rev  # the helper comes with its proof, not admitted


def test_a_dependency_on_a_later_or_unknown_lemma_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(tb.BUILDS_ON, "add_zero_right", ("add_succ_right",))
    tb._tasks.cache_clear()
    try:
        with pytest.raises(ValueError, match="builds on 'add_succ_right', which is not an earlier lemma"):
            tb.load_tasks()
    finally:
        monkeypatch.undo()
        tb._tasks.cache_clear()


def test_user_ten_holds_issue_19s_ten_with_the_suites_statements_and_proofs():
    text = tb.USER_TEN_FILE.read_text(encoding="utf-8")
    assert text.startswith("Require Import Arith Lia List Bool.\n")
    assert _lemma_names(text) == USER_TEN
    suite = {t.options["name"]: t for t in tb.load_tasks()}
    for name in USER_TEN:
        mine = task_from_file(tb.USER_TEN_FILE, name)
        assert mine.statement == suite[name].statement and mine.reference == suite[name].reference


def test_datasets_cli_lists_and_shows_the_split():
    runner = CliRunner()
    listed = runner.invoke(datasets, ["list"])
    assert listed.exit_code == 0
    (line,) = [ln for ln in listed.output.splitlines() if ln.startswith("coq-textbook ")]
    assert "Apache-2.0" in line
    shown = runner.invoke(datasets, ["show", "coq-textbook", "mul_reverse_order"])
    assert shown.exit_code == 0, shown.output
    assert "id:        textbook:mul_reverse_order" in shown.output and "a * b * c = c * b * a" in shown.output


@needs_coq
@pytest.mark.parametrize("path", [tb.SUITE_FILE, tb.USER_TEN_FILE], ids=lambda p: p.name)
def test_plain_coqc_compiles_the_shipped_file(path, tmp_path):
    copy = tmp_path / path.name  # coqc writes its .vo beside the source; the package may be read-only
    copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(["coqc", copy.name], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / path.with_suffix(".vo").name).is_file()


#: plain lemmas whose references the default run checks beside every lemma that builds on others (all 100: heavy)
SAMPLE = 8
SEED = 19


def _unverified(verdicts) -> list:
    return [(v.task_id, v.status, v.reason, [d.message for d in v.diagnostics][:1]) for v in verdicts
            if v.status != "verified"]


def test_every_reference_proof_passes_the_coq_audit():
    """The checker's audit (no vernacular, no admit) on all 100 references, without Coq: a reference it refused
    would make its task unprovable."""
    tasks = tb.load_tasks()
    refused = [(t.id, audit.message) for t in tasks if not (audit := audit_script(t.reference or "")).ok]
    assert not refused and len(tasks) == 100


@needs_coq
@pytest.mark.slow
def test_reference_proofs_verify_for_every_lemma_that_builds_on_others_and_a_sample():
    """The checker on the split's contexts: every lemma with earlier lemmas in its context, and a seeded sample
    of the rest (imports-only contexts; the whole file compiles, see above). All 100: `make test-all`."""
    tasks = tb.load_tasks()
    builds_on = [t for t in tasks if t.options["name"] in tb.BUILDS_ON]
    plain = random.Random(SEED).sample([t for t in tasks if t.options["name"] not in tb.BUILDS_ON], SAMPLE)
    assert len(builds_on) == len(tb.BUILDS_ON) > 0
    verdicts = check_many(_references([*builds_on, *plain]), jobs=2, use_cache=False)
    assert not _unverified(verdicts)
    assert len(verdicts) == len(tb.BUILDS_ON) + SAMPLE


@needs_coq
@pytest.mark.slow
@pytest.mark.heavy
def test_every_reference_proof_of_the_split_verifies():
    tasks = tb.load_tasks()
    verdicts = check_many(_references(tasks), jobs=2, use_cache=False)
    assert not _unverified(verdicts)
    assert len(verdicts) == 100


@needs_coq
@pytest.mark.slow
def test_user_ten_references_verify_in_their_file():
    tasks = [task_from_file(tb.USER_TEN_FILE, name) for name in USER_TEN]
    verdicts = check_many(_references(tasks), jobs=2, use_cache=False)
    assert [v.status for v in verdicts] == ["verified"] * 10, [(v.task_id, v.reason) for v in verdicts]


@needs_coq
def test_lemmas_that_build_on_earlier_ones_need_them_in_their_context():
    """With the imports alone as context, a reference that uses a helper by name is refuted: the dependency is real."""
    tasks = [t for t in tb.load_tasks() if t.options["name"] in tb.BUILDS_ON]
    assert len(tasks) == len(tb.BUILDS_ON)
    # the reference rides as the candidate; the task has none, since the checker also compiles a task's reference
    bare = [t.model_copy(update={"context": HEADER, "reference": None}) for t in tasks]
    pairs = [(b, Candidate(task_id=b.id, text=t.reference or "")) for b, t in zip(bare, tasks, strict=True)]
    verdicts = check_many(pairs, jobs=2, use_cache=False)
    assert [v.status for v in verdicts] == ["refuted"] * len(tasks), [(v.task_id, v.reason) for v in verdicts]
    for verdict, task in zip(verdicts, tasks, strict=True):
        helpers = tb.BUILDS_ON[task.options["name"]]
        assert any(f"{h} was not found" in d.message for d in verdict.diagnostics for h in helpers), verdict.diagnostics
