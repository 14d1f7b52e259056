"""The Ray executor: the same jobs and the same `Worker.run` as the local pool, on Ray actors.

Each actor is one worker process of the Ray cluster that loads the policy
once and owns its own sandbox slots (slot uids are per process, see
`proofsmith.sandbox.slots`); candidates are checked by proofsmith's sandbox
in subprocesses, never executed inside the actor's interpreter. Results come
back to the driver as each job finishes (`ray.wait`) and the driver writes
them to the store. An actor that dies mid-job (RayActorError) is charged to
that job like a dead pool process, and replaced.

`--ray local` starts a Ray instance on this machine for the run (workers
import this proofsmith through PYTHONPATH); `--ray ADDRESS` joins a running
cluster, whose nodes must have proofsmith and its toolchains installed. Each
result's manifest names the node that ran it (`ray_node`).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from proofsmith.bench.jobs import Job, JobResult
from proofsmith.bench.spec import Settings
from proofsmith.schema import Task


class RayMissing(RuntimeError):
    """Ray is not installed (or the cluster cannot be reached); one line saying what to do."""


def connect(address: str) -> bool:
    """Start (`local`) or join (an address) Ray unless it is already up; True if this call started it."""
    try:
        import ray
    except ImportError:
        raise RayMissing("the Ray executor needs Ray: pip install 'proofsmith[ray]'") from None
    if ray.is_initialized():
        return False
    if address == "local":
        # the raylet's workers inherit this environment: they import the same proofsmith as the driver
        root = str(Path(__file__).resolve().parents[2])
        paths = [root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]]
        os.environ["PYTHONPATH"] = os.pathsep.join(paths)
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # noqa: BLE001 - ray raises several types for an unreachable cluster
            raise RayMissing(f"cannot join the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    return True


def _actor_class():
    import ray

    @ray.remote(max_restarts=0, max_concurrency=1)
    class BenchActor:
        """One Ray worker: a proofsmith `Worker` (policies loaded once, its own checker and sandbox slots)."""

        def __init__(self, settings_json: str, run_dir: str, models: list[str], warm: list[Task]) -> None:
            from proofsmith.bench.jobs import Worker

            self.worker = Worker(Settings.model_validate_json(settings_json), run_dir)
            for model in models:
                self.worker.policy(model)
            self.worker.warm_up(warm)

        def ready(self) -> int:
            return os.getpid()

        def run(self, job: Job, task: Task) -> str:
            result = self.worker.run(job, task)
            # which node ran the job: a node with a broken toolchain shows up as its unknowns' common node
            result.manifest["ray_node"] = ray.get_runtime_context().get_node_id()
            return result.model_dump_json()

    return BenchActor


def run_ray(pending: list[Job], tasks: dict[str, Task], *, settings: Settings, run_dir: str, workers: int,
            models: list[str], warm: list[Task], job_timeout_s: float, on_result: Callable[[Job, JobResult], None],
            on_crash: Callable[[Job, str], bool]) -> None:
    """Run `pending` on `workers` Ray actors (Ray must be connected: see `connect`); same contract as run_local."""
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

    actor_cls = _actor_class()
    queue = deque(pending)
    workers = max(1, min(workers, len(queue)))
    # each actor reserves its llama.cpp threads' worth of CPUs (a share when the cluster has fewer), so Ray
    # neither piles actors onto one core nor waits forever for CPUs it does not have
    cpus = min(float(settings.threads), float(ray.cluster_resources().get("CPU", 1)) / workers)
    run_dir = str(Path(run_dir).resolve())

    def start():
        actor = actor_cls.options(num_cpus=cpus).remote(settings.model_dump_json(), run_dir, models, warm)
        try:
            ray.get(actor.ready.remote())
        except RayActorError as exc:
            raise RuntimeError(f"a Ray bench worker could not start: {str(exc).splitlines()[0]}") from None
        return actor

    actors = [start() for _ in range(workers)]
    idle = deque(actors)
    running: dict = {}  # ObjectRef -> (actor, job, started)
    try:
        while queue or running:
            while idle and queue:
                actor, job = idle.popleft(), queue.popleft()
                running[actor.run.remote(job, tasks[job.task_id])] = (actor, job, time.monotonic())
            done, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in done:
                actor, job, _ = running.pop(ref)
                try:
                    payload = ray.get(ref, timeout=0)
                except (RayActorError, RayTaskError, GetTimeoutError) as exc:
                    reason = f"crash: the Ray worker died ({type(exc).__name__})"
                    if on_crash(job, reason):
                        queue.appendleft(job)
                    ray.kill(actor, no_restart=True)
                    if queue:
                        idle.append(start())
                    continue
                on_result(job, JobResult.model_validate_json(payload))
                idle.append(actor)
            for ref, (actor, job, started) in list(running.items()):
                if time.monotonic() - started > job_timeout_s:
                    running.pop(ref)
                    ray.kill(actor, no_restart=True)
                    if on_crash(job, f"timeout: the job ran past {job_timeout_s:g} s and its worker was killed"):
                        queue.appendleft(job)
                    if queue:
                        idle.append(start())
    finally:
        for actor in [*idle, *(a for a, _, _ in running.values())]:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001, S110 - the actor may be gone already
                pass
