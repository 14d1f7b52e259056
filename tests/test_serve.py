"""The verification service, end to end: a real `proofsmith serve` on a loopback port, real checks.

Two services are started as child processes (`proofsmith.serve.launch`):
one with a token and roomy queues for the API itself (HumanEval batches,
Coq steps, metrics, the clients), and one tight one (one Python worker, a
queue of three, two jobs in flight per client) to push into 429s, deadline
expiry, quotas and a killed worker. Nothing is mocked: every verdict comes
from the real sandboxed checkers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

httpx = pytest.importorskip("httpx", reason="the serve extra is not installed: pip install 'proofsmith[serve]'")
pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'proofsmith[serve]'")

from proofsmith.datasets.humaneval import canonical_candidates, load_tasks, wrong_candidates
from proofsmith.schema import Candidate, Limits, Task
from proofsmith.serve.admission import Admission, Job, Lane, Overloaded, TooLarge
from proofsmith.serve.client import AsyncClient, Client, ServiceError
from proofsmith.serve.launch import ServerProcess
from proofsmith.serve.worker import WorkerJob

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("bwrap_or_skip")]

TOKEN = "test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

COQ_TASK = Task(id="t", language="coq", kind="proof", statement="Theorem t : forall n : nat, n + 0 = n.",
                context="Require Import Arith.", options={"name": "t"})
#: one test call, so a sleeping candidate holds its worker for about `SLOW_S`
SLOW_S = 4
SLOW_TASK = Task(id="slow", language="python", kind="program", statement="def f(x):\n    pass\n", entry_point="f",
                 test_code="def check(candidate):\n    assert candidate(1) == 1\n",
                 limits=Limits(wall_s=20, cpu_s=10))
SLOW = Candidate(task_id="slow", id="sleeper", text=f"import time\n\ndef f(x):\n    time.sleep({SLOW_S})\n    return x\n")
QUICK = Candidate(task_id="slow", id="quick", text="def f(x):\n    return x\n")


def _items(pairs) -> list[dict]:
    return [{"task": t.model_dump(mode="json"), "candidate": c.model_dump(mode="json")} for t, c in pairs]


@pytest.fixture(scope="module")
def server():
    """A service with a token, 2 Python workers and 1 Coq worker."""
    with ServerProcess(["--token", TOKEN, "--python-workers", "2", "--coq-workers", "1"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def tight():
    """A service built to overflow: 1 Python worker, queues of 3, at most 2 jobs in flight per client."""
    with ServerProcess(["--python-workers", "1", "--coq-workers", "1", "--queue-size", "3",
                        "--client-inflight", "2"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def humaneval():
    return load_tasks(4)


def _busy_worker(url: str, lane: str = "python", timeout: float = 20.0) -> int:
    """Wait until a worker of `lane` is busy; its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in httpx.get(f"{url}/v1/workers", timeout=5).json()["workers"]:
            if worker["lane"] == lane and worker["busy"]:
                return worker["pid"]
        time.sleep(0.05)
    raise AssertionError(f"no {lane} worker became busy")


class _Background:
    """A POST /v1/check running in a thread (the slow job that keeps a worker busy)."""

    def __init__(self, url: str, pairs, client: str, **body) -> None:
        self.response: httpx.Response | None = None
        payload = {"items": _items(pairs), "use_cache": False, **body}

        def run() -> None:
            self.response = httpx.post(f"{url}/v1/check", json=payload, timeout=120,
                                       headers={"X-Proofsmith-Client": client})

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self) -> httpx.Response:
        self.thread.join(120)
        assert self.response is not None
        return self.response


# --------------------------------------------------------------------------- the API


def test_health_needs_no_token_and_says_how_full(server):
    reply = httpx.get(f"{server.url}/v1/health").json()
    assert reply["status"] == "ok" and reply["sandbox"] == "bwrap"
    assert reply["workers"] == {"python": 2, "coq": 1}
    assert reply["queue_capacity"]["python"] == 128


def test_bearer_token_is_required_and_errors_are_one_line(server, humaneval):
    body = {"items": _items([(humaneval[0], canonical_candidates(humaneval)[0])])}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        reply = httpx.post(f"{server.url}/v1/check", json=body, headers=headers)
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"] == "Bearer"
        assert "\n" not in reply.json()["error"] and "bearer token" in reply.json()["error"]
    assert httpx.get(f"{server.url}/v1/metrics").status_code == 401
    bad = httpx.post(f"{server.url}/v1/check", json={"items": [{"task": {"id": "x"}, "candidate": {}}]}, headers=AUTH)
    assert bad.status_code == 422
    assert list(bad.json()) == ["error"] and bad.json()["error"].startswith("items.0.task.language: Field required")
    assert "(and " in bad.json()["error"]


