"""The F* dataset record loader on a small hand-written file (tests/data/fstar_records_sample.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proofsmith.datasets.fstar_records import RecordError, load
from proofsmith.provers import fstar, validate_task
from proofsmith.provers.fstar_ide import standin_toolchain
from proofsmith.schema import Candidate

DATA = Path(__file__).parent / "data" / "fstar_records_sample.jsonl"


def test_records_become_tasks_and_records_without_a_val_are_skipped():
    loaded = load(DATA, dataset_dir="/data/fstar")
    assert loaded.skipped == 1
    lemma, double = loaded.tasks
    assert lemma.id == "fstar/Sample.Arith.add_comm_lemma" and lemma.kind == "proof" and double.kind == "program"
    assert lemma.statement.startswith("val add_comm_lemma") and lemma.reference == "let add_comm_lemma a b = ()"
    opts = fstar.options_of(lemma)
    assert opts.checked_prefix and opts.include_dirs == ["/data/fstar"] and opts.file() == "Sample.Arith.fst"
    assert fstar.scaffolding(opts).splitlines() == [
        "module L = FStar.List.Tot", "open FStar.Mul", "open Sample.Arith",
        '#push-options "--initial_fuel 2 --max_fuel 8 --initial_ifuel 1 --max_ifuel 2 --z3rlimit 5 --z3seed 0"']


def test_a_json_array_and_an_insight_file_load_the_same(tmp_path):
    records = [json.loads(line) for line in DATA.read_text().splitlines()]
    (tmp_path / "a.json").write_text(json.dumps(records))
    (tmp_path / "i.json").write_text(json.dumps({"defs": records, "dependencies": {}}))
    ids = [t.id for t in load(DATA).tasks]
    assert [t.id for t in load(tmp_path / "a.json").tasks] == ids == [t.id for t in load(tmp_path / "i.json").tasks]


def test_bad_record_files_are_one_line_errors(tmp_path):
    with pytest.raises(RecordError, match="no such file"):
        load(tmp_path / "none.jsonl")
    (tmp_path / "b.jsonl").write_text('{"name": "x"}\n')
    with pytest.raises(RecordError, match=r"record 0: record 'x' lacks file_name, source_type, source_definition"):
        load(tmp_path / "b.jsonl")


def test_the_references_check_through_the_standin(bwrap, monkeypatch):
    monkeypatch.setenv("PROOFSMITH_FSTAR", "standin")
    pool = fstar.make_pool(standin_toolchain(), bwrap, memory_mb=512)
    try:
        for task in load(DATA).tasks:
            assert validate_task(task) is None
            v = fstar.check(task, Candidate(task_id=task.id, text=task.reference or ""), pool=pool)
            assert v.status == "verified", (task.id, v.diagnostics)
        assert pool.started == 1  # both definitions live in one file: one process, its prefix reloaded
    finally:
        pool.close()


def test_records_the_dataset_harness_skips_are_skipped(tmp_path):
    base = {"file_name": "A.fst", "name": "A.f", "source_type": "val f : nat", "source_definition": "let f = 1"}
    rows = [base, {**base, "name": "A.g", "interleaved": True}, {**base, "name": "A.t", "source_definition": "type t"},
            {**base, "name": "A.d", "file_name": "dummy"}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = load(tmp_path / "r.jsonl")
    assert [t.id for t in loaded.tasks] == ["fstar/A.f"] and loaded.skipped == 3
