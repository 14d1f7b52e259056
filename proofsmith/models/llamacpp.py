"""GGUF models through llama.cpp (the `xllamacpp` bindings): the embedded default policy.

xllamacpp installs as a prebuilt wheel in seconds and embeds llama.cpp's own
server engine, so `n` proposals for one prompt are decoded together in
parallel slots (continuous batching) and come back with per-token
log-probabilities. Runs on the CPU by default; a GPU build offloads layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proofsmith.models.base import ModelError, Policy, PromptTooLong, Proposal, is_context_overflow

_INSTALL_HINT = "the llama.cpp backend needs xllamacpp: run `pip install 'proofsmith[models]'` (or `make install`)"


class LlamaCppPolicy(Policy):
    """A GGUF file served in-process by llama.cpp.

    `n_parallel` slots decode that many proposals at once, each with a
    context of `n_ctx` tokens; `n_gpu_layers` None keeps llama.cpp's default
    (all layers on a GPU when the wheel has one, none otherwise). The embedded
    engine also answers HTTP on a loopback port without an API key (see
    `endpoint`): any local user can query the model while the policy lives.
    """

    name = "llamacpp"

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int = 4096,
        n_parallel: int = 4,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
    ) -> None:
        super().__init__()
        try:
            import xllamacpp
        except ImportError:
            raise ModelError(_INSTALL_HINT) from None
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_parallel = n_parallel
        # llama.cpp splits n_ctx across the slots
        params.n_ctx = n_ctx * n_parallel
        params.warmup = False
        params.verbosity = -1
        if n_threads is not None:
            params.cpuparams.n_threads = n_threads
            params.cpuparams_batch.n_threads = n_threads
        if n_gpu_layers is not None:
            params.n_gpu_layers = n_gpu_layers
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # noqa: BLE001 - llama.cpp reports a bad file as a bare runtime error
            raise ModelError(f"{path}: llama.cpp cannot load it ({exc}); is it a GGUF model file?") from None
        self.path = path
        self.n_ctx = n_ctx
        self.name = f"llamacpp:{path.name}"

    def _generate(
        self, prompt: str, n: int, max_tokens: int, temperature: float, stop: list[str], seed: int | None
    ) -> tuple[list[Proposal], int]:
        request: dict[str, Any] = {"prompt": prompt, "n": n, "max_tokens": max_tokens, "temperature": temperature}
        if stop:
            request["stop"] = stop
        if seed is not None:
            request["seed"] = spread_seed(seed)
        # always asked for: besides the search's use of them, they are the only per-proposal token
        # count llama.cpp gives (its usage block counts one proposal of the n)
        request["logprobs"] = 1
        reply = self._server.handle_completions(request)
        if "error" in reply:
            error = reply["error"]
            if is_context_overflow(f"{error.get('type', '')} {error.get('message', '')}"):
                raise PromptTooLong(f"llama.cpp: {error.get('message', error)}")
            raise ModelError(f"llama.cpp refused the request: {error.get('message', error)}")
        choices = sorted(reply["choices"], key=lambda c: c["index"])
        proposals = [_proposal(choice) for choice in choices]
        # usage counts the prompt once per slot; count it once per proposal, as the work done
        prompt_tokens = int(reply.get("usage", {}).get("prompt_tokens", 0)) * len(proposals)
        return proposals, prompt_tokens

    @property
    def endpoint(self) -> str:
        """llama.cpp's own OpenAI-compatible HTTP endpoint for this model (loopback only), e.g. for OpenAIPolicy."""
        return f"{self._server.listening_address}/v1"

    def close(self) -> None:
        """Release the llama.cpp server and its model."""
        self._server = None


def spread_seed(seed: int) -> int:
    """The seed llama.cpp gets for a caller's `seed`.

    llama.cpp samples proposal i of a request with seed + i, so calls with seeds
    7 and 8 would share all but one sample; spacing the seeds apart keeps
    consecutive caller seeds independent.
    """
    return (seed * 1_000_003) % (2**32 - 1)


def _proposal(choice: dict[str, Any]) -> Proposal:
    content = (choice.get("logprobs") or {}).get("content") or []
    finish = "length" if choice.get("finish_reason") == "length" else "stop"
    return Proposal(text=choice["text"], n_tokens=len(content), logprobs=[float(t["logprob"]) for t in content],
                    tokens=[t["token"] for t in content], finish_reason=finish)
