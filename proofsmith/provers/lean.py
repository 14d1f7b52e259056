"""The Lean 4 checker: whole proofs through the Lean REPL, audited in commands the candidate cannot touch.

Public API (stable; the red-team suite relies on it):

- `check(task, candidate, *, sandbox=None, efficiency=None, toolchain=None,
  pool=None, precheck=True) -> Verdict`, like every checker; `validate(task)`
  and `manifest(task, sandbox, efficiency)` for the registry.
- Which REPL runs: the `toolchain` argument (a `Toolchain`), else the
  environment: `PROOFSMITH_LEAN_REPL` is the REPL command (`lake env repl`,
  with `PROOFSMITH_LEAN_PROJECT` its directory and `PROOFSMITH_LEAN_RO` the
  host directories bwrap must mount), or `standin [FLAGS]` for the test
  stand-in. Tests point the checker at the stand-in with
  `toolchain=standin_toolchain("--header-delay", "0.5")` or
  `PROOFSMITH_LEAN_REPL=standin`; the stand-in is NOT Lean
  (proofsmith/provers/standins/lean_repl.py).
- `pool`: a `lean_repl.repl_pool(...)` to use instead of the process-wide one
  (tests size it and read its counters `started`, `retired`, `failed`).
  What the stand-in answers, and its `standin: hang|crash|leak=N|...`
  directives, are listed in its docstring.
- `precheck=False` skips the lexical layer, so tests can show the audit
  alone stops each exploit; never use it for real verdicts.
- Step mode: `proofsmith.provers.lean_session` (`open` / `step`, the Coq
  session contract).

A task: `context` is the file before the theorem (its leading `import` lines
are the header a warm REPL elaborates once), `statement` is `theorem NAME
... : TYPE` without the proof's `:=`, `options` (`LeanOptions`): `allow_native_decide`,
`allowed_axioms`. A candidate is a proof (`by ...` or a term, optionally
after `:=`) or the whole theorem restated exactly.

What makes a verdict `verified` (all of it; anything missing is not a pass):

1. the lexical pre-check (lean_audit.precheck) passes and the statement is
   the task's (the checker writes `<statement> := <proof>` itself);
2. the REPL answers the command with its environment, no error, no
   "declaration uses 'sorry'" and no `sorries`;
3. in fresh commands on that environment: a canary (a new axiom and a
   theorem using it) must be reported truthfully by `#print axioms`, so a
   hijacked `#print` is caught; `#print axioms NAME` lists only allowed
   axioms (propext, Classical.choice, Quot.sound; `native_decide`'s only when
   the task allows it); and the kernel re-checks the theorem under a new name
   with `debug.skipKernelTC` off.

A timeout, a crash, an answer out of step, or an audit answer that cannot be
read is `unknown`, never verified. A crash is retried once on a fresh process.

Sizing (environment): `PROOFSMITH_LEAN_REPLS` processes (default: CPUs - 1),
`PROOFSMITH_LEAN_MEMORY_MB` each (default 8192; a Mathlib REPL takes several
GB), `PROOFSMITH_LEAN_HEADER_TIMEOUT_S` to elaborate a header (default 600);
each check's own wall clock is the task's `limits.wall_s`.

Sandboxes: bwrap and process hold warm REPLs (`repl_pool`, see lean_repl.py and prover_process.py);
docker (`--sandbox docker`, image `PROOFSMITH_LEAN_IMAGE`, built from
containers/lean.Dockerfile) runs each check as one REPL process fed every
request on stdin, with the environment numbers known in advance.
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import shutil

from pydantic import BaseModel, ConfigDict, Field

from proofsmith.provers import lean_audit
from proofsmith.provers.lean_repl import (
    HEADER_TIMEOUT_S,
    MEMORY_MB,
    CommandResponse,
    parse_response,
    repl_pool,
    standin_toolchain,
    toolchain_from_env,
)
from proofsmith.provers.prover_check import (
    Outcome,
    ProverJob,
    ProverSetup,
    checker_manifest,
    checker_version,
    tool_version,
)
from proofsmith.provers.prover_process import (
    ProcessPool,
    ReplFailure,
    Toolchain,
    died_of_memory,
    shared_pool,
)
from proofsmith.sandbox import Sandbox, with_binds
from proofsmith.schema import Candidate, Diagnostic, Limits, Manifest, Task, Verdict, task_options

__all__ = ["INSTALL_HINT", "LeanOptions", "check", "default_pool", "manifest", "options_of",
           "standin_toolchain", "toolchain_from_env", "validate"]

INSTALL_HINT = ("no Lean REPL configured: build the image (`make images`, containers/README.md) and use "
                "`--sandbox docker` with PROOFSMITH_LEAN_IMAGE=proofsmith/lean, or install elan + the REPL + "
                "Mathlib and set PROOFSMITH_LEAN_REPL='lake env repl' and PROOFSMITH_LEAN_PROJECT=<project dir>")
#: The image the docker sandbox runs Lean checks in.
DEFAULT_IMAGE = "proofsmith/lean:v4.15.0"
#: where the REPL comes from; in the image, the wrapper containers/lean.Dockerfile writes
SETUP = ProverSetup(from_env=toolchain_from_env, image_var="PROOFSMITH_LEAN_IMAGE", default_image=DEFAULT_IMAGE,
                    image_command=("/usr/local/bin/lean-repl",), install_hint=INSTALL_HINT)
CHECKER_VERSION = checker_version(__file__, ("lean.py", "lean_audit.py", "lean_repl.py", "prover_process.py",
                                             "prover_check.py", "source_lexer.py"))
#: Seconds for each audit command (they are small).
AUDIT_TIMEOUT_S = 60.0


class LeanOptions(BaseModel):
    """What `Task.options` holds for a Lean task."""

    model_config = ConfigDict(extra="ignore")

    #: the theorem's name as `#print axioms` sees it (default: read from the statement)
    name: str | None = None
    #: accept `native_decide` (and the axioms it adds: Lean.ofReduceBool, Lean.trustCompiler)
    allow_native_decide: bool = False
    #: axioms allowed beyond propext, Classical.choice, Quot.sound
    allowed_axioms: list[str] = Field(default_factory=list)


def options_of(task: Task) -> LeanOptions:
    """The task's Lean options with the theorem name filled in (ValueError with one line when wrong)."""
    opts = task_options(task, LeanOptions)
    name = opts.name or lean_audit.theorem_name(task.statement)
    if not name:
        raise ValueError(f"task {task.id}: the statement must start with `theorem NAME` (or give options.name)")
    code = lean_audit.strip_comments(task.statement).rstrip()
    if code.endswith(":=") or re.search(r":=\s*(by\b|sorry\b)", code):
        raise ValueError(f"task {task.id}: the statement must stop before its proof's `:=` (the proof is the "
                         f"candidate)")
    return opts.model_copy(update={"name": name})


