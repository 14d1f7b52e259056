"""`proofsmith prm label|train|loop`: step labels from traces, a trained PRM, and expert iteration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from proofsmith.user_error import UserError


def _tasks(suite: str | None, task_file: str | None) -> list[Any]:
    if suite is None and task_file is None:
        return []
    if suite is not None and task_file is not None:
        raise UserError("give --suite or --task-file, not both")
    if suite is not None:
        from proofsmith.datasets.cli import load_split_tasks

        return load_split_tasks(suite)
    from proofsmith.datasets.jsonl import InputError, read_tasks

    try:
        tasks, problems = read_tasks(task_file)
    except InputError as exc:
        raise UserError(str(exc)) from None
    if problems:
        raise UserError(problems[0])
    return tasks


@click.group("prm")
def prm() -> None:
    """Process reward models trained from the checker's verdicts on search steps.

    \b
    proofsmith prove --suite coq-stdlib-mini --limit 20 --traces traces/
    proofsmith prm label traces/ -o steps.jsonl
    proofsmith prm train steps.jsonl -o prm/
    proofsmith prove --suite coq-stdlib-mini --strategy beam --prm prm/
    """


@prm.command()
@click.argument("traces", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Label file to write (JSONL).")
@click.option("--suite", default=None, help="The suite the traces came from (needed for old traces and --mc).")
@click.option("--task-file", default=None, type=click.Path(dir_okay=False), help="Or the task file they came from.")
@click.option("--mc", "mc_k", type=click.IntRange(min=0), default=0, show_default=True,
              help="Monte-Carlo rollouts per step (Math-Shepherd soft labels); 0: tree labels only.")
@click.option("--mc-limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Roll out from at most this many steps (a seeded draw).")
@click.option("--model", default="default", show_default=True, help="The policy that rolls out (with --mc).")
@click.option("--seed", type=int, default=0, show_default=True)
def label(traces: tuple[str, ...], output: str, suite: str | None, task_file: str | None, mc_k: int, mc_limit: int,
          model: str, seed: int) -> None:
    """Label every step of the search TRACES (files or directories) from the checkers' verdicts."""
    from proofsmith.prm.labels import LabelError, label_trace, trace_files, write_labels

    tasks = {t.id: t for t in _tasks(suite, task_file)}
    statements = {t.id: (t.language, t.statement) for t in tasks.values()}
    try:
        files = trace_files(traces)
        if not files:
            raise UserError(f"no trace files (*.jsonl) in {', '.join(traces)}")
        labels = [x for path in files for x in label_trace(path, statements=statements)]
    except LabelError as exc:
        raise UserError(str(exc)) from None
    if mc_k:
        if not tasks:
            raise UserError("--mc needs the tasks the traces came from: --suite or --task-file")
        from rich.progress import Progress

        from proofsmith.models import ModelError, load_policy
        from proofsmith.prm.montecarlo import add_mc_values
        from proofsmith.search import SearchChecker

        try:
            policy = load_policy(model)
        except ModelError as exc:
            raise UserError(str(exc)) from None
        with policy, SearchChecker() as checker, Progress(transient=True) as progress:
            bar = progress.add_task("rollouts", total=None)
            labels = add_mc_values(labels, tasks, policy, checker, k=mc_k, limit=mc_limit, seed=seed,
                                   on_step=lambda done, total: progress.update(bar, completed=done, total=total))
    count = write_labels(labels, output)
    positives = sum(x.hard for x in labels)
    accepted = sum(bool(x.accepted) for x in labels)
    rolled = sum(x.mc_rollouts > 0 for x in labels)
    click.echo(f"{count} steps from {len(files)} traces ({len({x.task_id for x in labels})} tasks): "
               f"{accepted} accepted, {positives} on the way to a verified answer, {rolled} rolled out -> {output}")


