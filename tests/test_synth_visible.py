"""Visible and hidden tests: a program search sees only the visible tests; its answer is graded by the hidden ones.

The checks are real: programs run in the sandboxed Python checker (bwrap).
Only the language model is replaced, by `ScriptedPolicy` (tests/search_doubles.py),
so what the search proposes is fixed and what it checks can be asserted.
`Spy` wraps the real SearchChecker and records which tests each check used.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from search_doubles import ScriptedPolicy

from proofsmith.cli import cli
from proofsmith.datasets.docstring_examples import examples_from_prompt
from proofsmith.schema import IOTest, Limits, Task
from proofsmith.search import BestOfN, Budget, NoVisibleTests, search
from proofsmith.search.checker import SearchChecker
from proofsmith.search.visibility import search_view, visible_view

#: a hidden assertion no visible test or prompt contains: seeing it anywhere during search is a leak
HIDDEN_MARK = "9173"
HIDDEN = f"""\
def check(candidate):
    assert candidate(2, 3) == 5
    assert candidate(-4, 4) == 0
    assert candidate({HIDDEN_MARK}, 1) == {int(HIDDEN_MARK) + 1}
"""
STATEMENT = '''def add(a, b):
    """Return a + b.

    >>> add(2, 3)
    5
    >>> add(0, 0)
    0
    """
'''


def task(**update) -> Task:
    base = Task(id="add-visible", language="python", kind="program", statement=STATEMENT, entry_point="add",
                test_code=HIDDEN, visible_tests=examples_from_prompt(STATEMENT, "add"),
                limits=Limits(wall_s=10, cpu_s=5, memory_mb=512))
    return base.model_copy(update=update)


def answer(body: str) -> str:
    return f"```python\ndef add(a, b):\n    {body}\n```"


RIGHT = answer("return a + b")
#: passes both visible examples (2+3=5, 0+0=0), fails the hidden `add(-4, 4) == 0` and the marked one
OVERFIT = answer("return 5 if a == 2 else a * b")
WRONG = answer("return a - b")


class Spy(SearchChecker):
    """The real SearchChecker, recording the tests of every task it checks a candidate against."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str | None, list]] = []
        self._confirming = False

    def check(self, task, candidate):
        if not self._confirming:  # a Python confirmation is a check: recorded once, as the confirmation
            self.calls.append(("check", task.test_code, [t.model_dump() for t in task.io_tests]))
        return super().check(task, candidate)

    def confirm(self, task, candidate):
        self.calls.append(("confirm", task.test_code, [t.model_dump() for t in task.io_tests]))
        self._confirming = True
        try:
            return super().confirm(task, candidate)
        finally:
            self._confirming = False


@pytest.fixture
def spy(bwrap_or_skip):
    with Spy() as checker:
        yield checker


# --------------------------------------------------------------------------- docstring examples


def test_docstring_example_shapes_are_read_and_others_skipped():
    prompt = '''def f(a, b=0):
    """Examples.

    >>> f(1, 2)
    3
    >>> f(1) == 1
    f([1, 2], 3) ➞ [1, 2, 3]
    f('x', 1) => 'x1'   # a comment
    f(2, 2) should return 4.
    f(0, 5) # => 5 (an explanation)
    For a = 3, b = 4 the output should be 7
    Input: a = 1, b = 1
    Output: 2
    f(x, 1) == 2
    >>> round(f(1.5, 1), 1)
    2.5
    g(1, 2) == 3
    f(9, 9) -> 9 + 9 = 18
    f(1, 1) => true
    """
'''
    got = [(t.args, t.kwargs, t.expected) for t in examples_from_prompt(prompt, "f")]
    assert got == [
        ([1, 2], {}, 3),
        ([1], {}, 1),
        ([[1, 2], 3], {}, [1, 2, 3]),
        (["x", 1], {}, "x1"),
        ([2, 2], {}, 4),
        ([0, 5], {}, 5),
        ([1, 1], {}, True),
        ([3, 4], {}, 7),  # `For a = 3, b = 4` names the parameters in order: positional
    ] + [([1, 1], {}, 2)]
    floats = examples_from_prompt('def h(x):\n    """>>> h(1)\n    6.00\n    """\n', "h")
    assert floats == [IOTest(args=[1], expected=6.0, atol=1e-6)]


