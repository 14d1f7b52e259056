"""End to end: the real default quantized model searching against the real checkers.

Nothing is mocked: Qwen2.5-Coder-0.5B Q4_K_M through llama.cpp proposes,
Coq (warm sessions, then coqc from scratch) and the sandboxed Python checker
decide. A test skips only where the model package or the Coq standard
library is missing, and says which.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("xllamacpp", reason="the llama.cpp backend needs xllamacpp: pip install 'proofsmith[models]'")

from proofsmith.models import get_spec, load_policy
from proofsmith.models.registry import is_installed
from proofsmith.search import MCTS, BestOfN, Budget, SearchChecker, search
from proofsmith.search.trace import TraceWriter, read_trace


@pytest.fixture(scope="module")
def qwen():
    spec = get_spec("default")
    if not is_installed(spec):
        pytest.skip(f"model {spec.name} is not installed: {spec.pip_command(short=True)}")
    policy = load_policy("default", n_threads=1, n_parallel=4, n_ctx=4096)
    yield policy
    policy.close()


@pytest.fixture(scope="module")
def checker(bwrap_or_skip):
    with SearchChecker() as shared:
        yield shared


def _mini(name: str):
    from proofsmith.datasets.coq_library import LibraryError, find_task

    try:
        return find_task("coq-stdlib-mini", name)
    except LibraryError as exc:
        pytest.skip(str(exc))


def test_mcts_proves_a_stdlib_lemma_tactic_by_tactic(qwen, checker, tmp_path):
    task = _mini("orb_negb_r")
    trace = tmp_path / "trace.jsonl"
    result = search(task, qwen, strategy=MCTS(), budget=Budget(model_calls=32), checker=checker, seed=0, trace=trace)
    assert result.solved, f"not solved; trace at {trace}"
    # the reported verdict is coqc's, from scratch, not the warm session's
    assert result.verdict.status == "verified" and result.verdict.manifest.options.get("mode") != "session"
    assert result.candidate.steps and result.solved_at.model_calls <= 32
    events = read_trace(trace)
    assert sum(e.event == "node" for e in events) == result.nodes
    assert [e.verdict for e in events if e.event == "check"][-1] == "verified"


def test_best_of_n_synthesizes_a_humaneval_program(qwen, checker):
    from proofsmith.datasets.humaneval import HumanEvalMissing, load_tasks

    try:
        task = next(t for t in load_tasks() if t.id == "HumanEval/4")
    except HumanEvalMissing as exc:
        pytest.skip(str(exc))
    result = search(task, qwen, strategy=BestOfN(batch=2), budget=Budget(model_calls=4), checker=checker, seed=0)
    assert result.solved and result.verdict.status == "verified"
    assert "def mean_absolute_deviation" in result.candidate.text
    assert result.spend.model_calls <= 4 and result.checked >= 1


def test_synth_samples_bodies_after_the_statement_by_default_and_collects_pass_at_k(qwen, tmp_path):
    """`proofsmith synth` with no --strategy is best_of_n_head; --collect keeps that choice and keeps sampling."""
    from click.testing import CliRunner

    from proofsmith.cli import cli
    from proofsmith.datasets.humaneval import HumanEvalMissing, load_tasks

    try:
        load_tasks()
    except HumanEvalMissing as exc:
        pytest.skip(str(exc))
    out = tmp_path / "he.jsonl"
    run = CliRunner().invoke(cli, ["synth", "--suite", "humaneval", "--task", "HumanEval/4", "--budget", "4",
                                   "--collect", "--traces", str(tmp_path / "traces"), "-o", str(out)])
    assert run.exit_code in (0, 1), run.output
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["strategy"] == "best_of_n_head", row
    assert row["spend"]["model_calls"] == 4 and row["checked"] >= 4  # collect: no stop at the first pass
    [trace] = (tmp_path / "traces").glob("*.jsonl")
    [start] = [e for e in read_trace(trace) if e.event == "start"]
    assert start.info["strategy"] == "best_of_n_head"
    # the answer is the prefilled statement and a body after it
    assert row["candidate"]["text"].count("def mean_absolute_deviation(") == 1, row["candidate"]["text"]
    wrong = CliRunner().invoke(cli, ["synth", "--suite", "humaneval", "--task", "HumanEval/4", "--collect",
                                     "--strategy", "mcts"])
    assert wrong.exit_code == 2 and "--collect goes with --strategy best_of_n or best_of_n_head" in wrong.output


def test_prove_command_on_a_v_file(qwen, tmp_path):
    """`proofsmith prove FILE.v --theorem NAME` end to end, with its JSON output."""
    from click.testing import CliRunner

    from proofsmith.cli import cli

    source = tmp_path / "lemmas.v"
    source.write_text("Lemma orb_negb_r : forall b:bool, orb b (negb b) = true.\nProof.\nAdmitted.\n")
    out = CliRunner().invoke(cli, ["prove", str(source), "--theorem", "orb_negb_r", "--strategy", "mcts",
                                   "--budget", "32", "--json", "--traces", str(tmp_path / "traces")])
    assert out.exit_code in (0, 1), out.output
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["task_id"] == "lemmas:orb_negb_r"
    assert result["spend"]["model_calls"] <= 32
    assert (tmp_path / "traces" / "lemmas_orb_negb_r.mcts.s0.jsonl").is_file()
    if result["solved"]:
        assert result["verdict"]["status"] == "verified"


def test_same_seed_same_search(qwen, checker):
    """A fixed seed and model replay the same search: the same steps, in the same order, with the same outcome."""
    task = _mini("orb_negb_r")

    def steps() -> tuple[list[tuple[int | None, str | None, str | None]], bool]:
        trace = TraceWriter(None)
        result = MCTS().run(task, qwen, checker, None, Budget(model_calls=12), seed=7, trace=trace)
        return [(e.parent, e.step, e.status) for e in trace.events if e.event == "node"], result.solved

    first, second = steps(), steps()
    assert first[0], "the search made no steps"
    assert first == second


def test_lean_tactic_search_runs_its_steps_in_the_repl(qwen, tmp_path, monkeypatch, bwrap_or_skip):
    """MCTS on a Lean task in step mode: the model's tactics go to the Lean REPL stand-in (NOT Lean) one by one.

    The stand-in's tactic rules are textual, so this shows the wiring (prompt,
    extraction, the REPL's proof states in the trace), not Lean's judgement.
    """
    from proofsmith.schema import Limits, Task

    monkeypatch.setenv("PROOFSMITH_LEAN_REPL", "standin")
    task = Task(id="and_swap", language="lean", kind="proof", context="import Mathlib\n",
                statement="theorem and_swap (p q : Prop) (hp : p) (hq : q) : p → q ∧ p", limits=Limits(wall_s=5))
    trace = tmp_path / "trace.jsonl"
    with SearchChecker(sandbox="bwrap") as lean_checker:
        result = search(task, qwen, strategy=MCTS(), budget=Budget(model_calls=12), checker=lean_checker, seed=0,
                        trace=trace)
    nodes = [e for e in read_trace(trace) if e.event == "node"]
    stepped = [e for e in nodes if e.status in ("ok", "solved")]
    assert stepped, [(e.step, e.error) for e in nodes]
    assert all("⊢" in e.goals or e.status == "solved" for e in stepped)
    assert result.spend.checker_calls >= len(stepped)
