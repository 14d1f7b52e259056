"""Anytime solve curves of search runs over calls, tokens or seconds, with bootstrap intervals over tasks.

Pure functions over the rows `search_scaling.py` writes (one row per
(task, strategy, seed), each run once with a model-call budget). A row is
solved at budget x on an axis when its returned answer is right (`solved`:
the hidden tests for a program, the full checker for a proof) and the search
had found it by x (`found_at[axis]`, the spend when its own checks first
passed). No strategy reads its budget to choose what to do, so one run read
at every x is the run that budget x would have made, up to the caveat in
`exact_until`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: the spend axes a curve can be drawn over (keys of a row's `found_at` and `spend`)
AXES = ("model_calls", "tokens", "wall_s")
AXIS_TITLES = {"model_calls": "model calls", "tokens": "generated tokens", "wall_s": "wall seconds"}

#: the least token and wall-second budgets a grid starts at (what is found sooner counts from there)
GRID_FLOOR = {"tokens": 16.0, "wall_s": 0.5}
#: fewer complete tasks than this and no win is claimed: the bootstrap interval of a handful of tasks is noise
MIN_TASKS = 10

RowKey = tuple[str, str, int]  # (task, strategy, seed)


def log_grid(lo: float, hi: float) -> list[float]:
    """Powers of two covering [lo, hi]: from the largest at or below `lo` to the smallest at or above `hi`."""
    if not (0 < lo <= hi) or not math.isfinite(hi):
        raise ValueError(f"a log grid needs 0 < lo <= hi, got {lo}, {hi}")
    first, last = math.floor(math.log2(lo)), math.ceil(math.log2(hi))
    return [2.0 ** e for e in range(first, last + 1)]


def call_grid(max_budget: int) -> list[float]:
    """1, 2, 4, ... up to `max_budget` (which is always included)."""
    grid, b = [], 1
    while b < max_budget:
        grid.append(float(b))
        b *= 2
    return [*grid, float(max_budget)]


def axis_grid(rows: list[dict], axis: str, max_budget: int) -> list[float]:
    """The grid an axis is read at: calls 1..max; tokens and seconds powers of two over what the runs spent."""
    if axis == "model_calls":
        return call_grid(max_budget)
    spent = [float(r["spend"][axis]) for r in rows if r.get("spend")]
    found = [float(r["found_at"][axis]) for r in rows if r.get("found_at")]
    positive = [v for v in spent + found if v > 0]
    if not positive:
        return [1.0]
    # a Coq lemma closed by automation in milliseconds would stretch the grid over columns that say nothing
    lo = max(min(positive), GRID_FLOOR[axis])
    return log_grid(lo, max(lo, max(positive)))


def found_at(row: Mapping, axis: str) -> float | None:
    """Where on `axis` the row counts as solved; None when its answer is wrong (or the search raised).

    An answer graded right that never passed the search's own checks (say a
    HumanEval docstring example that disagrees with the hidden tests) is the
    answer only once the whole budget is spent, so it is credited at the
    row's whole spend.
    """
    if not row.get("solved") or row.get("error"):
        return None
    point = row.get("found_at") or row.get("spend")
    return float(point[axis]) if point else None


def exact_until(rows: Iterable[Mapping], axis: str) -> float:
    """The largest budget on `axis` at which these rows' curve is exact, not a lower bound.

    An unsolved run stopped when its model calls ran out, having spent S on
    `axis`; a run given more than S of that axis might have gone on and
    solved. So the curve is exact up to the least such S (infinite when every
    run solved).
    """
    spent = [float(r["spend"][axis]) for r in rows
             if found_at(r, axis) is None and not r.get("error") and r.get("spend")]
    return min(spent, default=math.inf)


def complete_tasks(rows: Mapping[RowKey, Mapping], tasks: Sequence[str], strategies: Sequence[str],
                   seeds: Sequence[int]) -> list[str]:
    """The tasks with a row for every strategy and seed: curves compare strategies on these only."""
    return [t for t in tasks if all((t, s, seed) in rows for s in strategies for seed in seeds)]


def per_task(rows: Mapping[RowKey, Mapping], tasks: Sequence[str], strategy: str, seeds: Sequence[int],
             axis: str, grid: Sequence[float]) -> np.ndarray:
    """(tasks x grid) solved share: per task, the mean over seeds of 'solved by x'; missing rows count unsolved."""
    out = np.zeros((len(tasks), len(grid)))
    xs = np.asarray(grid, dtype=float)
    for i, task in enumerate(tasks):
        for seed in seeds:
            row = rows.get((task, strategy, seed))
            at = found_at(row, axis) if row is not None else None
            if at is not None:
                out[i] += xs >= at
        out[i] /= max(len(seeds), 1)
    return out


def bootstrap_interval(values: np.ndarray, *, resamples: int = 2000, level: float = 0.95,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over tasks (rows of `values`, one column per grid point) and its percentile bootstrap interval.

    Tasks are resampled with replacement, `resamples` times, with a fixed
    seed so a report is reproducible. With no tasks every figure is NaN.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    n, width = values.shape
    if n == 0:
        nan = np.full(width, np.nan)
        return nan, nan.copy(), nan.copy()
    rng = np.random.default_rng(seed)
    draws = values[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return values.mean(axis=0), np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)


@dataclass(frozen=True)
class Curve:
    """One strategy's solved fraction over a grid on one axis, with its interval and where it is exact."""

    strategy: str
    axis: str
    grid: tuple[float, ...]
    mean: tuple[float, ...]
    lo: tuple[float, ...]
    hi: tuple[float, ...]
    n_tasks: int
    exact_until: float


