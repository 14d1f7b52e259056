"""Reward functions: TRL's and verl's signatures over real checks, locally and through a real service.

No stand-ins: every reward comes from the sandboxed checkers (in this
process, or in a `proofsmith serve` child process for the remote tests).
The unknown case is a real one: a task whose tests end the judge process
before it reports, so the checker cannot decide (unknown/crash) whatever
the candidate. (A candidate that sleeps past its wall budget is at fault:
refuted, not unknown.)
"""

from __future__ import annotations

import asyncio
import inspect

import pytest

from proofsmith import rewards
from proofsmith.datasets.humaneval import load_tasks
from proofsmith.schema import Efficiency, Limits, Manifest, Task, Verdict

pytestmark = pytest.mark.usefixtures("bwrap_or_skip")

#: a task whose tests kill the judge before it reports: the checker cannot decide (unknown/crash)
CRASHY = Task(id="judge-crash", language="python", kind="program", statement="def f(x):\n    pass\n",
              entry_point="f", test_code="def check(candidate):\n    import os\n    os._exit(3)\n")
IDENTITY = "```python\ndef f(x):\n    return x\n```"
COQ = Task(id="t", language="coq", kind="proof", statement="Theorem t : forall n : nat, n + 0 = n.",
           context="Require Import Arith.", options={"name": "t"})


@pytest.fixture(scope="module")
def tasks():
    return load_tasks(3)


def _completions(tasks):
    """A fenced right answer per task, a body returning None per task, chatter, and one the judge never judges."""
    right = [f"Here is my solution:\n```python\n{t.reference}```\nIt works." for t in tasks]
    wrong = ["    return None\n"] * len(tasks)
    return right + wrong + ["I cannot solve this.", IDENTITY]


def _columns(tasks):
    return [*tasks, *tasks, tasks[0], CRASHY]


EXPECTED = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, None]


@pytest.fixture(autouse=True)
def _fresh_default():
    rewards.configure(use_cache=False)
    yield
    rewards.configure()


