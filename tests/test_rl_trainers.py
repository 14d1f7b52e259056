"""TRL's and verl's real trainers calling proofsmith's rewards, on CPU, with nothing from a hub.

- TRL 1.16: `GRPOTrainer` trains a tiny Llama built from a config for two
  steps on HumanEval prompts with `reward_funcs=[trl_reward]`.
- verl 0.9.1: its reward managers (the legacy `naive` one, and the
  reward-loop manager the PPO trainer uses, on a local Ray instance) score a
  batch with `compute_score` loaded the way verl loads it
  (`pkg://proofsmith.rewards`).

The tokenizer is built here: its tokens are whole indented lines of Python
(`LINES`), so whatever the untrained model writes is a function body that
loads, and the checkers run it for real. The unknown verdict is a real one
too: `JUDGE_CRASH`'s tests end the judge process before it reports, which
the Python checker answers with unknown/crash whatever the candidate.

Both `train_grpo` and `verl_reward_config`/`verl_row` are printed in the
README's RL section; `test_the_readme_shows_the_code_these_tests_run` keeps
them the same.
"""

from __future__ import annotations

import inspect
import logging
import math
import textwrap
from pathlib import Path

import pytest

from proofsmith import rewards
from proofsmith.datasets.humaneval import load_tasks
from proofsmith.schema import Task

pytestmark = pytest.mark.usefixtures("bwrap_or_skip")

README = Path(__file__).resolve().parent.parent / "README.md"

#: a task whose tests kill the judge before it reports: the checker cannot decide (unknown/crash)
JUDGE_CRASH = Task(id="judge-crash", language="python", kind="program",
                   statement='def f(x):\n    """Return anything."""\n', entry_point="f",
                   test_code="def check(candidate):\n    import os\n    os._exit(3)\n")
#: the tokenizer's vocabulary past its special tokens: every sequence of them is a function body that loads
#: (`return number % 1.0` is HumanEval/2's answer, so some completions verify)
LINES = ["\n    return 0", "\n    return []", "\n    return number % 1.0", "\n    pass", "\n    x = 1"]
SPECIALS = ["<pad>", "<eos>", "<unk>"]


def line_tokenizer():
    """A fast tokenizer whose tokens are the `LINES`; prompts encode to <unk>s, completions decode to code."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate([*SPECIALS, *LINES])}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.Fuse()  # the lines carry their own newlines and indentation
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>",
                                   clean_up_tokenization_spaces=False)


def tiny_llama(vocab_size: int):
    """An untrained one-layer Llama (about 2k parameters), built from a config: nothing is downloaded."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab_size, hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                        max_position_embeddings=1024, pad_token_id=0, bos_token_id=1,
                                        eos_token_id=1))


@pytest.fixture(autouse=True)
def _fresh_default():
    yield
    rewards.configure()


# ----------------------------------------------------------------------------------------------- TRL


def train_grpo(model, tokenizer, tasks, output_dir):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from proofsmith.rewards import configure, trl_reward

    configure(tasks=tasks, use_cache=False)  # trl_reward finds each row's task by its `task_id`
    train = Dataset.from_list([{"prompt": t.statement, "task_id": t.id} for t in tasks])
    args = GRPOConfig(output_dir=output_dir, max_steps=2, per_device_train_batch_size=6, num_generations=2,
                      max_completion_length=6, logging_steps=1, report_to="none", use_cpu=True,
                      save_strategy="no", seed=0)
    trainer = GRPOTrainer(model=model, reward_funcs=[trl_reward], args=args, train_dataset=train,
                          processing_class=tokenizer)
    trainer.train()
    return trainer