def test_humaneval_docstring_examples_are_visible_tests_of_151_of_164_tasks():
    from proofsmith.datasets.humaneval import HumanEvalMissing, load_tasks

    try:
        tasks = load_tasks()
    except HumanEvalMissing as exc:
        pytest.skip(str(exc))
    assert len(tasks) == 164
    with_examples = [t for t in tasks if t.visible_tests]
    assert len(with_examples) == 151  # measured: the other 13 show no example of the entry point we can read
    assert sum(len(t.visible_tests) for t in tasks) == 430
    by_id = {t.id: t for t in tasks}
    assert by_id["HumanEval/0"].visible_tests == [
        IOTest(args=[[1.0, 2.0, 3.0], 0.5], expected=False),
        IOTest(args=[[1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3], expected=True)]
    # the docstring's wrong median example (15.0; the answer is 8.0) is left out
    assert by_id["HumanEval/47"].visible_tests == [IOTest(args=[[3, 1, 2, 4, 5]], expected=3)]
    # content hashes (verdict cache keys, bench job ids) do not move with the visible tests
    assert by_id["HumanEval/0"].content_hash() == by_id["HumanEval/0"].model_copy(
        update={"visible_tests": []}).content_hash()


def test_humaneval_canonical_solutions_pass_their_visible_tests(warm_or_skip):
    """A property of the visible tests, not of the sandbox: checked in the warm pool, which agrees with bwrap
    on every HumanEval task (tests/test_warm_differential.py) at a fraction of bwrap's cost per check."""
    from proofsmith import provers
    from proofsmith.datasets.humaneval import HumanEvalMissing, canonical_candidates, load_tasks

    try:
        tasks = [t for t in load_tasks() if t.visible_tests]
    except HumanEvalMissing as exc:
        pytest.skip(str(exc))
    verdicts = provers.check_many([(visible_view(t), c) for t, c in zip(tasks, canonical_candidates(tasks))],
                                  jobs=2, sandbox="warm", use_cache=False)
    failed = [(v.task_id, v.status, v.diagnostics[:1]) for v in verdicts if v.status != "verified"]
    assert failed == []
    assert all(v.partial is not None and v.partial.total == len(t.visible_tests) for t, v in zip(tasks, verdicts))


# --------------------------------------------------------------------------- views


def test_the_visible_view_holds_no_hidden_test_and_no_reference():
    full = task(reference="def add(a, b):\n    return a + b\n", perf_inputs=[[1, 2]],
                io_tests=[IOTest(args=[7, 7], expected=14)])
    view = visible_view(full)
    assert view.test_code is None and view.io_tests == full.visible_tests
    assert view.reference is None and view.perf_inputs == []
    assert HIDDEN_MARK not in view.model_dump_json()
    assert search_view(full, "oracle") is full
    with pytest.raises(NoVisibleTests, match="has no visible tests.*--oracle"):
        visible_view(task(visible_tests=[]))


# --------------------------------------------------------------------------- search


def test_a_visible_search_never_runs_the_hidden_tests_until_it_grades_its_answer(spy):
    policy = ScriptedPolicy([WRONG, RIGHT])
    result = search(task(), policy, strategy=BestOfN(batch=1), budget=Budget(model_calls=4), checker=spy)
    visible = [t.model_dump() for t in task().visible_tests]
    *during, last = spy.calls
    assert [c[0] for c in during] == ["check", "check"]
    assert all(code is None and tests == visible for _, code, tests in during)
    assert last == ("confirm", HIDDEN, [])  # graded once, at the end, by the hidden tests
    assert not any(HIDDEN_MARK in prompt for prompt in policy.prompts)
    assert result.tests == "visible" and result.solved_visible and result.solved_hidden and result.solved
    assert result.verdict.partial.total == 3 and result.search_verdict.partial.total == 2


def test_an_answer_that_passes_the_visible_tests_but_not_the_hidden_ones_is_not_solved(spy):
    result = search(task(), ScriptedPolicy([OVERFIT, RIGHT]), strategy=BestOfN(batch=1),
                    budget=Budget(model_calls=4), checker=spy)
    assert result.solved_visible is True
    assert result.solved_hidden is False and result.solved is False
    assert result.candidate.text.strip().endswith("return 5 if a == 2 else a * b")
    assert result.verdict.status == "refuted" and result.search_verdict.status == "verified"
    assert result.spend.model_calls == 1  # the search stopped at its first visible pass


def test_among_visible_passes_the_first_found_is_the_answer(spy):
    """The documented tie rule (no PRM): keep the first candidate that passes the visible tests."""
    result = search(task(), ScriptedPolicy([OVERFIT, RIGHT, WRONG, RIGHT]), strategy=BestOfN(batch=4, collect=True),
                    budget=Budget(model_calls=4), checker=spy)
    assert (result.checked, result.verified) == (4, 3)  # three passed the visible tests
    assert "return 5 if a == 2" in result.candidate.text
    assert result.solved_visible and not result.solved_hidden
    assert [c[0] for c in spy.calls] == ["check"] * 4 + ["confirm"]


def test_oracle_mode_searches_with_the_hidden_tests_and_says_so(spy):
    result = search(task(), ScriptedPolicy([OVERFIT, RIGHT]), strategy=BestOfN(batch=1),
                    budget=Budget(model_calls=4), checker=spy, tests="oracle")
    assert result.tests == "oracle"
    assert all(code == HIDDEN for _, code, _ in spy.calls)
    assert result.solved and result.solved_hidden and result.solved_visible
    assert "return a + b" in result.candidate.text and result.spend.model_calls == 2


def test_a_task_without_visible_tests_is_refused_before_the_model_is_asked(spy):
    policy = ScriptedPolicy([RIGHT])
    with pytest.raises(NoVisibleTests, match="add-visible has no visible tests"):
        search(task(visible_tests=[]), policy, budget=Budget(model_calls=2), checker=spy)
    assert policy.requests == [] and spy.calls == []


# --------------------------------------------------------------------------- the synth command


@pytest.fixture
def scripted_model(monkeypatch):
    """`--model` loads a ScriptedPolicy (standing in for the language model) that answers OVERFIT then RIGHT."""
    policies = []

    def load(model, **_):
        policies.append(ScriptedPolicy([OVERFIT, RIGHT, OVERFIT, RIGHT]))
        return policies[-1]

    monkeypatch.setattr("proofsmith.models.load_policy", load)
    return policies


def run_synth(tmp_path, tasks, *extra):
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(t.model_dump_json() + "\n" for t in tasks))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["synth", "--task-file", str(path), "--budget", "4", "--strategy", "refine",
                                      "--traces", str(tmp_path / "traces"), "-o", str(out), *extra],
                                standalone_mode=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return result, rows


