"""The frame of a check: its verdict from an `Outcome`; for Lean and F*, also the toolchain and the one retry.

Every checker here (Python, SMT, Lean, F*) decides an `Outcome` (status,
reason, diagnostics, partial credit, efficiency) and turns it into a `Verdict`
the same way, through `CheckFrame`. Lean and F* also share `ProverSetup`: both
pick the prover from the `toolchain` argument, the pool's, the environment, or the checker image's own command
under `--sandbox docker`; both run a check again, once, on a fresh process
when the first one crashed (a crash says nothing about the candidate).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from proofsmith.provers.prover_process import ProcessPool, ReplFailure, Toolchain
from proofsmith.sandbox import Sandbox, get_sandbox, sandbox_for_image
from proofsmith.schema import (
    Candidate,
    Diagnostic,
    Efficiency,
    Manifest,
    PartialCredit,
    Resources,
    Status,
    Task,
    Verdict,
)

__all__ = ["CheckFrame", "Outcome", "ProverSetup", "retry_on_fresh_process"]


class Outcome(BaseModel):
    """What a check decided, before it is a Verdict."""

    status: Status
    reason: str | None = None
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    #: tests passed (Python)
    partial: PartialCredit | None = None
    #: the program's measured efficiency (Python, when asked for)
    efficiency: Efficiency | None = None

    @classmethod
    def unknown(cls, reason: str, message: str) -> Outcome:
        """No verdict on the candidate (timeout, crash, toolchain, sandbox...), with why."""
        return cls(status="unknown", reason=reason, diagnostics=[Diagnostic(message=message)])


@dataclass(frozen=True)
class ProverSetup:
    """Where a checker finds its prover: its environment reader, image variable and the image's own command."""

    #: the toolchain the environment names, or None (`lean_repl.toolchain_from_env`, `fstar_ide.toolchain_from_env`)
    from_env: Callable[[], Toolchain | None]
    #: the variable naming the checker image for `--sandbox docker` (PROOFSMITH_LEAN_IMAGE, PROOFSMITH_FSTAR_IMAGE)
    image_var: str
    default_image: str
    #: how the prover is started inside that image
    image_command: tuple[str, ...]
    #: one line saying how to get the prover, for a task that cannot be checked without it
    install_hint: str

    def problem(self, task: Task, options_of: Callable[[Task], object]) -> str | None:
        """A one-line problem with a task for this checker (no prover, bad options), or None when it can be checked."""
        if self.from_env() is None and not self.image_configured():
            return self.install_hint
        try:
            options_of(task)
        except ValueError as exc:
            return str(exc)
        return None

    def image_configured(self) -> bool:
        """Whether the user named a checker image (so `--sandbox docker` can run the prover without a toolchain)."""
        return bool(os.environ.get(self.image_var))

    def image(self) -> str:
        """The checker image: the variable's, else the default."""
        return os.environ.get(self.image_var) or self.default_image

    def image_box(self, box: Sandbox) -> Sandbox:
        """The sandbox this checker runs in (`sandbox_for_image` on the checker image)."""
        return sandbox_for_image(box, self.image())

    def resolve(self, toolchain: Toolchain | None, pool: ProcessPool | None,
                sandbox: Sandbox | None) -> tuple[Toolchain | None, Sandbox, str | None]:
        """(the toolchain or None, the sandbox, a one-line sandbox problem or None) for one check."""
        tc = toolchain or (pool.toolchain if pool is not None else None) or self.from_env()
        if tc is None and sandbox is not None and sandbox.kind == "docker" and self.image_configured():
            tc = Toolchain(command=self.image_command)
        box = sandbox or (pool.sandbox if pool is not None else None) or get_sandbox("auto")
        try:
            return tc, self.image_box(box), None
        except Exception as exc:  # noqa: BLE001 - DockerUnavailable and the SDK's errors: the fix is in the message
            return tc, box, str(exc)


@dataclass
class CheckFrame:
    """One check under way: turns its Outcome into the Verdict, timed from when the check started.

    `resources` is what the checked program used, once a checker has
    measured it (None: the check's wall time); `notes` are diagnostics every
    verdict of this check carries after the outcome's own (the Python
    checker's contract report).
    """

    task: Task
    candidate: Candidate
    manifest: Manifest
    started: float = field(default_factory=time.monotonic)
    resources: Resources | None = None
    notes: list[Diagnostic] = field(default_factory=list)

    def verdict(self, out: Outcome) -> Verdict:
        """The Verdict for `out`: reward 1 only for verified."""
        wall = time.monotonic() - self.started
        return Verdict(task_id=self.task.id, candidate_id=self.candidate.id, status=out.status, reason=out.reason,
                       reward=1.0 if out.status == "verified" else 0.0, diagnostics=[*out.diagnostics, *self.notes],
                       partial=out.partial, efficiency=out.efficiency,
                       resources=self.resources if self.resources is not None else Resources(wall_s=wall),
                       wall_s=wall, manifest=self.manifest)


def retry_on_fresh_process(run: Callable[[], Outcome]) -> Outcome:
    """`run()`, once more if its process crashed; a ReplFailure that remains is an unknown Outcome."""
    for attempt in (1, 2):
        try:
            return run()
        except ReplFailure as failure:
            if failure.reason == "crash" and attempt == 1:
                continue
            message = str(failure) + (" (after one retry on a fresh process)" if attempt == 2 else "")
            return Outcome.unknown(failure.reason, message)
    raise AssertionError("unreachable")
