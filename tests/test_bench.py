"""proofsmith bench without a model: spec validation, the store's guarantees, the estimators, reports, compare.

Everything runs on the real components (the real Store on SQLite, the real
spec loader with the installed suites, matplotlib); the results fed to the
metrics are JobResults built here, since what is under test is the arithmetic.
"""

from __future__ import annotations

import math
import sqlite3
from itertools import combinations

import pytest

from proofsmith.bench import compare as compare_mod
from proofsmith.bench.jobs import Config, Job, JobResult, configurations
from proofsmith.bench.metrics import bootstrap_ci, eff_at_k, summarise
from proofsmith.bench.spec import RunSpec, SpecError, load, parse, resolve
from proofsmith.bench.store import SCHEMA_VERSION, Store, StoreError, iter_rows
from proofsmith.search.budget import Spend
from proofsmith.search.metrics import pass_at_k

GOOD = """
name: t
suites: [{suite: humaneval, tasks: [HumanEval/0]}]
models: [small]
strategies: [best_of_n, mcts]
budgets: [4, 2]
"""


def _spec(text: str = GOOD) -> RunSpec:
    return parse(text, fmt="yaml", origin="spec.yaml")


# ------------------------------------------------------------------------------------------ spec


@pytest.mark.parametrize(("change", "field"), [
    (("strategies: [best_of_n, mcts]", "strategies: [best_of_n, bogus]"), "strategies[1]: unknown strategy 'bogus'"),
    (("suite: humaneval", "suite: humaneva"), "suites[0].suite: unknown suite 'humaneva'"),
    (("models: [small]", "models: [gpt-17]"), "models[0]: unknown model 'gpt-17'"),
    (("budgets: [4, 2]", "budgets: [4, 0]"), "budgets[1]: a budget is model calls per search and must be at least 1"),
    (("name: t", "name: t\nbudget: 3"), "budget: unknown field"),
])
def test_invalid_spec_names_the_field(change, field):
    with pytest.raises(SpecError) as info:
        _spec(GOOD.replace(*change))
    message = str(info.value)
    assert message.startswith("spec.yaml: ") and field in message
    assert "\n" not in message


def test_spec_toml_and_shipped_name(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('name = "t"\nstrategies = ["mcts"]\nbudgets = [8]\n[[suites]]\nsuite = "coq-stdlib-mini"\n'
                    "limit = 3\n")
    spec = load(str(toml))
    assert spec.models == ["default"] and spec.budgets == [8] and spec.suites[0].limit == 3
    assert resolve("cpu-smoke").name == "cpu-smoke.yaml"
    smoke = load("cpu-smoke")
    assert smoke.name == "cpu-smoke" and len(smoke.strategies) == 2 and len(smoke.budgets) == 2
    with pytest.raises(SpecError, match="no shipped spec of that name"):
        resolve("no-such-spec")


def test_configurations_cover_the_grid_and_samples():
    spec = _spec(GOOD + "samples: 5\n")
    labels = [c.label for c in configurations(spec)]
    assert labels == ["small/best_of_n@2", "small/best_of_n@4", "small/mcts@2", "small/mcts@4",
                      "small/best_of_n+collect@5"]


def test_invalid_spec_fails_before_any_job(tmp_path):
    """`bench run` with a bad spec: one error line, exit 2, and no run directory is created."""
    from click.testing import CliRunner

    from proofsmith.cli import cli

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("HumanEval/0", "HumanEval/99999"))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["bench", "run", str(bad), "--out", str(out)], standalone_mode=False,
                                catch_exceptions=True)
    assert "suites[0].tasks[0]: no task 'HumanEval/99999'" in str(result.exception)
    assert not out.exists()


# ------------------------------------------------------------------------------------------ store


def _job(task: str, seed: int = 0, config: Config | None = None, suite: str = "s") -> Job:
    config = config or Config(model="m", strategy="best_of_n", budget=4)
    return Job(id=f"{suite}-{task}-{config.label}-{seed}", suite=suite, task_id=task, language="python",
               config=config, seed=seed)


def _result(job: Job, outcome: str = "solved", **kw) -> JobResult:
    spend = kw.pop("spend", Spend(model_calls=4, tokens=100))
    return JobResult(job_id=job.id, outcome=outcome, spend=spend,
                     solved_at_calls=kw.pop("solved_at_calls", 2 if outcome == "solved" else None), **kw)


