"""Python contracts checked symbolically by real CrossHair in the real sandbox, beside the tests."""

from __future__ import annotations

import pytest

from proofsmith import provers
from proofsmith.provers import python_contracts
from proofsmith.schema import Candidate, IOTest, Task

if python_contracts.site_packages() is None:
    pytest.skip("CrossHair is not installed (pip install crosshair-tool)", allow_module_level=True)
if not python_contracts.python_version_matches():
    pytest.skip("the candidates' CPython is another minor version than CrossHair's", allow_module_level=True)

GOOD = '''def clamp(x: int) -> int:
    """
    pre: x > -1000
    post: 0 <= __return__ <= 100
    """
    if x < 0:
        return 0
    return x if x < 100 else 100
'''
# passes the tests below, breaks its postcondition at exactly x == 100
BAD = GOOD.replace("x if x < 100 else 100", "x if x < 100 else 101")


def _task(contracts: bool) -> Task:
    return Task(id="contracts/clamp", language="python", kind="program", statement="def clamp(x: int) -> int:\n",
                entry_point="clamp", io_tests=[IOTest(args=[-5], expected=0), IOTest(args=[42], expected=42)],
                options={"contracts": "crosshair"} if contracts else {})


def _check(task: Task, text: str):
    return provers.check(task, Candidate(task_id=task.id, text=text), use_cache=False)


def _contract_notes(verdict) -> list:
    return [d for d in verdict.diagnostics if d.message.startswith("contracts (CrossHair)")]


def test_a_contract_violation_the_tests_miss_is_reported_beside_the_tests():
    verdict = _check(_task(True), BAD)
    assert verdict.status == "verified"  # the tests pass: the contract report does not change the status
    [note] = _contract_notes(verdict)
    assert note.severity == "warning" and "clamp(100)" in note.message and "101" in note.message


def test_a_program_keeping_its_contracts_gets_a_bounded_no_violation_note():
    verdict = _check(_task(True), GOOD)
    assert verdict.status == "verified"
    [note] = _contract_notes(verdict)
    assert note.severity == "info" and "no contract violation found" in note.message and "not a proof" in note.message


def test_without_the_option_there_is_no_contract_check():
    assert _contract_notes(_check(_task(False), BAD)) == []


def test_a_program_without_contracts_says_so():
    plain = "def clamp(x):\n    return max(0, min(x, 100))\n"
    [note] = _contract_notes(_check(_task(True), plain))
    assert "no `pre:`/`post:`" in note.message


def test_under_the_warm_pool_crosshair_reports_what_it_reports_under_bwrap():
    """`--sandbox warm` (kind `bwrap-warm`) runs CrossHair in bwrap: the same notes as `--sandbox bwrap`."""
    from proofsmith.sandbox import probe

    if not probe.bwrap_works():
        pytest.skip("bubblewrap cannot create its namespaces here (the warm pool runs on it)")
    for sandbox in ("bwrap", "warm"):
        verdict = provers.check(_task(True), Candidate(task_id="contracts/clamp", text=BAD), sandbox=sandbox,
                                use_cache=False)
        assert verdict.status == "verified", (sandbox, verdict.diagnostics)
        [note] = _contract_notes(verdict)
        assert note.severity == "warning" and "clamp(100)" in note.message, (sandbox, note.message)
