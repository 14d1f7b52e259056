"""Start a real `proofsmith serve` in a child process on a free loopback port.

For tests, benchmarks and notebooks that need a service for a while:

    with ServerProcess(["--python-workers", "2"]) as server:
        Client(server.url).check(task, candidate)

The context manager waits until `/v1/health` answers, and on exit stops the
service with SIGTERM (it stops its workers), then SIGKILL if it lingers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Self

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m proofsmith serve ARGS --port P` in a child process."""

    def __init__(self, args: Sequence[str] = (), *, host: str = "127.0.0.1", port: int | None = None,
                 start_timeout_s: float = 60.0, env: dict[str, str] | None = None, stderr=None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.args = list(args)
        self.start_timeout_s = start_timeout_s
        self.env = env
        self.stderr = stderr
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServerProcess:
        argv = [sys.executable, "-m", "proofsmith", "serve", "--host", self.host, "--port", str(self.port),
                *self.args]
        self.proc = subprocess.Popen(argv, env={**os.environ, **(self.env or {})}, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"proofsmith serve exited with status {self.proc.returncode} before it answered")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"proofsmith serve did not answer on {self.url} within {self.start_timeout_s:.0f} s")

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
