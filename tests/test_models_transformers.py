"""The transformers backend on a tiny random-weight Llama built here from a config (no hub, no mocks).

The weights are random, so the text is noise; what is tested is the
backend's own work: loading from a local folder, int8 quantization on CPU,
n samples with seeds, stop strings, token counts and log-probabilities.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch", reason="the transformers backend needs the models-torch extra (make install)")
transformers = pytest.importorskip("transformers", reason="needs the models-torch extra (make install)")

from proofsmith.models.base import ModelError
from proofsmith.models.transformers_backend import TransformersPolicy

WORDS = ["def", "return", "if", "else", "for", "in", "range", "while", "the", "a", "b", "x", "y", "n", "=", "+", "-", "(", ")", ":", ".", ",", "0", "1", "2", "stop"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer Llama with a word-level tokenizer, saved to a folder the way save_pretrained writes it."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder = tmp_path_factory.mktemp("tiny-llama")
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3} | {w: i + 4 for i, w in enumerate(WORDS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    from tokenizers import decoders

    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", bos_token="<s>",
                                                     eos_token="</s>", pad_token="<pad>")
    tokenizer.save_pretrained(folder)
    config = transformers.LlamaConfig(vocab_size=len(vocab), hidden_size=64, intermediate_size=128,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                      max_position_embeddings=128, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_int8_on_cpu_replaces_linear_layers_and_generates(tiny_model):
    policy = TransformersPolicy(tiny_model, quantize="auto", device="cpu", n_threads=1)
    assert policy.quantize == "int8"
    quantized = [m for m in policy.model.modules() if type(m).__module__.startswith("torch.ao.nn.quantized")]
    assert quantized, "no linear layer was quantized"
    proposals = policy.propose("def f ( x ) :", n=3, max_tokens=8, temperature=1.0, seed=1)
    assert len(proposals) == 3
    for p in proposals:
        assert 1 <= p.n_tokens <= 8
        assert p.logprobs is not None and len(p.logprobs) == p.n_tokens == len(p.tokens)
        assert all(lp <= 0.0 and math.isfinite(lp) for lp in p.logprobs)
        assert p.finish_reason == ("length" if p.n_tokens == 8 else "stop")
    usage = policy.usage
    assert usage.calls == 1
    assert usage.completion_tokens == sum(p.n_tokens for p in proposals)
    assert usage.prompt_tokens == 3 * 6  # 5 words + <s>, once per proposal


def test_seed_reproduces_samples_and_greedy_is_deterministic(tiny_model):
    policy = TransformersPolicy(tiny_model, quantize="none", device="cpu", n_threads=1)
    first = policy.propose("x = 1", n=4, max_tokens=10, temperature=1.5, seed=7)
    again = policy.propose("x = 1", n=4, max_tokens=10, temperature=1.5, seed=7)
    other = policy.propose("x = 1", n=4, max_tokens=10, temperature=1.5, seed=8)
    assert [p.text for p in first] == [p.text for p in again]
    assert [p.text for p in first] != [p.text for p in other]
    greedy = policy.propose("x = 1", n=2, max_tokens=10, temperature=0.0)
    assert greedy[0].text == greedy[1].text
    assert policy.usage.prompt_tokens == 3 * (4 + 4 + 4) + 3  # the greedy prompt is processed once


def test_logprobs_are_the_models_own(tiny_model):
    """The reported log-probability of each token equals a fresh forward pass over prompt + text."""
    policy = TransformersPolicy(tiny_model, quantize="none", device="cpu", n_threads=1)
    [p] = policy.propose("for x in", n=1, max_tokens=6, temperature=1.0, seed=3)
    ids = policy.tokenizer("for x in", return_tensors="pt")["input_ids"]
    gen = torch.tensor([policy.tokenizer.convert_tokens_to_ids(t.strip()) for t in p.tokens])
    full = torch.cat([ids[0], gen]).unsqueeze(0)
    with torch.no_grad():
        logits = policy.model(full).logits.log_softmax(-1)[0]
    expected = [logits[ids.shape[1] - 1 + i, gen[i]].item() for i in range(len(gen))]
    assert p.logprobs == pytest.approx(expected, abs=1e-4)


def test_stop_string_cuts_the_text(tiny_model):
    policy = TransformersPolicy(tiny_model, quantize="none", device="cpu", n_threads=1)
    free = policy.propose("a b", n=8, max_tokens=20, temperature=2.0, seed=11)
    # pick a word the model does produce, then ask it to stop there
    word = next(w for p in free for w in p.text.split() if w not in ("a", "b"))
    stopped = policy.propose("a b", n=8, max_tokens=20, temperature=2.0, seed=11, stop=[word])
    hit = [p for p in stopped if p.finish_reason == "stop" and p.n_tokens < 20]
    assert hit
    by_stop = [p for p in hit if p.tokens[-1] != "</s>"]
    assert by_stop
    for p in by_stop:
        # generation ended on the token that completed the stop word; padding is not counted
        assert p.tokens[-1].strip() == word and len(p.logprobs) == p.n_tokens
    assert all(word not in p.text for p in stopped)


def test_bad_inputs_are_one_line(tmp_path, tiny_model):
    with pytest.raises(ModelError, match="no config.json"):
        TransformersPolicy(tmp_path, device="cpu")
    with pytest.raises(ModelError, match="needs a CUDA GPU"):
        TransformersPolicy(tiny_model, quantize="bnb-4bit", device="cpu")


def test_prompt_past_the_context_is_prompt_too_long_and_generation_stops_at_the_context(tiny_model):
    """max_position_embeddings is 128: a longer prompt is refused; a near-full one only fills what is left."""
    from proofsmith.models.base import PromptTooLong

    policy = TransformersPolicy(tiny_model, quantize="none", device="cpu", n_threads=1)
    assert policy.n_ctx == 128
    with pytest.raises(PromptTooLong, match=r"prompt \(200 tokens\) exceeds the model's context length \(128"):
        policy.propose("x " * 200, max_tokens=4)
    [near] = policy.propose("x " * 124, max_tokens=50, temperature=0.0)
    assert near.n_tokens <= 4