def validate(task: Task) -> str | None:
    """A one-line problem with a Lean task, or None when it can be checked."""
    return SETUP.problem(task, options_of)


@functools.cache
def lean_version(toolchain: Toolchain) -> str:
    """`lean --version` next to the REPL (run in its project), "stand-in" for the stand-in, or "unknown"."""
    if toolchain.standin:
        return "stand-in (not Lean)"
    lean = shutil.which("lean")
    if lean is None:
        return "unknown"
    return tool_version([lean, "--version"], cwd=toolchain.cwd) or "unknown"


def manifest(task: Task, sandbox: Sandbox, efficiency: str | None, toolchain: Toolchain | None = None) -> Manifest:
    """The manifest every verdict of this checker carries."""
    opts = task.options
    return checker_manifest("lean", CHECKER_VERSION, task, sandbox,
                            toolchain=SETUP.toolchain_info(sandbox, toolchain, ("repl", "lean"), lean_version),
                            options={"allow_native_decide": bool(opts.get("allow_native_decide", False)),
                                     "allowed_axioms": sorted(opts.get("allowed_axioms", []))})


# --------------------------------------------------------------------------- pools


def header_timeout_s() -> float:
    """Seconds a REPL may take to elaborate an import header (`PROOFSMITH_LEAN_HEADER_TIMEOUT_S`, default 600)."""
    try:
        return float(os.environ.get("PROOFSMITH_LEAN_HEADER_TIMEOUT_S", "")) or HEADER_TIMEOUT_S
    except ValueError:
        return HEADER_TIMEOUT_S


