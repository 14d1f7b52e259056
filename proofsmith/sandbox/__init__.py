"""Where untrusted code runs.

Every backend offers the same two calls:

- `run(argv, files, limits, stdin=..., env=...) -> RunResult`
- `spawn(argv, files, limits, pass_fds=..., ...) -> Running` (then `.wait()`),
  for checkers that wire several sandboxed processes together with pipes
  (bwrap and process only: `SpawningSandbox`; docker offers `run` alone).

The `warm` kind is a pool of pre-forked zygotes with `run_pair` (a candidate
beside a judge, in an interpreter and module the caller names; the Python
checker's unit of work) instead of `spawn`; see `zygote.py`.

`get_sandbox("auto")` picks bwrap where it works and falls back to the
process backend (with its warning) where it does not.
"""

from __future__ import annotations

import threading
from typing import Literal, Protocol

from proofsmith.sandbox.slots import SandboxBusy
from proofsmith.sandbox.supervise import Running, RunResult

SandboxKind = Literal["auto", "bwrap", "warm", "process", "docker"]

__all__ = ["RunResult", "Running", "Sandbox", "SandboxBusy", "SandboxKind", "SandboxUnsupported", "SpawningSandbox", "get_sandbox",
           "sandbox_for_image"]


class SandboxUnsupported(RuntimeError):
    """The chosen sandbox cannot do what a checker needs (e.g. docker has no `spawn`)."""


class Sandbox(Protocol):
    """What every sandbox backend provides: whole runs (see the module docstring)."""

    kind: str

    def layers(self) -> list[str]: ...

    def run(self, argv, files, limits, *, stdin=None, env=None) -> RunResult: ...


class SpawningSandbox(Sandbox, Protocol):
    """A sandbox that can also start processes wired to the caller by pipes (bwrap, process)."""

    def spawn(self, argv, files, limits, *, pass_fds=(), env=None, stdin=None) -> Running: ...


_CACHE: dict[str, Sandbox] = {}
_LOCK = threading.Lock()


def get_sandbox(kind: SandboxKind = "auto", slots: int = 8) -> Sandbox:
    """The process-wide sandbox of `kind` (created once, reused; thread-safe)."""
    with _LOCK:
        if kind == "auto":
            from proofsmith.sandbox import probe

            kind = "bwrap" if probe.bwrap_works() else "process"
        box = _CACHE.get(kind)
        if box is None:
            box = _CACHE[kind] = _create(kind, slots)
        return box


_IMAGE_BOXES: dict[str, Sandbox] = {}


def sandbox_for_image(box: Sandbox, image: str) -> Sandbox:
    """Where a checker with its own toolchain image and its own warm processes (Lean, F*) runs, given `box`.

    `--sandbox docker`: a Docker sandbox on `image` (one per image, reused);
    `--sandbox warm`: bwrap, since the warm pool's zygotes are Python
    processes and these checkers keep their own warm processes; any other
    sandbox as it is.
    """
    if box.kind == "bwrap-warm":
        return get_sandbox("bwrap")
    if box.kind != "docker" or getattr(box, "image", None) == image:
        return box
    with _LOCK:
        if image not in _IMAGE_BOXES:
            from proofsmith.sandbox.docker import DockerSandbox

            _IMAGE_BOXES[image] = DockerSandbox(image=image)
        return _IMAGE_BOXES[image]


def _create(kind: str, slots: int) -> Sandbox:
    if kind == "bwrap":
        from proofsmith.sandbox.bwrap import BwrapSandbox

        box: Sandbox = BwrapSandbox(slots)
    elif kind == "process":
        from proofsmith.sandbox.process import ProcessSandbox

        box = ProcessSandbox(slots)
    elif kind == "warm":
        from proofsmith.sandbox.zygote import WarmPool

        box = WarmPool(max(1, slots // 4))
    elif kind == "docker":
        from proofsmith.sandbox.docker import DockerSandbox

        box = DockerSandbox()
    else:
        raise ValueError(f"unknown sandbox {kind!r}: choose auto, bwrap, warm, process or docker")
    return box
