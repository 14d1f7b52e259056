"""The HTTP verification service (`proofsmith serve`) and its client.

- `api`: the pydantic models of every request and reply.
- `app`: the FastAPI application, its lanes and worker processes.
- `admission`: bounded lanes, deadlines, per-client quotas (429 + Retry-After).
- `worker`: the worker process that runs checks and Coq steps, one at a time.
- `metrics`: counters and Prometheus text.
- `client`: `Client` and `AsyncClient` (retries with jitter on 429/5xx, batching).
- `cli`: the `proofsmith serve` command.

Importing this package loads none of FastAPI, uvicorn or httpx.
"""
