"""Where untrusted code runs.

Every backend but the warm pool runs whole programs: `run(argv, files,
limits, stdin=..., env=...) -> RunResult`. What else a backend can do is a capability (capabilities.py), asked for with
`isinstance`: `Spawns` (bwrap, process: `spawn(...) -> Running`, for checkers
that wire several sandboxed processes together with pipes), `Pairs` (the warm
pool of pre-forked zygotes: `run_pair`, a candidate beside a judge in an
interpreter and module the caller names; see `zygote.py`), `Binds` (bwrap:
a copy that also shows host paths). `spawning` and `with_binds` below give a
checker the sandbox it needs from the one the user chose.

`get_sandbox("auto")` picks bwrap where it works and falls back to the
process backend (with its warning) where it does not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

from proofsmith.sandbox.capabilities import Bind, Binds, BoxKind, Pairs, Sandbox, SandboxKind, Spawns
from proofsmith.sandbox.slots import SandboxBusy
from proofsmith.sandbox.supervise import Running, RunResult

__all__ = ["Bind", "Binds", "BoxKind", "Pairs", "RunResult", "Running", "Sandbox", "SandboxBusy", "SandboxKind",
           "SandboxUnsupported", "Spawns", "get_sandbox", "sandbox_for_image", "seen_at", "spawning", "with_binds"]


class SandboxUnsupported(RuntimeError):
    """The chosen sandbox cannot do what a checker needs (e.g. docker has no `spawn`)."""


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
        return spawning(box)
    if box.kind != "docker":
        return box
    from proofsmith.sandbox.docker import DockerSandbox

    if isinstance(box, DockerSandbox) and box.image == image:
        return box
    with _LOCK:
        if image not in _IMAGE_BOXES:
            _IMAGE_BOXES[image] = DockerSandbox(image=image)
        return _IMAGE_BOXES[image]


def spawning(box: Sandbox) -> Spawns:
    """The sandbox that starts processes for a check run in `box`: itself, or bwrap for the warm pool.

    The warm pool's zygotes only run judge + candidate pairs; the processes a
    checker starts itself (Z3, CrossHair, timers, a warm prover) go to bwrap,
    which the pool is built on. SandboxUnsupported for docker.
    """
    if isinstance(box, Spawns):
        return box
    if box.kind == "bwrap-warm":
        return get_sandbox("bwrap")  # type: ignore[return-value]
    raise SandboxUnsupported(f"the {box.kind} sandbox cannot start processes wired to the checker: "
                             "use --sandbox bwrap or process")


def with_binds(box: Sandbox, binds: Iterable[str | Bind]) -> Sandbox:
    """`box`, showing host paths read-only too: a path (at the same path) or (host path, path inside).

    Relative and missing host paths are left out. bwrap gives a copy with the
    binds (one per set, shared); the warm pool gives bwrap's copy (see
    `spawning`); the process sandbox has no mount namespace and sees the
    host's files where they are, so it is `box` itself (`seen_at` says where
    a program finds each path). Without binds, `box` itself. SandboxUnsupported
    for docker, whose image carries its own toolchain.
    """
    pairs = ((b, b) if isinstance(b, str) else b for b in binds)
    wanted = tuple(dict.fromkeys(b for b in pairs if os.path.isabs(b[0]) and os.path.exists(b[0])))
    if not wanted:
        return box
    if box.kind == "bwrap-warm":
        box = spawning(box)
    if isinstance(box, Binds):
        return box.with_binds(wanted)
    if box.kind == "process":
        return box
    raise SandboxUnsupported(f"the {box.kind} sandbox cannot show host files: use --sandbox bwrap or process")


def seen_at(box: Sandbox, bind: Bind) -> str:
    """Where a program in `box` (as `with_binds` gave it) finds `bind`'s host path."""
    return bind[1] if isinstance(box, Binds) else bind[0]


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
