"""`proofsmith serve`: the HTTP verification service (FastAPI), its lanes and workers.

Endpoints (OpenAPI at /openapi.json, pages at /docs):

- `POST /v1/check`: one or a batch of (task, candidate); verdicts in order.
- `POST /v1/step`: a Coq tactic from a proof state (or the start state).
- `GET /v1/health`: up, lanes, queue depths (no token needed).
- `GET /v1/metrics`: Prometheus text (queue depth, checks/s, latency
  quantiles, unknowns by reason, 429s by reason).
- `GET /v1/workers`: the worker processes and their pids.

Every request and reply is a pydantic model (`proofsmith.serve.api`); every
error is `{"error": "<one line>"}`. With a token set, every endpoint but
health needs `Authorization: Bearer <token>`. Checks run in worker processes
(`proofsmith.serve.worker`) fed by bounded lanes (`proofsmith.serve.admission`):
a full lane or a client over quota gets 429 with `Retry-After`, a job whose
deadline passes in the queue comes back unknown (`deadline`), a worker that
dies or overruns comes back unknown (`crash` / `timeout`) and is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import os
import time
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from proofsmith import __version__, languages
from proofsmith.provers import validate_task
from proofsmith.provers.coq_session import STEP_TIMEOUT_S, WATCHDOG_GRACE_S
from proofsmith.schema import Diagnostic, Manifest, Task, Verdict
from proofsmith.serve.admission import Admission, Job, Lane, Overloaded, TooLarge
from proofsmith.serve.api import (
    CheckRequest,
    CheckResponse,
    ErrorResponse,
    HealthResponse,
    StepRequest,
    StepResponse,
    WorkerInfo,
    WorkersResponse,
)
from proofsmith.serve.metrics import Metrics
from proofsmith.serve.worker import WorkerDied, WorkerJob, WorkerProcess, WorkerReply
from proofsmith.steps import StepResult

#: Header a client may send to be counted as itself for quotas (else its address is used).
CLIENT_HEADER = "X-Proofsmith-Client"
#: Each lane's checkers, by task language (`LanguageSpec.serve_lane`; languages without one are not served).
LANE_OF = languages.FieldView("serve_lane")


def _available_mb() -> int:
    try:
        with open("/proc/meminfo") as fh:
            info = dict(line.split(":", 1) for line in fh)
        return int(info["MemAvailable"].split()[0]) // 1024
    except (OSError, KeyError, ValueError):
        return 4096


def default_workers() -> dict[str, int]:
    """Worker slots from cores and memory.

    Python: two per core (a check spends much of its time starting sandboxes
    and waiting on the judge), at most one per 512 MB available. Coq: one per
    two cores, at most one per 2 GB available (a warm coqtop with the
    stdlib takes 0.5-0.8 GB, and a worker keeps up to four).
    """
    cores = os.cpu_count() or 1
    mb = _available_mb()
    return {
        "python": max(1, min(2 * cores, mb // 512)),
        "coq": max(1, min(cores // 2, mb // 2048)),
    }


class ServeConfig(BaseModel):
    """How the service runs; `proofsmith serve --help` documents each option."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    token: str | None = None
    sandbox: str = "auto"
    python_workers: int | None = Field(None, ge=1)
    coq_workers: int | None = Field(None, ge=1)
    queue_size: int = Field(128, ge=1)
    client_inflight: int = Field(0, ge=0)
    client_rate: float = Field(0.0, ge=0)
    client_burst: int | None = Field(None, ge=1)
    deadline_s: float = Field(300.0, gt=0)
    #: replace a worker after this many jobs (0: never)
    max_jobs_per_worker: int = Field(0, ge=0)


