"""The Lean REPL's wire protocol, one sandboxed REPL process, and a pool of them keyed by import header.

The REPL (leanprover-community/repl) reads JSON requests separated by blank
lines and answers each with one JSON object followed by a blank line:
`Command` (`{"cmd", "env"?}`), `ProofStep` (`{"tactic", "proofState"}`),
`PickleEnvironment` / `UnpickleEnvironment`; answers are `CommandResponse`,
`ProofStepResponse` or `ReplError` (`{"message"}`). One pydantic model per
message, validated at the boundary (as LeanInteract does).

The REPL has no timeout, memory cap or crash recovery of its own (repl#94,
kimina-lean-server#25): `prover_process.PipedProcess` enforces a deadline on
every request, watches the process tree's memory and reports a death
(reasons `timeout`, `memory`, `crash`). On top of it, an answer that is not
JSON, or out of step (the REPL numbers environments 0, 1, 2, ... per process,
so every `env` in an answer is known in advance) kills the process: `crash`.

`repl_pool` makes a `prover_process.ProcessPool` keyed by import header, as
Kimina's server does: the header (`import Mathlib ...`) is elaborated once
per process and every check after it sends only its body with `env` set to
the header's environment.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith.provers import prover_process
from proofsmith.provers.prover_process import PipedProcess, ProcessPool, ReplFailure, Toolchain
from proofsmith.sandbox import Sandbox

__all__ = ["Command", "CommandResponse", "Message", "PickleEnvironment", "ProofStep", "ProofStepResponse",
           "ReplError", "ReplProcess", "Sorry", "UnpickleEnvironment", "parse_response", "repl_pool",
           "standin_toolchain", "toolchain_from_env"]

#: Checks a process serves before it is retired (Kimina's MAX_REPL_USES idea; the REPL dies after many, repl#77).
MAX_USES = 200
#: Memory a process may reach before it is retired after its request, MB.
RECYCLE_MB = 6144
#: Memory a process may never pass (killed mid-request), MB; also the sandbox's cgroup/RLIMIT_AS cap.
MEMORY_MB = 8192
#: Seconds to elaborate an import header (Mathlib takes tens of seconds cold).
HEADER_TIMEOUT_S = 600.0


# --------------------------------------------------------------------------- wire


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Pos(_Wire):
    """A position in a command's text: 1-based line, 0-based column."""

    line: int
    column: int


class Message(_Wire):
    """A message Lean logged while elaborating a command."""

    severity: Literal["trace", "info", "warning", "error"]
    pos: Pos | None = None
    endPos: Pos | None = None
    data: str


class Sorry(_Wire):
    """A `sorry` Lean found, with the proof state at it (tactic mode only)."""

    goal: str
    proofState: int | None = None
    pos: Pos | None = None
    endPos: Pos | None = None


class Command(_Wire):
    """Elaborate `cmd`, in environment `env` or (without one) a fresh one where `import` is allowed."""

    cmd: str
    env: int | None = None


class ProofStep(_Wire):
    """Run one tactic in a proof state the REPL numbered."""

    tactic: str
    proofState: int


class PickleEnvironment(_Wire):
    """Write environment `env` to an .olean file (what it adds to its imports)."""

    env: int
    pickleTo: str


class UnpickleEnvironment(_Wire):
    """Load an environment written by `PickleEnvironment` as a new environment."""

    unpickleEnvFrom: str


class CommandResponse(_Wire):
    """The answer to a command: its new environment, and what Lean said."""

    env: int
    messages: list[Message] = Field(default_factory=list)
    sorries: list[Sorry] = Field(default_factory=list)


class ProofStepResponse(_Wire):
    """The answer to a tactic: the new proof state and its goals (empty when none are left)."""

    proofState: int
    goals: list[str]
    messages: list[Message] = Field(default_factory=list)
    sorries: list[Sorry] = Field(default_factory=list)
    #: newer REPLs: "Completed", "Incomplete: ...", "Error: ..."
    proofStatus: str | None = None


class ReplError(_Wire):
    """The REPL refused the request (unknown environment or proof state, bad JSON, a tactic error)."""

    message: str