def test_trl_signature_and_calling_convention(tasks):
    params = inspect.signature(rewards.trl_reward).parameters
    assert list(params)[:2] == ["prompts", "completions"]
    assert params["completions"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    completions = _completions(tasks)
    n = len(completions)
    # the way GRPOTrainer calls a reward function: keywords, plus completion_ids, trainer_state and every column
    out = rewards.trl_reward(prompts=[t.statement for t in _columns(tasks)], completions=completions,
                             completion_ids=[[0]] * n, trainer_state=None,
                             task=[rewards.task_column(t) for t in _columns(tasks)], difficulty=["easy"] * n)
    assert out == EXPECTED


def test_conversational_completions_task_ids_and_async(tasks):
    rewards.configure(tasks=tasks, use_cache=False)
    chats = [[{"role": "assistant", "content": text}] for text in _completions(tasks)[:6]]
    ids = [t.id for t in _columns(tasks)[:6]]
    assert rewards.trl_reward(None, chats, task_id=ids) == EXPECTED[:6]
    assert asyncio.run(rewards.async_trl_reward(None, chats, task_id=ids)) == EXPECTED[:6]
    with pytest.raises(KeyError, match="no task 'HumanEval/99'"):
        rewards.trl_reward(None, chats[:1], task_id=["HumanEval/99"])
    with pytest.raises(KeyError, match="needs a `task` column"):
        rewards.trl_reward(None, chats[:1])


def test_verl_compute_score_and_a_coq_proof(tasks):
    right, wrong = _completions(tasks)[0], _completions(tasks)[3]
    assert rewards.compute_score("humaneval", right, rewards.task_column(tasks[0])) == \
        {"score": 1.0, "unknown": False, "reason": ""}
    assert rewards.compute_score("humaneval", wrong, None, {"task": tasks[0].model_dump()}) == \
        {"score": 0.0, "unknown": False, "reason": "tests_failed"}
    proof = "```coq\nTheorem t : forall n : nat, n + 0 = n.\nProof.\n  intros n. auto with arith.\nQed.\n```"
    assert rewards.compute_score("coq", proof, COQ)["score"] == 1.0
    assert rewards.compute_score("coq", proof.replace("auto with arith", "reflexivity"), COQ)["score"] == 0.0


def test_verl_never_gets_none_and_takes_the_keywords_verl_passes(recwarn):
    """verl's managers put the score in a float tensor: an unknown is `unknown_score` (default 0.0), flagged."""
    unknown = {"score": 0.0, "unknown": True, "reason": "crash"}
    assert rewards.compute_score("humaneval", IDENTITY, CRASHY) == unknown
    # what verl's reward-loop managers add, and `custom_reward_function.reward_kwargs` spread as keywords
    assert rewards.compute_score(data_source="humaneval", solution_str=IDENTITY, ground_truth=CRASHY, extra_info={},
                                 reward_router_address=None, reward_model_tokenizer=None,
                                 unknown_score=-1.0, use_cache=False) == {**unknown, "score": -1.0}
    assert not recwarn.list
    rewards.configure(unknown_score=0.25, use_cache=False)
    assert rewards.compute_score("humaneval", IDENTITY, CRASHY)["score"] == 0.25
    with pytest.warns(UserWarning, match="ignores the keyword 'unknwon_score'"):
        assert rewards.compute_score("humaneval", IDENTITY, CRASHY, unknwon_score=-1.0)["score"] == 0.25
    with pytest.raises(ValueError):
        rewards.compute_score("humaneval", IDENTITY, CRASHY, jobs=0)


def test_trl_logs_the_unknown_share_and_the_verdicts_through_trl(tasks):
    metrics, columns = [], []
    completions = [_completions(tasks)[0], _completions(tasks)[3], IDENTITY, IDENTITY]
    out = rewards.trl_reward(None, completions, task=[tasks[0], tasks[0], CRASHY, CRASHY],
                             log_metric=lambda name, value: metrics.append((name, value)),
                             log_extra=lambda column, values: columns.append((column, values)))
    assert out == [1.0, 0.0, None, None]
    assert metrics == [("rewards/trl_reward/unknown_share", 0.5)]
    assert columns == [("trl_reward/verdict", ["verified", "refuted: tests_failed", "unknown: crash",
                                                "unknown: crash"])]
    named = rewards.make_trl_reward(name="code_reward", use_cache=False)
    metrics.clear()
    named(None, completions[:1], task=[tasks[0]], log_metric=lambda name, value: metrics.append((name, value)))
    assert metrics == [("rewards/code_reward/unknown_share", 0.0)]


def test_efficiency_weight_blends_the_documented_way():
    manifest = Manifest(checker="python", checker_version="1", proofsmith_version="0", limits=Limits(), sandbox="x")
    eff = Efficiency(mode="cpu", ratio=2.0, unit="ns", score=0.4)
    verified = Verdict(task_id="a", status="verified", reward=1.0, efficiency=eff, manifest=manifest)
    assert rewards.score(verified) == 1.0
    assert rewards.score(verified, 0.5) == pytest.approx(0.5 + 0.5 * 0.4)
    refuted = Verdict(task_id="a", status="refuted", reward=0.0, manifest=manifest)
    unknown = Verdict(task_id="a", status="unknown", reason="timeout", reward=0.0, manifest=manifest)
    assert rewards.score(refuted, 0.5) == 0.0 and rewards.score(unknown, 0.5) is None
    with pytest.raises(ValueError):
        rewards.RewardConfig(efficiency_weight=1.5)


def test_efficiency_is_measured_when_weighted(tasks):
    # the efficiency timer needs inputs to time: HumanEval/0 on 300 floats
    task = tasks[0].model_copy(update={"perf_inputs": [[[float(i) for i in range(300)], 0.5]]})
    reward = rewards.make_trl_reward([task], efficiency_weight=0.5, use_cache=False)
    assert reward.__name__ == "proofsmith_reward"
    [value] = reward(None, [_completions(tasks)[0]], task_id=[task.id])
    verdict = reward.rewarder.verdicts([task], [_completions(tasks)[0]])[0]
    assert verdict.status == "verified" and verdict.efficiency is not None
    assert 0.5 <= value <= 1.0  # (1 - 0.5) + 0.5 * score, score in [0, 1]


@pytest.mark.slow
def test_remote_rewards_match_local(tasks):
    pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'proofsmith[serve]'")
    from proofsmith.serve.launch import ServerProcess

    completions = _completions(tasks)
    columns = [rewards.task_column(t) for t in _columns(tasks)]
    with ServerProcess(["--python-workers", "2", "--coq-workers", "1"]) as server:
        rewards.configure(url=server.url, use_cache=False)
        assert rewards.trl_reward(None, completions, task=columns) == EXPECTED
        assert asyncio.run(rewards.async_trl_reward(None, completions, task=columns)) == EXPECTED
        reward = rewards.make_trl_reward(url=server.url, asynchronous=True, batch_size=3, use_cache=False)
        assert inspect.iscoroutinefunction(reward)
        assert asyncio.run(reward(None, completions, task=columns)) == EXPECTED
        assert rewards.compute_score("humaneval", completions[0], columns[0])["score"] == 1.0
