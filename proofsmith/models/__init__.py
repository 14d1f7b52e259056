"""Policies: quantized language models that propose proofs and programs.

`load_policy()` gives the default model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M,
embedded llama.cpp, no server and no network); `registry` names the models and
checks their files, `prompts` writes what they are asked, `extract` pulls the
answer out of what they say. Other backends: `transformers_backend`
(local Hugging Face weights, int8 on CPU, bitsandbytes on CUDA) and
`openai_backend` (any OpenAI-compatible completions endpoint).
"""

from __future__ import annotations

from pathlib import Path

from proofsmith.models.base import ModelError, Policy, Proposal, Usage
from proofsmith.models.registry import DEFAULT_MODEL, MODELS, ModelSpec, get_spec, model_path

__all__ = ["DEFAULT_MODEL", "MODELS", "ModelError", "ModelSpec", "Policy", "Proposal", "Usage", "get_spec",
           "load_policy", "model_path"]


def load_policy(
    model: str = DEFAULT_MODEL,
    *,
    n_threads: int | None = None,
    n_parallel: int = 4,
    n_ctx: int = 4096,
    n_gpu_layers: int | None = None,
    lazy: bool = False,
) -> Policy:
    """A llama.cpp policy for a registry name (or alias), or for a path to your own `.gguf` file.

    Registry models are checked against their pinned sha256 before first use;
    a file you name by path is yours and is not checked. `none` is the empty
    policy (`models.no_model`): search by automation alone.
    `lazy` checks the name and the file now and loads the model at the first
    proposal (`models.lazy`), so a search that never asks costs no load.
    """
    from proofsmith.models.llamacpp import LlamaCppPolicy
    from proofsmith.models.no_model import NO_MODEL, NoModel

    if model == NO_MODEL:
        return NoModel()
    spec = None
    if model.endswith(".gguf"):
        path = Path(model)
        if not path.is_file():
            raise ModelError(f"{model}: no such model file")
    else:
        spec = get_spec(model)
        path = model_path(spec)

    def build() -> Policy:
        policy = LlamaCppPolicy(path, n_threads=n_threads, n_parallel=n_parallel, n_ctx=n_ctx,
                                n_gpu_layers=n_gpu_layers)
        if spec is not None:
            policy.chat_template, policy.system_prompt = spec.chat_template, spec.system_prompt
            policy.name = spec.name
        return policy

    if not lazy:
        return build()
    from proofsmith.models.lazy import LazyPolicy

    return LazyPolicy(build, name=spec.name if spec is not None else path.stem,
                      chat_template=spec.chat_template if spec is not None else LlamaCppPolicy.chat_template,
                      system_prompt=spec.system_prompt if spec is not None else "")
