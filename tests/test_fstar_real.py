"""The F* checker against a real `fstar.exe --ide`: runs wherever F* is configured, skipped elsewhere.

Point it at F* with `PROOFSMITH_FSTAR=/path/to/fstar.exe` (the
proofsmith/fstar image has it: containers/README.md). Never run on the build
machines of this project: they have no F*.
"""

from __future__ import annotations

import os

import pytest

from proofsmith.provers import fstar
from proofsmith.provers.fstar_ide import toolchain_from_env
from proofsmith.sandbox import get_sandbox
from proofsmith.schema import Candidate, Limits, Task

TOOLCHAIN = toolchain_from_env()
pytestmark = [
    pytest.mark.needs_fstar,
    pytest.mark.skipif(TOOLCHAIN is None or TOOLCHAIN.standin,
                       reason="no real F* configured (set PROOFSMITH_FSTAR, see containers/README.md)"),
]

TASK = Task(id="real_add_comm", language="fstar", kind="proof", context="module Demo\n",
            statement="val add_comm : a:nat -> b:nat -> Lemma (a + b == b + a)",
            options={"name": "Demo.add_comm", "vconfig": {"z3rlimit": 20}}, limits=Limits(wall_s=120))


def check(text: str, **kw):
    return fstar.check(TASK, Candidate(task_id=TASK.id, text=text), toolchain=TOOLCHAIN,
                       sandbox=get_sandbox(os.environ.get("PROOFSMITH_TEST_SANDBOX", "auto")), **kw)


def test_a_real_lemma_is_verified():
    v = check("let add_comm a b = ()")
    assert v.status == "verified", v.diagnostics


@pytest.mark.parametrize(("text", "reason"), [
    ("let add_comm a b = admit ()", "assume"),
    ("let add_comm a b = assert (a + b == b + a + 1)", "fstar_error"),
])
def test_real_f_star_rejects(text, reason):
    v = check(text, precheck=False)
    assert v.status == "refuted" and v.reason == reason, v.diagnostics
