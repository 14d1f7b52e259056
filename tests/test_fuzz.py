"""Bad input, fuzzed with hypothesis: one rule, a clear one-line error or a verdict, never a traceback or a hang.

Targets: the JSONL readers (`proofsmith.datasets.jsonl`), the `proofsmith
check` command (run in this process through `proofsmith.cli.main`, so a
traceback would surface here as an exception), and `proofsmith.provers.check`
on real Python and Coq checkers. Inputs: random bytes, NUL bytes, invalid
UTF-8, CR/LF and control characters in ids and keys, rich markup in ids,
huge lines and numbers, and deeply nested JSON. Example counts are kept small
so the file runs in well under a minute.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofsmith.datasets.jsonl import read_candidates_numbered, read_tasks_numbered
from proofsmith.provers import check
from proofsmith.schema import Candidate, Task

PY_TASK = {"id": "add", "language": "python", "kind": "program", "statement": "def add(a, b):\n",
           "entry_point": "add", "test_code": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
           "limits": {"wall_s": 5, "cpu_s": 3, "memory_mb": 256}}
COQ_TASK = {"id": "coq", "language": "coq", "kind": "proof", "statement": "Theorem fz : 1 = 2.",
            "options": {"name": "fz"}, "limits": {"wall_s": 10, "cpu_s": 10, "memory_mb": 2048}}

# ------------------------------------------------------------------ strategies

_nasty_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    ["", "\0", "a\nb", "\r", "[/]", "[bold]x", "\u2028", "\x1b[31m", "x" * 300, "\ufeff", "\\", '"'])


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _nasty_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_nasty_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def task_lines(draw) -> bytes:
    """One line of a would-be tasks/candidates file."""
    kind = draw(st.sampled_from(["bytes", "json", "task", "candidate", "deep", "bignum", "huge", "nul", "utf8"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200)).replace(b"\n", b" ")
    if kind == "json":
        return json.dumps(draw(_json_values)).encode()
    if kind in ("task", "candidate"):
        base = dict(PY_TASK) if kind == "task" else {"task_id": "add", "text": "def add(a, b):\n    return a + b\n"}
        for key in draw(st.lists(st.sampled_from(sorted(base) + ["extra\nkey", "[/]"]), max_size=3)):
            base[key] = draw(_json_values)
        return json.dumps(base).encode()
    if kind == "deep":
        return _deep(draw(st.integers(1000, 200_000))).encode()
    if kind == "bignum":
        return b'{"id": ' + b"9" * draw(st.integers(4000, 20_000)) + b"}"
    if kind == "huge":
        return json.dumps({**PY_TASK, "statement": "x" * draw(st.integers(1 << 20, 4 << 20))}).encode()
    if kind == "nul":
        return json.dumps({**PY_TASK, "id": "a\0b", "statement": "\0"}).encode().replace(b"a\\u0000b", b"a\x00b")
    return b'{"id": "\xff\xfe", "language": "python"}'


files = st.lists(task_lines(), max_size=5).map(lambda lines: b"\n".join(lines) + b"\n")


def _one_line(message: str) -> bool:
    return "\n" not in message and "\r" not in message


# ------------------------------------------------------------------ the JSONL readers


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=files)
def test_fuzz_jsonl_readers_return_records_or_one_line_errors(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fz") / "in.jsonl"
    path.write_bytes(data)
    for reader in (read_tasks_numbered, read_candidates_numbered):
        records, errors = reader(path)
        assert all(_one_line(e) for e in errors), errors
        assert all(e.startswith(f"{path}:") for e in errors), errors
        lines = [line for line in data.split(b"\n") if line.strip()]
        assert len(records) + len(errors) >= min(1, len(lines)) or not lines


# ------------------------------------------------------------------ the `proofsmith check` command


def run_main(*args: str) -> tuple[int, str, str]:
    """`proofsmith.cli.main(args)` in this process: exit status, stdout, stderr (an exception would escape)."""
    from proofsmith.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stop:
        main(list(args))
    return stop.value.code, out.getvalue(), err.getvalue()


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(tasks=files, candidates=files)
def test_fuzz_check_command_gives_verdicts_or_one_line_errors(tasks, candidates, tmp_path_factory, bwrap_or_skip,
                                                               monkeypatch):
    monkeypatch.setenv("PROOFSMITH_NO_CACHE", "1")
    monkeypatch.setenv("COLUMNS", "200")
    folder = tmp_path_factory.mktemp("fzc")
    (folder / "t.jsonl").write_bytes(tasks)
    (folder / "c.jsonl").write_bytes(candidates)
    code, out, err = run_main("check", str(folder / "t.jsonl"), str(folder / "c.jsonl"), "--json", "--sandbox", "bwrap")
    assert code in (0, 1, 2), (code, err)
    for line in err.splitlines():
        assert line.startswith("error: ") or " verified, " in line, line
    for line in out.splitlines():
        assert json.loads(line)["status"] in ("verified", "refuted", "unknown")


def test_markup_and_newlines_in_ids_are_shown_not_interpreted(tmp_path, bwrap_or_skip, monkeypatch):
    """Found by the fuzzer: a task id `[/]` crashed the table (rich markup); a key with a newline split an error."""
    monkeypatch.setenv("PROOFSMITH_NO_CACHE", "1")
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "t.jsonl").write_text(json.dumps({**PY_TASK, "id": "[/]"}) + "\n"
                                      + json.dumps({**PY_TASK, "id": "k", "bad\nkey": 1}) + "\n")
    (tmp_path / "c.jsonl").write_text(json.dumps({"task_id": "[/]", "id": "[bold]c[/]",
                                                  "text": "def add(a, b):\n    return a + b\n"}) + "\n")
    code, out, err = run_main("check", str(tmp_path / "t.jsonl"), str(tmp_path / "c.jsonl"))
    assert code == 2, err
    assert "[bold]c[/]" in out and "verified" in out
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bad\\nkey" in errors[0], err


@pytest.mark.parametrize("line,expected", [
    (_deep(100_000), "nested too deeply"),
    ('{"id": ' + "9" * 5000 + "}", "number"),
])
def test_deep_json_and_huge_numbers_are_one_line_errors(tmp_path, line, expected):
    """Found by the fuzzer: both escaped the reader as RecursionError / ValueError tracebacks."""
    path = tmp_path / "t.jsonl"
    path.write_text(line + "\n")
    records, errors = read_tasks_numbered(path)
    assert not records and len(errors) == 1 and expected in errors[0] and _one_line(errors[0]), errors


# ------------------------------------------------------------------ candidates through the checkers

_candidate_text = (
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace"))
    | st.text(max_size=300)
    | st.sampled_from(["\0", "def add(a, b):\n    return a + b\0", "x" * (3 << 20), "\ud800", _deep(5000),
                       "def add(a, b):\n" + "    " * 200 + "return 1\n", "(* " * 1000, "idtac \"\0\".", "Qed."])
)


needs_coqc = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed (apt-get install coq)")


@pytest.mark.slow
@pytest.mark.parametrize("language", ["python", pytest.param("coq", marks=needs_coqc)])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=_candidate_text)
def test_fuzz_candidates_get_a_verdict_never_an_exception(text, language, bwrap_or_skip):
    task = Task.model_validate(PY_TASK if language == "python" else COQ_TASK)
    verdict = check(task, Candidate(task_id=task.id, text=text), sandbox="bwrap", use_cache=False)
    assert verdict.status in ("refuted", "unknown"), (text[:80], verdict)
    assert verdict.wall_s < 60