def test_store_writes_each_job_once_and_survives_reopen(tmp_path):
    spec = _spec()
    jobs = [_job("a"), _job("b")]
    with Store(tmp_path, create=True) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.set_spec(spec)
        store.add_jobs(jobs)
        assert store.record(_result(jobs[0]))
        assert not store.record(_result(jobs[0], "unsolved"))  # a second result for the job is refused
    with Store(tmp_path, create=False) as store:
        assert store.spec() == spec
        assert store.done_ids() == {jobs[0].id}
        assert store.results()[jobs[0].id].outcome == "solved"
        assert [j.id for j, _ in iter_rows(store)] == [jobs[0].id]
        assert store.record_crash(jobs[1].id, "crash: x") == 1 and store.record_crash(jobs[1].id, "crash: y") == 2
        with pytest.raises(sqlite3.IntegrityError):  # the UNIQUE key itself, not only INSERT OR IGNORE
            store.db.execute("INSERT INTO results VALUES (?, 'solved', '{}', 0)", (jobs[0].id,))
        with pytest.raises(StoreError, match="different spec"):
            store.set_spec(_spec(GOOD.replace("budgets: [4, 2]", "budgets: [3]")))


def test_store_of_another_version_is_refused(tmp_path):
    Store(tmp_path, create=True).close()
    db = sqlite3.connect(tmp_path / "bench.sqlite")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(StoreError) as info:
        Store(tmp_path, create=False)
    message = str(info.value)
    assert f"store schema version {SCHEMA_VERSION + 1}" in message and f"reads version {SCHEMA_VERSION}" in message
    assert "new run in another directory" in message

    from click.testing import CliRunner

    from proofsmith.cli import cli

    result = CliRunner().invoke(cli, ["bench", "report", str(tmp_path)], standalone_mode=False)
    assert f"store schema version {SCHEMA_VERSION + 1}" in str(result.exception)


def test_not_a_store_and_no_store(tmp_path):
    with pytest.raises(StoreError, match="no run here"):
        Store(tmp_path / "nothing", create=False)
    db = sqlite3.connect(tmp_path / "bench.sqlite")
    db.execute("CREATE TABLE other (x)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a proofsmith bench store"):
        Store(tmp_path, create=False)


# ------------------------------------------------------------------------------------------ estimators


def test_pass_at_k_matches_the_closed_form():
    # 1 - C(n-c, k) / C(n, k), and the cases one can work out by hand
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # C(3,2)/C(5,2)
    assert pass_at_k(4, 2, 3) == 1.0  # every 3 of 4 include a correct one
    for n, c, k in [(20, 3, 1), (20, 3, 10), (100, 7, 17)]:
        assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))
        # and it is the probability over every k-subset
        if n <= 20:
            subsets = list(combinations([1] * c + [0] * (n - c), k))
            assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))


def test_eff_at_k_is_the_expected_best_of_k():
    scores = [0.0, 0.3, 0.9, 0.5]
    assert eff_at_k(scores, 1) == pytest.approx(sum(scores) / 4)
    assert eff_at_k(scores, 4) == pytest.approx(0.9)
    subsets = list(combinations(scores, 2))
    assert eff_at_k(scores, 2) == pytest.approx(sum(max(s) for s in subsets) / len(subsets))
    with pytest.raises(ValueError):
        eff_at_k(scores, 5)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [1, 0, 1, 1, 0, 0, 1, 1, 1, 0]
    lo, hi = bootstrap_ci(values)
    assert (lo, hi) == bootstrap_ci(values)
    assert 0 <= lo < 0.6 < hi <= 1
    assert bootstrap_ci([1, 1, 1]) == (1.0, 1.0)


def test_summary_counts_unknown_as_unsolved_and_reads_coverage():
    config = Config(model="m", strategy="best_of_n", budget=4)
    rows = []
    for task, seed, outcome, at in [("a", 0, "solved", 1), ("a", 1, "solved", 3), ("b", 0, "unknown", None),
                                    ("b", 1, "unsolved", None)]:
        job = _job(task, seed, config)
        rows.append((job, _result(job, outcome, solved_at_calls=at, checker_s=1.5)))
    (s,) = summarise("r", rows, pass_k=[1, 2, 3])
    assert s.solved == 2 and s.unknown == 1 and s.jobs == 4 and s.tasks == 2
    assert s.solved_rate.value == pytest.approx(0.5)
    assert set(s.pass_at) == {1, 2}  # only two seeds per task: no pass@3
    assert s.pass_at[2].value == pytest.approx(0.5)
    assert s.per_task == {"a": 1.0, "b": 0.0}
    assert s.coverage == [(1, 0.25), (2, 0.25), (3, 0.5), (4, 0.5)]
    assert s.calls_per_solve == pytest.approx(16 / 2) and s.checker_s_per_solve == pytest.approx(3.0)