@pytest.mark.slow
def test_trl_grpo_trains_on_humaneval_and_masks_unknowns(tmp_path, caplog):
    pytest.importorskip("trl", reason="TRL is not installed: pip install 'proofsmith[trl]' (make install does)")
    tokenizer = line_tokenizer()
    tasks = [*load_tasks(3)[1:], JUDGE_CRASH]  # HumanEval/1, HumanEval/2, and a task no checker can decide
    with caplog.at_level(logging.WARNING, logger="trl"):
        trainer = train_grpo(tiny_llama(len(tokenizer)), tokenizer, tasks, str(tmp_path))

    steps = [log for log in trainer.state.log_history if "loss" in log]
    assert [log["step"] for log in steps] == [1, 2] and all(math.isfinite(log["loss"]) for log in steps)
    # each batch holds the three prompts twice: a third of the rewards are None, logged through log_metric
    assert [log["rewards/trl_reward/unknown_share"] for log in steps] == pytest.approx([1 / 3, 1 / 3])

    # the last batch as TRL saw it (its `_logs`, what TRL 1.16's completions table shows): None became NaN, and
    # an all-NaN row gets advantage 0 (no policy-gradient signal)
    logs = trainer._logs
    prompts, completions = list(logs["prompt"]), list(logs["completion"])
    scores, advantages = list(logs["rewards"]["trl_reward"]), list(logs["advantages"])
    verdicts = list(logs["extra"]["trl_reward/verdict"])  # from log_extra: the completions table's column
    assert len(prompts) == len(scores) == len(advantages) == len(verdicts) == 6
    task_ids = [{t.statement: t.id for t in tasks}[p] for p in prompts]
    unknown = [task_id == JUDGE_CRASH.id for task_id in task_ids]
    assert sum(unknown) == 2
    for task_id, completion, value, advantage, verdict in zip(task_ids, completions, scores, advantages, verdicts,
                                                              strict=True):
        if task_id == JUDGE_CRASH.id:
            assert math.isnan(value) and advantage == 0.0 and verdict == "unknown: crash"
            continue
        # the real checker: HumanEval/2's answer as the first return verifies, anything else fails the tests
        returns = [line.strip() for line in completion.splitlines() if line.strip().startswith("return")]
        answered = task_id == "HumanEval/2" and returns[:1] == ["return number % 1.0"]
        assert value == (1.0 if answered else 0.0) and not math.isnan(advantage)
        assert verdict == ("verified" if answered else "refuted: tests_failed")
    # TRL's logged reward is the mean over the scored rows only: the unknowns are left out, not counted as 0
    scored = [v for v, u in zip(scores, unknown, strict=True) if not u]
    assert steps[-1]["reward"] == pytest.approx(sum(scored) / len(scored))

    # each step, TRL warns about a row every reward function left None and prints that row's columns: with a
    # `task_id` column that is the id, not the whole task (a `task` column would print its JSON, tests and all)
    warned = [r.getMessage() for r in caplog.records if "All reward functions returned None" in r.getMessage()]
    assert len(warned) == 2
    assert all("'task_id': 'judge-crash'" in message and "os._exit" not in message for message in warned)


# ----------------------------------------------------------------------------------------------- verl


def verl_row(task, prompt):
    from proofsmith.rewards import task_column

    # verl's reward workers are other processes: the whole task travels in ground_truth
    return {"data_source": "humaneval", "prompt": prompt,
            "reward_model": {"style": "rule", "ground_truth": task_column(task)}, "extra_info": {}}


def verl_reward_config(model_path):
    from omegaconf import OmegaConf

    return OmegaConf.create({
        "reward": {
            "custom_reward_function": {"path": "pkg://proofsmith.rewards", "name": "compute_score",
                                       "reward_kwargs": {"unknown_score": -1.0, "use_cache": False}},
            "reward_manager": {"source": "register", "name": "naive"},
            "reward_model": {"enable": False}, "num_workers": 1},
        "actor_rollout_ref": {"model": {"path": model_path, "tokenizer_path": None}},
    })


#: (task, response lines) of the verl batch, and what compute_score says of each
VERL_CASES = [("HumanEval/2", ["\n    return number % 1.0"], {"score": 1.0, "unknown": False, "reason": ""}),
              ("HumanEval/2", ["\n    return 0", "\n    pass"], {"score": 0.0, "unknown": False,
                                                                  "reason": "tests_failed"}),
              ("judge-crash", ["\n    return 0"], {"score": -1.0, "unknown": True, "reason": "crash"})]


