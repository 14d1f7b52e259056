"""benchmarks/search_scaling.py and benchmarks/pass_at_1.py: the curve arithmetic on hand-made rows, and real runs.

The pure parts (token grids, anytime curves, bootstrap intervals, the
"beats best-of-N" decision, the results file) are checked on rows written
here. The slow tests run the scripts for real: the default 0.5B model,
the bwrap Python checker, one HumanEval task at a tiny budget; they take
minutes of CPU, so they run only with PROOFSMITH_BENCH_SMOKE=1.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_file import append_row, open_for_append, read_rows
from scaling_curves import (
    Curve,
    axis_grid,
    beats,
    beats_baseline,
    bootstrap_interval,
    build_curve,
    call_grid,
    complete_tasks,
    exact_until,
    found_at,
    log_grid,
    per_task,
    verdict_line,
)


def row(task: str, strategy: str, seed: int, *, solved: bool, at: dict | None = None, spend: dict | None = None,
        error: str | None = None) -> dict:
    spend = spend or {"model_calls": 8, "tokens": 2000, "prompt_tokens": 900, "wall_s": 40.0}
    return {"task": task, "strategy": strategy, "seed": seed, "solved": solved, "found_at": at, "spend": spend,
            "error": error}


def at(tokens: float, calls: int = 1, wall: float = 1.0) -> dict:
    return {"model_calls": calls, "tokens": tokens, "prompt_tokens": 100, "wall_s": wall}


def keyed(rows: list[dict]) -> dict:
    return {(r["task"], r["strategy"], r["seed"]): r for r in rows}


def curve(strategy: str, lo: list[float], hi: list[float], *, exact: float = math.inf,
          grid: tuple[float, ...] = (64.0, 128.0)) -> Curve:
    mean = [(a + b) / 2 for a, b in zip(lo, hi, strict=True)]
    return Curve(strategy=strategy, axis="tokens", grid=grid, mean=tuple(mean), lo=tuple(lo), hi=tuple(hi),
                 n_tasks=10, exact_until=exact)


# ------------------------------------------------------------------------------------------------ grid and rows


def test_log_grid_covers_the_range_with_powers_of_two() -> None:
    assert log_grid(100, 1000) == [64.0, 128.0, 256.0, 512.0, 1024.0]
    assert log_grid(64, 64) == [64.0]
    assert log_grid(0.3, 3) == [0.25, 0.5, 1.0, 2.0, 4.0]
    with pytest.raises(ValueError):
        log_grid(0, 10)


def test_axis_grids_cover_what_the_runs_spent_from_a_floor() -> None:
    assert call_grid(32) == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert call_grid(12) == [1.0, 2.0, 4.0, 8.0, 12.0]
    rows = [row("a", "s", 0, solved=True, at=at(3, wall=0.004)),
            row("b", "s", 0, solved=False, spend={"model_calls": 8, "tokens": 900, "prompt_tokens": 0, "wall_s": 5}),
            row("c", "s", 0, solved=False, spend=None, error="boom")]
    assert axis_grid(rows, "model_calls", 8) == [1.0, 2.0, 4.0, 8.0]
    # 3 tokens and 4 ms (automation) start the grid at its floor, 16 tokens and half a second
    assert axis_grid(rows, "tokens", 8) == [16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0]
    assert axis_grid(rows, "wall_s", 8) == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    assert axis_grid([], "tokens", 8) == [1.0]


def test_a_row_is_solved_where_its_search_found_the_answer_and_only_if_the_answer_is_right() -> None:
    assert found_at(row("t", "s", 0, solved=True, at=at(300)), "tokens") == 300
    # found by the search's visible tests, but the hidden tests failed it: never solved
    assert found_at(row("t", "s", 0, solved=False, at=at(300)), "tokens") is None
    # right answer that never passed the search's checks: only the whole spend returns it
    assert found_at(row("t", "s", 0, solved=True, at=None), "tokens") == 2000
    assert found_at(row("t", "s", 0, solved=True, at=at(300), error="boom"), "tokens") is None


def test_exact_until_is_the_least_spend_of_an_unsolved_run() -> None:
    rows = [row("a", "s", 0, solved=True, at=at(100)),
            row("b", "s", 0, solved=False, spend={"model_calls": 8, "tokens": 700, "prompt_tokens": 0, "wall_s": 9}),
            row("c", "s", 0, solved=False, spend={"model_calls": 8, "tokens": 500, "prompt_tokens": 0, "wall_s": 3}),
            row("d", "s", 0, solved=False, spend=None, error="boom")]
    assert exact_until(rows, "tokens") == 500
    assert exact_until(rows, "wall_s") == 3
    assert exact_until(rows[:1], "tokens") == math.inf


def test_per_task_averages_seeds_and_counts_a_solve_from_its_token_spend_on() -> None:
    rows = keyed([row("a", "s", 0, solved=True, at=at(100)), row("a", "s", 1, solved=True, at=at(300)),
                  row("b", "s", 0, solved=False, at=at(50)), row("b", "s", 1, solved=True, at=at(64))])
    got = per_task(rows, ["a", "b"], "s", [0, 1], "tokens", [64, 128, 256, 512])
    assert got.tolist() == [[0.0, 0.5, 0.5, 1.0], [0.5, 0.5, 0.5, 0.5]]
    # a missing seed counts as unsolved, not as absent
    assert per_task(rows, ["a"], "s", [0, 1, 2], "tokens", [512]).tolist() == [[pytest.approx(2 / 3)]]


def test_complete_tasks_need_every_strategy_and_seed() -> None:
    rows = keyed([row("a", "x", 0, solved=True), row("a", "y", 0, solved=True), row("b", "x", 0, solved=True)])
    assert complete_tasks(rows, ["a", "b"], ["x", "y"], [0]) == ["a"]
    assert complete_tasks(rows, ["a", "b"], ["x", "y"], [0, 1]) == []


# ------------------------------------------------------------------------------------------------ bootstrap


def test_bootstrap_interval_holds_the_mean_and_is_a_point_when_every_task_agrees() -> None:
    same = np.full((12, 2), 0.5)
    mean, lo, hi = bootstrap_interval(same, resamples=200)
    assert mean.tolist() == lo.tolist() == hi.tolist() == [0.5, 0.5]
    mixed = np.array([[0.0], [1.0]] * 10)
    mean, lo, hi = bootstrap_interval(mixed, resamples=4000, seed=1)
    assert mean[0] == 0.5
    # half of 20 Bernoulli tasks: the 95 % interval is about 0.5 +- 0.22
    assert 0.22 < lo[0] < 0.36 and 0.64 < hi[0] < 0.78
    again = bootstrap_interval(mixed, resamples=4000, seed=1)
    assert again[1][0] == lo[0] and again[2][0] == hi[0]


def test_bootstrap_interval_of_no_tasks_is_nan() -> None:
    mean, lo, hi = bootstrap_interval(np.zeros((0, 3)))
    assert all(math.isnan(v) for v in [*mean, *lo, *hi])


def test_build_curve_on_hand_made_rows() -> None:
    tasks = [f"t{i}" for i in range(10)]
    rows = keyed([row(t, "s", 0, solved=True, at=at(100 if i < 5 else 1000)) for i, t in enumerate(tasks)])
    c = build_curve(rows, tasks, "s", [0], "tokens", [64, 128, 1024], resamples=500)
    assert c.mean == (0.0, 0.5, 1.0)
    assert c.lo[0] == c.hi[0] == 0.0 and c.lo[2] == c.hi[2] == 1.0
    assert c.lo[1] < 0.5 < c.hi[1]
    assert c.n_tasks == 10 and c.exact_until == math.inf


# ------------------------------------------------------------------------------------------------ the decision


def test_beats_needs_intervals_that_do_not_overlap() -> None:
    base = curve("best_of_n", [0.2, 0.3], [0.4, 0.5])
    assert beats(curve("mcts", [0.41, 0.45], [0.7, 0.8]), base) == [64.0]
    # touching is overlapping
    assert beats(curve("mcts", [0.4, 0.5], [0.7, 0.8]), base) == []
    # a higher mean with overlapping intervals is not a win
    assert beats(curve("mcts", [0.35, 0.45], [0.9, 0.9]), base) == []


def test_beating_the_baseline_where_it_is_only_a_lower_bound_does_not_count() -> None:
    base = curve("best_of_n", [0.2, 0.2], [0.3, 0.3], exact=100)
    assert beats(curve("mcts", [0.5, 0.5], [0.7, 0.7]), base) == [64.0]
    with pytest.raises(ValueError):
        beats(curve("mcts", [0.5], [0.7], grid=(64.0,)), base)


def test_the_verdict_line_says_plainly_yes_or_no() -> None:
    base = curve("best_of_n", [0.2, 0.3], [0.4, 0.5])
    curves = {"best_of_n": base, "mcts": curve("mcts", [0.5, 0.6], [0.8, 0.9]),
              "beam": curve("beam", [0.0, 0.1], [0.3, 0.6])}
    wins = beats_baseline(curves, "best_of_n")
    assert wins == {"mcts": [64.0, 128.0], "beam": []}
    line = verdict_line(wins, "best_of_n", "tokens", 10, 3)
    assert line.startswith("Yes: mcts at 64, 128 generated tokens beat best_of_n")
    assert "10 tasks x 3 seed(s)" in line
    assert verdict_line({"beam": []}, "best_of_n", "tokens", 10, 3).startswith(
        "No: no strategy beats best_of_n at equal generated tokens")
    # one task's "interval" is a point: too few tasks to claim anything either way
    assert verdict_line(wins, "best_of_n", "tokens", 1, 1).startswith("Undecided: 1 complete task(s)")
    with pytest.raises(ValueError):
        beats_baseline({"mcts": base}, "best_of_n")


# ------------------------------------------------------------------------------------------------ token credit


def test_best_of_n_is_credited_with_the_tokens_up_to_its_verified_sample_not_the_batch() -> None:
    """The policy is scripted (tests/search_doubles.py: 10 tokens per answer); the checker is the real one."""
    from search_doubles import ScriptedPolicy

    from proofsmith.schema import Limits, Task
    from proofsmith.search import BestOfN, Budget, SearchChecker

    task = Task(id="add-credit", language="python", kind="program", entry_point="add",
                statement='def add(a, b):\n    """Return a + b."""\n',
                test_code="def check(candidate):\n    assert candidate(2, 3) == 5\n",
                limits=Limits(wall_s=10, cpu_s=5, memory_mb=512))
    answers = [f"```python\ndef add(a, b):\n    return {body}\n```" for body in ("a - b", "a + b", "b + a", "0")]
    checker = SearchChecker()
    try:
        result = BestOfN(batch=4).run(task, ScriptedPolicy(answers, tokens=10), checker, None,
                                      Budget(model_calls=4))
    finally:
        checker.close()
    assert result.solved and result.solved_at is not None
    assert result.spend.tokens == 40 and result.spend.model_calls == 4
    # the second sample verified: two samples' tokens, as its model calls are two samples
    assert (result.solved_at.model_calls, result.solved_at.tokens) == (2, 20)


# ------------------------------------------------------------------------------------------------ results file


def test_results_file_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    with open_for_append(path) as fh:
        append_row(fh, {"k": 1, "v": "a"})
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"k": 2, "v": "tor')  # a crash mid-write
    assert read_rows(path, lambda r: r["k"]) == {1: {"k": 1, "v": "a"}}
    with open_for_append(path) as fh:
        append_row(fh, {"k": 3, "v": "c"})
    assert set(read_rows(path, lambda r: r["k"])) == {1, 3}


# ------------------------------------------------------------------------------------------------ real runs


#: the real runs take minutes of CPU (about 4 on 2 cores: the model writes some 700 tokens and loads twice), over
#: what the default test run can afford; set PROOFSMITH_BENCH_SMOKE=1 to run them
smoke = pytest.mark.skipif(os.environ.get("PROOFSMITH_BENCH_SMOKE") != "1",
                           reason="real model runs of the benchmark scripts: set PROOFSMITH_BENCH_SMOKE=1")


def _script(name: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
@smoke
@pytest.mark.timeout(900)
def test_search_scaling_runs_for_real_resumes_and_reports_the_mode(tmp_path: Path) -> None:
    out = tmp_path / "scaling"
    args = ("--suite", "humaneval", "--limit", "1", "--seeds", "1", "--strategies", "best_of_n,cegis",
            "--max-budget", "2", "--threads", "2", "--parallel", "2", "--resamples", "200", "--out", str(out))
    first = _script("search_scaling.py", *args)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["task"], r["strategy"], r["seed"], r["mode"]) for r in rows] == [
        ("HumanEval/0", "best_of_n", 0, "visible"), ("HumanEval/0", "cegis", 0, "visible")]
    for r in rows:
        assert r["error"] is None, r
        assert 1 <= r["spend"]["model_calls"] <= 2 and r["spend"]["tokens"] > 0 and r["spend"]["prompt_tokens"] > 0
        assert r["solved_hidden"] == r["solved"]
        if r["found_at"] is not None:
            assert r["found_at"]["tokens"] <= r["spend"]["tokens"]
    md = (out / "scaling.md").read_text()
    assert "Mode: **visible**" in md and "Beats best_of_n at equal tokens?** Undecided" in md
    assert "humaneval: 1 of 1 tasks complete" in md
    assert (out / "scaling.png").stat().st_size > 0
    again = _script("search_scaling.py", *args)
    assert again.returncode == 0 and "2 row(s) already in" in again.stdout
    assert len((out / "results.jsonl").read_text().splitlines()) == 2
    oracle = _script("search_scaling.py", *args, "--oracle", "--report-only")
    assert oracle.returncode == 2 and "mode='visible'" in oracle.stdout
    capped = _script("search_scaling.py", *args, "--max-tokens", "64", "--report-only")
    assert capped.returncode == 2 and "max_tokens=None" in capped.stdout
    assert all(r["max_tokens"] is None and r["max_seconds"] is None for r in rows)


@pytest.mark.slow
@smoke
@pytest.mark.timeout(900)
def test_pass_at_1_greedy_runs_for_real_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "pass1"
    args = ("--model", "default", "--limit", "1", "--threads", "2", "--out", str(out))
    first = _script("pass_at_1.py", *args)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    [r] = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert (r["suite"], r["model"], r["temperature"], r["seed"], r["task"]) == (
        "humaneval", "qwen2.5-coder-0.5b-q4", 0.0, 0, "HumanEval/0")
    assert r["error"] is None and r["tokens"] > 0 and isinstance(r["solved"], bool)
    assert "qwen2.5-coder-0.5b-q4" in first.stdout and "greedy" in first.stdout
    again = _script("pass_at_1.py", *args)
    assert "1 task(s) already in" in again.stdout
    # the harder suite into the same file: its own row, its own line of the table
    hard = _script("pass_at_1.py", *args, "--suite", "leetcode-hard")
    assert hard.returncode == 0, hard.stdout[-3000:] + hard.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["suite"] for r in rows] == ["humaneval", "leetcode-hard"] and rows[1]["error"] is None
    assert "leetcode-hard" in hard.stdout and "humaneval" in hard.stdout


def test_run_seed_outside_the_seeds_is_refused_in_one_line(tmp_path: Path) -> None:
    """`--run-seed` splits a run's seeds over processes; a seed the report would never read is an input error."""
    bad = _script("search_scaling.py", "--suite", "humaneval", "--limit", "1", "--seeds", "3", "--run-seed", "3",
                  "--report-only", "--out", str(tmp_path / "s"), timeout=120)
    assert bad.returncode == 2 and "--run-seed must be among the seeds 0..2" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr and not (tmp_path / "s").exists()


