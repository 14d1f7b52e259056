"""The red-team corpus, run for real: every exploit must come back as its file says, none verified.

One test per case file in `proofsmith/redteam_corpus/` (tests/redteam/README.md
points there). A case whose checker is not installed here (Lean and F*
without their toolchains or stand-ins, Coq without coqc) is skipped with the
reason the runner gives. The other tests show that the corpus and the runner
have teeth: a real solution in a corpus is counted as accepted and fails the
command, and the gated sandbox payloads do win where there is no sandbox.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proofsmith.redteam import (
    CHECKERS,
    CORPUS_DIR,
    WARM_CHECKERS,
    CaseResult,
    CorpusError,
    load_corpus,
    parse_case,
    plan,
    run_case,
    run_corpus,
    summarise,
    use_standins,
)

ROOT = Path(__file__).resolve().parents[1]
CASES, TASKS = load_corpus()


def test_the_corpus_has_at_least_60_cases_across_every_checker():
    by_checker = {c: sum(1 for x in CASES if x.checker == c) for c in CHECKERS}
    assert sum(by_checker.values()) == len(CASES) >= 60, by_checker
    assert all(n >= 8 for n in by_checker.values()), by_checker
    assert len({c.name for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.text.strip() and case.rule and case.attack, case.name


@pytest.fixture
def standins(monkeypatch) -> list[str]:
    """Lean and F* on their stand-ins (NOT Lean or F*) where no real prover is configured, for this test only."""
    environ: dict[str, str] = {}
    for name in ("PROOFSMITH_LEAN_REPL", "PROOFSMITH_LEAN_IMAGE", "PROOFSMITH_FSTAR", "PROOFSMITH_FSTAR_IMAGE"):
        if name in os.environ:
            environ[name] = os.environ[name]
    pointed = use_standins(environ)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return pointed


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_exploit_is_not_accepted(case, bwrap_or_skip, standins):
    result = _run(case, "bwrap")
    if result.outcome == "not run":
        pytest.skip(f"{case.name}: {result.detail}")
    assert result.outcome != "verified", f"ACCEPTED EXPLOIT {case.name}: {case.attack}"
    assert result.as_expected, f"{case.name}: got {result.outcome} ({result.reason}: {result.detail}), " \
                               f"wanted {result.expected}"


def _run(case, sandbox: str) -> CaseResult:
    """The case's result; run once more when the first run was `unknown (overload)` and the case expects refuted.

    A time-limit case (`coq/loop_until_timeout`) is rightly unknown when the
    kernel measured that the machine, not the candidate, used up its wall
    budget; a test run beside other CPU-heavy jobs hits that now and then. The
    second run's outcome is asserted as it comes: a checker that always calls
    its time-outs overload still fails the test.
    """
    result = run_case(case, TASKS[case.task], sandbox=sandbox)
    if result.outcome == "unknown" and result.reason == "overload" and case.expect == "refuted":
        result = run_case(case, TASKS[case.task], sandbox=sandbox)
    return result


WARM_CASES = [c for c in CASES if c.checker in WARM_CHECKERS]


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", WARM_CASES, ids=[c.name for c in WARM_CASES])
def test_exploit_is_not_accepted_under_the_warm_pool(case, bwrap_or_skip):
    result = _run(case, "warm")
    if result.outcome == "not run":
        pytest.skip(f"{case.name}: {result.detail}")
    assert result.sandbox == "warm" and result.label == f"{case.name} (warm)"
    assert result.outcome != "verified", f"ACCEPTED EXPLOIT {case.name} under the warm pool: {case.attack}"
    assert result.as_expected, f"{case.name} (warm): got {result.outcome} ({result.reason}: {result.detail}), " \
                               f"wanted {result.expected}"


def test_smt_cases_cover_every_class_of_program_that_does_not_load_or_computes_otherwise():
    names = {c.name.split("/", 1)[1] for c in CASES if c.checker == "smt"}
    assert {"alias_builtin", "import_alias_rebinds_entry", "from_import_rebinds_entry", "future_braces",
            "from_import_missing_name", "import_missing_module", "constant_then_function", "duplicate_argument",
            "unused_default_divides_by_zero", "unused_undefined_decorator", "unused_undefined_annotation",
            "range_shadowed_by_module_def", "loop_break_skips_iterations", "name_bound_on_one_side_of_if",
            "while_loop_hangs_on_one_input"} <= names
    assert all(TASKS[c.task].language == "smt" for c in CASES if c.checker == "smt")


def test_the_warm_pool_reruns_the_python_and_smt_cases_only():
    runs = plan(CASES, sandbox="bwrap", warm=True)
    assert runs[:len(CASES)] == [(c, "bwrap") for c in CASES]
    extra = runs[len(CASES):]
    assert extra and {c.checker for c, _ in extra} == {"python", "smt"} and {b for _, b in extra} == {"warm"}
    assert plan(CASES, sandbox="warm", warm=True) == [(c, "warm") for c in CASES]
    assert plan(CASES, sandbox="bwrap") == [(c, "bwrap") for c in CASES]
    made = [CaseResult(name="smt/x", checker="smt", outcome="refuted", as_expected=True, expected="refuted",
                       sandbox=box) for box in ("bwrap", "warm", "warm")]
    rows = summarise(made)
    assert [(r.checker, r.cases) for r in rows] == [("smt", 1), ("smt (warm)", 2), ("all", 3)]


def _mini_corpus(tmp_path: Path, body: str) -> Path:
    (tmp_path / "python").mkdir()
    (tmp_path / "tasks.json").write_text((CORPUS_DIR / "tasks.json").read_text())
    (tmp_path / "python" / "honest.py").write_text(
        "# attack: none: this is a correct solution, so the runner must count it as accepted\n"
        "# checker: python\n# task: py_add\n# expect: refuted\n# rule: none\n\n" + body)
    return tmp_path


@pytest.mark.timeout(60)
def test_a_real_solution_counts_as_accepted_and_fails_the_command(tmp_path, bwrap_or_skip):
    corpus = _mini_corpus(tmp_path, "def add(a, b):\n    return a + b\n")
    cases, tasks = load_corpus(corpus)
    rows = summarise(run_corpus(cases, tasks, sandbox="bwrap"))
    assert (rows[-1].cases, rows[-1].accepted, rows[-1].unexpected) == (1, 1, 1)
    proc = subprocess.run(check=False, args=[sys.executable, "-m", "proofsmith", "redteam", "--corpus", str(corpus)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ACCEPTED EXPLOIT python/honest" in proc.stdout


@pytest.mark.timeout(120)
def test_a_real_smt_solution_counts_as_accepted_under_bwrap_and_the_warm_pool(tmp_path, bwrap_or_skip):
    (tmp_path / "smt").mkdir()
    (tmp_path / "tasks.json").write_text((CORPUS_DIR / "tasks.json").read_text())
    (tmp_path / "smt" / "honest.py").write_text(
        "# attack: none: a correct program, so the runner must count it as accepted\n# checker: smt\n"
        "# task: smt_gray_encode\n# expect: refuted\n# rule: none\n\ndef gray_encode(x):\n    return x ^ (x >> 1)\n")
    cases, tasks = load_corpus(tmp_path)
    results = run_corpus(cases, tasks, sandbox="bwrap", warm=True)
    assert [(r.label, r.outcome) for r in results] == [("smt/honest", "verified"), ("smt/honest (warm)", "verified")]
    rows = summarise(results)
    assert [(r.checker, r.accepted, r.unexpected) for r in rows] == [("smt", 1, 1), ("smt (warm)", 1, 1),
                                                                     ("all", 2, 2)]


#: payloads whose success, outside any sandbox, is harmless to the host: they only read or open a socket
_HARMLESS = ("sbx_net_tcp", "sbx_read_world_readable", "sbx_env_secrets", "sbx_net_inet6_udp")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", _HARMLESS)
def test_gated_payloads_win_without_a_sandbox(name, tmp_path):
    """The gate is real: with no sandbox the attack works and `add` answers right (so verified = escape)."""
    case = parse_case(CORPUS_DIR / "python" / f"{name}.py")
    program = case.text + "\nimport sys\nsys.stdout.write(str(add(1, 2)))\n"
    proc = subprocess.run(check=False, args=[sys.executable, "-c", program], capture_output=True, text=True, timeout=30, cwd=tmp_path,
                          env={**os.environ, "API_TOKEN": "s3cret"})
    assert proc.stdout.strip().endswith("3"), (name, proc.stdout[-200:], proc.stderr[-500:])


def test_lean_and_fstar_cases_are_not_run_without_a_prover_or_stand_in(monkeypatch):
    for name in ("PROOFSMITH_LEAN_REPL", "PROOFSMITH_LEAN_IMAGE", "PROOFSMITH_FSTAR", "PROOFSMITH_FSTAR_IMAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no fstar.exe
    for language in ("lean", "fstar"):
        case = next(c for c in CASES if c.checker == language)
        result = run_case(case, TASKS[case.task])
        assert (result.outcome, result.as_expected, result.standin) == ("not run", True, False), result
        assert result.detail.startswith("checker not installed"), result.detail


def test_stand_in_rows_are_labelled(standins, bwrap_or_skip):
    cases = [c for c in CASES if c.checker in standins][:2]
    if not cases:
        pytest.skip("a real Lean or F* is configured here")
    rows = summarise(run_corpus(cases, TASKS, sandbox="bwrap"))
    assert all(row.checker.endswith("(stand-in)") for row in rows[:-1]), rows


def test_command_lists_filters_and_reports_bad_input_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(check=False, args=[sys.executable, "-m", "proofsmith", "redteam", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=60, env=env)

    listed = run("--list")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == len(CASES)
    assert run("--list", "--checker", "coq").stdout.count("coq/") == sum(c.checker == "coq" for c in CASES)
    assert run("--list", "--checker", "smt").stdout.count("smt/") == sum(c.checker == "smt" for c in CASES) >= 16
    nothing = run("--case", "no-such-case")
    assert nothing.returncode == 2 and len(nothing.stderr.splitlines()) == 1
    assert nothing.stderr.startswith("error: no red-team case matches")
    bad = tmp_path / "bad"
    (bad / "python").mkdir(parents=True)
    (bad / "tasks.json").write_text("{}")
    (bad / "python" / "x.py").write_text("# attack: a\n# checker: python\n\nprint(1)\n")
    broken = run("--corpus", str(bad))
    assert broken.returncode == 2 and len(broken.stderr.splitlines()) == 1, broken.stderr
    assert "x.py: the header has no 'task:' line" in broken.stderr
    with pytest.raises(CorpusError, match="no red-team corpus"):
        load_corpus(tmp_path / "missing")


def test_python_cases_are_not_run_under_the_process_sandbox(process_sandbox):
    """The payloads fill /tmp and write world-writable dirs: the weak fallback sandbox must never be given them."""
    case = next(c for c in CASES if c.name == "python/sbx_fill_work_dir")
    result = run_case(case, TASKS[case.task], sandbox="process")
    assert result.outcome == "not run" and "process sandbox" in result.detail, result
