"""Hugging Face causal language models from a local directory, quantized for where they run.

Weights load with `local_files_only=True`, so nothing ever reaches a model
hub. On a CUDA machine with bitsandbytes installed the model loads in 4-bit
or 8-bit; on a CPU its linear layers become torch dynamic int8 (1.8-3.2x
faster than fp32 on the 2-core build machines). Needs the `models-torch`
extra (torch, transformers).
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any, Literal

from proofsmith.models.base import ModelError, Policy, PromptTooLong, Proposal, cut_at_stop

Quantize = Literal["auto", "none", "int8", "bnb-8bit", "bnb-4bit"]
_INSTALL_HINT = "the transformers backend needs torch and transformers: run `pip install 'proofsmith[models-torch]'`"


class TransformersPolicy(Policy):
    """A local Hugging Face model directory as a Policy.

    `quantize`: `auto` picks bnb-4bit on CUDA when bitsandbytes is installed,
    int8 on CPU; `int8` is torch dynamic int8 (CPU only); `bnb-8bit` and
    `bnb-4bit` need CUDA and bitsandbytes; `none` keeps the stored weights.
    Log-probabilities are the model's own (before temperature).
    """

    name = "transformers"

    def __init__(
        self,
        path: str | Path,
        *,
        quantize: Quantize = "auto",
        device: str | None = None,
        n_threads: int | None = None,
    ) -> None:
        super().__init__()
        try:
            import torch
            import transformers
        except ImportError:
            raise ModelError(_INSTALL_HINT) from None
        path = Path(path)
        if not (path / "config.json").is_file():
            raise ModelError(f"{path}: not a Hugging Face model directory (no config.json); "
                             "pass the folder that save_pretrained wrote")
        if n_threads is not None:
            torch.set_num_threads(n_threads)
        self._torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.quantize = _resolve(quantize, self.device)
        kwargs: dict[str, Any] = {"local_files_only": True}
        if self.quantize.startswith("bnb-"):
            kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
                load_in_4bit=self.quantize == "bnb-4bit", load_in_8bit=self.quantize == "bnb-8bit")
            kwargs["device_map"] = self.device
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{path}: transformers cannot load it ({first})") from None
        model.eval()
        if self.quantize == "int8":
            model = _int8_dynamic(torch, model)
        elif not self.quantize.startswith("bnb-"):
            model = model.to(self.device)
        self.model = model
        self.n_ctx = _context_length(model.config)
        self.name = f"transformers:{path.name}:{self.quantize}"
        # torch's global RNG makes seeded sampling a critical section
        self._rng_lock = threading.Lock()

    def _generate(
        self, prompt: str, n: int, max_tokens: int, temperature: float, stop: list[str], seed: int | None
    ) -> tuple[list[Proposal], int]:
        import transformers

        torch = self._torch
        encoded = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        prompt_len = encoded["input_ids"].shape[1]
        if self.n_ctx is not None:
            if prompt_len >= self.n_ctx:
                raise PromptTooLong(f"{self.name}: the prompt ({prompt_len} tokens) exceeds the model's "
                                    f"context length ({self.n_ctx} tokens)")
            # past its positions a model writes noise (or fails): the room left is all it may generate
            max_tokens = min(max_tokens, self.n_ctx - prompt_len)
        pad = self.tokenizer.pad_token_id
        eos = self.tokenizer.eos_token_id
        # greedy decoding gives one answer however often it is asked: decode it once
        rows = n if temperature > 0 else 1
        options: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "num_return_sequences": rows,
            "return_dict_in_generate": True,
            "output_logits": True,
            "pad_token_id": pad if pad is not None else eos,
        }
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
        else:
            options.update(do_sample=False)
        if stop:
            options["stopping_criteria"] = transformers.StoppingCriteriaList(
                [_StopStrings(self.tokenizer, stop, prompt_len, torch)])
        with self._rng_lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(**encoded, **options)
        generated = out.sequences[:, prompt_len:]
        # logits are per step, each (n, vocab); log_softmax gives the model's own token log-probabilities
        steps = torch.stack(out.logits, dim=1).float().log_softmax(-1)
        chosen = steps.gather(-1, generated[:, : steps.shape[1]].unsqueeze(-1)).squeeze(-1)
        proposals = []
        for row in range(generated.shape[0]):
            ids = generated[row].tolist()
            length = len(ids)
            ended = False
            if eos is not None and eos in ids:
                length = ids.index(eos) + 1
                ended = True
            elif pad is not None:
                # a row that hit a stop string early is padded to the longest row
                while length and ids[length - 1] == pad:
                    length -= 1
            ids = ids[:length]
            text, cut = cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), stop)
            finish = "stop" if ended or cut or length < max_tokens else "length"
            proposals.append(Proposal(
                text=text,
                n_tokens=length,
                logprobs=[float(v) for v in chosen[row, :length].tolist()],
                tokens=[self.tokenizer.decode([i]) for i in ids],
                finish_reason=finish,
            ))
        if rows < n:
            proposals = proposals * n
        return proposals, prompt_len * rows

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self.model = None


class _StopStrings:
    """Ends each row once its decoded continuation holds a stop string.

    transformers' own `stop_strings` needs a tokenizer whose vocabulary maps to
    text pieces; decoding works with any tokenizer.
    """

    def __init__(self, tokenizer: Any, stop: list[str], prompt_len: int, torch: Any) -> None:
        self.tokenizer = tokenizer
        self.stop = stop
        self.prompt_len = prompt_len
        self.torch = torch

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_len:], skip_special_tokens=True)
        return self.torch.tensor([cut_at_stop(t, self.stop)[1] for t in texts], device=input_ids.device)


def _context_length(config: Any) -> int | None:
    """The positions the model was built for, under the names configs use for it (None if unstated)."""
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _resolve(quantize: Quantize, device: str) -> str:
    cuda = device.startswith("cuda")
    if quantize == "auto":
        if not cuda:
            return "int8"
        try:
            import bitsandbytes
        except ImportError:
            return "none"
        return "bnb-4bit"
    if quantize.startswith("bnb-"):
        if not cuda:
            raise ModelError(f"quantize={quantize} needs a CUDA GPU; on a CPU use quantize='int8'")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ModelError(f"quantize={quantize} needs bitsandbytes: run `pip install bitsandbytes`") from None
    if quantize == "int8" and cuda:
        raise ModelError("quantize='int8' is torch dynamic int8 for CPUs; on CUDA use bnb-8bit or bnb-4bit")
    return quantize


def _int8_dynamic(torch: Any, model: Any) -> Any:
    with warnings.catch_warnings():
        # torch marks torch.ao.quantization deprecated in favour of torchao, whose int8 is slower on these CPUs
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
