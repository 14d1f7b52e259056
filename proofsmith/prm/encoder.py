"""The small PRM: frozen all-MiniLM-L6-v2 sentence embeddings and a trained MLP head.

The head reads the task's statement, the step (with the few steps before it)
and the checker's view after it (Coq's goals), embedded separately, plus three
plain features (depth, goal count, whether a view is there), and gives the
probability that the step leads to a verified answer. The encoder is frozen,
so training is fitting a 150k-parameter head on cached embeddings: minutes on
two CPU cores. Scoring and checkpoints are the shared `head.HeadPRM`'s.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from proofsmith.prm.head import HeadPRM, load_head
from proofsmith.steps import goal_count

#: all-MiniLM-L6-v2's width
EMBED_DIM = 384
#: depth, goal count, has-view
N_FEATURES = 3
#: steps before the scored one that its text shows (the rest of the path is summarised by depth)
CONTEXT_STEPS = 3


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


class EncoderPRM(HeadPRM):
    """A trained encoder PRM: MiniLM embeddings of the statement and the state, and the MLP head over them."""

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


def load_encoder_prm(directory: Path, config: dict[str, Any], embedder: Any | None = None) -> EncoderPRM:
    """Load an encoder PRM checkpoint written by `EncoderPRM.save`."""
    head = load_head(build_head(int(config.get("hidden", 128)), float(config.get("dropout", 0.1))), directory)
    return EncoderPRM(head, config, embedder=embedder, name=config.get("name"))