def test_collected_samples_give_pass_at_k_per_task():
    config = Config(model="m", strategy="best_of_n", budget=10, collect=True)
    job = _job("a", 0, config)
    rows = [(job, _result(job, "solved", spend=Spend(model_calls=10), verified=3, checked=9))]
    (s,) = summarise("r", rows, pass_k=[1, 5])
    assert s.pass_at[1].value == pytest.approx(0.3)
    assert s.pass_at[5].value == pytest.approx(pass_at_k(10, 3, 5))
    assert s.coverage[0] == (1, pytest.approx(0.3))


# ------------------------------------------------------------------------------------------ compare and report


def test_mcnemar_exact():
    assert compare_mod.mcnemar_exact(0, 0) == 1.0
    assert compare_mod.mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert compare_mod.mcnemar_exact(1, 4) == pytest.approx(2 * (1 + 5) / 32)
    assert compare_mod.mcnemar_exact(5, 5) == 1.0


def _fake_run(path, outcomes: dict[str, str], spec: RunSpec) -> None:
    config = Config(model="m", strategy="best_of_n", budget=4)
    with Store(path, create=True) as store:
        store.set_spec(spec)
        jobs = [_job(t, 0, config) for t in outcomes]
        store.add_jobs(jobs)
        for job in jobs:
            store.record(_result(job, outcomes[job.task_id]))


def test_compare_pairs_tasks_and_report_writes_files(tmp_path):
    spec = _spec()
    tasks = [f"t{i}" for i in range(8)]
    _fake_run(tmp_path / "a", dict.fromkeys(tasks, "unsolved"), spec)
    _fake_run(tmp_path / "b", {t: ("solved" if i < 7 else "unsolved") for i, t in enumerate(tasks)}, spec)
    (c,) = compare_mod.compare(tmp_path / "a", tmp_path / "b")
    assert (c.pairs, c.only_a, c.only_b) == (8, 0, 7)
    assert c.p_value == pytest.approx(2 / 128)
    assert c.diff == pytest.approx(7 / 8) and c.diff_low <= c.diff <= c.diff_high
    assert len(c.differing) == 7
    with pytest.raises(compare_mod.CompareError, match="no configuration"):
        compare_mod.compare(tmp_path / "a", tmp_path / "b", config_a="x")

    from proofsmith.bench.report import load_summaries, write_report

    pytest.importorskip("matplotlib")
    summaries = load_summaries([tmp_path / "a", tmp_path / "b"])
    written = write_report(summaries, tmp_path / "out", [tmp_path / "a", tmp_path / "b"])
    names = {p.name for p in written}
    assert names == {"report.md", "report.html", "solved_vs_budget.png", "coverage_vs_samples.png",
                     "task_matrix.png"}
    for p in written:
        assert p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "out" / "report.md").read_text()
    assert "87.5 %" in md and "plots/task_matrix.png" in md


def test_report_opens_with_the_solved_vs_budget_plot_and_the_terminal_says_where(tmp_path):
    """report.md and report.html show solved-vs-budget before the table; `bench report` prints the PNG's path."""
    from click.testing import CliRunner

    from proofsmith.cli import cli

    pytest.importorskip("matplotlib")
    _fake_run(tmp_path / "a", {f"t{i}": ("solved" if i < 3 else "unsolved") for i in range(5)}, _spec())
    result = CliRunner().invoke(cli, ["bench", "report", str(tmp_path / "a")], standalone_mode=False)
    assert result.exception is None, result.output
    plot = tmp_path / "a" / "plots" / "solved_vs_budget.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"solved vs budget: {plot}" in result.stderr, result.stderr
    md = (tmp_path / "a" / "report.md").read_text()
    assert md.index("](plots/solved_vs_budget.png)") < md.index("| configuration |") < md.index("task_matrix.png")
    page = (tmp_path / "a" / "report.html").read_text()
    assert page.index('<img src="plots/') == page.index('<img src="plots/solved_vs_budget.png"') < \
        page.index("<table>")
