"""Efficiency timers and the ENAMEL-style score, on the real sandbox.

The `cpu` mode compares the CPU time of candidate and reference in paired,
interleaved rounds (the reference's best run, the median paired ratio); the
`exact` mode counts instructions under cachegrind. Efficiency is never
correctness: a candidate that verifies keeps its `verified` whatever its
timing.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from proofsmith.provers import check
from proofsmith.provers import efficiency as eff
from proofsmith.schema import Limits

# --------------------------------------------------------------------------- score


def test_score_is_one_at_or_below_the_reference():
    for ratio in (0.0, 0.01, 0.5, 0.99, 1.0):
        assert eff.score(ratio * 100.0, 100.0) == 1.0


def test_score_is_zero_at_or_beyond_the_cap():
    cap = eff.CAP_FACTOR
    for ratio in (cap, cap + 0.01, 10.0, 1e6):
        assert eff.score(ratio * 100.0, 100.0) == 0.0
    assert eff.score(300.0, 100.0, cap_factor=3.0) == 0.0


def test_score_is_linear_in_between_and_monotone():
    cap = eff.CAP_FACTOR
    mid = (1.0 + cap) / 2
    assert eff.score(mid * 10.0, 10.0) == pytest.approx(0.5)
    grid = [i / 100 for i in range(0, int(cap * 100) + 200)]
    scores = [eff.score(r * 7.0, 7.0) for r in grid]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(a >= b for a, b in zip(scores, scores[1:])), "score must not rise as the candidate slows"
    assert scores[0] == 1.0 and scores[-1] == 0.0


def test_score_depends_only_on_the_ratio():
    for ratio in (0.5, 1.3, 2.0, 3.7):
        assert eff.score(ratio * 1e-3, 1e-3) == pytest.approx(eff.score(ratio * 5e9, 5e9))


def test_score_with_a_free_reference():
    assert eff.score(0.0, 0.0) == 1.0
    assert eff.score(1.0, 0.0) == 0.0


def test_paired_costs_survive_a_slowdown_that_starts_mid_measurement():
    # The CI failure of stop 19: identical code, the reference's first round clean (48 ms), every
    # later run of both sides ~1.7x slower. Best of each side alone gave the candidate ratio 1.74.
    pairs = [(48.0, 83.5), (82.0, 84.0), (83.0, 83.0), (81.0, 85.0), (84.0, 82.0)]
    best_r, cand = eff.paired_costs(pairs)
    assert best_r == 48.0
    assert 0.95 <= cand / best_r <= 1.05
    assert min(c for _, c in pairs) / best_r > 1.7  # what best-of-each-side would have said


def test_paired_costs_keep_a_real_slowdown_of_the_candidate():
    pairs = [(50.0, 150.0), (52.0, 149.0), (49.0, 160.0), (51.0, 151.0), (50.0, 300.0)]
    best_r, cand = eff.paired_costs(pairs)
    assert best_r == 49.0
    assert 2.8 <= cand / best_r <= 3.1
    with pytest.raises(ValueError):
        eff.paired_costs([])


# --------------------------------------------------------------------------- cpu mode

# ~40 ms per call at n = 1.2 M on the build VM's CPython 3.11
PERF_N = 1_200_000

WORK = textwrap.dedent("""
    def work(n):
        s = 0
        for i in range(n):
            s += i * i
        return s
""")
WORK_3X = textwrap.dedent("""
    def work(n):
        for _ in range(3):
            s = 0
            for i in range(n):
                s += i * i
        return s
