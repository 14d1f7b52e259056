"""Training a PRM head on step labels, with a held-out split by task and a report.

Tasks, never steps, are split into train / validation / test (seeded), so no
step of a held-out task is seen in training. The head fits the soft labels
with a class-balanced cross-entropy, stops early on the validation loss, and
is scored on the held-out tasks: step-level AUROC and accuracy against the
hard label (all steps, and only the steps the checker accepted: the ones a
tactic search asks the PRM about), and Best-of-N reranking accuracy (of the
held-out tasks with both verified and failed checked candidates, how often
the PRM's top candidate is a verified one; beside what picking at random gets).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from proofsmith.prm.labels import LabelError, StepLabel


class StepMetrics(BaseModel):
    """Step-level figures on one set of steps."""

    steps: int
    positives: int
    auroc: float | None = None
    accuracy: float | None = None


class RerankMetrics(BaseModel):
    """Best-of-N reranking on held-out tasks."""

    tasks: int
    prm_accuracy: float | None = None
    random_accuracy: float | None = None


class TrainReport(BaseModel):
    """What `proofsmith prm train` prints and stores in the checkpoint's config."""

    name: str
    backend: str
    seed: int
    tasks: dict[str, int]
    steps: dict[str, int]
    epochs: int
    best_epoch: int
    val_loss: float
    test: StepMetrics
    test_accepted: StepMetrics
    rerank: RerankMetrics
    test_tasks: list[str] = Field(default_factory=list)


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties counted half); None when one class is missing."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    ranked = sorted((s, i) for i, s in enumerate([*pos, *neg]))
    ranks = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(ranks[:len(pos)])
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def split_tasks(labels: Sequence[StepLabel], seed: int, holdout: float, validation: float
                ) -> tuple[set[str], set[str], set[str]]:
    """(train, validation, test) task ids: a seeded shuffle of the sorted ids, so the split is reproducible."""
    ids = sorted({label.task_id for label in labels})
    if len(ids) < 3:
        raise LabelError(f"labels cover {len(ids)} task(s); a split by task needs at least 3 "
                         "(label more traces)")
    random.Random(seed).shuffle(ids)
    n_test = max(1, round(holdout * len(ids)))
    n_val = max(1, round(validation * len(ids)))
    test, val, train = ids[:n_test], ids[n_test:n_test + n_val], ids[n_test + n_val:]
    if not train:
        raise LabelError(f"{len(ids)} tasks leave none for training after the held-out split; "
                         "label more traces or lower --holdout")
    return set(train), set(val), set(test)


def step_metrics(scores: Sequence[float], labels: Sequence[StepLabel]) -> StepMetrics:
    """AUROC and accuracy (threshold 0.5) of `scores` against the hard labels."""
    hard = [label.hard for label in labels]
    accuracy = (sum((s >= 0.5) == bool(y) for s, y in zip(scores, hard, strict=True)) / len(hard)) if hard else None
    return StepMetrics(steps=len(hard), positives=sum(hard), auroc=auroc(scores, hard), accuracy=accuracy)


def rerank_metrics(scores: Sequence[float], labels: Sequence[StepLabel]) -> RerankMetrics:
    """Best-of-N reranking over each task's checked candidates (see the module docstring)."""
    by_task: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for score, label in zip(scores, labels, strict=True):
        if label.verdict is not None:
            by_task[label.task_id].append((score, label.verdict == "verified"))
    mixed = {t: c for t, c in by_task.items() if any(v for _, v in c) and not all(v for _, v in c)}
    if not mixed:
        return RerankMetrics(tasks=0)
    hits = sum(max(c, key=lambda item: item[0])[1] for c in mixed.values())
    chance = sum(sum(v for _, v in c) / len(c) for c in mixed.values())
    return RerankMetrics(tasks=len(mixed), prm_accuracy=hits / len(mixed), random_accuracy=chance / len(mixed))


def featurize(prm: Any, labels: Sequence[StepLabel], batch: int = 256) -> Any:
    """The head's input rows for `labels`, computed in batches."""
    import torch

    parts = []
    for start in range(0, len(labels), batch):
        chunk = labels[start:start + batch]
        parts.append(prm.featurize([x.statement for x in chunk], [x.steps for x in chunk], [x.view for x in chunk]))
    return torch.cat(parts) if parts else torch.zeros(0)


