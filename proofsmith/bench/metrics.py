"""Leaderboard numbers from stored results: solved rate, pass@k, eff@k, coverage curves, spend per solve.

Every rate comes with a 95 % bootstrap interval that resamples tasks (a
task's seeds stay together: they are not independent draws), with a fixed
seed so the same store always gives the same report. pass@k uses the
unbiased estimator of `proofsmith.search.metrics.pass_at_k`; its samples are
a collecting configuration's checked candidates, else the seeds (each search
is one sample of "did it solve the task"). `unknown` results count as not
solved, never as passes. "Solved" is the grade of the answer a search
returned (programs: the hidden tests). A collecting configuration's samples
count as passes when they passed the search's own tests: the hidden ones
only in an oracle configuration (`Config.tests`, labelled `+oracle`), which
is how pass@k against the benchmark's tests is measured.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from proofsmith.bench.jobs import Config, Job, JobResult
from proofsmith.search.metrics import pass_at_k

#: resamples per bootstrap interval, and the seed that makes reports reproducible
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def eff_at_k(scores: Sequence[float], k: int) -> float:
    """The unbiased eff@k estimator (ENAMEL): expected best efficiency score of k of the n samples.

    `scores` holds one score in [0, 1] per sample (0 for a sample that did not
    verify); sorted ascending, the i-th smallest (1-based) is the best of k
    drawn in C(i - 1, k - 1) of the C(n, k) subsets.
    """
    n = len(scores)
    if not 1 <= k <= n:
        raise ValueError(f"eff@k needs 1 <= k <= n, got n={n}, k={k}")
    ordered = sorted(scores)
    total = math.comb(n, k)
    return sum(math.comb(i - 1, k - 1) * ordered[i - 1] for i in range(k, n + 1)) / total


def bootstrap_ci(values: Sequence[float], *, stat: Callable[[Sequence[float]], float] | None = None,
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 level: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval of `stat` (default the mean) over `values`, resampled with replacement."""
    if not values:
        return (math.nan, math.nan)
    stat = stat or (lambda xs: sum(xs) / len(xs))
    rng = random.Random(seed)
    n = len(values)
    draws = sorted(stat([values[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    lo = draws[int((1 - level) / 2 * resamples)]
    hi = draws[min(resamples - 1, int((1 + level) / 2 * resamples))]
    return (lo, hi)


class Estimate(BaseModel):
    """A value with its 95 % bootstrap interval."""

    model_config = ConfigDict(frozen=True)

    value: float
    low: float
    high: float

    def percent(self) -> str:
        """`57.1 % [28.6, 85.7]`."""
        return f"{100 * self.value:.1f} % [{100 * self.low:.1f}, {100 * self.high:.1f}]"


def _estimate(per_task: list[float]) -> Estimate:
    lo, hi = bootstrap_ci(per_task)
    return Estimate(value=sum(per_task) / len(per_task), low=lo, high=hi)


class Summary(BaseModel):
    """The leaderboard row of one configuration on one suite."""

    model_config = ConfigDict(frozen=True)

    run: str
    suite: str
    config: Config
    tasks: int
    jobs: int
    solved: int
    unknown: int
    solved_rate: Estimate
    #: k -> pass@k (only the k every task has enough samples for)
    pass_at: dict[int, Estimate]
    #: k -> eff@k over seeds, where efficiency was measured (Python tasks with a reference and perf inputs)
    eff_at: dict[int, Estimate]
    calls_per_solve: float | None
    tokens_per_solve: float | None
    checker_s_per_solve: float | None
    mean_wall_s: float
    #: (k, coverage): fraction of tasks solved within k model calls / samples, k = 1..budget
    coverage: list[tuple[int, float]]
    #: task id -> fraction of its seeds solved (None when every seed was unknown)
    per_task: dict[str, float | None]


def summarise(run: str, rows: list[tuple[Job, JobResult]], pass_k: Sequence[int] = (1,)) -> list[Summary]:
    """One Summary per (suite, configuration) among `rows`, in first-seen order."""
    groups: dict[tuple[str, Config], list[tuple[Job, JobResult]]] = defaultdict(list)
    for job, result in rows:
        groups[(job.suite, job.config)].append((job, result))
    return [_summary(run, suite, config, members, pass_k) for (suite, config), members in groups.items()]


def _summary(run: str, suite: str, config: Config, members: list[tuple[Job, JobResult]],
             pass_k: Sequence[int]) -> Summary:
    by_task: dict[str, list[JobResult]] = defaultdict(list)
    for job, result in members:
        by_task[job.task_id].append(result)
    solved = [r for _, r in members if r.outcome == "solved"]
    solved_frac = [sum(r.outcome == "solved" for r in rs) / len(rs) for rs in by_task.values()]

    # pass@k: samples are a collecting search's sampled answers (an answer with no extractable program or proof
    # counts as a failed sample), else the seeds
    samples = []
    for rs in by_task.values():
        if config.collect:
            samples.append((sum(r.spend.model_calls for r in rs), sum(r.verified for r in rs)))
        else:
            samples.append((len(rs), sum(r.outcome == "solved" for r in rs)))
    pass_at = {k: _estimate([pass_at_k(n, c, k) for n, c in samples])
               for k in pass_k if all(n >= k for n, _ in samples)}

    eff_at: dict[int, Estimate] = {}
    if any(r.efficiency is not None for _, r in members):
        scores = [[r.efficiency if r.outcome == "solved" and r.efficiency is not None else 0.0 for r in rs]
                  for rs in by_task.values()]
        eff_at = {k: _estimate([eff_at_k(s, k) for s in scores]) for k in pass_k if all(len(s) >= k for s in scores)}

    def per_solve(total: float) -> float | None:
        return total / len(solved) if solved else None

    results = [r for _, r in members]
    return Summary(
        run=run, suite=suite, config=config, tasks=len(by_task), jobs=len(members), solved=len(solved),
        unknown=sum(r.outcome == "unknown" for r in results),
        solved_rate=_estimate(solved_frac), pass_at=pass_at, eff_at=eff_at,
        calls_per_solve=per_solve(sum(r.spend.model_calls for r in results)),
        tokens_per_solve=per_solve(sum(r.spend.tokens for r in results)),
        checker_s_per_solve=per_solve(sum(r.checker_s for r in results)),
        mean_wall_s=sum(r.wall_s for r in results) / len(results),
        coverage=_coverage(config, by_task),
        per_task={t: (sum(r.outcome == "solved" for r in rs) / len(rs)
                      if any(r.outcome != "unknown" for r in rs) else None) for t, rs in by_task.items()},
    )


def _coverage(config: Config, by_task: dict[str, list[JobResult]]) -> list[tuple[int, float]]:
    """Coverage at k = 1..budget: unbiased pass@k over collected samples, else solves within k model calls."""
    curve = []
    for k in range(1, config.budget + 1):
        if config.collect:
            values = []
            for rs in by_task.values():
                n, c = sum(r.spend.model_calls for r in rs), sum(r.verified for r in rs)
                # fewer than k samples drawn (a token or time limit stopped the search): what was seen
                values.append(pass_at_k(n, c, k) if n >= k else float(c > 0))
        else:
            values = [sum(r.solved_at_calls is not None and r.solved_at_calls <= k for r in rs) / len(rs)
                      for rs in by_task.values()]
        curve.append((k, sum(values) / len(values)))
    return curve
