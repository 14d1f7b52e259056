"""The frame of a check: its verdict from an `Outcome`; for Lean and F*, also the toolchain, the run and the retry.

Every checker here (Python, SMT, Coq, Lean, F*) decides an `Outcome`
(status, reason, diagnostics, partial credit, efficiency) and turns it into a
`Verdict` the same way, through `CheckFrame`; `checker_version` and
`checker_manifest` give the version and manifest each verdict carries. Lean
and F* also share `ProverSetup`, whose `check` is their whole skeleton: pick
the prover from the `toolchain` argument, the pool's, the environment, or the
checker image's own command under `--sandbox docker`; answer `unknown` when
there is none; let the language module prepare its `ProverJob` (or refute
the candidate before any run); run that once in a sandbox that cannot hold a
process (docker), else on a warm pool, again, once, on a fresh process when
the first one crashed (a crash says nothing about the candidate).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from proofsmith.provers.prover_process import ProcessPool, ReplFailure, Toolchain
from proofsmith.sandbox import RunResult, Sandbox, Spawns, get_sandbox, sandbox_for_image
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
from proofsmith.version import __version__

__all__ = ["CheckFrame", "Outcome", "ProverJob", "ProverSetup", "checker_manifest", "checker_version",
           "retry_on_fresh_process", "tool_version"]


def checker_version(module: str, names: Sequence[str], generation: str = "1") -> str:
    """`generation+` and 12 hex digits of the sha256 of the modules `names` beside `module` (a checker's `__file__`).

    It changes whenever the checker's code does, so cached verdicts of older code are not reused.
    """
    code = b"".join(Path(module).with_name(n).read_bytes() for n in names)
    return f"{generation}+" + hashlib.sha256(code).hexdigest()[:12]


def tool_version(argv: Sequence[str], cwd: str | None = None) -> str | None:
    """What a prover prints when `argv` asks for its version (stripped), for the manifest; None when it cannot be
    run or prints nothing."""
    try:
        out = subprocess.run(list(argv), check=False, capture_output=True, text=True, timeout=30, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def checker_manifest(checker: str, version: str, task: Task, sandbox: Sandbox, *, toolchain: dict[str, str],
                     options: dict[str, object]) -> Manifest:
    """The manifest every verdict of a checker carries: what ran (`toolchain`), how (`options`), where and under
    which limits."""
    return Manifest(checker=checker, checker_version=version, proofsmith_version=__version__, toolchain=toolchain,
                    options=options, limits=task.limits, sandbox=sandbox.kind, isolation=sandbox.layers())


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

    @classmethod
    def refuted(cls, reason: str, message: str) -> Outcome:
        """The candidate is at fault, with one message saying how."""
        return cls(status="refuted", reason=reason, diagnostics=[Diagnostic(message=message)])


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

    def toolchain_info(self, sandbox: Sandbox, toolchain: Toolchain | None, keys: tuple[str, str],
                       version_of: Callable[[Toolchain], str]) -> dict[str, str]:
        """The manifest's `toolchain`: the prover's command and its version under `keys` ("missing" without one;
        `toolchain` defaults to the environment's), and the checker image under `--sandbox docker`."""
        tc = toolchain or self.from_env()
        info = {keys[0]: tc.describe() if tc else "missing", keys[1]: version_of(tc) if tc else "missing"}
        if sandbox.kind == "docker":
            info["image"] = self.image()
        return info

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

    def check(self, task: Task, candidate: Candidate, *, sandbox: Sandbox | None, toolchain: Toolchain | None,
              pool: ProcessPool | None, manifest: Callable[[Sandbox, Toolchain | None], Manifest],
              prepare: Callable[[], Outcome | ProverJob]) -> Verdict:
        """A Lean or F* check from first to last (see the module docstring); `prepare` is the language's part:
        an Outcome when the candidate is refuted before any run, else the ProverJob to run."""
        started = time.monotonic()
        tc, box, box_error = self.resolve(toolchain, pool, sandbox)
        frame = CheckFrame(task, candidate, manifest(box, tc), started)
        if tc is None:
            return frame.verdict(Outcome.unknown("toolchain", self.install_hint))
        if box_error is not None:
            return frame.verdict(Outcome.unknown("sandbox", box_error))
        job = prepare()
        if isinstance(job, Outcome):
            return frame.verdict(job)
        if not isinstance(box, Spawns):
            return frame.verdict(job.once(box, tc))
        the_pool = pool or job.pool_for(tc, box)
        return frame.verdict(retry_on_fresh_process(lambda: job.pooled(the_pool)))


@dataclass(frozen=True)
class ProverJob:
    """A Lean or F* check ready to run, in either of the two ways a sandbox allows."""

    #: one prover process fed every request at once, for a sandbox that cannot hold a process (docker)
    once: Callable[[Sandbox, Toolchain], Outcome]
    #: on a warm process of `pool` (raises ReplFailure when the process fails)
    pooled: Callable[[ProcessPool], Outcome]
    #: the pool to use when the caller passed none (the process-wide one for this toolchain and sandbox)
    pool_for: Callable[[Toolchain, Sandbox], ProcessPool]


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

    def measure(self, run: RunResult) -> None:
        """From now on, every verdict of this check carries what `run` (the checked program's run) used."""
        self.resources = Resources(cpu_s=run.cpu_s, wall_s=run.wall_s, peak_memory_kb=run.peak_memory_kb,
                                   limit_hit=run.limit_hit)


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