def fit(prm: Any, train: Sequence[StepLabel], val: Sequence[StepLabel], *, seed: int, epochs: int,
        patience: int, lr: float, batch_size: int = 128) -> tuple[int, int, float]:
    """Fit `prm.head` on `train`, stop early on `val`; (epochs run, best epoch, best validation loss)."""
    import torch

    torch.manual_seed(seed)
    x_train, x_val = featurize(prm, train), featurize(prm, val)
    y_train = torch.tensor([x.soft for x in train])
    y_val = torch.tensor([x.soft for x in val])
    positives = sum(x.hard for x in train)
    # rare positives (most search steps lead nowhere) would otherwise be ignored
    pos_weight = min(10.0, (len(train) - positives) / positives) if positives else 1.0

    def weights(y: Any) -> Any:
        return 1.0 + (pos_weight - 1.0) * (y >= 0.5).float()

    w_train, w_val = weights(y_train), weights(y_val)
    head = prm.head
    optimiser = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    generator = torch.Generator().manual_seed(seed)
    best = (float("inf"), 0, {k: v.clone() for k, v in head.state_dict().items()})
    epoch = 0
    for epoch in range(1, epochs + 1):
        head.train()
        order = torch.randperm(len(train), generator=generator)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            optimiser.zero_grad()
            loss = (loss_fn(head(x_train[idx]).squeeze(-1), y_train[idx]) * w_train[idx]).mean()
            loss.backward()
            optimiser.step()
        head.eval()
        with torch.no_grad():
            source = (x_val, y_val, w_val) if len(val) else (x_train, y_train, w_train)
            val_loss = float((loss_fn(head(source[0]).squeeze(-1), source[1]) * source[2]).mean())
        if val_loss < best[0] - 1e-5:
            best = (val_loss, epoch, {k: v.clone() for k, v in head.state_dict().items()})
        elif epoch - best[1] >= patience:
            break
    head.load_state_dict(best[2])
    head.eval()
    return epoch, best[1], best[0]


def train_prm(labels: Sequence[StepLabel], *, backend: str = "encoder", seed: int = 0, holdout: float = 0.2,
              validation: float = 0.15, epochs: int = 300, patience: int = 20, lr: float = 1e-3,
              base: str | None = None, embedder: Any | None = None) -> tuple[Any, TrainReport]:
    """Train a PRM on `labels`; the PRM (not yet saved) and its report. Deterministic for a seed."""
    import torch

    from proofsmith.prm.encoder import EncoderPRM, build_head

    if not labels:
        raise LabelError("no step labels to train on")
    torch.manual_seed(seed)
    train_ids, val_ids, test_ids = split_tasks(labels, seed, holdout, validation)
    parts = {name: [x for x in labels if x.task_id in ids]
             for name, ids in (("train", train_ids), ("validation", val_ids), ("test", test_ids))}
    if backend == "encoder":
        prm: Any = EncoderPRM(build_head(), {"kind": "encoder", "encoder": "all-MiniLM-L6-v2", "hidden": 128,
                                             "dropout": 0.1}, embedder=embedder)
    elif backend == "causal":
        if base is None:
            raise LabelError("the causal backend needs --base DIR (a Hugging Face causal LM directory)")
        from proofsmith.prm.value_head import CausalValuePRM

        prm = CausalValuePRM(base)
    else:
        raise LabelError(f"unknown PRM backend {backend!r} (known: encoder, causal)")
    epochs_run, best_epoch, val_loss = fit(prm, parts["train"], parts["validation"], seed=seed, epochs=epochs,
                                           patience=patience, lr=lr)
    test = parts["test"]
    scores = prm.score_rows([x.statement for x in test], [x.steps for x in test], [x.view for x in test])
    accepted = [(s, x) for s, x in zip(scores, test, strict=True) if x.accepted]
    report = TrainReport(
        name="", backend=backend, seed=seed,
        tasks={"train": len(train_ids), "validation": len(val_ids), "test": len(test_ids)},
        steps={name: len(part) for name, part in parts.items()},
        epochs=epochs_run, best_epoch=best_epoch, val_loss=val_loss,
        test=step_metrics(scores, test),
        test_accepted=step_metrics([s for s, _ in accepted], [x for _, x in accepted]),
        rerank=rerank_metrics(scores, test), test_tasks=sorted(test_ids))
    prm.config = {**prm.config, "seed": seed, "trained_on": {"tasks": len(train_ids), "steps": len(parts["train"])}}
    return prm, report
