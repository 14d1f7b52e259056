"""Process reward models trained from checker-labelled search steps.

`labels.py` turns search traces into step labels, `montecarlo.py` adds
Math-Shepherd rollout values, `train.py` fits a PRM with a held-out split by
task, `loop.py` alternates search and training (expert iteration). Two
backends: `encoder.py` (frozen MiniLM embeddings and an MLP head: the CPU
default) and `value_head.py` (a causal LM with a value head, for GPUs), both a
`head.HeadPRM`; both save as `head.safetensors` + `config.json`; `load_prm` reads either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from proofsmith.models.base import ModelError
from proofsmith.prm.encoder import EncoderPRM
from proofsmith.prm.head import CONFIG_FILE, HEAD_FILE
from proofsmith.prm.labels import StepLabel, label_trace, read_labels, write_labels


def load_prm(directory: str | os.PathLike[str], *, embedder: Any | None = None) -> Any:
    """A saved PRM checkpoint (either backend); ModelError with one line naming the fix when it is not one."""
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file() or not (directory / HEAD_FILE).is_file():
        raise ModelError(f"{directory}: not a PRM checkpoint (needs {CONFIG_FILE} and {HEAD_FILE}); "
                         "train one with `proofsmith prm train LABELS -o DIR`")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{config_path}: unreadable PRM config ({exc})") from None
    kind = config.get("kind")
    if kind == "encoder":
        from proofsmith.prm.encoder import load_encoder_prm

        return load_encoder_prm(directory, config, embedder=embedder)
    if kind == "causal":
        from proofsmith.prm.value_head import load_causal_prm

        return load_causal_prm(directory, config)
    raise ModelError(f"{config_path}: unknown PRM kind {kind!r} (known: encoder, causal)")


__all__ = ["EncoderPRM", "StepLabel", "label_trace", "load_prm", "read_labels", "write_labels"]