def default_pool(toolchain: Toolchain, sandbox: Sandbox) -> ProcessPool:
    """The process-wide REPL pool for this toolchain and sandbox (created on first use; starts nothing)."""
    box = with_binds(sandbox, toolchain.ro_paths)

    def make() -> ProcessPool:
        memory = int(os.environ.get("PROOFSMITH_LEAN_MEMORY_MB", "0")) or (512 if toolchain.standin else MEMORY_MB)
        return repl_pool(toolchain, box, memory_mb=memory, recycle_mb=memory * 0.75,
                         header_timeout_s=header_timeout_s())

    return shared_pool(("lean", toolchain, id(box)), make)


# --------------------------------------------------------------------------- the check


class _Audit(BaseModel):
    """The fresh commands of the audit, with their nonce."""

    nonce: str
    canary_cmd: str
    canary: str
    probe: str

    @classmethod
    def new(cls) -> _Audit:
        nonce = secrets.token_hex(8)
        canary, probe = f"ps_canary_{nonce}", f"ps_probe_{nonce}"
        # _root_: the names do not depend on a namespace the task's context may have opened
        return cls(nonce=nonce, canary=canary, probe=probe,
                   canary_cmd=f"axiom _root_.{canary} : True\ntheorem _root_.{probe} : True := _root_.{canary}")

    def kernel_cmd(self, name: str) -> str:
        """Re-add the theorem under a new name, so the kernel checks it again with skipKernelTC off."""
        return (
            "set_option debug.skipKernelTC false in\n"
            "#eval show Lean.Elab.Command.CommandElabM Unit from do\n"
            f"  let some (Lean.ConstantInfo.thmInfo info) := (← Lean.getEnv).find? ``{name}\n"
            f"    | throwError \"ps_audit: {name} is not a theorem\"\n"
            "  Lean.Elab.Command.liftCoreM <| Lean.addDecl <| Lean.Declaration.thmDecl\n"
            f"    {{ info with name := `ps_recheck_{self.nonce}, all := [`ps_recheck_{self.nonce}] }}\n"
            f"  Lean.logInfo \"ps_kernel_ok_{self.nonce}\""
        )


def error_messages(reply: CommandResponse) -> list[str]:
    """The texts of the error messages in a command's answer."""
    return [m.data for m in reply.messages if m.severity == "error"]


def _info(reply: CommandResponse) -> list[str]:
    return [m.data for m in reply.messages if m.severity == "info"]


class _Layout(BaseModel):
    """Where the proof sits in the command sent and in the candidate, to map Lean's positions back."""

    statement_lines: int
    proof_first_line: int  # 1-based line of the proof in the candidate's text

    def candidate_line(self, line: int | None) -> int | None:
        if line is None or line < self.statement_lines:
            return None
        return line - self.statement_lines + self.proof_first_line


def _judge_candidate(reply: CommandResponse, layout: _Layout) -> Outcome | None:
    """Refuted when Lean complained or a sorry is left; None when the audit should run."""
    errors = [m for m in reply.messages if m.severity == "error"]
    if errors:
        first = errors[0]
        return Outcome(status="refuted", reason="lean_error", diagnostics=[
            Diagnostic(message=m.data[:2000], line=layout.candidate_line(m.pos.line if m.pos else None),
                       column=m.pos.column if m.pos else None) for m in [first, *errors[1:5]]])
    sorry = [m for m in reply.messages if "declaration uses 'sorry'" in m.data]
    if sorry or reply.sorries:
        return Outcome(status="refuted", reason="sorry", diagnostics=[
            Diagnostic(message="the proof uses sorry (Lean: declaration uses 'sorry')")])
    return None


