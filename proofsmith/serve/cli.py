"""`proofsmith serve`: run the verification service (imports FastAPI only when it runs)."""

from __future__ import annotations

import json
import socket

import click

from proofsmith.user_error import UserError

_SANDBOXES = ["auto", "bwrap", "process", "warm", "docker"]
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}



@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; loopback unless you say otherwise.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--token", envvar="PROOFSMITH_SERVE_TOKEN", default=None,
              help="Require `Authorization: Bearer TOKEN` on every endpoint but health [env PROOFSMITH_SERVE_TOKEN].")
@click.option("--sandbox", type=click.Choice(_SANDBOXES), default="auto", show_default=True,
              help="Where candidates run; auto = bwrap when it works, else process.")
@click.option("--python-workers", type=click.IntRange(min=1), default=None,
              help="Python worker processes [default: 2 per core, at most 1 per 512 MB free].")
@click.option("--coq-workers", type=click.IntRange(min=1), default=None,
              help="Coq worker processes [default: 1 per 2 cores, at most 1 per 2 GB free].")
@click.option("--queue-size", type=click.IntRange(min=1), default=128, show_default=True,
              help="Jobs each lane (python, coq) holds waiting; beyond it requests get 429 + Retry-After.")
@click.option("--client-inflight", type=click.IntRange(min=0), default=0, show_default=True,
              help="Most jobs one client may have queued or running (0: no limit).")
@click.option("--client-rate", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Most jobs per second one client may submit, with a burst of twice that (0: no limit).")
@click.option("--deadline", "deadline_s", type=click.FloatRange(min=0.001), default=300.0, show_default=True,
              help="Default and longest per-request deadline, seconds.")
@click.option("--max-jobs-per-worker", type=click.IntRange(min=0), default=0, show_default=True,
              help="Replace a worker after this many jobs (0: never).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="warning", show_default=True)
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option("--openapi", "print_openapi", is_flag=True, help="Print the OpenAPI spec (JSON) and exit.")
def serve(host: str, port: int, token: str | None, sandbox: str, python_workers: int | None,
          coq_workers: int | None, queue_size: int, client_inflight: int, client_rate: float, deadline_s: float,
          max_jobs_per_worker: int, log_level: str, access_log: bool, print_openapi: bool) -> int:
    """Serve verdicts over HTTP for RL trainers and remote search.

    POST /v1/check, POST /v1/step, GET /v1/health, GET /v1/metrics,
    GET /v1/workers; the OpenAPI spec is at /openapi.json. Checks run in
    worker processes behind bounded queues: a full queue answers 429 with
    Retry-After, a job whose deadline passes in the queue comes back unknown.
    """
    try:
        from proofsmith.serve.app import ServeConfig, create_app, run
    except ImportError as exc:
        raise UserError(f"the service needs the serve extra ({exc.name} is missing): "
                         "pip install 'proofsmith[serve]'") from None
    config = ServeConfig(host=host, port=port, token=token or None, sandbox=sandbox, python_workers=python_workers,
                         coq_workers=coq_workers, queue_size=queue_size, client_inflight=client_inflight,
                         client_rate=client_rate, deadline_s=deadline_s, max_jobs_per_worker=max_jobs_per_worker)
    if print_openapi:
        click.echo(json.dumps(create_app(config).openapi(), indent=2))
        return 0
    if sandbox == "bwrap":
        from proofsmith.sandbox import probe

        if not probe.bwrap_works():
            raise UserError("bubblewrap is missing or cannot create namespaces here: run `make install` "
                             "(see `proofsmith doctor`) or pass --sandbox process")
    if host not in _LOOPBACK and not token:
        click.echo(f"warning: listening on {host} without a token: anyone who can reach it can run checks "
                   "(set --token or PROOFSMITH_SERVE_TOKEN)", err=True)
    _can_listen(host, port)
    click.echo(f"proofsmith serve: http://{host}:{port} (OpenAPI at /openapi.json); Ctrl-C stops", err=True)
    run(config, log_level=log_level, access_log=access_log)
    return 0


def _can_listen(host: str, port: int) -> None:
    """One error line for a taken port or a bad address, before any worker starts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(infos[0][4])
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
