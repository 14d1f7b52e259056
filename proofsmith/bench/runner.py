"""`run`: expand a spec into jobs, skip those the store already has, run the rest on an executor, store each result.

The driver is the only writer of the store. A job's worker dying (or the job
overrunning `limits.job_timeout_s`) is counted in the store; the job is run
again until it has died `limits.retries + 1` times, then recorded `unknown`
with the reason. Deaths are counted across resumes, so a job that kills its
worker every time cannot stall a run forever.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from proofsmith.bench.jobs import Job, JobResult, crashed_result, expand
from proofsmith.bench.spec import RunSpec
from proofsmith.bench.store import Store, StoreError
from proofsmith.schema import Task


def open_run(run_dir: str | Path, spec: RunSpec | None, *, resume: bool) -> tuple[Store, RunSpec]:
    """The run's store and spec: a new run needs `spec`, a resumed one may take it from the store.

    StoreError (one line) for a directory that already holds a run without
    `resume`, a resume with nothing to resume, or a different spec.
    """
    run_dir = Path(run_dir)
    exists = (run_dir / "bench.sqlite").is_file()
    if exists and not resume:
        raise StoreError(f"{run_dir} already holds a run: add --resume to continue it, or choose another --out")
    if not exists and spec is None:
        raise StoreError(f"{run_dir}: no run to resume here; give a SPEC to start one")
    store = Store(run_dir, create=True)
    try:
        stored = store.spec()
        if spec is None:
            spec = stored
        if spec is None:
            raise StoreError(f"{run_dir}: the run has no spec recorded; give the SPEC again")
        store.set_spec(spec)
    except BaseException:
        store.close()
        raise
    return store, spec


def run(store: Store, spec: RunSpec, *, workers: int = 1, ray: str | None = None,
        on_result: Callable[[Job, JobResult, int, int], None] | None = None,
        expanded: tuple[list[Job], dict[str, Task]] | None = None) -> tuple[int, int]:
    """Run every job of `spec` that has no result in `store`; (jobs run now, jobs in the spec).

    `on_result(job, result, finished, total)` is called after each result is
    stored; `expanded` is `expand(spec)` when the caller has it already.
    """
    jobs, tasks = expanded or expand(spec)
    store.add_jobs(jobs)
    done = store.done_ids()
    pending = [j for j in jobs if j.id not in done]
    retries = spec.limits.retries
    finished = len(jobs) - len(pending)
    ran = 0

    def record(job: Job, result: JobResult) -> None:
        nonlocal finished, ran
        crashes = store.crashes(job.id)
        if crashes and not result.crashes:
            result = result.model_copy(update={"crashes": crashes})
        if store.record(result):
            finished += 1
            ran += 1
            if on_result is not None:
                on_result(job, result, finished, len(jobs))

    def crashed(job: Job, reason: str) -> bool:
        count = store.record_crash(job.id, reason)
        if count <= retries:
            return True
        record(job, crashed_result(job, f"{reason} ({count} times; no retries left)", count))
        return False

    # jobs that used up their retries in an earlier, interrupted run
    for job in list(pending):
        count = store.crashes(job.id)
        if count > retries:
            record(job, crashed_result(job, f"crash: its worker died {count} times (no retries left)", count))
            pending.remove(job)
    if not pending:
        return ran, len(jobs)
    options = {"settings": spec.settings, "run_dir": str(store.run_dir), "workers": workers,
               "models": spec.models, "warm": _one_per_language(pending, tasks),
               "job_timeout_s": spec.limits.job_timeout_s, "on_result": record, "on_crash": crashed}
    if ray is not None:
        from proofsmith.bench.ray_executor import connect, run_ray

        started = connect(ray)
        try:
            run_ray(pending, tasks, **options)
        finally:
            if started:
                import ray as ray_module

                ray_module.shutdown()
    else:
        from proofsmith.bench.local import run_local

        run_local(pending, tasks, **options)
    return ran, len(jobs)


def _one_per_language(jobs: list[Job], tasks: dict[str, Task]) -> list[Task]:
    """A task of each language among `jobs`, for the workers' warm-up."""
    seen: dict[str, Task] = {}
    for job in jobs:
        seen.setdefault(job.language, tasks[job.task_id])
    return list(seen.values())