def test_synth_defaults_to_visible_tests_and_reports_both_results(tmp_path, bwrap_or_skip, scripted_model):
    result, rows = run_synth(tmp_path, [task()])
    assert result.exception is None, result.output
    assert result.return_value == 1  # the answer fails the hidden tests
    assert "visible tests during search, graded by hidden tests" in result.output
    assert "passed the search's tests (2/2) and failed the hidden tests (1/3)" in result.output
    [row] = rows
    assert (row["tests"], row["solved_visible"], row["solved_hidden"], row["solved"]) == ("visible", True, False,
                                                                                        False)


def test_synth_oracle_is_named_in_the_output_and_the_results(tmp_path, bwrap_or_skip, scripted_model):
    result, rows = run_synth(tmp_path, [task()], "--oracle")
    assert result.exception is None, result.output
    assert result.return_value == 0
    assert "ORACLE: hidden tests during search" in result.output
    assert rows[0]["tests"] == "oracle" and rows[0]["solved"] is True
    # a visible run may not resume an oracle run's file
    again, _ = run_synth(tmp_path, [task()])
    assert "a result of a search with oracle tests, this one uses visible tests" in str(again.exception)


def test_synth_refuses_a_task_without_visible_tests_unless_oracle(tmp_path, bwrap_or_skip, scripted_model):
    result, rows = run_synth(tmp_path, [task(visible_tests=[])])
    assert str(result.exception) == ("task add-visible has no visible tests to search with: give visible_tests "
                                     "in the task file, or pass --oracle to search with the hidden tests")
    assert result.exception.exit_code == 2 and rows == [] and scripted_model == []  # no model was loaded
    # in a batch, such a task is left out with one line and the rest is searched
    result, rows = run_synth(tmp_path, [task(id="blind", visible_tests=[]), task()])
    assert "1 of 2 tasks have no visible tests and are left out (blind); --oracle searches them" in result.output
    assert [r["task_id"] for r in rows] == ["add-visible"] and result.return_value == 1


