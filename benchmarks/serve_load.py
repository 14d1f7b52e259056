"""Load on `proofsmith serve` over loopback: many concurrent clients, real HumanEval checks, one run.

A real service is started as a child process (default workers for this
machine, a bounded queue smaller than the number of clients so that
admission control has work to do, verdict cache off so every check really
runs). CLIENTS asyncio clients then each loop for SECONDS: pick the next
HumanEval pair (canonical solutions and `return None` bodies, alternating,
all 164 tasks), POST it to /v1/check with a unique candidate id, and on 429
wait the server's Retry-After plus jitter and send it again, until it gets a
verdict. After SECONDS no new checks start; the ones in flight finish.

Printed: verdicts per second, latency p50/p99 (of the answered requests, and
of a check from first send to verdict including its 429 waits), the share of
requests answered 429, connection errors (sent again, as the client does), peak RSS of the service process and of its whole tree
(workers and sandboxes), the service's RSS over the run (flat once the queue
is full?), and the bookkeeping: every check must come back exactly once,
with its own id, and with the expected status (canonical verified, wrong
refuted); unknowns are counted apart.

Run: `make bench-serve` (or `python benchmarks/serve_load.py --clients 200 --seconds 60`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from typing import Self

import httpx
import psutil


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class RssSampler:
    """Samples the service's RSS (and its process tree's) every `period` seconds in a thread."""

    def __init__(self, pid: int, period: float = 0.25) -> None:
        self.proc = psutil.Process(pid)
        self.period = period
        self.samples: list[tuple[float, int, int]] = []  # (t, service rss, tree rss)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                own = self.proc.memory_info().rss
                tree = own
                for child in self.proc.children(recursive=True):
                    try:
                        tree += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.samples.append((time.monotonic(), own, tree))
            except psutil.Error:
                return
            self._stop.wait(self.period)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def load(url: str, pairs, *, clients: int, seconds: float, use_cache: bool, seed: int) -> dict:
    rng = random.Random(seed)
    stop_at = time.monotonic() + seconds
    counter = iter(range(10**9))
    sent: dict[str, str] = {}  # candidate id -> expected status
    answers: Counter[str] = Counter()  # candidate id -> verdicts received
    mismatched = wrong_status = unknown = lost = 0
    status_codes: Counter[int] = Counter()
    transport_errors: Counter[str] = Counter()
    request_latency: list[float] = []
    check_latency: list[float] = []
    first_429: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:

        async def one_check() -> None:
            nonlocal mismatched, wrong_status, unknown, lost
            n = next(counter)
            task, cand, expected = pairs[n % len(pairs)]
            cand_id = f"c{n}"
            sent[cand_id] = expected
            body = {"items": [{"task": task, "candidate": {**cand, "id": cand_id}}], "use_cache": use_cache}
            started = time.monotonic()
            for _attempt in range(1000):
                t0 = time.monotonic()
                try:
                    reply = await http.post("/v1/check", json=body)
                except httpx.TransportError as exc:
                    # a pooled keep-alive connection the server closed as it was reused, a reset...: sent again,
                    # as proofsmith.serve.client does; counted apart (the check may run twice, its verdict is
                    # still received once)
                    transport_errors[type(exc).__name__] += 1
                    await asyncio.sleep(rng.random())
                    continue
                status_codes[reply.status_code] += 1
                if reply.status_code == 429:
                    if not first_429:
                        first_429.append(time.monotonic())
                    after = float(reply.headers.get("retry-after", "1"))
                    await asyncio.sleep(after * (1.0 + rng.random()))
                    continue
                if reply.status_code != 200:
                    lost += 1
                    return
                request_latency.append(time.monotonic() - t0)
                check_latency.append(time.monotonic() - started)
                verdicts = reply.json()["verdicts"]
                for verdict in verdicts:
                    answers[verdict["candidate_id"]] += 1
                if len(verdicts) != 1 or verdicts[0]["candidate_id"] != cand_id \
                        or verdicts[0]["task_id"] != task["id"]:
                    mismatched += 1
                elif verdicts[0]["status"] == "unknown":
                    unknown += 1
                elif verdicts[0]["status"] != expected:
                    wrong_status += 1
                return
            lost += 1

        async def client() -> None:
            while time.monotonic() < stop_at:
                await one_check()

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.monotonic() - started

    missing = [c for c in sent if answers[c] == 0]
    duplicated = [c for c, k in answers.items() if k > 1]
    stray = [c for c in answers if c not in sent]
    requests = sum(status_codes.values())
    return {
        "elapsed_s": elapsed, "checks": len(sent), "verdicts": sum(answers.values()),
        "requests": requests, "status_codes": dict(status_codes),
        "share_429": status_codes[429] / requests if requests else 0.0,
        "transport_errors": dict(transport_errors), "gave_up": lost, "missing": len(missing),
        "duplicated": len(duplicated), "stray": len(stray),
        "mismatched": mismatched, "wrong_status": wrong_status, "unknown": unknown,
        "request_p50_s": _quantile(request_latency, 0.5), "request_p99_s": _quantile(request_latency, 0.99),
        "check_p50_s": _quantile(check_latency, 0.5), "check_p99_s": _quantile(check_latency, 0.99),
        "first_429_at": first_429[0] if first_429 else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long new checks start (default 60)")
    parser.add_argument("--queue-size", type=int, default=64, help="the service's queue per lane (default 64)")
    parser.add_argument("--python-workers", type=int, default=None, help="default: the service's own sizing")
    parser.add_argument("--cache", action="store_true", help="let the service reuse cached verdicts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from proofsmith.datasets.humaneval import canonical_candidates, load_tasks, wrong_candidates
    from proofsmith.serve.app import default_workers
    from proofsmith.serve.launch import ServerProcess

    console = Console(width=120)
    tasks = load_tasks()
    pairs = []
    for task, right, wrong in zip(tasks, canonical_candidates(tasks), wrong_candidates(tasks), strict=True):
        task_json = task.model_dump(mode="json")
        pairs.append((task_json, right.model_dump(mode="json"), "verified"))
        pairs.append((task_json, wrong.model_dump(mode="json"), "refuted"))
    workers = args.python_workers or default_workers()["python"]
    serve_args = ["--queue-size", str(args.queue_size), "--python-workers", str(workers), "--coq-workers", "1"]
    other = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
             if p.info["cmdline"] and any("search_scaling" in part for part in p.info["cmdline"])]
    console.print(f"service: {workers} python workers, queue {args.queue_size}, cache {'on' if args.cache else 'off'};"
                  f" {args.clients} clients for {args.seconds:g} s; {os.cpu_count()} cores"
                  + ("; NOTE: benchmarks/search_scaling.py was running alongside" if other else ""))

    with ServerProcess(serve_args, stderr=sys.stderr) as server, RssSampler(server.pid) as rss:
        began = time.monotonic()
        figures = asyncio.run(load(server.url, pairs, clients=args.clients, seconds=args.seconds,
                                   use_cache=args.cache, seed=args.seed))
        ended = time.monotonic()
        metrics = httpx.get(f"{server.url}/v1/metrics", timeout=30).text
    own = [s[1] for s in rss.samples]
    tree = [s[2] for s in rss.samples]
    after_full = [s[1] for s in rss.samples if figures["first_429_at"] and s[0] >= figures["first_429_at"]]
    quarters = []
    for q in (0.25, 0.5, 0.75, 1.0):
        at = began + q * (ended - began)
        near = [s[1] for s in rss.samples if s[0] <= at]
        quarters.append(near[-1] / 2**20 if near else float("nan"))
    mb = 2**20
    figures.update({
        "clients": args.clients, "seconds": args.seconds, "python_workers": workers, "queue_size": args.queue_size,
        "cache": args.cache, "cores": os.cpu_count(), "alongside_search_scaling": bool(other),
        "verdicts_per_s": figures["verdicts"] / figures["elapsed_s"],
        "service_peak_rss_mb": max(own) / mb if own else None, "tree_peak_rss_mb": max(tree) / mb if tree else None,
        "service_rss_quarters_mb": quarters,
        "service_rss_after_queue_full_mb": [min(after_full) / mb, max(after_full) / mb] if after_full else None,
    })

    table = Table(title=f"proofsmith serve under load: {args.clients} clients, {figures['elapsed_s']:.0f} s, "
                        f"HumanEval, {workers} python workers, queue {args.queue_size}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("verdicts / s", f"{figures['verdicts_per_s']:.1f}"),
        ("checks answered", f"{figures['verdicts']} of {figures['checks']} started"),
        ("request latency p50 / p99 (200s)", f"{figures['request_p50_s']:.2f} s / {figures['request_p99_s']:.2f} s"),
        ("check latency p50 / p99 (incl. 429 waits)", f"{figures['check_p50_s']:.2f} s / {figures['check_p99_s']:.2f} s"),
        ("requests answered 429", f"{figures['share_429']:.1%} of {figures['requests']}"),
        ("peak RSS: service / service + workers + sandboxes",
         f"{figures['service_peak_rss_mb']:.0f} MB / {figures['tree_peak_rss_mb']:.0f} MB"),
        ("service RSS at 25/50/75/100% of the run", " / ".join(f"{x:.0f}" for x in quarters) + " MB"),
        ("service RSS once the queue was full (min-max)",
         "-" if not after_full else f"{min(after_full) / mb:.0f}-{max(after_full) / mb:.0f} MB"),
        ("lost / duplicated / stray / mismatched verdicts",
         (f"{figures['missing']} / {figures['duplicated']} / {figures['stray']} / "
         f"{figures['mismatched']}")),
        ("unexpected status / unknown", f"{figures['wrong_status']} / {figures['unknown']}"),
        ("connection errors, sent again",
         ", ".join(f"{k} {v}" for k, v in figures["transport_errors"].items()) or "0"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    unknown_lines = [line for line in metrics.splitlines() if line.startswith("proofsmith_unknown_total{")]
    if unknown_lines:
        console.print("service unknowns: " + ", ".join(unknown_lines))
    if other:
        console.print("NOTE: another CPU-heavy job (benchmarks/search_scaling.py) ran during this measurement.")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)
    ok = figures["missing"] + figures["duplicated"] + figures["stray"] + figures["mismatched"] == 0
    console.print("bookkeeping: " + ("every check answered exactly once with its own verdict" if ok
                                     else "FAILED: see lost/duplicated/stray/mismatched"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