def _judge_audit(name: str, audit: _Audit, opts: LeanOptions, canary: CommandResponse, probe: CommandResponse,
                 axioms: CommandResponse, kernel: CommandResponse) -> Outcome:
    """The audit's verdict from its four answers (see the module docstring, point 3)."""
    if error_messages(canary):
        return Outcome.unknown("internal", f"the audit's canary did not elaborate: {error_messages(canary)[0]}")
    said = _info(probe)
    if not said or not lean_audit.canary_ok(said[-1], audit.probe, audit.canary):
        return Outcome(status="refuted", reason="audit", diagnostics=[Diagnostic(
            message="`#print axioms` does not tell the truth after this proof (a command was hijacked): "
                    f"{(said or error_messages(probe) or ['no answer'])[-1][:300]}")])
    answers = [lean_audit.parse_axioms(d, name) for d in _info(axioms)]
    found = [a for a in answers if a is not None]
    if len(found) != 1:
        detail = (error_messages(axioms) or _info(axioms) or ["no answer"])[0][:300]
        return Outcome.unknown("internal", f"`#print axioms {name}` gave no readable answer: {detail}")
    bad = lean_audit.axioms_allowed(found[0], extra=frozenset(opts.allowed_axioms),
                                    allow_native_decide=opts.allow_native_decide)
    if bad:
        return Outcome(status="refuted", reason="axioms", diagnostics=[
            Diagnostic(message=f"the proof depends on axiom {a}, which is not allowed") for a in bad])
    kernel_errors = error_messages(kernel)
    if any("(kernel)" in e for e in kernel_errors):
        return Outcome(status="refuted", reason="kernel", diagnostics=[
            Diagnostic(message=f"the kernel rejects the proof on a re-check: {kernel_errors[0][:1000]}")])
    if kernel_errors or f"ps_kernel_ok_{audit.nonce}" not in _info(kernel):
        detail = (kernel_errors or ["no confirmation"])[0][:300]
        return Outcome.unknown("internal", f"the kernel re-check gave no confirmation: {detail}")
    return Outcome(status="verified")


def _run_pooled(pool: ProcessPool, header: str, context: str, command: str, name: str, opts: LeanOptions,
                layout: _Layout, timeout: float) -> Outcome:
    with pool.checkout(header) as proc:
        ctx = proc.context_env(context, max(timeout, AUDIT_TIMEOUT_S))
        if error_messages(ctx):
            return Outcome.unknown("toolchain",
                                   f"the task's context does not elaborate: {error_messages(ctx)[0][:500]}")
        reply = proc.command(command, ctx.env, timeout)
        judged = _judge_candidate(reply, layout)
        if judged is not None:
            return judged
        audit = _Audit.new()
        canary = proc.command(audit.canary_cmd, reply.env, AUDIT_TIMEOUT_S)
        probe = proc.command(f"#print axioms _root_.{audit.probe}", canary.env, AUDIT_TIMEOUT_S)
        axioms = proc.command(f"#print axioms {name}", canary.env, AUDIT_TIMEOUT_S)
        kernel = proc.command(audit.kernel_cmd(name), canary.env, AUDIT_TIMEOUT_S)
        return _judge_audit(name, audit, opts, canary, probe, axioms, kernel)


