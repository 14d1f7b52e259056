"""Clients for `proofsmith serve`: `Client` (sync) and `AsyncClient`, same methods.

Both retry on 429 and 5xx answers and on connection errors, waiting the
server's `Retry-After` (when it sends one) plus random jitter, or else an
exponential backoff with full jitter, so a crowd of trainers that was refused
together does not come back together. `check_many` splits the pairs into
batches (one request each); the async client sends several batches at once.
Replies are parsed with the service's own pydantic models; a request that
still fails after the retries raises `ServiceError` with the server's one line.

    from proofsmith.serve.client import Client

    with Client("http://127.0.0.1:8000", token="...") as client:
        verdicts = client.check_many(pairs)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Self, TypeVar

import httpx
from pydantic import BaseModel

from proofsmith.schema import Candidate, Task, Verdict
from proofsmith.serve.api import (
    CheckItem,
    CheckRequest,
    CheckResponse,
    HealthResponse,
    StepRequest,
    StepResponse,
    WorkersResponse,
)
from proofsmith.steps import State

DEFAULT_URL = "http://127.0.0.1:8000"
_RETRY_STATUS = {429, 500, 502, 503, 504}
#: what `_outcome` answers when a request is to be sent again (sync and async clients share the decision)
_AGAIN = object()
M = TypeVar("M", bound=BaseModel)


class ServiceError(RuntimeError):
    """The service refused or failed a request (after retries); the message is its one line."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Base:
    def __init__(self, url: str = DEFAULT_URL, *, token: str | None = None, client_id: str | None = None,
                 timeout: float = 600.0, retries: int = 8, backoff_s: float = 0.25, max_backoff_s: float = 20.0,
                 batch_size: int = 64, seed: int | None = None) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.batch_size = batch_size
        self.timeout = timeout
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if client_id:
            self.headers["X-Proofsmith-Client"] = client_id
        self._rng = random.Random(seed)
        #: retries made so far (429s and 5xx answered again), for benchmarks
        self.retried = 0

    def _outcome(self, method: str, path: str, model: type[M] | None, attempt: int,
                 response: httpx.Response | None, error: httpx.TransportError | None) -> M | str | object:
        """The parsed reply, or `_AGAIN` when the request should be sent again; raises when it may not be."""
        last = attempt == self.retries
        if error is not None or response is None:
            if last:
                raise ServiceError(f"{method} {path}: cannot reach {self.url} ({type(error).__name__}: {error})")
            return _AGAIN
        if response.status_code < 400:
            return model.model_validate_json(response.content) if model else response.text
        if response.status_code not in _RETRY_STATUS or last:
            raise self._error(response)
        return _AGAIN

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before retry `attempt` (0-based): Retry-After plus jitter, else full-jitter backoff."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** attempt)
        if response is not None:
            try:
                after = float(response.headers.get("retry-after", ""))
            except ValueError:
                after = None
            if after is not None:
                return min(self.max_backoff_s, after) * (1.0 + self._rng.random())
        return self._rng.uniform(0.0, ceiling)

    @staticmethod
    def _error(response: httpx.Response) -> ServiceError:
        try:
            message = response.json().get("error")
        except ValueError:
            message = None
        text = message or (response.text.strip().splitlines() or [response.reason_phrase])[0]
        return ServiceError(f"{response.request.method} {response.request.url.path}: {response.status_code} {text}",
                            response.status_code)

    @staticmethod
    def _check_request(pairs: Sequence[tuple[Task, Candidate]], deadline_s: float | None, efficiency: str | None,
                       use_cache: bool) -> dict:
        request = CheckRequest(items=[CheckItem(task=t, candidate=c) for t, c in pairs], deadline_s=deadline_s,
                               efficiency=efficiency, use_cache=use_cache)  # type: ignore[arg-type]
        return request.model_dump(mode="json")

    def _batches(self, pairs: Sequence[tuple[Task, Candidate]]) -> list[Sequence[tuple[Task, Candidate]]]:
        size = max(1, self.batch_size)
        return [pairs[i:i + size] for i in range(0, len(pairs), size)]

    @staticmethod
    def _verdicts(reply: CheckResponse, expected: int) -> list[Verdict]:
        if len(reply.verdicts) != expected:
            raise ServiceError(f"the service answered {len(reply.verdicts)} verdicts for {expected} checks")
        return reply.verdicts