# --------------------------------------------------------------------------- bench


def test_bench_configurations_name_the_mode_and_default_to_visible():
    from proofsmith.bench.jobs import Config, Job, configurations, job_id
    from proofsmith.bench.spec import parse

    text = "name: x\nsuites: [{suite: bitvec}]\nstrategies: [best_of_n]\nbudgets: [2]\n"
    visible = parse(text, fmt="yaml", origin="x.yaml")
    oracle = parse(text + "tests: oracle\n", fmt="yaml", origin="x.yaml")
    assert [c.label for c in configurations(visible)] == ["default/best_of_n@2"]
    assert [c.tests for c in configurations(visible)] == ["visible"]
    assert [c.label for c in configurations(oracle)] == ["default/best_of_n@2+oracle"]
    # a job stored before configurations had a mode searched with the hidden tests, and keeps its id
    stored = {"id": "j", "suite": "humaneval", "task_id": "add-visible", "language": "python", "seed": 0,
              "config": {"model": "default", "strategy": "best_of_n", "budget": 2, "collect": False,
                         "max_tokens": None, "max_seconds": None}}
    assert Job.model_validate_json(json.dumps(stored)).config.tests == "oracle"
    old = Config.model_validate({**stored["config"], "tests": "oracle"})
    import hashlib

    before = hashlib.sha256(json.dumps({"suite": "s", "task": task().id, "task_hash": task().content_hash(),
                                        "config": stored["config"], "seed": 0}, sort_keys=True,
                                       separators=(",", ":")).encode()).hexdigest()[:20]
    assert job_id("s", task(), old, 0) == before
    # visible jobs change with the visible tests they search with
    new = old.model_copy(update={"tests": "visible"})
    assert job_id("s", task(), new, 0) != job_id("s", task(visible_tests=task().visible_tests[:1]), new, 0)


def test_synth_refuses_visible_test_code_that_does_not_parse(tmp_path, bwrap_or_skip, scripted_model):
    result, _ = run_synth(tmp_path, [task(visible_test_code="def check(candidate):\n    assert (\n")])
    assert str(result.exception).startswith("visible tests: task add-visible: test_code does not parse (line 2")
    assert scripted_model == []


# --------------------------------------------------------------------------- PRM labels


def test_step_labels_of_a_visible_search_are_the_visible_tests_outcomes(spy, tmp_path):
    """A PRM for code is trained on what the search could see: the trace of a visible search holds the visible
    checks only, so the overfitting answer is labelled verified (it passed the visible tests) although the hidden
    grade refuted it, and nothing of the hidden tests is in the trace a PRM learns from."""
    from proofsmith.prm.labels import label_trace
    from proofsmith.search.trace import read_trace

    path = tmp_path / "trace.jsonl"
    result = search(task(), ScriptedPolicy([WRONG, OVERFIT]), strategy=BestOfN(batch=1),
                    budget=Budget(model_calls=4), checker=spy, trace=path)
    assert result.solved_visible and result.solved_hidden is False
    text = path.read_text()
    assert HIDDEN_MARK not in text and "-4, 4" not in text
    checks = [e for e in read_trace(path) if e.event == "check"]
    assert [e.verdict for e in checks] == ["refuted", "verified"]  # the two visible checks; the grade is not traced
    labels = {label.steps[-1].strip().splitlines()[-2].strip(): label for label in label_trace(path)}
    overfit, wrong = labels["return 5 if a == 2 else a * b"], labels["return a - b"]
    assert overfit.hard == 1 and overfit.reward_below == 1.0
    assert wrong.hard == 0 and wrong.soft < 1.0
