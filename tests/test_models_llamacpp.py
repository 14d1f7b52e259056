"""The llama.cpp backend with the real quantized models (SmolLM2-135M for the mechanics, Qwen 0.5B for quality).

Nothing is mocked: the GGUF files come from the pinned PyPI packages that
`make install` puts in place, checked against their sha256. A test skips only
where a model package is missing, and says which one.
"""

from __future__ import annotations

import pytest

pytest.importorskip("xllamacpp", reason="the llama.cpp backend needs xllamacpp: pip install 'proofsmith[models]'")

from proofsmith.models import ModelError, get_spec, load_policy
from proofsmith.models.base import PromptTooLong
from proofsmith.models.extract import extract_tactic, python_candidate
from proofsmith.models.prompts import STOP, build_messages, complete_tactic, render, stop_for
from proofsmith.models.registry import is_installed
from proofsmith.schema import Task


def _policy_or_skip(name: str):
    spec = get_spec(name)
    if not is_installed(spec):
        pytest.skip(f"model {spec.name} is not installed: {spec.pip_command(short=True)}")
    return spec, load_policy(name, n_threads=1, n_parallel=4, n_ctx=2048)


@pytest.fixture(scope="module")
def small():
    spec, policy = _policy_or_skip("smollm2-135m")
    yield spec, policy
    policy.close()


@pytest.fixture(scope="module")
def qwen():
    spec, policy = _policy_or_skip("qwen2.5-coder-0.5b-q4")
    yield spec, policy
    policy.close()


def test_n_proposals_with_logprobs_and_counts(small):
    _, policy = small
    before = policy.usage
    proposals = policy.propose("Once upon a time", n=4, max_tokens=12, temperature=1.0, seed=3)
    assert len(proposals) == 4
    assert len({p.text for p in proposals}) > 1, "four samples at temperature 1 were all the same"
    for p in proposals:
        assert 1 <= p.n_tokens <= 12
        assert len(p.logprobs) == len(p.tokens) == p.n_tokens
        assert all(lp <= 0.0 for lp in p.logprobs)
        assert "".join(p.tokens) == p.text
        assert p.finish_reason == ("length" if p.n_tokens == 12 else "stop")
    after = policy.usage
    assert after.calls == before.calls + 1
    assert after.completion_tokens - before.completion_tokens == sum(p.n_tokens for p in proposals)
    assert after.prompt_tokens - before.prompt_tokens == 4 * 4  # "Once upon a time" is 4 tokens, once per slot


def test_seeds_reproduce_and_neighbouring_seeds_do_not_overlap(small):
    _, policy = small
    kwargs = {"n": 3, "max_tokens": 10, "temperature": 1.0}
    first = [p.text for p in policy.propose("The weather today", seed=7, **kwargs)]
    again = [p.text for p in policy.propose("The weather today", seed=7, **kwargs)]
    nearby = [p.text for p in policy.propose("The weather today", seed=8, **kwargs)]
    assert first == again
    # llama.cpp samples proposal i with seed + i; without spreading, seed 8 would repeat two of seed 7's samples
    assert not set(first) & set(nearby)


def test_greedy_and_stop_strings(small):
    _, policy = small
    a, b = policy.propose("1, 2, 3, 4,", n=2, max_tokens=16, temperature=0.0)
    assert a.text == b.text
    [cut] = policy.propose("1, 2, 3, 4,", n=1, max_tokens=16, temperature=0.0, stop=[","])
    assert "," not in cut.text and cut.finish_reason == "stop"
    assert a.text.startswith(cut.text)


def test_context_overflow_and_bad_files_are_one_line(small, tmp_path):
    _, policy = small
    with pytest.raises(PromptTooLong, match="exceeds the available context size"):
        policy.propose("word " * 3000, max_tokens=4)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(policy.path.read_bytes()[: 1 << 20])
    with pytest.raises(ModelError) as err:
        load_policy(str(truncated), n_threads=1)
    assert "cannot load it" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ModelError, match="no such model file"):
        load_policy(str(tmp_path / "absent.gguf"))


def test_default_model_writes_a_humaneval_function_that_the_checker_runs(qwen, bwrap_or_skip):
    """Greedy Qwen 0.5B on HumanEval/23 (strlen): prompt -> propose -> extract -> sandboxed check -> verified."""
    from proofsmith.datasets.humaneval import load_tasks
    from proofsmith.provers import check

    spec, policy = qwen
    task = next(t for t in load_tasks(limit=30) if t.id == "HumanEval/23")
    prompt = render(build_messages(task), spec.chat_template, system_prompt=spec.system_prompt)
    [proposal] = policy.propose(prompt, n=1, max_tokens=300, temperature=0.0, stop=STOP[spec.chat_template])
    assert proposal.finish_reason == "stop"
    candidate = python_candidate(task, proposal.text, "greedy")
    assert "def strlen(" in candidate.text
    verdict = check(task, candidate, use_cache=False)
    assert verdict.status == "verified", verdict.diagnostics


def test_default_model_proposes_a_coq_tactic(qwen):
    spec, policy = qwen
    task = Task(id="negb", language="coq", kind="proof",
                statement="Lemma negb_involutive : forall b : bool, negb (negb b) = b.")
    goals = "============================\nforall b : bool, negb (negb b) = b"
    prompt = render(build_messages(task, step=True, goals=goals), spec.chat_template, system_prompt=spec.system_prompt)
    assert prompt.endswith("Proof.\n  ")  # the reply is prefilled up to the next tactic
    [proposal] = policy.propose(prompt, n=1, max_tokens=48, temperature=0.0,
                                stop=stop_for(spec.chat_template, step=True))
    tactic = extract_tactic(complete_tactic(proposal.text), "coq")  # the stop string took the final period
    assert tactic.endswith(".") and "\n" not in tactic
    assert tactic.split()[0].rstrip(".") in {"intros", "intro", "destruct", "induction", "simpl", "reflexivity",
                                             "case", "auto", "unfold", "apply", "rewrite", "now"}
