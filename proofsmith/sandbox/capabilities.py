"""What a sandbox is and what it can do, as types: its kind, and one protocol per capability.

Every sandbox has a kind and isolation layers, and every one but the warm
pool runs whole programs (`Sandbox.run`). Beyond that a checker asks for a
capability with `isinstance`, never by probing attribute names:

- `Spawns`: starts a process wired to the caller by pipes (bwrap, process);
- `Pairs`: runs a candidate beside a judge in one warm worker (the warm pool);
- `Binds`: gives a copy of itself that also shows host paths read-only at
  paths of the caller's choosing (bwrap).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict

from proofsmith.sandbox.supervise import Running, RunResult
from proofsmith.schema import Limits

__all__ = ["Bind", "Binds", "BoxKind", "PairRun", "Pairs", "Peer", "Sandbox", "SandboxKind", "Spawns", "WarmProgram"]

#: The sandbox a user asks for (`--sandbox`): `auto` is bwrap where it works, else process.
SandboxKind = Literal["auto", "bwrap", "warm", "process", "docker"]
#: What a sandbox is, as its `kind` says and manifests record (`bwrap-warm` is the warm pool, built on bwrap).
BoxKind = Literal["bwrap", "bwrap-warm", "process", "docker"]
#: A host path and where a program in the sandbox sees it.
Bind = tuple[str, str]


@runtime_checkable
class Sandbox(Protocol):
    """What every sandbox backend provides: whole runs."""

    kind: BoxKind

    def layers(self) -> list[str]: ...

    def run(self, argv: Sequence[str], files: Mapping[str, str | bytes], limits: Limits, *,
            stdin: bytes | None = None, env: Mapping[str, str] | None = None) -> RunResult: ...


@runtime_checkable
class Spawns(Sandbox, Protocol):
    """A sandbox that can also start processes wired to the caller by pipes (bwrap, process)."""

    def spawn(self, argv: Sequence[str], files: Mapping[str, str | bytes], limits: Limits, *,
              pass_fds: Sequence[int] = (), env: Mapping[str, str] | None = None,
              stdin: bytes | None = None) -> Running: ...


class WarmProgram(BaseModel):
    """What a pool's zygotes run: an interpreter and the module whose `main(argv)` each forked process calls."""

    model_config = ConfigDict(frozen=True)

    #: the interpreter (outside root's home, so that slot uids can run it)
    python: str
    #: the module's import name and source
    module_name: str
    module: bytes
    #: modules imported once in the zygote, so that every fork starts with them loaded
    preload: tuple[str, ...] = ()

    def key(self) -> str:
        """What tells two programs apart (zygotes are kept per program)."""
        digest = hashlib.sha256(self.module).hexdigest()
        return f"{self.python}|{self.module_name}|{digest}|{','.join(self.preload)}"


class Peer(BaseModel):
    """One process of a pair: the argv its module's `main` gets, its files (in /work) and its limits."""

    argv: list[str]
    files: dict[str, bytes]
    limits: Limits


class PairRun(NamedTuple):
    """What one pair did: each process as a sandbox run, and the report the judge wrote on its report fd."""

    judge: RunResult
    candidate: RunResult
    report: str


@runtime_checkable
class Pairs(Protocol):
    """A sandbox that runs a candidate beside a judge in a pre-forked worker of `program` (the warm pool)."""

    kind: BoxKind

    def layers(self) -> list[str]: ...

    def run_pair(self, program: WarmProgram, candidate: Peer, judge: Peer) -> PairRun: ...


@runtime_checkable
class Binds(Sandbox, Protocol):
    """A sandbox with its own mount namespace, which can show host paths read-only (bwrap)."""

    def with_binds(self, binds: Sequence[Bind]) -> Self:
        """This sandbox, also showing each bind's host path at its inside path (one copy per set of binds)."""
        ...
