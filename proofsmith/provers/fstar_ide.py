"""F*'s `--ide` JSON protocol, one sandboxed `fstar.exe --ide` process, and the toolchain it runs.

The protocol (as the F* dataset's harness, FStarLang/fstar_dataset
`fstar_harness.py`, uses it): F* starts with `--ide FILE` and prints
`{"kind": "protocol-info", ...}`; each query is one JSON line `{"query-id",
"query", "args"}`; F* answers with any number of `{"kind": "message", ...}`
lines (progress, info) and then one `{"kind": "response", "query-id",
"status", "response"}`. `push` (kind `full`) checks a fragment and keeps it
on a stack, `pop` removes the last one, `push-partial-checked-file
{"until-lid"}` loads a file's checked prefix up to a declaration.

As for Lean, everything F* lacks is enforced from outside: each query has a
wall-clock deadline (the process is killed past it: `timeout`), the process
tree's memory is polled (`memory`), and a process that dies or answers out of
step is killed (`crash`). Query ids carry a random nonce, so nothing a
candidate makes F* print can pass for an answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shlex
import threading
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith.provers.lean_repl import HARD_CAP_FACTOR, ReplFailure, died_of_memory, tree_rss_kb
from proofsmith.sandbox import Running, Sandbox, SandboxUnsupported
from proofsmith.schema import Limits

__all__ = ["FStarProcess", "FStarToolchain", "IdeResponse", "Issue", "standin_toolchain", "toolchain_from_env"]

_POLL_S = 0.2


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class IssueRange(_Wire):
    """Where an issue is: file, [line, column] begin and end (lines 1-based, columns 0-based)."""

    fname: str = ""
    beg: tuple[int, int] = (0, 0)
    end: tuple[int, int] = (0, 0)


class Issue(_Wire):
    """One error or warning F* reports for a push (`number` 335 is an assume/admit)."""

    level: str
    number: int | None = None
    message: str = ""
    ranges: list[IssueRange] = Field(default_factory=list)


class IdeQuery(_Wire):
    """One query line."""

    query_id: str = Field(alias="query-id")
    query: str
    args: dict[str, Any] = Field(default_factory=dict)


class IdeResponse(_Wire):
    """The answer to a query: `status` success/failure (or protocol-violation), and its payload."""

    kind: Literal["response"]
    query_id: str = Field(alias="query-id")
    status: str
    response: Any = None

    def issues(self) -> list[Issue]:
        """The payload read as a list of issues (a push's answer), empty otherwise."""
        if not isinstance(self.response, list):
            return []
        out = []
        for item in self.response:
            with contextlib.suppress(ValidationError):
                out.append(Issue.model_validate(item))
        return out


class FStarToolchain(BaseModel):
    """How to start F*: the command, and what the sandbox must show it."""

    model_config = ConfigDict(frozen=True)

    fstar: tuple[str, ...]
    ro_paths: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    standin: bool = False

    def describe(self) -> str:
        """One line for manifests and messages."""
        return ("stand-in: " if self.standin else "") + shlex.join(self.fstar)


def standin_toolchain(*args: str) -> FStarToolchain:
    """The F* `--ide` stand-in (NOT F*; see proofsmith/provers/standins/fstar_ide.py), with its flags."""
    from proofsmith.provers.standins import script_source

    return FStarToolchain(fstar=("/usr/bin/python3", "-u", "fstar_ide_standin.py", *args),
                          files=(("fstar_ide_standin.py", script_source("fstar_ide")),), standin=True)


def toolchain_from_env() -> FStarToolchain | None:
    """`PROOFSMITH_FSTAR`: the F* command (`fstar.exe`), or `standin [FLAGS]`; None when unset and none on PATH.

    `PROOFSMITH_FSTAR_RO` lists (colon-separated) host directories the bwrap
    sandbox must mount read-only (F*'s install dir with its ulib and Z3).
    """
    import shutil

    command = os.environ.get("PROOFSMITH_FSTAR", "").strip()
    if not command:
        found = shutil.which("fstar.exe")
        if found is None:
            return None
        command = found
    words = shlex.split(command)
    if words[0] == "standin":
        return standin_toolchain(*words[1:])
    ro = [p for p in os.environ.get("PROOFSMITH_FSTAR_RO", "").split(":") if p]
    return FStarToolchain(fstar=tuple(words), ro_paths=tuple(ro))


class FStarProcess:
    """One `fstar.exe --ide FILE` in the sandbox; one query at a time (the pool lends it)."""

    def __init__(self, toolchain: FStarToolchain, sandbox: Sandbox, key: str, *, file_name: str,
                 include_dirs: tuple[str, ...] = (), file_text: str | None = None, memory_mb: int = 4096,
                 start_timeout_s: float = 120.0) -> None:
        if not hasattr(sandbox, "spawn"):
            raise SandboxUnsupported(f"the {sandbox.kind} sandbox cannot hold a warm F*: use bwrap or process")
        self.header = key
        self.memory_mb = memory_mb
        self.uses = 0
        self.alive = False
        self.last_used = time.monotonic()
        #: what is pushed under the candidate now (a checked prefix or a context), or None
        self.prefix: str | None = None
        self._nonce = secrets.token_hex(6)
        self._qid = 0
        self._buf = b""
        to_r, self._to = os.pipe()
        self._from, from_w = os.pipe()
        argv = [*toolchain.fstar, "--ide", file_name, "--report_assumes", "warn"]
        for directory in include_dirs:
            argv += ["--include", directory]
        script = f'exec "$@" <&{to_r} >&{from_w}'
        limits = Limits(wall_s=7 * 24 * 3600, cpu_s=7 * 24 * 3600, memory_mb=int(memory_mb * HARD_CAP_FACTOR), pids=64,
                        output_bytes=1 << 20, file_size_mb=256, open_files=1024)
        try:
            # F* reads FILE's dependencies when it starts: a task's own context is written there
            files = {**dict(toolchain.files), **({file_name: file_text} if file_text is not None else {})}
            self._proc: Running = sandbox.spawn(["/bin/bash", "-c", script, "bash", *argv], files,
                                                limits, pass_fds=(to_r, from_w), env=dict(toolchain.env))
        finally:
            os.close(to_r)
            os.close(from_w)
        self.alive = True
        try:
            first = self._line(time.monotonic() + start_timeout_s)
        except ReplFailure:
            self.close()
            raise
        if first.get("kind") != "protocol-info":
            self.close()
            raise ReplFailure("toolchain", f"F* did not start in IDE mode: {json.dumps(first)[:200]}")
        self.protocol = first

    def _line(self, deadline: float) -> dict[str, Any]:
        while True:
            at = self._buf.find(b"\n")
            if at >= 0:
                line, self._buf = self._buf[:at].strip(), self._buf[at + 1:]
                if not line.startswith(b"{"):
                    continue  # F* writes some --debug output to stdout; it is never an answer
                try:
                    obj = json.loads(line)
                except ValueError:
                    self._die()
                    raise ReplFailure("crash", f"F* printed a broken JSON line: {line[:200]!r}") from None
                if isinstance(obj, dict):
                    return obj
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                self._die()
                raise ReplFailure("timeout", "F* did not answer in time; the process was killed")
            ready, _, _ = select.select([self._from], [], [], min(left, _POLL_S))
            if not ready:
                if self.rss_mb() > self.memory_mb:
                    self._die()
                    raise ReplFailure("memory", f"F* passed {self.memory_mb} MB; the process was killed")
                continue
            chunk = os.read(self._from, 1 << 16)
            if not chunk:
                result = self._die()
                if died_of_memory(result):
                    raise ReplFailure("memory", f"F* ran out of memory (limit {self.memory_mb} MB)")
                tail = (result.stderr.strip()[-300:] if result is not None else "") or "no message"
                raise ReplFailure("crash", f"F* died (exit {getattr(result, 'exit_code', '?')}, signal "
                                           f"{getattr(result, 'signal', '?')}): {tail}")
            self._buf += chunk

    def query(self, query: str, args: dict[str, Any], timeout: float) -> IdeResponse:
        """Send one query; skip its progress messages; return its response (see the module docstring)."""
        if not self.alive:
            raise ReplFailure("crash", "the F* process is gone")
        self._qid += 1
        qid = f"{self._qid}-{self._nonce}"
        line = IdeQuery(query_id=qid, query=query, args=args).model_dump_json(by_alias=True) + "\n"
        data = line.encode()
        if len(data) > 16384:
            threading.Thread(target=self._write_all, args=(data,), daemon=True).start()
        else:
            self._write_all(data)
        self.last_used = time.monotonic()
        deadline = time.monotonic() + timeout
        while True:
            obj = self._line(deadline)
            if obj.get("kind") == "message":
                continue
            if obj.get("kind") != "response" or obj.get("query-id") != qid:
                self._die()
                raise ReplFailure("crash", f"F* answered out of step: {json.dumps(obj)[:200]}")
            try:
                return IdeResponse.model_validate(obj)
            except ValidationError as exc:
                self._die()
                raise ReplFailure("crash", f"F*'s answer does not match the protocol: {exc.errors()[0]['msg']}") \
                    from None

    def _write_all(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._to, view):]
        except OSError:
            pass

    def rss_mb(self) -> float:
        """Resident memory of the whole sandboxed tree now, MB (read from outside)."""
        return tree_rss_kb(self._proc.pid) / 1024

    def _die(self):
        if not self.alive:
            return None
        self.alive = False
        for fd in (self._to, self._from):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._proc.kill()
        return self._proc.wait(5)

    def close(self) -> None:
        """Kill F* and free its sandbox slot."""
        self._die()
