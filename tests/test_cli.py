"""The `proofsmith` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from proofsmith.schema import Verdict

ROOT = Path(__file__).resolve().parents[1]
DEMO_TASKS = ROOT / "proofsmith" / "examples" / "demo_tasks.jsonl"
DEMO_CANDIDATES = ROOT / "proofsmith" / "examples" / "demo_candidates.jsonl"

ADD = {"id": "add", "language": "python", "kind": "program", "statement": "def add(a, b):\n", "entry_point": "add",
       "test_code": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"}


def run_cli(*args: str, cache_dir: Path | None = None, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run `python -m proofsmith.cli ARGS`; caching is off unless `cache_dir` is given."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("PROOFSMITH_NO_CACHE", "PROOFSMITH_CACHE_DIR")}
    full_env["PYTHONPATH"] = str(ROOT)
    if cache_dir is None:
        full_env["PROOFSMITH_NO_CACHE"] = "1"
    else:
        full_env["PROOFSMITH_CACHE_DIR"] = str(cache_dir)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "proofsmith.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=240)


def stderr_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr lines, without the process sandbox's one-off warning (it is not about the input)."""
    return [line for line in proc.stderr.splitlines() if line and "'process' sandbox does not isolate" not in line]


def verdicts_of(proc: subprocess.CompletedProcess[str]) -> list[Verdict]:
    """Every stdout line of a --json run, each of which must be a whole Verdict."""
    return [Verdict.model_validate_json(line) for line in proc.stdout.splitlines()]


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_help_explains_each_command():
    top = run_cli("--help")
    assert top.returncode == 0
    assert "check" in top.stdout and "doctor" in top.stdout and "verified, refuted" in top.stdout
    check = run_cli("check", "--help")
    assert check.returncode == 0
    for words in ("TASKS.jsonl", "CANDIDATES.jsonl", "--jobs", "--json", "--sandbox", "--efficiency", "--no-cache",
                  "--output", "Exit status"):
        assert words in check.stdout
    doctor = run_cli("doctor", "--help")
    assert doctor.returncode == 0 and "isolation layers" in doctor.stdout


def test_python_dash_m_proofsmith_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "proofsmith", "--version"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "proofsmith, version 0.1.0"


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    cands = write_jsonl(tmp_path / "c.jsonl", [{"task_id": "add", "text": "x"}])
    proc = run_cli("check", "nope.jsonl", str(cands), cwd=tmp_path)
    assert proc.returncode == 2
    assert stderr_lines(proc) == ["error: nope.jsonl: no such file"]
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", "--sandbox", "jail", "a", "b"], "error: Invalid value for '--sandbox': 'jail' is not one of"),
        (["check", "a"], "error: Missing argument 'CANDIDATES.jsonl'."),
        (["check", "--jobs", "0", "a", "b"], "error: Invalid value for '--jobs'"),
        (["frobnicate"], "error: No such command 'frobnicate'."),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(args, expected):
    proc = run_cli(*args)
    assert proc.returncode == 2
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith(expected), proc.stderr
    assert "--help" in lines[0]


def test_explicit_bwrap_without_bubblewrap_is_one_line(tmp_path):
    tasks = write_jsonl(tmp_path / "t.jsonl", [ADD])
    cands = write_jsonl(tmp_path / "c.jsonl", [{"task_id": "add", "text": "def add(a, b):\n    return a + b\n"}])
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    proc = run_cli("check", "--sandbox", "bwrap", str(tasks), str(cands), env={"PATH": str(empty_bin)})
    assert proc.returncode == 2
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("error: bubblewrap is missing"), proc.stderr
    assert "--sandbox process" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_bad_input_lines_are_reported_and_the_rest_still_checked(tmp_path):
    write_jsonl(tmp_path / "tasks.jsonl", [
        ADD,
        '{"id": "broken", "language": ',
        {**ADD, "id": "java-task", "language": "java"},
        {**ADD, "id": "untested", "test_code": None},
    ])
    write_jsonl(tmp_path / "cands.jsonl", [
        {"task_id": "add", "id": "good", "text": "def add(a, b):\n    return a + b\n"},
        {"task_id": "add", "id": "bad", "text": "def add(a, b):\n    return a - b\n"},
        {"task_id": "ghost", "id": "lost", "text": "x = 1\n"},
        {"task_id": "untested", "id": "skipped", "text": "def add(a, b):\n    return a + b\n"},
        "{not json",
    ])
    proc = run_cli("check", "--json", "tasks.jsonl", "cands.jsonl", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in stderr_lines(proc) if line.startswith("error: ")]
    assert errors == [
        "error: tasks.jsonl:2: not valid JSON (Expecting value at column 30)",
        "error: tasks.jsonl:3: language: Input should be 'python', 'coq', 'lean', 'fstar' or 'smt'",
        "error: tasks.jsonl:4: task untested has no tests: give test_code or io_tests; its candidates are skipped",
        "error: cands.jsonl:5: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "error: cands.jsonl:3: task_id: no task 'ghost' in tasks.jsonl",
    ]
    assert "Traceback" not in proc.stderr
    verdicts = verdicts_of(proc)
    assert [(v.candidate_id, v.status) for v in verdicts] == [("good", "verified"), ("bad", "refuted")]
    assert stderr_lines(proc)[-1] == "1 verified, 1 refuted, 0 unknown; 5 input errors (see above)"