def _run_oneshot(box: Sandbox, toolchain: Toolchain, header: str, context: str, command: str, name: str,
                 opts: LeanOptions, layout: _Layout, limits: Limits) -> Outcome:
    """One REPL run fed every request at once; the REPL numbers environments 0, 1, 2, ... so ids are known."""
    audit = _Audit.new()
    requests = [{"cmd": header}]
    ctx_env = 0
    if context.strip():
        requests.append({"cmd": context, "env": 0})
        ctx_env = 1
    cand_env = ctx_env + 1
    requests += [{"cmd": command, "env": ctx_env}, {"cmd": audit.canary_cmd, "env": cand_env},
                 {"cmd": f"#print axioms _root_.{audit.probe}", "env": cand_env + 1},
                 {"cmd": f"#print axioms {name}", "env": cand_env + 1},
                 {"cmd": audit.kernel_cmd(name), "env": cand_env + 1}]
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n\n" for r in requests).encode()
    cd = f"cd {json.dumps(toolchain.cwd)} && " if toolchain.cwd else ""
    argv = ["/bin/sh", "-c", f'{cd}exec "$@"', "sh", *toolchain.command]
    header_s = header_timeout_s()
    run_limits = Limits(wall_s=limits.wall_s + header_s, cpu_s=limits.wall_s + header_s,
                        memory_mb=max(limits.memory_mb, MEMORY_MB), pids=256, output_bytes=16 << 20,
                        file_size_mb=256, open_files=4096)
    result = box.run(argv, dict(toolchain.files), run_limits, stdin=stdin, env=dict(toolchain.env))
    if result.error:
        return Outcome.unknown("sandbox", result.error)
    replies: list[CommandResponse] = []
    try:
        for frame in re.split(r"\n\s*\n", result.stdout):
            if frame.strip():
                reply = parse_response(json.loads(frame))
                if not isinstance(reply, CommandResponse) or reply.env != len(replies):
                    raise ReplFailure("crash", f"answer {len(replies)} is out of step: {frame[:200]}")
                replies.append(reply)
    except (ValueError, ReplFailure) as exc:
        return Outcome.unknown("crash", f"the REPL's output is unreadable: {exc}")
    by_env = {r.env: r for r in replies}

    def missing() -> Outcome:
        if result.limit_hit in ("wall", "cpu"):
            return Outcome.unknown("timeout", "the REPL ran out of time")
        if died_of_memory(result):
            return Outcome.unknown("memory", "the REPL ran out of memory")
        return Outcome.unknown("crash", f"the REPL stopped early (exit {result.exit_code}, signal {result.signal}): "
                                        f"{result.stderr.strip()[-300:]}")

    if 0 not in by_env or (context.strip() and 1 not in by_env):
        return missing()
    for env in range(ctx_env + 1):
        if error_messages(by_env[env]):
            return Outcome.unknown("toolchain", f"the task's header or context does not elaborate: "
                                                f"{error_messages(by_env[env])[0][:500]}")
    if cand_env not in by_env:
        return missing()
    judged = _judge_candidate(by_env[cand_env], layout)
    if judged is not None:
        return judged
    if any(e not in by_env for e in range(cand_env + 1, cand_env + 5)):
        return missing()
    return _judge_audit(name, audit, opts, *(by_env[e] for e in range(cand_env + 1, cand_env + 5)))


def check(task: Task, candidate: Candidate, *, sandbox: Sandbox | None = None, efficiency: str | None = None,
          toolchain: Toolchain | None = None, pool: ProcessPool | None = None, precheck: bool = True) -> Verdict:
    """Verify one Lean proof (see the module docstring). Never raises for anything the candidate does."""
    return SETUP.check(task, candidate, sandbox=sandbox, toolchain=toolchain, pool=pool,
                       manifest=lambda box, tc: manifest(task, box, efficiency, tc),
                       prepare=lambda: _prepare(task, candidate, precheck))


def _prepare(task: Task, candidate: Candidate, precheck: bool) -> Outcome | ProverJob:
    """The command that states the theorem with the candidate's proof, ready to run; or why the candidate is
    refuted before Lean sees it."""
    opts = options_of(task)
    name = opts.name or ""
    proof, offset, problem = lean_audit.split_candidate(task.statement, candidate.text)
    if problem is not None:
        return Outcome(status="refuted", reason="statement",
                       diagnostics=[Diagnostic(message=problem.message, line=problem.line)])
    if candidate.steps and not re.match(r"\s*by\b", proof):
        # a step-mode search gives its tactics one per line: the proof is their `by` block
        proof = "by\n" + "".join(f"  {line}\n" for line in proof.splitlines())
    lead = len(proof) - len(proof.lstrip("\n"))
    first_line = candidate.text.count("\n", 0, offset + lead) + 1
    if precheck:
        # from the proof's first line: `:=` then `by` alone on the next line is fine
        found = lean_audit.precheck(proof[lead:], allow_native_decide=opts.allow_native_decide)
        if found is not None:
            line = found.line + first_line - 1 if found.line is not None else None
            return Outcome(status="refuted", reason="audit",
                           diagnostics=[Diagnostic(message=found.message, line=line, column=found.column)])
    if not lean_audit.strip_comments(proof).strip():
        return Outcome.refuted("empty", "no proof given")
    header, context = lean_audit.split_header(task.context)
    statement = task.statement.rstrip()
    command = f"{statement} :=\n{proof.strip(chr(10))}\n"
    layout = _Layout(statement_lines=statement.count("\n") + 2, proof_first_line=first_line)
    return ProverJob(
        once=lambda box, tc: _run_oneshot(box, tc, header, context, command, name, opts, layout, task.limits),
        pooled=lambda pool: _run_pooled(pool, header, context, command, name, opts, layout, task.limits.wall_s),
        pool_for=default_pool)