class Client(_Base):
    """Synchronous client (httpx); use as a context manager or call `close()`."""

    def __init__(self, url: str = DEFAULT_URL, **options) -> None:
        super().__init__(url, **options)
        self._http = httpx.Client(base_url=self.url, headers=self.headers, timeout=self.timeout)

    def _request(self, method: str, path: str, model: type[M] | None, body: dict | None = None) -> M | str:
        for attempt in range(self.retries + 1):
            response, error = None, None
            try:
                response = self._http.request(method, path, json=body)
            except httpx.TransportError as exc:
                error = exc
            result = self._outcome(method, path, model, attempt, response, error)
            if result is not _AGAIN:
                return result
            self.retried += 1
            time.sleep(self._delay(attempt, response))
        raise AssertionError("unreachable")

    def check(self, task: Task, candidate: Candidate, *, deadline_s: float | None = None,
              efficiency: str | None = None, use_cache: bool = True) -> Verdict:
        """One verdict."""
        return self.check_many([(task, candidate)], deadline_s=deadline_s, efficiency=efficiency,
                               use_cache=use_cache)[0]

    def check_many(self, pairs: Sequence[tuple[Task, Candidate]], *, deadline_s: float | None = None,
                   efficiency: str | None = None, use_cache: bool = True) -> list[Verdict]:
        """Verdicts in input order, `batch_size` pairs per request."""
        verdicts: list[Verdict] = []
        for batch in self._batches(pairs):
            body = self._check_request(batch, deadline_s, efficiency, use_cache)
            reply = self._request("POST", "/v1/check", CheckResponse, body)
            verdicts += self._verdicts(reply, len(batch))  # type: ignore[arg-type]
        return verdicts

    def step(self, task: Task, state: State | None = None, tactic: str | None = None, *,
             deadline_s: float | None = None) -> StepResponse:
        """Run `tactic` from `state` (the start when None); no tactic: the start state."""
        body = StepRequest(task=task, state=state, tactic=tactic, deadline_s=deadline_s)
        return self._request("POST", "/v1/step", StepResponse, body.model_dump(mode="json"))  # type: ignore[return-value]

    def open(self, task: Task) -> State:
        """The state at the start of the task's proof."""
        reply = self.step(task)
        if reply.state is None:
            error = reply.result.error if reply.result else "no state"
            raise ServiceError(f"task {task.id}: the proof could not be opened: {error}")
        return reply.state

    def health(self) -> HealthResponse:
        return self._request("GET", "/v1/health", HealthResponse)  # type: ignore[return-value]

    def workers(self) -> WorkersResponse:
        return self._request("GET", "/v1/workers", WorkersResponse)  # type: ignore[return-value]

    def metrics(self) -> str:
        """The Prometheus text."""
        return self._request("GET", "/v1/metrics", None)  # type: ignore[return-value]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """Asynchronous client (httpx); `check_many` keeps up to `concurrency` batches in flight."""

    def __init__(self, url: str = DEFAULT_URL, *, concurrency: int = 4, **options) -> None:
        super().__init__(url, **options)
        self.concurrency = concurrency
        self._http = httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=self.timeout,
                                       limits=httpx.Limits(max_connections=max(concurrency, 1) * 2))

    async def _request(self, method: str, path: str, model: type[M] | None, body: dict | None = None) -> M | str:
        for attempt in range(self.retries + 1):
            response, error = None, None
            try:
                response = await self._http.request(method, path, json=body)
            except httpx.TransportError as exc:
                error = exc
            result = self._outcome(method, path, model, attempt, response, error)
            if result is not _AGAIN:
                return result
            self.retried += 1
            await asyncio.sleep(self._delay(attempt, response))
        raise AssertionError("unreachable")

    async def check(self, task: Task, candidate: Candidate, *, deadline_s: float | None = None,
                    efficiency: str | None = None, use_cache: bool = True) -> Verdict:
        """One verdict."""
        return (await self.check_many([(task, candidate)], deadline_s=deadline_s, efficiency=efficiency,
                                      use_cache=use_cache))[0]

    async def check_many(self, pairs: Sequence[tuple[Task, Candidate]], *, deadline_s: float | None = None,
                         efficiency: str | None = None, use_cache: bool = True) -> list[Verdict]:
        """Verdicts in input order; batches sent `concurrency` at a time."""
        gate = asyncio.Semaphore(max(1, self.concurrency))

        async def one(batch: Sequence[tuple[Task, Candidate]]) -> list[Verdict]:
            async with gate:
                body = self._check_request(batch, deadline_s, efficiency, use_cache)
                reply = await self._request("POST", "/v1/check", CheckResponse, body)
                return self._verdicts(reply, len(batch))  # type: ignore[arg-type]

        results = await asyncio.gather(*(one(batch) for batch in self._batches(pairs)))
        return [verdict for batch in results for verdict in batch]

    async def step(self, task: Task, state: State | None = None, tactic: str | None = None, *,
                   deadline_s: float | None = None) -> StepResponse:
        """Run `tactic` from `state` (the start when None); no tactic: the start state."""
        body = StepRequest(task=task, state=state, tactic=tactic, deadline_s=deadline_s)
        return await self._request("POST", "/v1/step", StepResponse,  # type: ignore[return-value]
                                   body.model_dump(mode="json"))

    async def open(self, task: Task) -> State:
        """The state at the start of the task's proof."""
        reply = await self.step(task)
        if reply.state is None:
            error = reply.result.error if reply.result else "no state"
            raise ServiceError(f"task {task.id}: the proof could not be opened: {error}")
        return reply.state

    async def health(self) -> HealthResponse:
        return await self._request("GET", "/v1/health", HealthResponse)  # type: ignore[return-value]

    async def workers(self) -> WorkersResponse:
        return await self._request("GET", "/v1/workers", WorkersResponse)  # type: ignore[return-value]

    async def metrics(self) -> str:
        """The Prometheus text."""
        return await self._request("GET", "/v1/metrics", None)  # type: ignore[return-value]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
