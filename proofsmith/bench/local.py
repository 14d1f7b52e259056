"""The local executor: a pool of worker processes, each loading the policy once and running jobs one at a time.

The driver hands a worker one job at a time over a pipe and gets its
`JobResult` back; it alone writes the store. Because it knows which job each
worker holds, a worker that dies (killed, out of memory, a native crash) or
overruns the job timeout is charged to that job exactly: the job is retried
or, out of retries, recorded unknown (see `runner`). Workers are spawned
(not forked: the driver holds a SQLite connection) and die with the driver
(PR_SET_PDEATHSIG), so a killed run leaves no worker behind.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from proofsmith.bench.jobs import Job, JobResult, Worker
from proofsmith.bench.spec import Settings
from proofsmith.schema import Task

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker exits at the pipe's EOF instead
        pass


def _worker_main(conn: Connection, settings_json: str, run_dir: str, models: list[str],
                 warm: list[Task]) -> None:
    """A pool process: load the models, then answer (job, task) messages with results until told to stop."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what an interrupt means
    signal.signal(signal.SIGTERM, _exit_on_term)  # so that `finally` closes the worker's checkers
    worker = Worker(Settings.model_validate_json(settings_json), run_dir)
    try:
        try:
            for model in models:
                worker.policy(model)
            worker.warm_up(warm)
        except Exception as exc:  # noqa: BLE001 - the driver stops the run with this one line
            conn.send(("error", f"cannot load model: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"))
            return
        conn.send(("ready", None))
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            job, task = message
            conn.send(("result", worker.run(job, task).model_dump_json()))
    finally:
        worker.close()


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class WorkerStartError(RuntimeError):
    """A worker could not start (its model did not load); the run stops with this message."""


@dataclass
class _Slot:
    proc: mp.Process
    conn: Connection
    ready: bool = False
    job: Job | None = None
    started: float = 0.0


def run_local(pending: list[Job], tasks: dict[str, Task], *, settings: Settings, run_dir: str, workers: int,
              models: list[str], warm: list[Task], job_timeout_s: float, on_result: Callable[[Job, JobResult], None],
              on_crash: Callable[[Job, str], bool]) -> None:
    """Run `pending` on `workers` processes; `on_result` gets each result as it arrives, in the driver.

    `on_crash(job, reason)` is called when a job's worker died or timed out;
    it returns whether to run the job again.
    """
    ctx = mp.get_context("spawn")
    queue = deque(pending)
    slots: list[_Slot] = []

    def start() -> _Slot:
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(theirs, settings.model_dump_json(), run_dir, models, warm),
                           daemon=True, name="proofsmith-bench-worker")
        proc.start()
        theirs.close()
        return _Slot(proc, ours)

    try:
        for _ in range(max(1, min(workers, len(queue)))):
            slots.append(start())
        while queue or any(s.job is not None for s in slots):
            for slot in slots:
                if slot.ready and slot.job is None and queue:
                    slot.job = queue.popleft()
                    slot.started = time.monotonic()
                    slot.conn.send((slot.job, tasks[slot.job.task_id]))
            ready = wait([s.conn for s in slots] + [s.proc.sentinel for s in slots], timeout=1.0)
            for slot in list(slots):
                dead_reason = None
                if slot.conn in ready:
                    try:
                        kind, payload = slot.conn.recv()
                    except (EOFError, OSError):
                        kind, payload = "eof", None
                    if kind == "ready":
                        slot.ready = True
                    elif kind == "result":
                        job, slot.job = slot.job, None
                        on_result(job, JobResult.model_validate_json(payload))
                    elif kind == "error":
                        raise WorkerStartError(payload)
                    else:
                        dead_reason = _death(slot)
                elif slot.proc.sentinel in ready:
                    dead_reason = _death(slot)
                elif slot.job is not None and time.monotonic() - slot.started > job_timeout_s:
                    slot.proc.kill()
                    slot.proc.join(10)
                    dead_reason = f"timeout: the job ran past {job_timeout_s:g} s and its worker was killed"
                if dead_reason is None:
                    continue
                if not slot.ready:
                    raise WorkerStartError(f"a bench worker died while loading the model ({dead_reason})")
                slots.remove(slot)
                slot.conn.close()
                if slot.job is not None and on_crash(slot.job, dead_reason):
                    queue.appendleft(slot.job)
                if queue:
                    slots.append(start())
    finally:
        # An idle worker is told to stop. A busy one is only left after an
        # interrupt or an error: its job has no result to keep, so it is
        # terminated now rather than waited for (a job can run for minutes).
        for slot in slots:
            if slot.ready and slot.job is None:
                try:
                    slot.conn.send(None)
                except (OSError, ValueError):
                    pass
            else:
                slot.proc.terminate()
        deadline = time.monotonic() + 10
        for slot in slots:
            slot.proc.join(max(0.1, deadline - time.monotonic()))
            if slot.proc.is_alive():
                slot.proc.kill()
                slot.proc.join(5)


def _death(slot: _Slot) -> str:
    slot.proc.join(5)
    code = slot.proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"crash: the worker process died ({name})"
    return f"crash: the worker process exited with status {code}"