@prm.command()
@click.argument("labels_file", metavar="STEPS.jsonl", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Checkpoint directory.")
@click.option("--backend", type=click.Choice(["encoder", "causal"]), default="encoder", show_default=True,
              help="encoder: MiniLM + MLP head (CPU, minutes); causal: a local HF causal LM + value head (--base).")
@click.option("--base", default=None, type=click.Path(file_okay=False), help="The causal LM directory (causal).")
@click.option("--holdout", type=click.FloatRange(0.05, 0.5), default=0.2, show_default=True,
              help="Fraction of tasks held out for the report (split by task, never by step).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same labels and seed: same PRM.")
def train(labels_file: str, output: str, backend: str, base: str | None, holdout: float, seed: int) -> None:
    """Train a PRM on STEPS.jsonl and report AUROC, accuracy and Best-of-N reranking on held-out tasks."""
    from proofsmith.models.base import ModelError
    from proofsmith.prm.labels import LabelError, read_labels
    from proofsmith.prm.train import train_prm

    try:
        labels = read_labels(labels_file)
        model, report = train_prm(labels, backend=backend, base=base, holdout=holdout, seed=seed)
    except (LabelError, ModelError) as exc:
        raise UserError(str(exc)) from None
    model.config = {**model.config, "labels": str(Path(labels_file).resolve())}
    name = model.save(output)
    report = report.model_copy(update={"name": name})
    (Path(output) / "report.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    _print_report(report, output)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print_report(report: Any, output: str) -> None:
    click.echo(f"{report.name} -> {output}  (tasks train/val/test {report.tasks['train']}/"
               f"{report.tasks['validation']}/{report.tasks['test']}, steps {report.steps['train']}/"
               f"{report.steps['validation']}/{report.steps['test']}, best epoch {report.best_epoch})")
    t, a, r = report.test, report.test_accepted, report.rerank
    click.echo(f"held-out steps:          AUROC {_fmt(t.auroc)}  accuracy {_fmt(t.accuracy)}  "
               f"({t.steps} steps, {t.positives} positive)")
    click.echo(f"held-out accepted steps: AUROC {_fmt(a.auroc)}  accuracy {_fmt(a.accuracy)}  "
               f"({a.steps} steps, {a.positives} positive)")
    click.echo(f"Best-of-N reranking:     PRM {_fmt(r.prm_accuracy)}  random {_fmt(r.random_accuracy)}  "
               f"({r.tasks} held-out tasks with both verified and failed candidates)")


@prm.command()
@click.option("--suite", default=None, help="Tasks to search each round (a named suite).")
@click.option("--task-file", default=None, type=click.Path(dir_okay=False), help="Or a task file.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N tasks.")
@click.option("--rounds", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--strategy", default="beam", show_default=True, help="The search that collects traces.")
@click.option("--budget", type=click.IntRange(min=1), default=16, show_default=True, help="Model calls per task.")
@click.option("--model", default="default", show_default=True)
@click.option("--prm", "prm_dir", default=None, type=click.Path(file_okay=False), help="Start from this PRM.")
@click.option("--labels", "labels_file", default=None, type=click.Path(dir_okay=False),
              help="Labels to train on besides the loop's own (e.g. from earlier searches).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Run directory (round-N/ traces, labels, prm); rerun to resume.")
@click.option("--seed", type=int, default=0, show_default=True)
def loop(suite: str | None, task_file: str | None, limit: int | None, rounds: int, strategy: str, budget: int,
         model: str, prm_dir: str | None, labels_file: str | None, output: str, seed: int) -> None:
    """Expert iteration: search with the current PRM, label the traces, retrain; solved@budget per round."""
    from proofsmith.models import ModelError, load_policy
    from proofsmith.prm import load_prm
    from proofsmith.prm.labels import LabelError, read_labels
    from proofsmith.prm.loop import run_loop
    from proofsmith.search import STRATEGIES

    if strategy not in STRATEGIES:
        raise UserError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    tasks = _tasks(suite, task_file)[:limit]
    if not tasks:
        raise UserError("say which tasks: --suite or --task-file")
    try:
        start = load_prm(prm_dir) if prm_dir else None
        extra = read_labels(labels_file) if labels_file else []
        policy = load_policy(model)
    except (ModelError, LabelError) as exc:
        raise UserError(str(exc)) from None

    def on_round(report: Any) -> None:
        click.echo(f"round {report.round}: solved@{report.budget} {report.solved}/{report.tasks} "
                   f"with {report.prm or 'no PRM'}; trained {report.trained} on {report.labels} steps")

    def on_task(i: int, task: Any, result: Any) -> None:
        if isinstance(result, str):
            click.echo(f"  error {task.id}: {result}", err=True)
        else:
            click.echo(f"  {'solved' if result.solved else 'unsolved'} {task.id}", err=True)

    with policy:
        try:
            run_loop(tasks, policy, output, rounds=rounds, strategy=strategy, budget=budget, seed=seed, prm=start,
                     extra_labels=extra, on_round=on_round, on_task=on_task)
        except LabelError as exc:
            raise UserError(str(exc)) from None