def test_batch_check_humaneval_canonical_and_wrong(server, humaneval):
    pairs = list(zip(humaneval, canonical_candidates(humaneval), strict=True))
    pairs += list(zip(humaneval, wrong_candidates(humaneval), strict=True))
    reply = httpx.post(f"{server.url}/v1/check", json={"items": _items(pairs), "use_cache": False}, headers=AUTH,
                       timeout=120)
    assert reply.status_code == 200
    verdicts = reply.json()["verdicts"]
    assert [(v["task_id"], v["candidate_id"]) for v in verdicts] == [(t.id, c.id) for t, c in pairs]
    assert [v["status"] for v in verdicts] == ["verified"] * 4 + ["refuted"] * 4
    assert all(v["manifest"]["sandbox"] == "bwrap" for v in verdicts)


def test_coq_step_open_step_error_and_backtrack(server):
    with Client(server.url, token=TOKEN) as client:
        root = client.open(COQ_TASK)
        assert "forall n : nat, n + 0 = n" in root.goals and not root.solved
        intro = client.step(COQ_TASK, root, "intros n.")
        assert intro.result.status == "ok" and intro.state.steps == ("intros n.",)
        wrong = client.step(COQ_TASK, intro.state, "apply no_such_lemma.")
        assert wrong.result.status == "error" and wrong.state is None
        done = client.step(COQ_TASK, intro.state, "auto with arith.")
        assert done.result.status == "ok" and done.state.solved
        again = client.step(COQ_TASK, root, "intros m.")  # back to the start after a solved branch
        assert again.result.status == "ok" and again.state.steps == ("intros m.",)
    py = httpx.post(f"{server.url}/v1/step", json={"task": SLOW_TASK.model_dump(mode="json")}, headers=AUTH)
    assert py.status_code == 422 and "step mode is available for coq tasks" in py.json()["error"]


def test_clients_sync_and_async_batching_and_a_coq_check(server, humaneval):
    pairs = list(zip(humaneval, canonical_candidates(humaneval), strict=True))
    pairs += list(zip(humaneval, wrong_candidates(humaneval), strict=True))
    with Client(server.url, token=TOKEN, batch_size=3) as client:
        verdicts = client.check_many(pairs)
        coq = client.check(COQ_TASK, Candidate(task_id="t", text="intros n. auto with arith."), use_cache=False)
        assert client.health().workers["coq"] == 1
    assert [v.status for v in verdicts] == ["verified"] * 4 + ["refuted"] * 4
    assert coq.status == "verified", coq.diagnostics

    async def run():
        async with AsyncClient(server.url, token=TOKEN, batch_size=2, concurrency=3) as client:
            return await client.check_many(pairs)

    assert [v.status for v in asyncio.run(run())] == ["verified"] * 4 + ["refuted"] * 4
    with Client(server.url, token="wrong", retries=0) as client, pytest.raises(ServiceError, match="401"):
        client.check(*pairs[0])


def test_metrics_are_prometheus_text(server, humaneval):
    with Client(server.url, token=TOKEN) as client:
        assert client.check(humaneval[0], canonical_candidates(humaneval)[0]).status == "verified"
        text = client.metrics()
    for name in ("proofsmith_queue_depth{lane=\"python\"}", "proofsmith_checks_total{lane=\"python\",status=\"verified\"}",
                 "proofsmith_latency_seconds{quantile=\"0.99\"}", "proofsmith_checks_per_second",
                 "proofsmith_rejected_total{reason=\"queue_full\"} 0", "# TYPE proofsmith_latency_seconds summary"):
        assert name in text, name
    assert httpx.get(f"{server.url}/openapi.json").json()["paths"].keys() >= {"/v1/check", "/v1/step"}


# --------------------------------------------------------------------------- admission control


def test_overload_gets_429_with_retry_after_and_quota_per_client(tight):
    url = tight.url
    slow = _Background(url, [(SLOW_TASK, SLOW)], client="a")
    _busy_worker(url)
    # client a: one running + one queued = its quota of 2
    queued = _Background(url, [(SLOW_TASK, QUICK.model_copy(update={"id": "a2"}))], client="a")
    time.sleep(0.3)
    over = httpx.post(f"{url}/v1/check", json={"items": _items([(SLOW_TASK, QUICK)])},
                      headers={"X-Proofsmith-Client": "a"})
    assert over.status_code == 429 and "quota is 2" in over.json()["error"]
    assert int(over.headers["retry-after"]) >= 1
    # client b is not held back by a's quota: 2 more fill the queue of 3 ...
    b_batch = _Background(url, [(SLOW_TASK, QUICK.model_copy(update={"id": f"b{i}"})) for i in range(2)], client="b")
    time.sleep(0.3)
    assert httpx.get(f"{url}/v1/health").json()["queue_depth"]["python"] == 3
    # ... and then the queue is full for everyone
    full = httpx.post(f"{url}/v1/check", json={"items": _items([(SLOW_TASK, QUICK)])},
                      headers={"X-Proofsmith-Client": "c"})
    assert full.status_code == 429 and "queue is full" in full.json()["error"]
    assert int(full.headers["retry-after"]) >= 1 and "\n" not in full.json()["error"]
    too_big = httpx.post(f"{url}/v1/check", json={"items": _items([(SLOW_TASK, QUICK)] * 4)},
                         headers={"X-Proofsmith-Client": "d"})
    assert too_big.status_code == 413 and "split it" in too_big.json()["error"]
    # the client retries 429s with jitter until the queue drains
    with Client(url, client_id="c", backoff_s=0.2) as client:
        verdict = client.check(SLOW_TASK, QUICK, use_cache=False)
        assert verdict.status == "verified" and client.retried >= 1
    assert slow.result().json()["verdicts"][0]["status"] == "verified"
    assert queued.result().json()["verdicts"][0]["candidate_id"] == "a2"
    assert [v["candidate_id"] for v in b_batch.result().json()["verdicts"]] == ["b0", "b1"]
    metrics = httpx.get(f"{url}/v1/metrics").text
    assert 'proofsmith_rejected_total{reason="quota"} 1' in metrics
    assert 'proofsmith_rejected_total{reason="queue_full"}' in metrics


