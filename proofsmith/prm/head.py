"""What both PRM backends are: a torch head over features of (statement, steps, view) rows, saved as a checkpoint.

A backend (`encoder.EncoderPRM`, `value_head.CausalValuePRM`) only says how
it turns rows into the head's input (`featurize`); scoring, the search
contract's `score`, and saving are the same for both. A checkpoint is a
directory with `head.safetensors` and `config.json`; its `name` (a hash of
both) is what traces and manifests cite.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from proofsmith.models.base import ModelError
from proofsmith.schema import Task

HEAD_FILE, CONFIG_FILE = "head.safetensors", "config.json"


class HeadPRM(ABC):
    """A PRM made of a torch `head` and a JSON `config`; `score` follows `search.base.ProcessRewardModel`."""

    head: Any
    config: dict[str, Any]
    name: str
    _torch: Any

    @abstractmethod
    def featurize(self, statements: Sequence[str], paths: Sequence[Sequence[str]],
                  views: Sequence[str | None]) -> Any:
        """The head's input rows for (statement, steps, view) rows."""

    def score_rows(self, statements: Sequence[str], paths: Sequence[Sequence[str]],
                   views: Sequence[str | None]) -> list[float]:
        """One probability per (statement, steps, view) row: the head over `featurize`."""
        if not paths:
            return []
        with self._torch.inference_mode():
            logits = self.head(self.featurize(statements, paths, views)).squeeze(-1)
        return self._torch.sigmoid(logits).tolist()

    def score(self, task: Task, steps: Sequence[str], *,
              views: Sequence[str | None] | None = None) -> list[float]:
        """The probability that each prefix of `steps` leads to a verified answer."""
        steps = list(steps)
        views = list(views) if views is not None else [None] * len(steps)
        if len(views) != len(steps):
            raise ValueError(f"{len(views)} views for {len(steps)} steps")
        paths = [steps[:i + 1] for i in range(len(steps))]
        return self.score_rows([task.statement] * len(steps), paths, views)

    def save(self, directory: str | os.PathLike[str]) -> str:
        """Write `head.safetensors` and `config.json` into `directory` (a causal PRM's base model is not copied,
        its config names it); sets and returns the checkpoint's name."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, str(directory / HEAD_FILE))
        self.name = checkpoint_name(directory, self.config)
        self.config = {**self.config, "name": self.name}
        (directory / CONFIG_FILE).write_text(json.dumps(self.config, indent=2, sort_keys=True) + "\n",
                                             encoding="utf-8")
        return self.name


def load_head(head: Any, directory: Path) -> Any:
    """Load `head.safetensors` from `directory` into `head`; ModelError naming the fix when it does not fit."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        head.load_state_dict(load_file(str(directory / HEAD_FILE)))
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise ModelError(f"{directory / HEAD_FILE}: not a PRM head this proofsmith can load "
                         f"({str(exc).splitlines()[0]}); retrain with `proofsmith prm train`") from None
    return head


def checkpoint_name(directory: Path, config: dict[str, Any]) -> str:
    """`prm-` and 12 hex digits of the sha256 of the weights and the config (without its own name)."""
    digest = hashlib.sha256((directory / HEAD_FILE).read_bytes())
    digest.update(json.dumps({k: v for k, v in config.items() if k not in ("name", "report")},
                             sort_keys=True).encode())
    return "prm-" + digest.hexdigest()[:12]