Response = CommandResponse | ProofStepResponse | ReplError


def parse_response(obj: Any) -> Response:
    """The typed answer for one decoded JSON object (ReplFailure `crash` when it is none of them)."""
    if not isinstance(obj, dict):
        raise ReplFailure("crash", f"the REPL answered {str(obj)[:200]!r}, not a JSON object")
    try:
        if "proofState" in obj and "goals" in obj:
            return ProofStepResponse.model_validate(obj)
        if "env" in obj:
            return CommandResponse.model_validate(obj)
        if "message" in obj:
            return ReplError.model_validate(obj)
    except ValidationError as exc:
        raise ReplFailure("crash", f"the REPL's answer does not match the protocol: {exc.errors()[0]['msg']}") from None
    raise ReplFailure("crash", f"the REPL's answer has none of env/proofState/message: {json.dumps(obj)[:200]}")


# --------------------------------------------------------------------------- toolchain


def standin_toolchain(*flags: str) -> Toolchain:
    """The Lean REPL stand-in (NOT Lean; see proofsmith/provers/standins/lean_repl.py), with its flags."""
    return prover_process.standin_toolchain("lean_repl", *flags)


def toolchain_from_env() -> Toolchain | None:
    """The toolchain `PROOFSMITH_LEAN_REPL` names, or None.

    `PROOFSMITH_LEAN_REPL` is the REPL's command line (`lake env repl`), or
    `standin [FLAGS]` for the test stand-in; `PROOFSMITH_LEAN_PROJECT` is the
    directory to run it in; `PROOFSMITH_LEAN_RO` lists (colon-separated) host
    directories the bwrap sandbox must mount read-only (e.g. `~/.elan`); the
    project directory is mounted too.
    """
    return prover_process.toolchain_from_env("PROOFSMITH_LEAN_REPL", "PROOFSMITH_LEAN_RO", standin="lean_repl",
                                             project_var="PROOFSMITH_LEAN_PROJECT")


# --------------------------------------------------------------------------- one process


