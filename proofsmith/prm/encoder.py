"""The small PRM: frozen all-MiniLM-L6-v2 sentence embeddings and a trained MLP head.

The head reads the task's statement, the step (with the few steps before it)
and the checker's view after it (Coq's goals), embedded separately, plus three
plain features (depth, goal count, whether a view is there), and gives the
probability that the step leads to a verified answer. The encoder is frozen,
so training is fitting a 150k-parameter head on cached embeddings: minutes on
two CPU cores. A checkpoint is a directory with `head.safetensors` and
`config.json`; its `name` (a hash of both) is what traces and manifests cite.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from proofsmith.models.base import ModelError
from proofsmith.schema import Task
from proofsmith.steps import goal_count

#: all-MiniLM-L6-v2's width
EMBED_DIM = 384
#: depth, goal count, has-view
N_FEATURES = 3
#: steps before the scored one that its text shows (the rest of the path is summarised by depth)
CONTEXT_STEPS = 3
HEAD_FILE, CONFIG_FILE = "head.safetensors", "config.json"


def state_text(steps: Sequence[str], view: str | None) -> str:
    """What the encoder reads for a step: the last few steps, then the goals after them."""
    shown = [s.strip()[:400] for s in steps[-(CONTEXT_STEPS + 1):]]
    text = "steps: " + " | ".join(shown)
    if view:
        text += "\ngoals: " + view.strip()[:1200]
    return text


def features(steps: Sequence[str], view: str | None) -> list[float]:
    """The plain features beside the embeddings (scaled to about [0, 1])."""
    goals = goal_count(view) if view else 0
    if view and goals == 0 and not view.strip().startswith("No more goals"):
        goals = 1  # one goal is shown without a count
    return [min(len(steps), 30) / 10.0, min(goals, 10) / 5.0, 1.0 if view else 0.0]


def build_head(hidden: int = 128, dropout: float = 0.1) -> Any:
    """The MLP over [task, state, task * state, features]."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(3 * EMBED_DIM + N_FEATURES, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
        torch.nn.Linear(hidden, 1))


def head_input(task_vec: Any, state_vec: Any, feats: Any) -> Any:
    """Stack the head's input rows from batched task and state embeddings and features."""
    import torch

    return torch.cat([task_vec, state_vec, task_vec * state_vec, feats], dim=-1)


class EncoderPRM:
    """A trained encoder PRM; `score(task, steps, views=)` follows `search.base.ProcessRewardModel`."""

    def __init__(self, head: Any, config: dict[str, Any], *, embedder: Any | None = None,
                 name: str | None = None) -> None:
        import torch

        self.head = head.eval()
        self.config = config
        self.name = name or "prm-untrained"
        self._torch = torch
        self._embedder = embedder
        self._cache: OrderedDict[str, list[float]] = OrderedDict()

    @property
    def embedder(self) -> Any:
        """The sentence encoder, loaded on first use."""
        if self._embedder is None:
            from proofsmith.models.prompts import MiniLMEmbedder

            self._embedder = MiniLMEmbedder()
        return self._embedder

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embeddings of `texts`, remembered (searches score the same statement and prefixes again and again)."""
        for text in dict.fromkeys(texts):
            if text not in self._cache:
                # one text at a time: a batch pads, and padding moves the floats, so a step's score would
                # depend on its batch-mates; unpadded it is also faster on CPU
                self._cache[text] = self.embedder.embed([text])[0]
        out = []
        for text in texts:
            self._cache.move_to_end(text)
            out.append(self._cache[text])
        while len(self._cache) > 20_000:
            self._cache.popitem(last=False)
        return out

    def featurize(self, statements: Sequence[str], paths: Sequence[Sequence[str]],
                  views: Sequence[str | None]) -> Any:
        """The head's input rows for (statement, steps, view) rows."""
        torch = self._torch
        task_vecs = torch.tensor(self.embed(list(statements)))
        state_vecs = torch.tensor(self.embed([state_text(p, v) for p, v in zip(paths, views, strict=True)]))
        feats = torch.tensor([features(p, v) for p, v in zip(paths, views, strict=True)])
        return head_input(task_vecs, state_vecs, feats)

    def score_rows(self, statements: Sequence[str], paths: Sequence[Sequence[str]],
                   views: Sequence[str | None]) -> list[float]:
        """One probability per (statement, steps, view) row."""
        return head_scores(self, statements, paths, views)

    def score(self, task: Task, steps: Sequence[str], *,
              views: Sequence[str | None] | None = None) -> list[float]:
        """The probability that each prefix of `steps` leads to a verified answer."""
        return prefix_scores(self, task, steps, views)

    def save(self, directory: str | os.PathLike[str]) -> str:
        """Write `head.safetensors` and `config.json` into `directory`; the checkpoint's name."""
        return save_head(self, directory)


def head_scores(prm: Any, statements: Sequence[str], paths: Sequence[Sequence[str]],
                views: Sequence[str | None]) -> list[float]:
    """A PRM's probabilities for rows of (statement, steps, view): its head over its `featurize` (either backend)."""
    torch = prm._torch
    if not paths:
        return []
    with torch.inference_mode():
        logits = prm.head(prm.featurize(statements, paths, views)).squeeze(-1)
    return torch.sigmoid(logits).tolist()


def prefix_scores(prm: Any, task: Task, steps: Sequence[str], views: Sequence[str | None] | None) -> list[float]:
    """A PRM's probability for each prefix of `steps`, the `score` of the search contract (either backend)."""
    steps = list(steps)
    views = list(views) if views is not None else [None] * len(steps)
    if len(views) != len(steps):
        raise ValueError(f"{len(views)} views for {len(steps)} steps")
    paths = [steps[:i + 1] for i in range(len(steps))]
    return prm.score_rows([task.statement] * len(steps), paths, views)


def save_head(prm: Any, directory: str | os.PathLike[str]) -> str:
    """Save any PRM made of a torch `head` and a JSON `config` (both backends); sets and returns its name."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in prm.head.state_dict().items()}, str(directory / HEAD_FILE))
    prm.name = checkpoint_name(directory, prm.config)
    prm.config = {**prm.config, "name": prm.name}
    (directory / CONFIG_FILE).write_text(json.dumps(prm.config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return prm.name


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


def load_encoder_prm(directory: Path, config: dict[str, Any], embedder: Any | None = None) -> EncoderPRM:
    """Load an encoder PRM checkpoint written by `EncoderPRM.save`."""
    head = load_head(build_head(int(config.get("hidden", 128)), float(config.get("dropout", 0.1))), directory)
    return EncoderPRM(head, config, embedder=embedder, name=config.get("name"))
