"""Worker processes: where the service's checks run, one job at a time each.

The service never checks in its own process. Each worker slot is a separate
`python -m proofsmith.serve.worker` process that reads one `WorkerJob` JSON
line on stdin and answers one `WorkerReply` line on a private copy of its
stdout (the real stdout is pointed at stderr, so nothing a checker prints can
corrupt the protocol). A worker that crashes, is killed or runs out of memory
takes only its own job down: the service answers that job `unknown` (reason
`crash`) and starts a new worker. A worker keeps its Coq sessions warm between
step jobs, so the service routes a task's steps to the same worker.

A worker exits when its stdin closes, so a dead service leaves none behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Literal

from pydantic import BaseModel, ConfigDict

from proofsmith.schema import Candidate, Task, Verdict
from proofsmith.steps import State, StepResult

#: Longest reply line accepted from a worker (a verdict with long diagnostics).
LINE_LIMIT = 16 << 20


class WorkerJob(BaseModel):
    """One unit of work for a worker: a check, or a step (a tactic from a state; none = open)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    kind: Literal["check", "step"]
    task: Task
    candidate: Candidate | None = None
    efficiency: Literal["cpu", "exact"] | None = None
    use_cache: bool = True
    state: State | None = None
    tactic: str | None = None


class WorkerReply(BaseModel):
    """What a worker answers for one job; `error` when the job itself failed (a bug, never a verdict)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    verdict: Verdict | None = None
    state: State | None = None
    step: StepResult | None = None
    error: str | None = None


class WorkerDied(RuntimeError):
    """The worker process exited (killed, crashed, out of memory) before answering."""


# --------------------------------------------------------------------------- inside the worker


class _Runner:
    def __init__(self, sandbox: str) -> None:
        self.sandbox = sandbox
        self._pool = None

    def run(self, job: WorkerJob) -> WorkerReply:
        try:
            if job.kind == "check":
                return self._check(job)
            return self._step(job)
        except Exception as exc:  # noqa: BLE001 - a failing job is reported, the worker lives on
            first = (str(exc).strip().splitlines() or [""])[0]
            return WorkerReply(id=job.id, error=f"{type(exc).__name__}: {first}")

    def _check(self, job: WorkerJob) -> WorkerReply:
        from proofsmith.provers import check

        assert job.candidate is not None
        verdict = check(job.task, job.candidate, sandbox=self.sandbox, efficiency=job.efficiency,  # type: ignore[arg-type]
                        use_cache=job.use_cache)
        return WorkerReply(id=job.id, verdict=verdict)

    def _step(self, job: WorkerJob) -> WorkerReply:
        from proofsmith.provers.coq_session import SessionPool
        from proofsmith.sandbox import get_sandbox
        from proofsmith.steps import SessionError

        if self._pool is None:
            self._pool = SessionPool(get_sandbox(self.sandbox))  # type: ignore[arg-type]
        try:
            root = self._pool.open(job.task)
        except SessionError as exc:
            return WorkerReply(id=job.id, step=StepResult(status="unknown", reason="toolchain", error=str(exc)))
        if job.tactic is None:
            return WorkerReply(id=job.id, state=job.state or root)
        result = self._pool.step(job.state or root, job.tactic)
        return WorkerReply(id=job.id, state=result.state, step=result)


def main(argv: list[str] | None = None) -> None:
    """Serve jobs from stdin until it closes: `python -m proofsmith.serve.worker SANDBOX`."""
    args = sys.argv[1:] if argv is None else argv
    sandbox = args[0] if args else "auto"
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints from checkers go to stderr, never into the protocol
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the service stops us by closing stdin
    runner = _Runner(sandbox)
    replies.write('{"id": -1}\n')  # ready
    replies.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        job = WorkerJob.model_validate_json(line)
        replies.write(runner.run(job).model_dump_json() + "\n")
        replies.flush()


# --------------------------------------------------------------------------- the service's handle on one


class WorkerProcess:
    """One running worker, driven from the service's event loop; one job at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.jobs = 0

    @classmethod
    async def start(cls, sandbox: str) -> WorkerProcess:
        """Start a worker and wait until it has imported the checkers and says it is ready."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "proofsmith.serve.worker", sandbox,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=LINE_LIMIT,
            start_new_session=True,
        )
        worker = cls(proc)
        assert proc.stdout is not None
        ready = await proc.stdout.readline()
        if not ready:
            await proc.wait()
            raise WorkerDied(f"a worker exited with status {proc.returncode} before it was ready")
        return worker

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def run(self, job: WorkerJob) -> WorkerReply:
        """Send `job`, wait for its reply; WorkerDied when the process goes away first."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write((job.model_dump_json() + "\n").encode())
            await self.proc.stdin.drain()
            line = await self.proc.stdout.readline()
        except (ConnectionError, BrokenPipeError) as exc:
            raise WorkerDied(f"worker {self.pid} went away ({exc})") from None
        if not line:
            status = await self.proc.wait()
            how = f"killed by signal {-status}" if status < 0 else f"exited with status {status}"
            raise WorkerDied(f"worker {self.pid} {how} during the check")
        self.jobs += 1
        reply = WorkerReply.model_validate_json(line)
        if reply.id != job.id:
            raise WorkerDied(f"worker {self.pid} answered job {reply.id} instead of {job.id}")
        return reply

    async def kill(self) -> None:
        """Kill the worker and its process group (a runaway check), and reap it."""
        if self.alive:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        await self.proc.wait()

    async def stop(self, timeout: float = 5.0) -> None:
        """Close stdin (the worker exits after its job), then kill it if it lingers."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.kill()


if __name__ == "__main__":
    main()
