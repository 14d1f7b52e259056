"""The large PRM: a causal language model with a value head, through transformers.

For users with a GPU: any Hugging Face causal LM in a local directory (loaded
the way the `transformers` policy loads one, bitsandbytes 4/8-bit on CUDA,
int8 dynamic on CPU) reads the task, the steps and the goals as one prompt;
its last token's final hidden state goes through a trained linear head. The
language model stays frozen (only the head trains), so the same training loop
as the encoder PRM fits it. A checkpoint stores the head and names the base
model's directory in its config; the base weights are not copied.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from proofsmith.prm.encoder import state_text
from proofsmith.prm.head import HeadPRM, load_head


def prompt_text(statement: str, steps: Sequence[str], view: str | None) -> str:
    """The text the language model reads for one step."""
    return f"Task:\n{statement.strip()[:1500]}\n{state_text(steps, view)}\nIs this step on the way to a proof?"


def build_value_head(hidden_size: int) -> Any:
    """One linear layer from the last hidden state to a logit."""
    import torch

    return torch.nn.Linear(hidden_size, 1)


class CausalValuePRM(HeadPRM):
    """A frozen causal LM plus a linear value head over its last token's final hidden state."""

    def __init__(self, base: str | os.PathLike[str], *, quantize: str = "auto", head: Any | None = None,
                 config: dict[str, Any] | None = None, name: str | None = None) -> None:
        import torch

        from proofsmith.models.transformers_backend import TransformersPolicy

        self._torch = torch
        self.policy = TransformersPolicy(base, quantize=quantize)  # type: ignore[arg-type]
        hidden = int(self.policy.model.config.hidden_size)
        self.head = (head if head is not None else build_value_head(hidden)).to(self.policy.device).eval()
        self.config = config or {"kind": "causal", "base": str(Path(base).resolve()), "quantize": quantize,
                                 "hidden_size": hidden}
        self.name = name or "prm-untrained"

    def featurize(self, statements: Sequence[str], paths: Sequence[Sequence[str]],
                  views: Sequence[str | None]) -> Any:
        """The last token's final hidden state for each row (float32, on the head's device)."""
        torch = self._torch
        tokenizer, model = self.policy.tokenizer, self.policy.model
        rows = []
        for statement, path, view in zip(statements, paths, views, strict=True):
            encoded = tokenizer(prompt_text(statement, path, view), return_tensors="pt", truncation=True,
                                max_length=1024).to(self.policy.device)
            with torch.inference_mode():
                out = model(**encoded, output_hidden_states=True)
            rows.append(out.hidden_states[-1][0, -1].float())
        return torch.stack(rows)


def load_causal_prm(directory: Path, config: dict[str, Any]) -> CausalValuePRM:
    """Load a value-head checkpoint; its base model must still be where the config says."""
    head = load_head(build_value_head(int(config["hidden_size"])), directory)
    return CausalValuePRM(config["base"], quantize=config.get("quantize", "auto"), head=head, config=config,
                          name=config.get("name"))