class ApiError(Exception):
    """An error reply: status code and one line."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _resolve_sandbox(kind: str) -> str:
    if kind != "auto":
        return kind
    from proofsmith.sandbox import probe

    return "bwrap" if probe.bwrap_works() else "process"


class Service:
    """The lanes, their worker processes, the admission control and the metrics of one service."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.sandbox = _resolve_sandbox(config.sandbox)
        sizes = default_workers()
        sizes["python"] = config.python_workers or sizes["python"]
        sizes["coq"] = config.coq_workers or sizes["coq"]
        self.lanes = {name: Lane(name, config.queue_size, n) for name, n in sizes.items()}
        self.admission = Admission(self.lanes, client_inflight=config.client_inflight,
                                   client_rate=config.client_rate, client_burst=config.client_burst)
        self.metrics = Metrics()
        self.workers: dict[tuple[str, int], WorkerProcess | None] = {}
        self.busy: dict[tuple[str, int], bool] = {}
        self.ready = False
        self._loops: list[asyncio.Task[None]] = []
        self._ids = itertools.count()

    # ----------------------------------------------------------------- life

    async def start(self) -> None:
        """Start every worker (in parallel) and the loops that feed them."""
        keys = [(name, slot) for name, lane in self.lanes.items() for slot in range(lane.slots)]
        started = await asyncio.gather(*(WorkerProcess.start(self.sandbox) for _ in keys), return_exceptions=True)
        for key, worker in zip(keys, started, strict=True):
            self.workers[key] = worker if isinstance(worker, WorkerProcess) else None
            self.busy[key] = False
            self._loops.append(asyncio.create_task(self._slot_loop(*key)))
        self.ready = True

    async def stop(self) -> None:
        """Stop the loops and the workers."""
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in self.workers.values() if w is not None), return_exceptions=True)

    # ----------------------------------------------------------------- jobs

    def job(self, payload: dict, *, lane: str, client: str, deadline: float, affinity: str | None = None) -> Job:
        """A Job for this service's loop (the id is filled in here)."""
        work = WorkerJob(id=next(self._ids), **payload)
        return Job(payload=work, lane=lane, client=client, deadline=deadline, affinity=affinity,
                   future=asyncio.get_running_loop().create_future())

    async def submit(self, client: str, jobs: list[Job]) -> list[WorkerReply]:
        """Admit the jobs (or raise Overloaded/TooLarge), wait for every answer; expired queued jobs are dropped."""
        self.admission.admit(client, jobs)
        futures = [job.future for job in jobs]
        try:
            timeout = max(0.0, max(job.deadline for job in jobs) - time.monotonic())
            _, pending = await asyncio.wait(futures, timeout=timeout)
            if pending:
                for job in jobs:
                    if job.state == "queued":
                        self.lanes[job.lane].remove(job)
                        self._answer(job, self._unknown(job, "deadline", "the deadline passed while the job waited "
                                                                         "in the queue; it never ran"))
                await asyncio.gather(*futures)  # the running ones end under their watchdog
        except asyncio.CancelledError:  # the client went away: free its places in the queue
            for job in jobs:
                if job.state == "queued":
                    self.lanes[job.lane].remove(job)
                    job.resolve(self._unknown(job, "deadline", "the request was cancelled"))
                    self.admission.done(job)
            raise
        return [future.result() for future in futures]

    def _answer(self, job: Job, reply: WorkerReply) -> None:
        if reply.error is not None:
            reply = self._unknown(job, "internal", reply.error)
        if not job.resolve(reply):
            return
        self.admission.done(job)
        if reply.verdict is not None:
            status, reason = reply.verdict.status, reply.verdict.reason
        elif reply.step is not None:
            status, reason = reply.step.status, reply.step.reason
        else:
            status, reason = "opened", None
        self.metrics.answered(job.lane, status, reason, time.monotonic() - job.enqueued)

    def _unknown(self, job: Job, reason: str, message: str) -> WorkerReply:
        work = job.payload
        if work.kind == "step":
            return WorkerReply(id=work.id, step=StepResult(status="unknown", reason=reason, error=message))
        task = work.task
        verdict = Verdict(
            task_id=task.id, candidate_id=work.candidate.id if work.candidate else None, status="unknown",
            reason=reason, reward=0.0, diagnostics=[Diagnostic(message=message)],
            wall_s=time.monotonic() - (job.started or job.enqueued),
            manifest=Manifest(checker=task.language, checker_version="?", proofsmith_version=__version__,
                              limits=task.limits, sandbox=self.sandbox, options={"service": True}),
        )
        return WorkerReply(id=work.id, verdict=verdict)

    @staticmethod
    def watchdog_s(job: Job) -> float:
        """How long a worker may take on a job before it is killed: well past the checker's own limits."""
        if job.payload.kind == "step":
            return 60.0 + STEP_TIMEOUT_S + WATCHDOG_GRACE_S  # a session start plus one tactic
        return 3 * job.payload.task.limits.wall_s + 30.0

    async def _slot_loop(self, lane_name: str, slot: int) -> None:
        lane = self.lanes[lane_name]
        key = (lane_name, slot)
        while True:
            job = await lane.get(slot)
            if job.state != "queued":
                continue
            if time.monotonic() >= job.deadline:
                self._answer(job, self._unknown(job, "deadline", "the deadline passed while the job waited in the "
                                                                 "queue; it never ran"))
                continue
            job.state, job.started = "running", time.monotonic()
            lane.running += 1
            self.busy[key] = True
            try:
                reply = await self._run(key, job)
            finally:
                lane.running -= 1
                self.busy[key] = False
            lane.record(time.monotonic() - job.started)
            self._answer(job, reply)

    async def _run(self, key: tuple[str, int], job: Job) -> WorkerReply:
        worker = self.workers.get(key)
        if worker is None or not worker.alive:
            try:
                worker = self.workers[key] = await WorkerProcess.start(self.sandbox)
            except (WorkerDied, OSError) as exc:
                self.workers[key] = None
                return self._unknown(job, "crash", f"no worker could be started: {exc}")
        try:
            reply = await asyncio.wait_for(worker.run(job.payload), self.watchdog_s(job))
        except TimeoutError:
            await worker.kill()
            self._replaced(key)
            return self._unknown(job, "timeout", f"the worker ran past its watchdog of {self.watchdog_s(job):.0f} s "
                                                 f"and was killed")
        except WorkerDied as exc:
            self._replaced(key)
            return self._unknown(job, "crash", str(exc))
        except asyncio.CancelledError:
            await worker.kill()
            raise
        limit = self.config.max_jobs_per_worker
        if limit and worker.jobs >= limit:
            await worker.stop()
            self.workers[key] = None
        return reply

    def _replaced(self, key: tuple[str, int]) -> None:
        self.workers[key] = None
        self.metrics.restarts[key[0]] += 1

    # ----------------------------------------------------------------- views

    def busy_by_lane(self) -> dict[str, int]:
        counts = dict.fromkeys(self.lanes, 0)
        for (lane, _), busy in self.busy.items():
            counts[lane] += int(busy)
        return counts

    def health(self) -> HealthResponse:
        return HealthResponse(
            status="ok" if self.ready else "starting", version=__version__, sandbox=self.sandbox,
            workers={n: lane.slots for n, lane in self.lanes.items()},
            queue_depth={n: lane.depth for n, lane in self.lanes.items()},
            queue_capacity={n: lane.capacity for n, lane in self.lanes.items()},
        )

    def worker_list(self) -> WorkersResponse:
        return WorkersResponse(workers=[
            WorkerInfo(lane=lane, slot=slot, pid=w.pid if w is not None and w.alive else None,
                       busy=self.busy.get((lane, slot), False), jobs=w.jobs if w is not None else 0)
            for (lane, slot), w in sorted(self.workers.items())
        ])


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _validation_line(exc) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _one_line(f"{where}: {first.get('msg', 'invalid')}{more}")


