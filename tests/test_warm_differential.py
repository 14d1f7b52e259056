"""HumanEval under `--sandbox warm` and `--sandbox bwrap`: the same verdict for the same candidate, and no stolen spec.

Three candidates per task: the canonical solution (verified), `return None`
(refuted) and the spec thief (tests/spec_thief.py: it implements nothing and
answers from whatever of the judge's tests it can find in its own process;
refuted). Under the warm pool all 164 tasks run (the thief verified 155 of
them before the zygote stopped holding the judge's input). Under bwrap the
canonical and `return None` verdicts of all 164 tasks are the run's shared
ones (`humaneval_default_verdicts`, which the Python checker's test reads
too); the thief, at a fresh bubblewrap per process, runs on a seeded sample
of `BWRAP_SAMPLE` tasks by default, and on all 164 with
`PROOFSMITH_DIFFERENTIAL_FULL=1`:

    PROOFSMITH_DIFFERENTIAL_FULL=1 .venv/bin/python -m pytest -q tests/test_warm_differential.py
"""

from __future__ import annotations

import os
import random

import pytest
import spec_thief

from proofsmith.provers import check_many
from proofsmith.schema import Candidate

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("warm_or_skip")]

#: Tasks checked under bwrap by default (all 164 with PROOFSMITH_DIFFERENTIAL_FULL=1).
BWRAP_SAMPLE = 40
SEED = 18


def _humaneval():
    humaneval = pytest.importorskip("proofsmith.datasets.humaneval")
    try:
        tasks = humaneval.load_tasks()
    except humaneval.HumanEvalMissing as exc:
        pytest.skip(str(exc))
    assert len(tasks) == 164
    return humaneval, tasks


def _thieves(tasks):
    return [(t, Candidate(task_id=t.id, id="spec-thief", text=spec_thief.program(t.entry_point))) for t in tasks]


def _pairs(humaneval, tasks):
    return [*zip(tasks, humaneval.canonical_candidates(tasks)), *zip(tasks, humaneval.wrong_candidates(tasks)),
            *_thieves(tasks)]


def _outcome(verdict) -> tuple[str, str | None]:
    return verdict.status, verdict.reason


@pytest.mark.timeout(900)
def test_humaneval_verdicts_agree_under_warm_and_bwrap_and_the_thief_is_refuted_on_all_164(
        humaneval_default_verdicts):
    humaneval, tasks = _humaneval()
    warm = check_many(_pairs(humaneval, tasks), jobs=2, sandbox="warm", use_cache=False)
    by_candidate = {(v.task_id, v.candidate_id): v for v in warm}
    stolen = [(v.task_id, v.status, v.reason) for v in warm if v.candidate_id == "spec-thief" and v.status != "refuted"]
    assert not stolen, f"the thief was not refuted under the warm pool: {stolen}"
    expected = {"canonical": "verified", "return-none": "refuted", "spec-thief": "refuted"}
    off = [(v.task_id, v.candidate_id, v.status, v.reason) for v in warm if v.status != expected[v.candidate_id]]
    assert not off, off

    sample = tasks if os.environ.get("PROOFSMITH_DIFFERENTIAL_FULL") else \
        random.Random(SEED).sample(tasks, BWRAP_SAMPLE)
    # the shared verdicts came from the "auto" sandbox, which is bwrap wherever the warm pool runs
    bwrap = [*humaneval_default_verdicts.verdicts,
             *check_many(_thieves(sample), jobs=2, sandbox="bwrap", use_cache=False)]
    assert len(bwrap) == 2 * len(tasks) + len(sample)
    differ = [(v.task_id, v.candidate_id, _outcome(v), _outcome(by_candidate[(v.task_id, v.candidate_id)]))
              for v in bwrap if _outcome(v) != _outcome(by_candidate[(v.task_id, v.candidate_id)])]
    assert not differ, f"(task, candidate, bwrap, warm) where the sandboxes disagree: {differ}"
    assert all(v.manifest.sandbox == "bwrap" for v in bwrap)
    assert all(v.manifest.sandbox == "bwrap-warm" for v in warm)