def test_deadline_passes_in_the_queue_unknown_deadline(tight):
    url = tight.url
    slow = _Background(url, [(SLOW_TASK, SLOW)], client="e")
    _busy_worker(url)
    started = time.monotonic()
    reply = httpx.post(f"{url}/v1/check", json={"items": _items([(SLOW_TASK, QUICK)]), "deadline_s": 0.5,
                                                "use_cache": False}, timeout=30)
    waited = time.monotonic() - started
    verdict = reply.json()["verdicts"][0]
    assert verdict["status"] == "unknown" and verdict["reason"] == "deadline"
    assert "never ran" in verdict["diagnostics"][0]["message"]
    assert waited < SLOW_S - 1, "the expired job was answered while the slow one still ran"
    assert slow.result().json()["verdicts"][0]["status"] == "verified"
    metrics = httpx.get(f"{url}/v1/metrics").text
    assert 'proofsmith_unknown_total{reason="deadline"} 1' in metrics
    assert 'proofsmith_unknown_ratio{reason="deadline"}' in metrics


def test_killed_worker_gives_unknown_and_is_replaced(tight):
    url = tight.url
    slow = _Background(url, [(SLOW_TASK, SLOW)], client="f")
    pid = _busy_worker(url)
    os.kill(pid, signal.SIGKILL)
    verdict = slow.result().json()["verdicts"][0]
    assert verdict["status"] == "unknown" and verdict["reason"] == "crash"
    assert "killed by signal 9" in verdict["diagnostics"][0]["message"]
    after = httpx.post(f"{url}/v1/check", json={"items": _items([(SLOW_TASK, QUICK)]), "use_cache": False},
                       timeout=60).json()["verdicts"][0]
    assert after["status"] == "verified"
    pids = [w["pid"] for w in httpx.get(f"{url}/v1/workers").json()["workers"] if w["lane"] == "python"]
    assert pids and pid not in pids
    assert 'proofsmith_worker_restarts_total{lane="python"} 1' in httpx.get(f"{url}/v1/metrics").text


# --------------------------------------------------------------------------- the command and the rate quota


def test_serve_command_prints_openapi_and_refuses_a_taken_port_in_one_line():
    spec = subprocess.run([sys.executable, "-m", "proofsmith", "serve", "--openapi"], check=False, capture_output=True,
                          text=True, timeout=120)
    assert spec.returncode == 0 and '"/v1/check"' in spec.stdout
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "proofsmith", "serve", "--port", str(port)], check=False,
                             capture_output=True,
                             text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}")


def test_rate_quota_refuses_past_the_burst_and_spends_no_tokens_on_refusals():
    """Admission itself (no service): a token bucket of 1 job/s with a burst of 2, per client."""
    loop = asyncio.new_event_loop()
    try:
        admission = Admission({"python": Lane("python", capacity=100, slots=1)}, client_rate=1.0, client_burst=2)

        def job(client: str) -> Job:
            work = WorkerJob(id=0, kind="check", task=SLOW_TASK, candidate=QUICK)
            return Job(payload=work, lane="python", client=client, deadline=time.monotonic() + 60,
                       future=loop.create_future())

        admission.admit("a", [job("a"), job("a")])
        with pytest.raises(Overloaded) as refused:
            admission.admit("a", [job("a")])
        assert refused.value.reason == "rate" and refused.value.retry_after == 1
        admission.admit("b", [job("b")])  # another client has its own bucket
        with pytest.raises(TooLarge, match="burst of 2"):
            admission.admit("c", [job("c")] * 3)
        assert admission.rejected["rate"] == 1 and admission.lanes["python"].depth == 3
    finally:
        loop.close()