@pytest.mark.slow
def test_all_verified_exits_0_and_output_file_matches_stdout(tmp_path):
    tasks = write_jsonl(tmp_path / "t.jsonl", [ADD])
    cands = write_jsonl(tmp_path / "c.jsonl", [
        {"task_id": "add", "id": "plain", "text": "def add(a, b):\n    return a + b\n"},
        {"task_id": "add", "id": "body", "text": "    return b + a\n", "completion": True},
    ])
    out = tmp_path / "verdicts.jsonl"
    proc = run_cli("check", "--json", "--output", str(out), str(tasks), str(cands))
    assert proc.returncode == 0, proc.stderr
    assert [v.status for v in verdicts_of(proc)] == ["verified", "verified"]
    assert out.read_text() == proc.stdout


@pytest.mark.slow
def test_demo_verdicts_table_and_exit_1():
    proc = run_cli("check", "--json", str(DEMO_TASKS), str(DEMO_CANDIDATES))
    assert proc.returncode == 1, proc.stderr
    got = {(v.task_id, v.candidate_id): v for v in verdicts_of(proc)}
    expected = {
        ("demo/add", "completion"): "verified",
        ("demo/is_palindrome", "correct"): "verified",
        ("demo/is_palindrome", "exit-early"): "refuted",
        ("demo/mean", "correct"): "verified",
        ("demo/mean", "patch-builtins"): "refuted",
        ("demo/fizzbuzz", "correct"): "verified",
        ("demo/count_vowels", "correct"): "verified",
        ("demo/count_vowels", "counts-y"): "refuted",
    }
    assert {key: v.status for key, v in got.items()} == expected, [
        (k, v.status, v.reason, [d.message for d in v.diagnostics]) for k, v in got.items()
    ]
    assert all(v.partial and v.partial.passed == v.partial.total > 0
               for v in got.values() if v.status == "verified")

    table = run_cli("check", str(DEMO_TASKS), str(DEMO_CANDIDATES))
    assert table.returncode == 1, table.stderr
    assert "patch-builtins" in table.stdout and "exit-early" in table.stdout
    assert table.stdout.rstrip().splitlines()[-1] == "5 verified, 3 refuted, 0 unknown"


@pytest.mark.slow
def test_second_run_comes_from_the_cache_unless_no_cache(tmp_path):
    tasks = write_jsonl(tmp_path / "t.jsonl", [ADD])
    cands = write_jsonl(tmp_path / "c.jsonl", [
        {"task_id": "add", "id": "good", "text": "def add(a, b):\n    return a + b\n"},
        {"task_id": "add", "id": "bad", "text": "def add(a, b):\n    return 0\n"},
    ])
    cache = tmp_path / "cache"
    first = verdicts_of(run_cli("check", "--json", str(tasks), str(cands), cache_dir=cache))
    second = verdicts_of(run_cli("check", "--json", str(tasks), str(cands), cache_dir=cache))
    fresh = verdicts_of(run_cli("check", "--json", "--no-cache", str(tasks), str(cands), cache_dir=cache))
    assert [(v.status, v.cached) for v in first] == [("verified", False), ("refuted", False)]
    assert [(v.status, v.cached) for v in second] == [("verified", True), ("refuted", True)]
    assert [(v.status, v.cached) for v in fresh] == [("verified", False), ("refuted", False)]
    assert [v.candidate_id for v in second] == ["good", "bad"]
    assert (cache / "verdicts.sqlite").exists()


@pytest.mark.slow
def test_corrupt_cache_still_checks(tmp_path):
    tasks = write_jsonl(tmp_path / "t.jsonl", [ADD])
    cands = write_jsonl(tmp_path / "c.jsonl", [{"task_id": "add", "text": "def add(a, b):\n    return a + b\n"}])
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "verdicts.sqlite").write_bytes(b"garbage" * 1000)
    proc = run_cli("check", "--json", str(tasks), str(cands), cache_dir=cache)
    assert proc.returncode == 0, proc.stderr
    assert [v.status for v in verdicts_of(proc)] == ["verified"]
    warnings = [line for line in stderr_lines(proc) if "verdict cache" in line]
    assert len(warnings) == 1 and "running uncached" in warnings[0]


def test_doctor_reports_every_component():
    proc = run_cli("doctor")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == ["sandbox", "bwrap", "cgroup", "seccomp", "python", "valgrind", "coqc", "lean", "fstar", "z3",
                     "docker"]
    for line in lines:
        assert re.match(r"^\S+\s+(ok|missing): \S", line), line