def build_curve(rows: Mapping[RowKey, Mapping], tasks: Sequence[str], strategy: str, seeds: Sequence[int],
                axis: str, grid: Sequence[float], *, resamples: int = 2000) -> Curve:
    """The curve of `strategy` on `tasks` (seeds averaged per task, tasks resampled for the interval)."""
    mean, lo, hi = bootstrap_interval(per_task(rows, tasks, strategy, seeds, axis, grid), resamples=resamples)
    mine = [rows[(t, strategy, s)] for t in tasks for s in seeds if (t, strategy, s) in rows]
    return Curve(strategy=strategy, axis=axis, grid=tuple(float(x) for x in grid), mean=tuple(mean.tolist()),
                 lo=tuple(lo.tolist()), hi=tuple(hi.tolist()), n_tasks=len(tasks),
                 exact_until=exact_until(mine, axis))


def beats(curve: Curve, baseline: Curve) -> list[float]:
    """Grid points where `curve`'s interval lies wholly above `baseline`'s (they do not overlap).

    Only points where the baseline's curve is exact count: past its
    `exact_until` it is a lower bound, and beating a lower bound shows nothing.
    """
    if curve.grid != baseline.grid or curve.axis != baseline.axis:
        raise ValueError("curves on different grids cannot be compared point by point")
    return [x for x, lo, base_hi in zip(curve.grid, curve.lo, baseline.hi, strict=True)
            if x <= baseline.exact_until and lo > base_hi]


def beats_baseline(curves: Mapping[str, Curve], baseline: str) -> dict[str, list[float]]:
    """For every strategy but the baseline: the grid points where it beats the baseline (possibly none)."""
    if baseline not in curves:
        raise ValueError(f"no {baseline} curve to compare with")
    return {s: beats(c, curves[baseline]) for s, c in curves.items() if s != baseline}


def verdict_line(wins: Mapping[str, list[float]], baseline: str, axis: str, n_tasks: int, n_seeds: int) -> str:
    """One plain sentence: does any strategy beat the baseline on `axis` with non-overlapping intervals.

    Under MIN_TASKS tasks a bootstrap over tasks says nothing (one task
    gives a point "interval"), so the answer is "undecided".
    """
    unit = AXIS_TITLES[axis]
    winners = {s: xs for s, xs in wins.items() if xs}
    scope = f"{n_tasks} tasks x {n_seeds} seed(s), 95 % bootstrap intervals over tasks"
    if n_tasks < MIN_TASKS:
        return (f"Undecided: {n_tasks} complete task(s); intervals over tasks need at least {MIN_TASKS} "
                f"before a win over {baseline} at equal {unit} is claimed ({scope}).")
    if not winners:
        return f"No: no strategy beats {baseline} at equal {unit} with non-overlapping intervals ({scope})."
    parts = [f"{s} at {', '.join(_fmt(x) for x in xs)} {unit}" for s, xs in winners.items()]
    return f"Yes: {'; '.join(parts)} beat {baseline} with non-overlapping intervals ({scope})."


def _fmt(x: float) -> str:
    return f"{x:g}"
