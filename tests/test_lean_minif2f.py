"""The miniF2F (Lean 4) loader on small hand-written files in both layouts (tests/data/minif2f_sample.*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofsmith.datasets.minif2f import DatasetError, load
from proofsmith.provers import lean, validate_task
from proofsmith.provers.lean_repl import repl_pool, standin_toolchain
from proofsmith.schema import Candidate

DATA = Path(__file__).parent / "data"


def test_a_lean_split_file_becomes_one_task_per_theorem():
    tasks = load(DATA / "minif2f_sample.lean")
    assert [t.id for t in tasks] == ["minif2f/minif2f_sample/sample_algebra_1",
                                     "minif2f/minif2f_sample/sample_numbertheory_2",
                                     "minif2f/minif2f_sample/sample_induction_3"]
    first = tasks[0]
    assert first.context.startswith("import Mathlib\nimport Aesop\n") and "open BigOperators" in first.context
    assert "/--" not in first.context
    assert first.statement.startswith("theorem sample_algebra_1 (b h v : ℝ)") and first.statement.endswith("v = 65")
    assert tasks[2].statement.endswith("n * (n - 1) / 2") and "fun x => x" in tasks[2].statement
    assert all(t.options["name"] == t.id.rsplit("/", 1)[1] for t in tasks)
    assert all(lean.options_of(t).name for t in tasks)


def test_a_jsonl_file_and_its_split_filter():
    tasks = load(DATA / "minif2f_sample.jsonl")
    assert [t.id for t in tasks] == ["minif2f/valid/sample_amc_1", "minif2f/test/sample_aime_2"]
    assert tasks[0].statement == "theorem sample_amc_1 (x : ℝ) (h₀ : 2 * x + 1 = 7) : x = 3"
    assert tasks[1].statement.endswith("2 * n % 5 = 1")
    assert [t.id for t in load(DATA / "minif2f_sample.jsonl", split="test")] == ["minif2f/test/sample_aime_2"]


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load(tmp_path / "Valid.lean")
    broken = tmp_path / "Valid.lean"
    broken.write_text("import Mathlib\n\ntheorem t : True := trivial\n")
    with pytest.raises(DatasetError, match=r"Valid.lean:3: the theorem does not end with"):
        load(broken)
    bad_json = tmp_path / "m.jsonl"
    bad_json.write_text('{"name": "x"}\n')
    with pytest.raises(DatasetError, match=r"m.jsonl:1: not a miniF2F record"):
        load(bad_json)


def test_loaded_tasks_check_through_the_standin(bwrap):
    """The tasks are well-formed for the checker: header reuse across them, restated statements accepted."""
    tasks = load(DATA / "minif2f_sample.lean")
    with repl_pool(standin_toolchain(), bwrap, memory_mb=512) as pool:
        for task in tasks:
            restated = f"{task.statement} := by\n  nlinarith"
            for text in ("by\n  norm_num", restated):
                v = lean.check(task, Candidate(task_id=task.id, text=text), pool=pool)
                assert v.status == "verified", (task.id, v.diagnostics)
        assert pool.started == 1


def test_validate_accepts_them_with_a_toolchain(monkeypatch):
    monkeypatch.setenv("PROOFSMITH_LEAN_REPL", "standin")
    assert all(validate_task(t) is None for t in load(DATA / "minif2f_sample.lean"))
