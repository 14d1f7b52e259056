"""Any OpenAI-compatible completions endpoint (vLLM, SGLang, llama.cpp server, TGI) as a Policy.

How users with a GPU cluster run big policies: proofsmith sends plain
`POST {base_url}/completions` requests with the standard library's HTTP
client, retries connection failures, 429 and 5xx answers with exponential
backoff, gives each request a timeout, and never has more than `concurrency`
requests in flight from one policy. A server's "prompt exceeds the context"
answer becomes `PromptTooLong`, which a search takes as a dead end, not an error.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from proofsmith.models.base import ModelError, Policy, PromptTooLong, Proposal, is_context_overflow

_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIPolicy(Policy):
    """A model behind an OpenAI-compatible `/v1/completions` endpoint.

    `n_per_request` splits a call for `n` proposals into requests of at most
    that many (1 for servers that ignore `n`); the requests then run
    concurrently, at most `concurrency` at a time across all threads.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        concurrency: int = 8,
        n_per_request: int | None = None,
        logprobs: bool = True,
    ) -> None:
        super().__init__()
        if not base_url.startswith(("http://", "https://")):
            raise ModelError(f"endpoint {base_url!r} is not an http(s) URL: pass e.g. http://127.0.0.1:8000/v1")
        self.url = base_url.rstrip("/") + "/completions"
        self.model = model
        self.name = f"openai:{model}"
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self.concurrency = max(1, concurrency)
        self.n_per_request = n_per_request
        self._logprobs = logprobs

    def _generate(
        self, prompt: str, n: int, max_tokens: int, temperature: float, stop: list[str], seed: int | None
    ) -> tuple[list[Proposal], int]:
        size = self.n_per_request or n
        chunks = [(start, min(size, n - start)) for start in range(0, n, size)]

        def one(chunk: tuple[int, int]) -> tuple[list[Proposal], int]:
            start, count = chunk
            body: dict[str, Any] = {"model": self.model, "prompt": prompt, "n": count, "max_tokens": max_tokens,
                                    "temperature": temperature}
            if stop:
                body["stop"] = stop
            if seed is not None:
                # each chunk gets its own seed, or split requests would repeat one sample
                body["seed"] = seed + start
            if self._logprobs:
                body["logprobs"] = 1
            return _parse(self._post(body), count)

        if len(chunks) == 1:
            results = [one(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(len(chunks), self.concurrency)) as pool:
                results = list(pool.map(one, chunks))
        proposals = [p for props, _ in results for p in props]
        return proposals, sum(tokens for _, tokens in results)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                # full jitter: many workers retrying one server should not retry in step
                time.sleep(random.uniform(0, self.backoff_s * 2 ** (attempt - 1)))
            request = urllib.request.Request(self.url, data=data, headers=self._headers, method="POST")
            try:
                with self._slots, urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                    return json.loads(reply.read())
            except urllib.error.HTTPError as exc:
                detail, body = _error_message(exc)
                if exc.code in (400, 413, 422) and is_context_overflow(body):
                    raise PromptTooLong(f"{self.url}: the prompt does not fit the model's context "
                                        f"(HTTP {exc.code}: {detail})") from None
                if exc.code not in _RETRY_STATUS:
                    raise ModelError(f"{self.url} refused the request: HTTP {exc.code}: {detail}") from None
                last = f"HTTP {exc.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last = "timed out" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else str(reason)
            except ValueError:
                raise ModelError(f"{self.url} answered with something that is not JSON: "
                                 "is this an OpenAI-compatible endpoint?") from None
        raise ModelError(f"cannot get a completion from {self.url} after {self.retries + 1} tries ({last}): "
                         "is the server running and the URL right?")


def _error_message(exc: urllib.error.HTTPError) -> tuple[str, str]:
    """The error's message, and the whole body (some servers say what went wrong only in a `code` or `type`)."""
    raw = exc.read() or b"{}"
    try:
        payload = json.loads(raw)
    except ValueError:
        return exc.reason or "", raw.decode(errors="replace")
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        return str(error.get("message", error)), json.dumps(payload)
    return str(error), json.dumps(payload)


def _parse(reply: dict[str, Any], expected: int) -> tuple[list[Proposal], int]:
    try:
        choices = sorted(reply["choices"], key=lambda c: c.get("index", 0))
    except (KeyError, TypeError):
        raise ModelError("the endpoint's reply has no `choices`: is this an OpenAI-compatible completions endpoint?")
    if len(choices) != expected:
        raise ModelError(f"asked for {expected} completions, the endpoint returned {len(choices)}: "
                         "set n_per_request=1 for servers that ignore `n`")
    usage = reply.get("usage") or {}
    completion_total = int(usage.get("completion_tokens", 0))
    proposals = []
    for i, choice in enumerate(choices):
        tokens, logprobs = _logprobs(choice.get("logprobs"))
        if logprobs is not None:
            n_tokens = len(logprobs)
        else:
            # no per-choice counts without log-probabilities: share the total out evenly
            n_tokens = completion_total // len(choices) + (1 if i < completion_total % len(choices) else 0)
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        proposals.append(Proposal(text=choice.get("text", ""), n_tokens=n_tokens, logprobs=logprobs, tokens=tokens,
                                  finish_reason=finish))
    return proposals, int(usage.get("prompt_tokens", 0))


def _logprobs(block: Any) -> tuple[list[str] | None, list[float] | None]:
    """Both shapes servers send: legacy `tokens`/`token_logprobs`, or chat-style `content` entries."""
    if not isinstance(block, dict):
        return None, None
    if isinstance(block.get("token_logprobs"), list):
        values = [float(v) if v is not None else 0.0 for v in block["token_logprobs"]]
        return list(block.get("tokens") or []) or None, values
    if isinstance(block.get("content"), list):
        return [t.get("token", "") for t in block["content"]], [float(t["logprob"]) for t in block["content"]]
    return None, None