def test_the_leetcode_suite_loads_with_visible_tests_and_heads_for_the_chunk_searches(tmp_path: Path) -> None:
    """`--suite leetcode` (all difficulties) is a scaling suite: its tasks have visible tests and an answer head."""
    from suites import DEFAULT_SUITES, load_suite

    from proofsmith.search.candidates import answer_head
    from proofsmith.search.visibility import has_visible_tests

    tasks = load_suite("leetcode", 3, visible_only=True)
    assert len(tasks) == 3 and all(t.id.startswith("leetcode/") for t in tasks)
    assert all(has_visible_tests(t) and answer_head(t) for t in tasks)
    assert "leetcode" in DEFAULT_SUITES and "leetcode-hard" not in DEFAULT_SUITES
    report = _script("search_scaling.py", "--suite", "leetcode", "--limit", "2", "--seeds", "1", "--report-only",
                     "--out", str(tmp_path / "s"), timeout=300)
    assert report.returncode == 0 and "2 leetcode tasks" in report.stdout, report.stdout[-2000:]


def test_search_traces_reads_checks_echo_and_overfit_answers_from_a_run(tmp_path):
    """benchmarks/search_traces.py on a run directory written here: one solved search, one overfit answer."""
    from search_traces import read_results, read_traces, report

    statement = 'def f(x: int) -> int:\n    """Return x.\n\n    >>> f(1)\n    1\n    """\n'
    rows = [
        {"suite": "bitvec", "task": "bitvec/f", "strategy": "best_of_n", "seed": 0, "solved": True,
         "found_at": {"tokens": 40}, "error": None},
        {"suite": "bitvec", "task": "bitvec/f", "strategy": "refine", "seed": 0, "solved": False,
         "found_at": {"tokens": 90}, "error": None},
    ]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for strategy, checks in [("best_of_n", [("refuted", "counterexample", "counterexample: f(2) returned 3"),
                                            ("verified", None, None)]),
                             ("refine", [("refuted", "unsupported", "unsupported construct: `while` statement. "
                                          "The checker translates a subset")]),
                             ("beam", [("verified", None, None)])]:  # no row: a search still running
        events = [{"event": "start", "node": 0, "info": {"task_id": "bitvec/f", "strategy": strategy, "seed": 0,
                                                         "statement": statement}}]
        for i, (verdict, reason, error) in enumerate(checks, 1):
            events.append({"event": "node", "node": i, "step": "```python\ndef f(x: int) -> int:\n    return x\n```",
                           "spend": {"tokens": 20 * i}})
            events.append({"event": "check", "node": i, "verdict": verdict, "reason": reason, "error": error})
        trace = tmp_path / "traces" / strategy / "s0" / "bitvec_f.jsonl"
        trace.parent.mkdir(parents=True)
        trace.write_text("".join(json.dumps(e) + "\n" for e in events))

    traces, results = read_traces([tmp_path]), read_results([tmp_path])
    assert ("bitvec", "beam") not in traces
    best = traces[("bitvec", "best_of_n")]
    assert best["checks"] == 2 and best["reasons"] == {"counterexample": 1, "verified": 1}
    assert (best["gen_lines"], best["echo_lines"], best["tokens"]) == (4, 2, 40)
    assert traces[("bitvec", "refine")]["errors"] == {"unsupported: `while` statement": 1}
    assert results[("bitvec", "best_of_n")] == {"searches": 1, "solved": 1, "overfit": 0}
    assert results[("bitvec", "refine")] == {"searches": 1, "solved": 0, "overfit": 1}
    text = report([tmp_path])
    assert "| bitvec | best_of_n | 1 | 1 | 0 | 2 |" in text and "| 50 |" in text


