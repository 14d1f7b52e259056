"""F*'s `--ide` JSON protocol, one sandboxed `fstar.exe --ide` process, and where its toolchain comes from.

The protocol (as the F* dataset's harness, FStarLang/fstar_dataset
`fstar_harness.py`, uses it): F* starts with `--ide FILE` and prints
`{"kind": "protocol-info", ...}`; each query is one JSON line `{"query-id",
"query", "args"}`; F* answers with any number of `{"kind": "message", ...}`
lines (progress, info) and then one `{"kind": "response", "query-id",
"status", "response"}`. `push` (kind `full`) checks a fragment and keeps it
on a stack, `pop` removes the last one, `push-partial-checked-file
{"until-lid"}` loads a file's checked prefix up to a declaration.

As for Lean, everything F* lacks is enforced from outside by
`prover_process.PipedProcess`: each query has a wall-clock deadline (the
process is killed past it: `timeout`), the process tree's memory is polled
(`memory`), and a process that dies or answers out of step is killed
(`crash`). Query ids carry a random nonce, so nothing a candidate makes F*
print can pass for an answer.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith.provers import prover_process
from proofsmith.provers.prover_process import PipedProcess, ReplFailure, Toolchain
from proofsmith.sandbox import Sandbox

__all__ = ["FStarProcess", "IdeResponse", "Issue", "standin_toolchain", "toolchain_from_env"]


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


def standin_toolchain(*flags: str) -> Toolchain:
    """The F* `--ide` stand-in (NOT F*; see proofsmith/provers/standins/fstar_ide.py), with its flags."""
    return prover_process.standin_toolchain("fstar_ide", *flags)


def toolchain_from_env() -> Toolchain | None:
    """`PROOFSMITH_FSTAR`: the F* command (`fstar.exe`), or `standin [FLAGS]`; None when unset and none on PATH.

    `PROOFSMITH_FSTAR_RO` lists (colon-separated) host directories the bwrap
    sandbox must mount read-only (F*'s install dir with its ulib and Z3).
    """
    return prover_process.toolchain_from_env("PROOFSMITH_FSTAR", "PROOFSMITH_FSTAR_RO", standin="fstar_ide",
                                             on_path="fstar.exe")


class FStarProcess:
    """One `fstar.exe --ide FILE` in the sandbox; one query at a time (the pool lends it)."""

    def __init__(self, toolchain: Toolchain, sandbox: Sandbox, key: str, *, file_name: str,
                 include_dirs: tuple[str, ...] = (), file_text: str | None = None, memory_mb: int = 4096,
                 start_timeout_s: float = 120.0) -> None:
        self.header = key
        self.memory_mb = memory_mb
        self.uses = 0
        self.last_used = time.monotonic()
        #: what is pushed under the candidate now (a checked prefix or a context), or None
        self.prefix: str | None = None
        self._nonce = secrets.token_hex(6)
        self._qid = 0
        args = ["--ide", file_name, "--report_assumes", "warn"]
        for directory in include_dirs:
            args += ["--include", directory]
        # F* reads FILE's dependencies when it starts: a task's own context is written there
        self._pipe = PipedProcess(toolchain, sandbox, args, what="F*", memory_mb=memory_mb, pids=64, open_files=1024,
                                  files={file_name: file_text} if file_text is not None else None)
        try:
            first = self._line(time.monotonic() + start_timeout_s)
        except ReplFailure:
            self.close()
            raise
        if first.get("kind") != "protocol-info":
            self.close()
            raise ReplFailure("toolchain", f"F* did not start in IDE mode: {json.dumps(first)[:200]}")
        self.protocol = first

    @property
    def alive(self) -> bool:
        """Whether F* is still running (a failed query kills it)."""
        return self._pipe.alive

    def _line(self, deadline: float) -> dict[str, Any]:
        """The next JSON object F* prints (other stdout lines, such as --debug output, are never answers)."""
        while True:
            line = self._pipe.read_until(b"\n", deadline).strip()
            if not line.startswith(b"{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                self._die()
                raise ReplFailure("crash", f"F* printed a broken JSON line: {line[:200]!r}") from None
            if isinstance(obj, dict):
                return obj

    def query(self, query: str, args: dict[str, Any], timeout: float) -> IdeResponse:
        """Send one query; skip its progress messages; return its response (see the module docstring)."""
        if not self.alive:
            raise ReplFailure("crash", "the F* process is gone")
        self._qid += 1
        qid = f"{self._qid}-{self._nonce}"
        line = IdeQuery(query_id=qid, query=query, args=args).model_dump_json(by_alias=True) + "\n"
        self._pipe.write(line.encode())
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

    def rss_mb(self) -> float:
        """Resident memory of the whole sandboxed tree now, MB (read from outside)."""
        return self._pipe.rss_mb()

    def _die(self) -> Any:
        return self._pipe.kill()

    def close(self) -> None:
        """Kill F* and free its sandbox slot."""
        self._pipe.kill()
