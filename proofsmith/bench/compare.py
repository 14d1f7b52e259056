"""`bench compare A B`: paired per-task differences between two configurations, with significance.

Jobs are paired on (suite, task, seed). On "solved" the test is the exact
McNemar test (a two-sided binomial sign test on the discordant pairs: solved
by one side only); the difference in solved rate gets a paired bootstrap
interval that resamples tasks (a task's seeds stay together). Unknown counts
as not solved.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from proofsmith.bench.jobs import Job, JobResult
from proofsmith.bench.metrics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from proofsmith.bench.store import Store, iter_rows


class CompareError(ValueError):
    """The two sides cannot be paired (no common configuration or task); one line saying what to pass."""


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: a binomial(n, 1/2) test on the discordant pairs (1.0 when there are none)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n
    return min(1.0, 2 * tail)


class Comparison(BaseModel):
    """One configuration of A against one of B on their common (suite, task, seed) jobs."""

    model_config = ConfigDict(frozen=True)

    config_a: str
    config_b: str
    pairs: int
    tasks: int
    solved_a: int
    solved_b: int
    only_a: int
    only_b: int
    p_value: float
    #: solved rate of B minus A, and its paired bootstrap 95 % interval over tasks
    diff: float
    diff_low: float
    diff_high: float
    #: (suite, task) -> (fraction of seeds solved by A, by B), where they differ
    differing: dict[str, tuple[float, float]]


def _rows(run_dir: str | Path) -> list[tuple[Job, JobResult]]:
    with Store(run_dir, create=False) as store:
        return list(iter_rows(store))


def compare(run_a: str | Path, run_b: str | Path, *, config_a: str | None = None,
            config_b: str | None = None) -> list[Comparison]:
    """Pair configurations of two runs (or two configurations of one run) and compare them.

    Without `config_a`/`config_b`, every configuration label found in both
    runs is compared with itself; when the runs share none and each has one
    configuration, those two are compared. CompareError otherwise.
    """
    rows_a, rows_b = _rows(run_a), _rows(run_b)
    labels_a = list(dict.fromkeys(j.config.label for j, _ in rows_a))
    labels_b = list(dict.fromkeys(j.config.label for j, _ in rows_b))
    if config_a or config_b:
        for given, labels, side in ((config_a, labels_a, "A"), (config_b, labels_b, "B")):
            if given is not None and given not in labels:
                raise CompareError(f"no configuration {given!r} in {side} (it has: {', '.join(labels)})")
        pairs = [(config_a or config_b, config_b or config_a)]
    else:
        pairs = [(label, label) for label in labels_a if label in labels_b]
        if not pairs and len(labels_a) == 1 and len(labels_b) == 1:
            pairs = [(labels_a[0], labels_b[0])]
        if not pairs:
            raise CompareError("the runs share no configuration: name one of each with --config-a and --config-b "
                               f"(A has {', '.join(labels_a)}; B has {', '.join(labels_b)})")
    out = []
    for la, lb in pairs:
        a = {(j.suite, j.task_id, j.seed): r for j, r in rows_a if j.config.label == la}
        b = {(j.suite, j.task_id, j.seed): r for j, r in rows_b if j.config.label == lb}
        common = sorted(set(a) & set(b))
        if not common:
            raise CompareError(f"{la} (A) and {lb} (B) have no (task, seed) job in common")
        out.append(_compare(la, lb, common, a, b))
    return out


def _compare(la: str, lb: str, common: list[tuple[str, str, int]], a: dict, b: dict) -> Comparison:
    solved_a = {k: a[k].outcome == "solved" for k in common}
    solved_b = {k: b[k].outcome == "solved" for k in common}
    only_a = sum(solved_a[k] and not solved_b[k] for k in common)
    only_b = sum(solved_b[k] and not solved_a[k] for k in common)
    per_task: dict[tuple[str, str], list[tuple[bool, bool]]] = defaultdict(list)
    for k in common:
        per_task[k[:2]].append((solved_a[k], solved_b[k]))
    tasks = list(per_task)
    rate = {t: (sum(x for x, _ in v) / len(v), sum(y for _, y in v) / len(v)) for t, v in per_task.items()}
    diffs = [rate[t][1] - rate[t][0] for t in tasks]
    rng = random.Random(BOOTSTRAP_SEED)
    n = len(diffs)
    draws = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(BOOTSTRAP_RESAMPLES))
    return Comparison(
        config_a=la, config_b=lb, pairs=len(common), tasks=n,
        solved_a=sum(solved_a.values()), solved_b=sum(solved_b.values()), only_a=only_a, only_b=only_b,
        p_value=mcnemar_exact(only_a, only_b), diff=sum(diffs) / n,
        diff_low=draws[int(0.025 * BOOTSTRAP_RESAMPLES)], diff_high=draws[int(0.975 * BOOTSTRAP_RESAMPLES)],
        differing={f"{s}:{t}": rate[(s, t)] for s, t in tasks if rate[(s, t)][0] != rate[(s, t)][1]},
    )


def print_comparisons(comparisons: list[Comparison], name_a: str, name_b: str) -> None:
    """A rich table per comparison: counts, the McNemar p-value, the difference and its interval, differing tasks."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for c in comparisons:
        table = Table(title=escape(f"A = {name_a} [{c.config_a}]   vs   B = {name_b} [{c.config_b}]"))
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_row("paired jobs (task, seed)", f"{c.pairs} on {c.tasks} tasks")
        table.add_row("solved by A / by B", f"{c.solved_a} / {c.solved_b}")
        table.add_row("solved by A only / by B only", f"{c.only_a} / {c.only_b}")
        table.add_row("exact McNemar p (two-sided)", f"{c.p_value:.4g}")
        table.add_row("solved rate B - A [95% paired bootstrap]",
                      f"{100 * c.diff:+.1f} pts [{100 * c.diff_low:+.1f}, {100 * c.diff_high:+.1f}]")
        console.print(table)
        if c.differing:
            diff_table = Table(title="tasks where they differ (fraction of seeds solved)")
            for col in ("task", "A", "B"):
                diff_table.add_column(col, justify="left" if col == "task" else "right")
            for task, (x, y) in c.differing.items():
                diff_table.add_row(escape(task), f"{x:.2f}", f"{y:.2f}")
            console.print(diff_table)
        else:
            console.print("no task differs", highlight=False)
