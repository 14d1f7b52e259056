"""What the service counts, rendered as Prometheus text for GET /v1/metrics.

Counters (checks by lane and status, unknowns by reason, refusals by
reason, worker restarts), gauges (queue depth and capacity, workers and busy
workers, checks per second over the last minute, each unknown reason's share
of all answers) and a latency summary
(p50/p90/p99 of the last 2048 answered jobs, from arrival to answer).
Everything is in memory and bounded.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque

from proofsmith.serve.admission import Admission

_WINDOW_S = 60.0


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:g}"


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return "{" + inner + "}" if inner else ""


class Metrics:
    """In-memory counters of one service process."""

    def __init__(self) -> None:
        self.checks: Counter[tuple[str, str]] = Counter()  # (lane, status)
        self.unknown: Counter[str] = Counter()  # reason
        self.restarts: Counter[str] = Counter()  # lane
        self.latency_sum = 0.0
        self.latency_count = 0
        self._latencies: deque[float] = deque(maxlen=2048)
        self._answered: deque[float] = deque()  # monotonic times of answers in the last minute

    def answered(self, lane: str, status: str, reason: str | None, latency_s: float) -> None:
        """Count one answered job."""
        self.checks[(lane, status)] += 1
        if status == "unknown":
            self.unknown[reason or "internal"] += 1
        self.latency_sum += latency_s
        self.latency_count += 1
        self._latencies.append(latency_s)
        now = time.monotonic()
        self._answered.append(now)
        while self._answered and self._answered[0] < now - _WINDOW_S:
            self._answered.popleft()

    def checks_per_second(self) -> float:
        now = time.monotonic()
        while self._answered and self._answered[0] < now - _WINDOW_S:
            self._answered.popleft()
        return len(self._answered) / _WINDOW_S

    def render(self, admission: Admission, busy: dict[str, int]) -> str:
        """The Prometheus text exposition (version 0.0.4)."""
        out: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

        lanes = admission.lanes
        metric("proofsmith_queue_depth", "gauge", "Jobs waiting in each lane's queue.",
               [(_labels(lane=n), lane.depth) for n, lane in lanes.items()])
        metric("proofsmith_queue_capacity", "gauge", "Most jobs each lane's queue holds before answering 429.",
               [(_labels(lane=n), lane.capacity) for n, lane in lanes.items()])
        metric("proofsmith_workers", "gauge", "Worker processes per lane.",
               [(_labels(lane=n), lane.slots) for n, lane in lanes.items()])
        metric("proofsmith_workers_busy", "gauge", "Workers running a job now.",
               [(_labels(lane=n), busy.get(n, 0)) for n in lanes])
        metric("proofsmith_checks_total", "counter", "Jobs answered, by lane and verdict status.",
               [(_labels(lane=lane, status=status), count) for (lane, status), count in sorted(self.checks.items())])
        metric("proofsmith_unknown_total", "counter", "Unknown answers by reason.",
               [(_labels(reason=reason), count) for reason, count in sorted(self.unknown.items())])
        answered = max(1, self.latency_count)
        metric("proofsmith_unknown_ratio", "gauge", "Share of all answered jobs that came back unknown, by reason.",
               [(_labels(reason=reason), round(count / answered, 6)) for reason, count in sorted(self.unknown.items())])
        metric("proofsmith_rejected_total", "counter", "Requests refused with 429, by reason.",
               [(_labels(reason=reason), count) for reason, count in sorted(admission.rejected.items())])
        metric("proofsmith_worker_restarts_total", "counter", "Workers replaced after a crash, kill or timeout.",
               [(_labels(lane=n), self.restarts.get(n, 0)) for n in lanes])
        metric("proofsmith_checks_per_second", "gauge", "Jobs answered per second over the last minute.",
               [("", round(self.checks_per_second(), 3))])
        ordered = sorted(self._latencies)
        samples = [(_labels(quantile=str(q)), _quantile(ordered, q)) for q in (0.5, 0.9, 0.99)]
        metric("proofsmith_latency_seconds", "summary",
               "Seconds from a job's arrival to its answer (quantiles over the last 2048 jobs).",
               [*samples, ("_sum", self.latency_sum), ("_count", self.latency_count)])
        # "_sum"/"_count" in the label slot give the summary's `name_sum v` and `name_count v` series
        return "\n".join(out) + "\n"