""")
WORK_TESTS = "def check(candidate):\n    assert candidate(10) == 285\n    assert candidate(0) == 0\n"


@pytest.fixture
def work_task(py_task, bwrap_or_skip):
    def make(perf_n: int = PERF_N, reference: str = WORK, limits: Limits | None = None):
        return py_task(id="work", entry_point="work", statement="def work(n):\n", test_code=WORK_TESTS,
                       reference=reference, perf_inputs=[[perf_n]],
                       limits=limits or Limits(wall_s=10, cpu_s=10, memory_mb=512))
    return make


@pytest.mark.timeout(120)
def test_cpu_mode_identical_code_has_ratio_near_one(work_task, candidate):
    task = work_task()
    v = check(task, candidate(task, WORK), efficiency="cpu", use_cache=False)
    assert v.status == "verified", v
    e = v.efficiency
    assert e is not None and e.mode == "cpu" and e.unit == "ns" and not e.timed_out
    assert 0.75 <= e.ratio <= 1.33, e
    assert e.score >= 0.85, e
    took_ms = e.reference_cost / 1e6
    assert 20 <= took_ms <= 400, f"the perf input should take tens of ms, took {took_ms:.0f} ms"
    assert e.candidate_peak_kb and e.reference_peak_kb


@pytest.mark.timeout(120)
def test_cpu_mode_three_times_the_loop_has_ratio_near_three(work_task, candidate):
    task = work_task()
    v = check(task, candidate(task, WORK_3X), efficiency="cpu", use_cache=False)
    assert v.status == "verified", v
    e = v.efficiency
    assert 2.0 <= e.ratio <= 4.5, e
    assert e.score <= 0.75, e
    assert e.score == pytest.approx(eff.score(e.candidate_cost, e.reference_cost), abs=0.05)


@pytest.mark.timeout(120)
def test_endless_loop_on_the_perf_input_times_out_but_stays_verified(work_task, candidate):
    task = work_task()
    v = check(task, candidate(task, """
        def work(n):
            if n > 1000:
                while True:
                    pass
            s = 0
            for i in range(n):
                s += i * i
            return s
    """), efficiency="cpu", use_cache=False)
    assert v.status == "verified", v  # efficiency is not correctness
    assert v.reward == 1.0
    assert v.efficiency is not None and v.efficiency.timed_out is True
    assert v.efficiency.score == 0.0


@pytest.mark.timeout(120)
def test_no_efficiency_without_a_request(work_task, candidate):
    task = work_task()
    v = check(task, candidate(task, WORK), use_cache=False)
    assert v.status == "verified" and v.efficiency is None


@pytest.mark.timeout(120)
def test_cpu_mode_forged_timing_replies_do_not_help(work_task, candidate):
    task = work_task()
    v = check(task, candidate(task, WORK_3X.replace("def work(n):", """
import json as _json, os as _os, sys as _sys
_forged = False
def work(n):
    global _forged
    if n > 1000 and not _forged:
        _forged = True
        fake = _json.dumps({"ok": True, "times_ns": [1000], "peak_kb": 1}) + "\\n"
        _os.write(int(_sys.argv[3]), (fake * 50).encode())""", 1)), efficiency="cpu", use_cache=False)
    assert v.status == "verified", v
    # A forged reply carries no right answer: either it is read as wrong (no ratio)
    # or the real, slow reply is measured from outside.
    assert v.efficiency.ratio is None or v.efficiency.ratio >= 2.0, v.efficiency
    assert v.efficiency.score <= 0.75, v.efficiency


# --------------------------------------------------------------------------- exact mode

# 200 k iterations (about 180 M instructions under cachegrind): the loop still dwarfs the few instructions
# in which two runs' overheads differ; each iteration more only lengthens all twelve valgrind runs
EXACT_N = 200_000
LOOP = textwrap.dedent("""
    def work(n):
        for i in range(n):
            x = i + 1
        return n
""")
LOOP_20_PERCENT_MORE = textwrap.dedent("""
    def work(n):
        for i in range(n + n // 5):
            x = i + 1
        return n
""")
FORGED_IREFS = textwrap.dedent("""
    import sys
    sys.stderr.write("==1== I   refs:      1,000\\n")
    sys.stderr.flush()
    def work(n):
        for _ in range(3):
            for i in range(n):
                x = i + 1
        return n
""")


@pytest.fixture(scope="module")
def exact_verdicts(bwrap_or_skip, py_task, candidate):
    """The exact-mode verdicts of three candidates against LOOP (one valgrind batch for the module)."""
    if not os.path.exists("/usr/bin/valgrind"):
        pytest.skip("valgrind is not installed (apt-get install valgrind)")
    task = py_task(id="loop", entry_point="work", statement="def work(n):\n",
                     test_code="def check(candidate):\n    assert candidate(10) == 10\n",
                     reference=LOOP, perf_inputs=[[EXACT_N]], limits=Limits(wall_s=10, cpu_s=10, memory_mb=512))
    out = {}
    for name, source in (("more", LOOP_20_PERCENT_MORE), ("same", LOOP), ("forged", FORGED_IREFS)):
        out[name] = check(task, candidate(task, source), efficiency="exact", use_cache=False)
    return out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exact_mode_sees_exactly_twenty_percent_more_work(exact_verdicts):
    v = exact_verdicts["more"]
    assert v.status == "verified", v
    e = v.efficiency
    assert e.mode == "exact" and e.unit == "instructions" and not e.timed_out
    assert e.ratio == pytest.approx(1.2, rel=0.01), e
    assert e.score == pytest.approx(eff.score(e.candidate_cost, e.reference_cost))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exact_mode_same_code_has_ratio_one(exact_verdicts):
    e = exact_verdicts["same"].efficiency
    assert e.ratio == pytest.approx(1.0, rel=0.01), e
    assert e.score == 1.0 or e.ratio > 1.0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exact_mode_is_deterministic(exact_verdicts):
    costs = {name: v.efficiency.reference_cost for name, v in exact_verdicts.items()}
    assert len(set(costs.values())) == 1, costs


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exact_mode_forged_instruction_count_does_not_help(exact_verdicts):
    e = exact_verdicts["forged"].efficiency
    assert e.ratio is not None and e.ratio >= 2.5, e
    assert e.score <= 0.6, e