def test_search_traces_rechecks_the_programs_refused_as_unsupported_with_the_current_checker(tmp_path):
    """`--recheck` rebuilds each refused program as its search built it and checks it again (real Z3, real
    sandbox): a whole answer of best_of_n, and beam's chunks after the statement, both `for` loops the subset
    once refused; a subscript it still refuses."""
    from search_traces import recheck, refused_programs

    from proofsmith.datasets.bitvec import load_tasks
    from proofsmith.search.candidates import answer_head

    task = next(t for t in load_tasks() if t.id == "bitvec/reverse_bits8")
    body = ["    r = 0\n    for i in range(8):\n", "        r = (r << 1) | (x & 1)\n        x >>= 1\n    return r\n"]
    whole = "```python\ndef reverse_bits8(x):\n" + "".join(body) + "```"
    listed = "```python\ndef reverse_bits8(x):\n    return [x][0]\n```"
    refusal = {"event": "check", "verdict": "refuted", "reason": "unsupported",
               "error": "unsupported construct: `for` statement."}
    rows = []
    for strategy, events in [
        ("best_of_n", [{"event": "node", "node": 1, "parent": 0, "step": whole}, {**refusal, "node": 1},
                       {"event": "node", "node": 2, "parent": 0, "step": listed}, {**refusal, "node": 2}]),
        ("beam", [{"event": "node", "node": 1, "parent": 0, "step": body[0]},
                  {"event": "node", "node": 2, "parent": 1, "step": body[1]}, {**refusal, "node": 2}]),
    ]:
        rows.append({"suite": "bitvec", "task": task.id, "strategy": strategy, "seed": 0, "solved": False,
                     "found_at": None, "error": None})
        start = {"event": "start", "node": 0, "info": {"task_id": task.id, "strategy": strategy, "seed": 0,
                                                       "statement": task.statement}}
        trace = tmp_path / "traces" / strategy / "s0" / "bitvec_reverse_bits8.jsonl"
        trace.parent.mkdir(parents=True)
        trace.write_text("".join(json.dumps(e) + "\n" for e in [start, *events]))
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    programs = refused_programs([tmp_path])
    assert len(programs) == 3
    assert any(p.startswith(answer_head(task)) and s == "beam" for (_, p), (_, s) in programs.items())
    counts, verified, still = recheck([tmp_path])
    assert counts == {("verified", ""): 2, ("refuted", "unsupported"): 1}
    assert verified == {(task.id, "best_of_n"): 1, (task.id, "beam"): 1}
    assert still == {"unsupported: subscript expression": 1}