def verl_batch(tokenizer):
    """A rollout batch as verl's trainer hands it to a reward manager: left-padded prompts, right-padded responses."""
    import numpy as np
    import torch
    from verl import DataProto

    tasks = {t.id: t for t in [load_tasks(3)[2], JUDGE_CRASH]}
    vocab = tokenizer.get_vocab()
    prompt_len, response_len = 4, 3
    n = len(VERL_CASES)
    prompts = torch.full((n, prompt_len), tokenizer.pad_token_id)
    responses = torch.full((n, response_len), tokenizer.pad_token_id)
    mask = torch.zeros(n, prompt_len + response_len, dtype=torch.long)
    rows = []
    for i, (task_id, lines, _) in enumerate(VERL_CASES):
        prompts[i, -2:] = tokenizer.unk_token_id
        mask[i, prompt_len - 2:prompt_len] = 1
        responses[i, :len(lines)] = torch.tensor([vocab[line] for line in lines])
        mask[i, prompt_len:prompt_len + len(lines)] = 1
        rows.append(verl_row(tasks[task_id], tasks[task_id].statement))
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask,
                 "input_ids": torch.cat([prompts, responses], dim=1)},
        non_tensors={key: np.array([row[key] for row in rows], dtype=object)
                     for key in ("data_source", "reward_model", "extra_info")})


def _verl_or_skip():
    pytest.importorskip("verl", reason="verl is not installed: pip install 'proofsmith[verl-deps]' and "
                                       "pip install --no-deps verl==0.9.1 (make install does)")


@pytest.mark.slow
def test_verl_naive_reward_manager_scores_every_sample(tmp_path):
    _verl_or_skip()
    import torch
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager.naive import NaiveRewardManager

    tokenizer = line_tokenizer()
    fn = get_custom_reward_fn(verl_reward_config(str(tmp_path)))  # imports proofsmith.rewards.compute_score
    out = NaiveRewardManager(tokenizer=tokenizer, num_examine=0, compute_score=fn)(verl_batch(tokenizer),
                                                                                   return_dict=True)
    expected = [case[2] for case in VERL_CASES]
    # the score sits on each response's last token; the unknown got unknown_score (-1.0), not None
    want = torch.zeros_like(out["reward_tensor"])
    for i, (_, lines, verdict) in enumerate(VERL_CASES):
        want[i, len(lines) - 1] = verdict["score"]
    assert torch.equal(out["reward_tensor"], want)
    assert dict(out["reward_extra_info"]) == {key: [e[key] for e in expected] for key in ("score", "unknown", "reason")}


@pytest.mark.slow
def test_verl_reward_loop_manager_on_ray_scores_every_sample(tmp_path):
    """verl's PPO trainer path: RewardLoopManager -> Ray RewardLoopWorker -> naive reward-loop manager."""
    _verl_or_skip()
    import numpy as np
    import ray
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    tokenizer = line_tokenizer()
    tokenizer.save_pretrained(tmp_path)  # the worker loads the rollout model's tokenizer from its path
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        out = RewardLoopManager(verl_reward_config(str(tmp_path))).compute_rm_score(verl_batch(tokenizer))
    finally:
        ray.shutdown()
    expected = [case[2] for case in VERL_CASES]
    scores = out.batch["rm_scores"]
    assert scores.sum(dim=1).tolist() == [e["score"] for e in expected]
    assert out.meta_info["reward_extra_keys"] == ["score", "unknown", "reason"]
    assert out.non_tensor_batch["unknown"].tolist() == [False, False, True]
    assert out.non_tensor_batch["reason"].tolist() == ["", "tests_failed", "crash"]
    assert np.array_equal(out.non_tensor_batch["score"], scores.sum(dim=1).numpy())


# ----------------------------------------------------------------------------------------------- docs


def test_the_readme_shows_the_code_these_tests_run():
    readme = README.read_text(encoding="utf-8")
    for fn in (train_grpo, verl_row, verl_reward_config):
        assert textwrap.dedent(inspect.getsource(fn)) in readme, f"README.md lacks {fn.__name__} as tests run it"