def create_app(config: ServeConfig | None = None):
    """The FastAPI application for `config` (workers start with the app's lifespan)."""
    config = config or ServeConfig()
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title="proofsmith verification service", version=__version__, lifespan=lifespan,
                  description="Verdicts for proofs and programs, with admission control. Unknown is never a pass.")
    app.state.service = service
    errors = {status: {"model": ErrorResponse} for status in (401, 413, 422, 429, 500)}

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(ErrorResponse(error=_one_line(message)).model_dump(), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(Overloaded)
    async def _overloaded(_request: Request, exc: Overloaded) -> JSONResponse:
        return error(429, f"{exc}; retry after {exc.retry_after} s", {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(TooLarge)
    async def _too_large(_request: Request, exc: TooLarge) -> JSONResponse:
        return error(413, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, _validation_line(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> JSONResponse:
        return error(500, f"internal error: {type(exc).__name__}: {exc}")

    def authorised(request: Request) -> None:
        if not config.token:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), config.token.encode()):
            raise ApiError(401, "missing or wrong bearer token: send `Authorization: Bearer <token>`",
                           {"WWW-Authenticate": "Bearer"})

    def client_of(request: Request) -> str:
        named = request.headers.get(CLIENT_HEADER)
        if named:
            return named[:200]
        return request.client.host if request.client else "unknown"

    def deadline(seconds: float | None) -> float:
        return time.monotonic() + min(seconds or config.deadline_s, config.deadline_s)

    @app.post("/v1/check", response_model=CheckResponse, responses=errors, dependencies=[Depends(authorised)])
    async def check(body: CheckRequest, request: Request) -> CheckResponse:
        """Check one or a batch of candidates; all are admitted together or refused (429) together."""
        for index, item in enumerate(body.items):
            if item.task.language not in LANE_OF:
                served = " and ".join(LANE_OF)
                raise ApiError(422, f"items.{index}.task: {item.task.language} tasks are not checked by this "
                                    f"service (it checks {served} tasks)")
            problem = validate_task(item.task)
            if problem:
                raise ApiError(422, f"items.{index}.task: {problem}")
        client, due = client_of(request), deadline(body.deadline_s)
        jobs = [service.job({"kind": "check", "task": item.task, "candidate": item.candidate,
                             "efficiency": body.efficiency, "use_cache": body.use_cache},
                            lane=LANE_OF[item.task.language], client=client, deadline=due)
                for item in body.items]
        replies = await service.submit(client, jobs)
        return CheckResponse(verdicts=[reply.verdict for reply in replies if reply.verdict is not None])

    @app.post("/v1/step", response_model=StepResponse, responses=errors, dependencies=[Depends(authorised)])
    async def step(body: StepRequest, request: Request) -> StepResponse:
        """Run a Coq tactic from a state (the proof's start state when none); no tactic: open the proof."""
        task: Task = body.task
        if task.language != "coq":
            raise ApiError(422, f"task.language: step mode is available for coq tasks, not {task.language}")
        problem = validate_task(task)
        if problem:
            raise ApiError(422, f"task: {problem}")
        client = client_of(request)
        job = service.job({"kind": "step", "task": task, "state": body.state, "tactic": body.tactic},
                          lane="coq", client=client, deadline=deadline(body.deadline_s), affinity=task.id)
        reply = (await service.submit(client, [job]))[0]
        return StepResponse(state=reply.state, result=reply.step)

    @app.get("/v1/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        """Up, which sandbox, how many workers, how full each queue is."""
        return service.health()

    @app.get("/v1/metrics", response_class=PlainTextResponse, dependencies=[Depends(authorised)])
    async def metrics() -> PlainTextResponse:
        """Prometheus text exposition."""
        text = service.metrics.render(service.admission, service.busy_by_lane())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.get("/v1/workers", response_model=WorkersResponse, responses=errors, dependencies=[Depends(authorised)])
    async def workers() -> WorkersResponse:
        """Every worker process, its pid and whether it is busy."""
        return service.worker_list()

    return app


def run(config: ServeConfig, *, log_level: str = "warning", access_log: bool = False) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level=log_level,
                access_log=access_log, timeout_graceful_shutdown=10)
