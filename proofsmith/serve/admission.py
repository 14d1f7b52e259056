"""Admission control: bounded lanes, per-request deadlines, per-client quotas.

A lane is one checker's bounded queue and the worker slots that drain it
(`python`, `coq`). A request is admitted whole or refused whole: when its
items do not all fit in their lanes' free capacity, or its client is over
quota, it is refused with `Overloaded` (HTTP 429 with `Retry-After`) and
nothing is queued, so memory stays bounded by the lanes' capacities however
hard the service is pushed. A queued job whose deadline passes is taken out
of its lane before it runs and answered `unknown` (reason `deadline`).

All of this runs on the service's one event loop, so admission is atomic
without locks.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from proofsmith.serve.worker import WorkerJob, WorkerReply

JobState = Literal["queued", "running", "done"]


class Overloaded(Exception):
    """The request cannot be admitted now; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int, reason: Literal["queue_full", "quota", "rate"]) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.reason = reason


class TooLarge(ValueError):
    """The request could never be admitted (a batch larger than a lane's whole queue)."""


@dataclass(eq=False)
class Job:
    """One queued unit of work and the future its request waits on."""

    payload: WorkerJob
    lane: str
    client: str
    deadline: float
    future: asyncio.Future[WorkerReply]
    #: a key whose jobs go to the same worker (a Coq task's steps, for its warm session)
    affinity: str | None = None
    state: JobState = "queued"
    enqueued: float = field(default_factory=time.monotonic)
    started: float | None = None

    def resolve(self, reply: WorkerReply) -> bool:
        """Complete the job once; False when it was already complete."""
        if self.state == "done":
            return False
        self.state = "done"
        if not self.future.done():
            self.future.set_result(reply)
        return True


class Lane:
    """A bounded queue of jobs and the number of worker slots that take from it."""

    def __init__(self, name: str, capacity: int, slots: int) -> None:
        self.name = name
        self.capacity = capacity
        self.slots = slots
        self._shared: deque[Job] = deque()
        self._own: list[deque[Job]] = [deque() for _ in range(slots)]
        self._wake = [asyncio.Event() for _ in range(slots)]
        self.running = 0
        #: recent run times, for Retry-After
        self._recent: deque[float] = deque(maxlen=64)

    @property
    def depth(self) -> int:
        """Jobs waiting (not yet running)."""
        return len(self._shared) + sum(len(q) for q in self._own)

    def free(self) -> int:
        return self.capacity - self.depth

    def put(self, job: Job) -> None:
        if job.affinity is not None:
            slot = zlib.crc32(job.affinity.encode()) % self.slots
            self._own[slot].append(job)
            self._wake[slot].set()
        else:
            self._shared.append(job)
            for event in self._wake:
                event.set()

    def remove(self, job: Job) -> bool:
        """Take a queued job out (its deadline passed or its request went away)."""
        for queue in (self._shared, *self._own):
            try:
                queue.remove(job)
                return True
            except ValueError:
                continue
        return False

    async def get(self, slot: int) -> Job:
        """The next job for worker `slot`: its own (affinity) jobs first, then the shared queue."""
        while True:
            own = self._own[slot]
            if own:
                return own.popleft()
            if self._shared:
                return self._shared.popleft()
            self._wake[slot].clear()
            await self._wake[slot].wait()

    def record(self, seconds: float) -> None:
        self._recent.append(seconds)

    def retry_after(self, extra: int = 1) -> int:
        """Seconds until about `extra` places free up: the queue ahead drained by every slot."""
        mean = sum(self._recent) / len(self._recent) if self._recent else 1.0
        return math.ceil((self.depth + extra) * mean / max(1, self.slots))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Admission:
    """The lanes and the per-client quotas (jobs in flight, and jobs per second with a burst)."""

    def __init__(self, lanes: dict[str, Lane], *, client_inflight: int = 0, client_rate: float = 0.0,
                 client_burst: int | None = None) -> None:
        self.lanes = lanes
        self.client_inflight = client_inflight
        self.client_rate = client_rate
        self.client_burst = client_burst or max(1, int(client_rate * 2))
        self.inflight: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}
        self.rejected: dict[str, int] = {"queue_full": 0, "quota": 0, "rate": 0}

    def admit(self, client: str, jobs: list[Job]) -> None:
        """Queue every job, or raise Overloaded / TooLarge and queue none."""
        n = len(jobs)
        wanted: dict[str, int] = {}
        for job in jobs:
            wanted[job.lane] = wanted.get(job.lane, 0) + 1
        for name, count in wanted.items():
            lane = self.lanes[name]
            if count > lane.capacity:
                raise TooLarge(f"a batch of {count} {name} checks is larger than the {name} queue ({lane.capacity}); "
                               f"split it into batches of at most {lane.capacity}")
        try:
            if self.client_inflight and self.inflight.get(client, 0) + n > self.client_inflight:
                if n > self.client_inflight:
                    raise TooLarge(f"a batch of {n} is over the per-client quota of {self.client_inflight} checks "
                                   f"in flight; split it")
                raise Overloaded(f"client {client!r} has {self.inflight.get(client, 0)} checks in flight; its quota "
                                 f"is {self.client_inflight}", self._soonest(wanted), "quota")
            for name, count in wanted.items():
                lane = self.lanes[name]
                if count > lane.free():
                    raise Overloaded(f"the {name} queue is full ({lane.depth}/{lane.capacity} waiting, "
                                     f"{lane.running}/{lane.slots} workers busy)", lane.retry_after(count),
                                     "queue_full")
            if self.client_rate:
                self._take_tokens(client, n)  # last: tokens are spent only on an admitted request
        except Overloaded as exc:
            self.rejected[exc.reason] += 1
            raise
        self.inflight[client] = self.inflight.get(client, 0) + n
        for job in jobs:
            self.lanes[job.lane].put(job)

    def done(self, job: Job) -> None:
        """A job was answered: give its client's quota back."""
        left = self.inflight.get(job.client, 0) - 1
        if left > 0:
            self.inflight[job.client] = left
        else:
            self.inflight.pop(job.client, None)

    def _soonest(self, wanted: dict[str, int]) -> int:
        return min(self.lanes[name].retry_after(0) for name in wanted)

    def _take_tokens(self, client: str, n: int) -> None:
        now = time.monotonic()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(float(self.client_burst), now)
            if len(self._buckets) > 10_000:  # bounded: forget the idlest clients
                for key, _ in sorted(self._buckets.items(), key=lambda kv: kv[1].updated)[:5_000]:
                    self._buckets.pop(key, None)
        bucket.tokens = min(float(self.client_burst), bucket.tokens + (now - bucket.updated) * self.client_rate)
        bucket.updated = now
        if n > self.client_burst:
            raise TooLarge(f"a batch of {n} is over the per-client burst of {self.client_burst} checks; split it")
        if bucket.tokens < n:
            wait = math.ceil((n - bucket.tokens) / self.client_rate)
            raise Overloaded(f"client {client!r} is over its quota of {self.client_rate:g} checks/s", wait, "rate")
        bucket.tokens -= n