class ReplProcess:
    """One REPL in the sandbox with an import header elaborated; one request at a time (the pool lends it)."""

    def __init__(self, toolchain: Toolchain, sandbox: Sandbox, header: str, *, memory_mb: int = MEMORY_MB,
                 header_timeout_s: float = HEADER_TIMEOUT_S) -> None:
        self.toolchain = toolchain
        self.header = header
        self.memory_mb = memory_mb
        self.uses = 0
        self.last_used = time.monotonic()
        self.next_env = 0
        self.next_state = 0
        #: environments this process elaborated for a task context after the header: context text -> env
        self.contexts: dict[str, int] = {}
        #: tactic-mode states this process holds: (task id, steps) -> REPL proof state
        self.states: dict[tuple[str, tuple[str, ...]], int] = {}
        self._pipe = PipedProcess(toolchain, sandbox, (), what="the REPL", memory_mb=memory_mb, pids=256,
                                  open_files=4096)
        try:
            reply = self.request(Command(cmd=header), header_timeout_s)
        except ReplFailure:
            self.close()
            raise
        if not isinstance(reply, CommandResponse):
            self.close()
            raise ReplFailure("toolchain", f"the REPL refused the header: {getattr(reply, 'message', reply)}")
        errors = [m.data for m in reply.messages if m.severity == "error"]
        if errors:
            self.close()
            raise ReplFailure("toolchain", f"the import header does not elaborate: {errors[0][:500]}")
        self.header_env = reply.env

    # ----------------------------------------------------------------- wire

    @property
    def alive(self) -> bool:
        """Whether the REPL process is still running (a failed request kills it)."""
        return self._pipe.alive

    def _send(self, payload: dict[str, Any]) -> None:
        self._pipe.write((json.dumps(payload, ensure_ascii=False) + "\n\n").encode())

    def _frame(self, deadline: float) -> Any:
        """The next JSON answer (frames are separated by blank lines; empty ones are skipped)."""
        while True:
            frame = self._pipe.read_until(b"\n\n", deadline)
            if not frame.strip():
                continue
            try:
                return json.loads(frame)
            except ValueError:
                self._die()
                raise ReplFailure("crash", f"the REPL printed something that is not JSON: "
                                           f"{frame[:300].decode('utf-8', 'replace')!r}") from None

    def request(self, payload: BaseModel, timeout: float) -> Response:
        """Send one request, wait for its answer (see the module docstring for what fails and how)."""
        if not self.alive:
            raise ReplFailure("crash", "the REPL process is gone")
        self.last_used = time.monotonic()
        self._send(payload.model_dump(exclude_none=True))
        reply = parse_response(self._frame(time.monotonic() + timeout))
        if isinstance(payload, (PickleEnvironment, UnpickleEnvironment)):
            # not candidate-driven; how pickling numbers environments is the REPL's business
            if isinstance(reply, CommandResponse):
                self.next_env = max(self.next_env, reply.env + 1)
        elif isinstance(reply, CommandResponse):
            if reply.env != self.next_env:
                self._die()
                raise ReplFailure("crash", f"the REPL answered out of step (env {reply.env}, expected "
                                           f"{self.next_env}); the process was killed")
            self.next_env += 1
        elif isinstance(reply, ProofStepResponse):
            self.next_state = max(self.next_state, reply.proofState + 1)
        self._pipe.check_memory()
        return reply

    def command(self, cmd: str, env: int | None, timeout: float) -> CommandResponse:
        """Run one command; a refusal (`{"message"}`) is a protocol failure here."""
        reply = self.request(Command(cmd=cmd, env=env), timeout)
        if not isinstance(reply, CommandResponse):
            self._die()
            raise ReplFailure("crash", f"the REPL refused a command: {getattr(reply, 'message', reply)}")
        return reply

    def context_env(self, context: str, timeout: float) -> CommandResponse:
        """The environment of `context` elaborated on the header (once per process, then reused)."""
        if not context.strip():
            return CommandResponse(env=self.header_env)
        if context in self.contexts:
            return CommandResponse(env=self.contexts[context])
        reply = self.command(context, self.header_env, timeout)
        if not any(m.severity == "error" for m in reply.messages):
            self.contexts[context] = reply.env
        return reply

    def pickle_env(self, env: int, path: str, timeout: float = 120.0) -> Response:
        """Write environment `env` to `path` inside the sandbox (`pickleTo`)."""
        return self.request(PickleEnvironment(env=env, pickleTo=path), timeout)

    def unpickle_env(self, path: str, timeout: float = 120.0) -> Response:
        """Load an environment pickled in this sandbox as a new environment (`unpickleEnvFrom`)."""
        return self.request(UnpickleEnvironment(unpickleEnvFrom=path), timeout)

    # ----------------------------------------------------------------- lifecycle

    def rss_mb(self) -> float:
        """Resident memory of the whole sandboxed tree now, MB (read from outside)."""
        return self._pipe.rss_mb()

    def _die(self) -> Any:
        return self._pipe.kill()

    def close(self) -> None:
        """Kill the REPL and free its sandbox slot."""
        self._pipe.kill()


# --------------------------------------------------------------------------- pool


def repl_pool(toolchain: Toolchain, sandbox: Sandbox, *, max_processes: int | None = None, max_uses: int = MAX_USES,
              recycle_mb: float = RECYCLE_MB, memory_mb: int = MEMORY_MB, header_timeout_s: float = HEADER_TIMEOUT_S,
              wait_s: float = 600.0) -> ProcessPool:
    """A pool of Lean REPLs keyed by import header (`PROOFSMITH_LEAN_REPLS` caps its size; default cores - 1)."""

    def start(header: str) -> ReplProcess:
        return ReplProcess(toolchain, sandbox, header, memory_mb=memory_mb, header_timeout_s=header_timeout_s)

    size = max_processes or int(os.environ.get("PROOFSMITH_LEAN_REPLS", "0")) or max(1, (os.cpu_count() or 2) - 1)
    return ProcessPool(toolchain, sandbox, start, max_processes=size, max_uses=max_uses, recycle_mb=recycle_mb,
                       memory_mb=memory_mb, wait_s=wait_s, what="Lean REPL")
