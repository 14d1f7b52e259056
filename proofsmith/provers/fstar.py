"""The F* checker: one definition at a time through `fstar.exe --ide`, the F* dataset's way.

Public API (stable; the red-team suite relies on it):

- `check(task, candidate, *, sandbox=None, efficiency=None, toolchain=None,
  pool=None, precheck=True) -> Verdict`, `validate(task)`, `manifest(...)`.
- Which F* runs: the `toolchain` argument (a `prover_process.Toolchain`), else
  `PROOFSMITH_FSTAR` (the command, e.g. `fstar.exe`; `standin [FLAGS]` for
  the test stand-in, which is NOT F*: proofsmith/provers/standins/fstar_ide.py),
  else `fstar.exe` on PATH. `pool`: a pool from `make_pool(toolchain,
  sandbox)` instead of the process-wide one (tests read its counters). The
  stand-in's rules and `standin: ...` directives are in its docstring.
  `precheck=False` is for tests of the second layer only.

A task (see datasets/fstar_records.py for the F* dataset's records):
`statement` is the definition's `val` (its type, fixed by the task), the
candidate is its `let` (or `let rec`) definition; `options` (`FStarOptions`):
`name`, `file_name`, `opens_and_abbrevs`, `vconfig` (z3rlimit, fuel, ifuel,
seed, ...: replayed as `#push-options`, as the dataset's harness does),
`include_dirs`, and either `checked_prefix: true` (load the dataset file's
checked prefix up to `name` with `push-partial-checked-file`) or `context`
text pushed first. A process keeps its prefix pushed between checks of the
same file (file affinity, the harness's FStarPool idea).

Verified only when: the lexical pre-check passes (fstar_audit.py: no word
starting with `assume` or `admit`, no `magic`, `unsafe_coerce`, `tadmit`,
option pragmas or the `set_options` tactic, `expect_failure`, `val`,
module-level commands, and the candidate defines `name`), F* answers the
push with `status: success`, no error, and no Warning 335 (`--report_assumes
warn` reports every `assume`/`admit`). A timeout, crash or answer out of step
is unknown, never verified; a crash is retried once on a fresh process.
Each F* process may use `PROOFSMITH_FSTAR_MEMORY_MB` (default 4096); a push
gets the task's `limits.wall_s`. Under `--sandbox docker` (image
`PROOFSMITH_FSTAR_IMAGE`, containers/fstar.Dockerfile) each check is one F*
run fed both pushes on stdin.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
import shutil
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith.provers.fstar_audit import precheck
from proofsmith.provers.fstar_ide import FStarProcess, IdeResponse, Issue, standin_toolchain, toolchain_from_env
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

__all__ = [
    "INSTALL_HINT",
    "WARN_ON_USE",
    "FStarOptions",
    "check",
    "default_pool",
    "manifest",
    "precheck",
    "scaffolding",
    "standin_toolchain",
    "toolchain_from_env",
    "validate",
]

INSTALL_HINT = ("F* not found: build the image (`make images`, containers/README.md) and use `--sandbox docker` "
                "with PROOFSMITH_FSTAR_IMAGE=proofsmith/fstar, or install an F* release with its Z3 and set "
                "PROOFSMITH_FSTAR=/path/to/fstar.exe")
#: F*'s Warning_WarnOnUse: what `--report_assumes warn` reports for assume/admit (the dataset harness's test).
WARN_ON_USE = 335
DEFAULT_IMAGE = "proofsmith/fstar:2024.09.05"
#: where F* comes from; in the image, where containers/fstar.Dockerfile installs it
SETUP = ProverSetup(from_env=toolchain_from_env, image_var="PROOFSMITH_FSTAR_IMAGE", default_image=DEFAULT_IMAGE,
                    image_command=("/opt/fstar/bin/fstar.exe",), install_hint=INSTALL_HINT)
CHECKER_VERSION = checker_version(__file__, ("fstar.py", "fstar_audit.py", "fstar_ide.py", "prover_process.py",
                                             "prover_check.py", "source_lexer.py"))
START_TIMEOUT_S = 120.0


class FStarOptions(BaseModel):
    """What `Task.options` holds for an F* task."""

    model_config = ConfigDict(extra="ignore")

    #: the definition's fully qualified name (`Module.name`)
    name: str
    #: the module's file (`Module.fst`); default from the name
    file_name: str | None = None
    #: the dataset's `opens_and_abbrevs`: [{"open": M} | {"abbrev": A, "full_module": M}]
    opens_and_abbrevs: list[dict[str, str]] = Field(default_factory=list)
    #: the dataset's `vconfig`: z3rlimit, initial_fuel, max_fuel, initial_ifuel, max_ifuel, z3seed, ...
    vconfig: dict[str, Any] | None = None
    include_dirs: list[str] = Field(default_factory=list)
    #: load the file's checked prefix up to `name` (`push-partial-checked-file`) instead of `context`
    checked_prefix: bool = False

    def module(self) -> str:
        """The module name (from file_name, else the qualified name)."""
        if self.file_name:
            return os.path.splitext(os.path.basename(self.file_name))[0]
        return self.name.rsplit(".", 1)[0] if "." in self.name else "Task"

    def file(self) -> str:
        """The file F* is started on."""
        return os.path.basename(self.file_name) if self.file_name else f"{self.module()}.fst"

    def short_name(self) -> str:
        """The definition's name without its module."""
        return self.name.rsplit(".", 1)[-1]


def options_of(task: Task) -> FStarOptions:
    """The task's F* options (ValueError with one line when wrong)."""
    opts = task_options(task, FStarOptions)
    if not re.fullmatch(r"[A-Za-z_][\w'.]*", opts.name):
        raise ValueError(f"task {task.id}: options.name {opts.name!r} is not an F* name")
    if not re.match(r"\s*(\[@@[^\]]*\]\s*)*(val|assume\s+val)\b", task.statement) or \
            re.match(r"\s*assume\b", task.statement):
        raise ValueError(f"task {task.id}: the statement must be the definition's `val` (its type)")
    return opts


def validate(task: Task) -> str | None:
    """A one-line problem with an F* task, or None when it can be checked."""
    return SETUP.problem(task, options_of)


@functools.cache
def fstar_version(toolchain: Toolchain) -> str:
    """`fstar.exe --version`'s first line, or "unknown"."""
    if toolchain.standin:
        return "stand-in (not F*)"
    if shutil.which(toolchain.command[0]) is None and not os.path.isfile(toolchain.command[0]):
        return "unknown"
    return (tool_version([*toolchain.command, "--version"]) or "unknown").splitlines()[0]


def manifest(task: Task, sandbox: Sandbox, efficiency: str | None, toolchain: Toolchain | None = None) -> Manifest:
    """The manifest every verdict of this checker carries (vconfig included: it decides SMT outcomes)."""
    return checker_manifest("fstar", CHECKER_VERSION, task, sandbox,
                            toolchain=SETUP.toolchain_info(sandbox, toolchain, ("fstar", "version"), fstar_version),
                            options={"vconfig": task.options.get("vconfig"), "report_assumes": "warn"})


# --------------------------------------------------------------------------- text


#: vconfig keys replayed as options, with their F* spelling (the dataset harness's list)
_VCONFIG_VALUE = {"initial_fuel": "initial_fuel", "max_fuel": "max_fuel", "initial_ifuel": "initial_ifuel",
                  "max_ifuel": "max_ifuel", "z3rlimit": "z3rlimit", "z3rlimit_factor": "z3rlimit_factor",
                  "z3seed": "z3seed", "smtencoding_nl_arith_repr": "smtencoding.nl_arith_repr",
                  "smtencoding_l_arith_repr": "smtencoding.l_arith_repr"}
_VCONFIG_BOOL = {"smtencoding_elim_box": "smtencoding.elim_box", "smtencoding_valid_intro": "smtencoding.valid_intro",
                 "smtencoding_valid_elim": "smtencoding.valid_elim"}


def scaffolding(opts: FStarOptions) -> str:
    """`open`s and module abbreviations, then `#push-options` with the recorded vconfig."""
    lines = []
    module = opts.module()
    if module != "Prims":
        for item in reversed(opts.opens_and_abbrevs):
            if "abbrev" in item:
                lines.append(f"module {item['abbrev']} = {item['full_module']}")
            elif "open" in item:
                lines.append(f"open {item['open']}")
        if opts.checked_prefix:
            lines.append(f"open {module}")
    options: list[str] = []
    for key, value in (opts.vconfig or {}).items():
        if key in _VCONFIG_VALUE and value is not None:
            options += [f"--{_VCONFIG_VALUE[key]}", str(value)]
        elif key in _VCONFIG_BOOL and value is not None:
            options += [f"--{_VCONFIG_BOOL[key]}", "true" if value else "false"]
        elif key in ("z3cliopt", "z3smtopt"):
            for item in value or []:
                options += [f"--{key}", f"'{item}'"]
        elif key == "z3refresh" and value:
            options.append("--z3refresh")
    if options:
        lines.append(f'#push-options "{" ".join(options)}"')
    return "\n".join(lines) + ("\n" if lines else "")


_lexical = precheck  # `check` has a flag of the same name


# --------------------------------------------------------------------------- pool


def _context(task: Task, opts: FStarOptions) -> str:
    """The task's own module text (context mode): `module X` first, as F* wants."""
    return task.context if re.match(r"\s*module\b", task.context) else f"module {opts.module()}\n{task.context}"


def _key(task: Task, opts: FStarOptions) -> str:
    """The pool key: a process serves one file (and include path, and own context) at a time."""
    return json.dumps([opts.file(), opts.include_dirs, None if opts.checked_prefix else _context(task, opts)])


def make_pool(toolchain: Toolchain, sandbox: Sandbox, *, memory_mb: int = 4096, max_processes: int | None = None,
              max_uses: int = 200, recycle_mb: float | None = None, wait_s: float = 600.0) -> ProcessPool:
    """A pool of F* processes with file affinity (keyed by file, include path and context)."""
    box = with_binds(sandbox, toolchain.ro_paths)

    def start(key: str) -> FStarProcess:
        file_name, includes, context = json.loads(key)
        return FStarProcess(toolchain, box, key, file_name=file_name, include_dirs=tuple(includes),
                            file_text=context, memory_mb=memory_mb, start_timeout_s=START_TIMEOUT_S)

    size = max_processes or max(1, (os.cpu_count() or 2) - 1)
    return ProcessPool(toolchain, box, start, max_processes=size, max_uses=max_uses,
                       recycle_mb=recycle_mb if recycle_mb is not None else memory_mb * 0.75, memory_mb=memory_mb,
                       wait_s=wait_s, what="F*")


def default_pool(toolchain: Toolchain, sandbox: Sandbox) -> ProcessPool:
    """The process-wide F* pool for this toolchain and sandbox (created on first use; starts nothing)."""
    memory = int(os.environ.get("PROOFSMITH_FSTAR_MEMORY_MB", "0")) or (512 if toolchain.standin else 4096)
    return shared_pool(("fstar", toolchain, id(sandbox)), lambda: make_pool(toolchain, sandbox, memory_mb=memory))


# --------------------------------------------------------------------------- the check


def _prefix_query(task: Task, opts: FStarOptions) -> tuple[str, str, dict[str, Any]]:
    """(a name for what sits under the candidate, the query that pushes it, its args)."""
    if opts.checked_prefix:
        return f"partial:{opts.name}", "push-partial-checked-file", {"until-lid": opts.name}
    context = _context(task, opts)
    return ("context:" + hashlib.sha256(context.encode()).hexdigest(), "push",
            {"kind": "full", "code": context, "line": 1, "column": 0})


def _judge(reply: IdeResponse, body_line: int) -> Outcome:
    """The verdict on the candidate's push."""
    issues = reply.issues()
    errors = [i for i in issues if i.level == "error"]

    def diag(found: Issue) -> Diagnostic:
        beg = found.ranges[0].beg if found.ranges else None
        line = beg[0] - body_line + 1 if beg and beg[0] >= body_line else None
        label = f"(Error {found.number}) " if found.number is not None else ""
        return Diagnostic(message=(label + found.message)[:2000], line=line,
                          column=beg[1] if beg and line else None,
                          severity="warning" if found.level == "warning" else "error")

    if reply.status == "failure" or errors:
        return Outcome(status="refuted", reason="fstar_error", diagnostics=[diag(i) for i in (errors or issues)[:5]])
    if reply.status != "success":
        return Outcome.unknown("crash", f"F* answered the push with status {reply.status!r}: "
                                        f"{str(reply.response)[:300]}")
    assumed = [i for i in issues if i.number == WARN_ON_USE]
    if assumed:
        return Outcome(status="refuted", reason="assume", diagnostics=[
            diag(i).model_copy(update={"message": f"Warning {WARN_ON_USE}: the definition relies on assume/admit: "
                                                  f"{i.message[:300]}", "severity": "error"}) for i in assumed])
    return Outcome(status="verified")


def _run_pooled(pool: ProcessPool, task: Task, opts: FStarOptions, code: str, body_line: int) -> Outcome:
    name, query, args = _prefix_query(task, opts)
    with pool.checkout(_key(task, opts)) as proc:
        if proc.prefix != name:
            if proc.prefix is not None:
                popped = proc.query("pop", {}, 60.0)
                if popped.status != "success":
                    proc.close()
                    raise ReplFailure("crash", f"F* refused to pop the previous prefix: {popped.response}")
                proc.prefix = None
            loaded = proc.query(query, args, max(START_TIMEOUT_S, task.limits.wall_s))
            if loaded.status != "success" or any(i.level == "error" for i in loaded.issues()):
                detail = next((i.message for i in loaded.issues() if i.level == "error"), str(loaded.response))
                return Outcome.unknown("toolchain", f"the task's context does not load in F*: {detail[:500]}")
            proc.prefix = name
        reply = proc.query("push", {"kind": "full", "code": code, "line": 1, "column": 0}, task.limits.wall_s)
        if reply.status == "success":
            popped = proc.query("pop", {}, 60.0)
            if popped.status != "success":
                proc.close()  # the stack is no longer what we think: never reuse this process
        return _judge(reply, body_line)


def _run_oneshot(box: Sandbox, tc: Toolchain, task: Task, opts: FStarOptions, code: str,
                 body_line: int) -> Outcome:
    """One F* run fed both pushes on stdin (the docker sandbox has no warm processes)."""
    nonce = secrets.token_hex(6)
    _, query, args = _prefix_query(task, opts)
    queries = [{"query-id": f"p-{nonce}", "query": query, "args": args},
               {"query-id": f"c-{nonce}", "query": "push", "args": {"kind": "full", "code": code, "line": 1,
                                                                     "column": 0}}]
    stdin = "".join(json.dumps(q) + "\n" for q in queries).encode()
    argv = [*tc.command, "--ide", opts.file(), "--report_assumes", "warn"]
    for directory in opts.include_dirs:
        argv += ["--include", directory]
    limits = Limits(wall_s=task.limits.wall_s + START_TIMEOUT_S, cpu_s=task.limits.wall_s + START_TIMEOUT_S,
                    memory_mb=max(task.limits.memory_mb, 4096), pids=64, output_bytes=16 << 20, file_size_mb=256,
                    open_files=1024)
    files = {**dict(tc.files), **({} if opts.checked_prefix else {opts.file(): _context(task, opts)})}
    result = box.run(argv, files, limits, stdin=stdin, env=dict(tc.env))
    if result.error:
        return Outcome.unknown("sandbox", result.error)
    answers: dict[str, IdeResponse] = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                if obj.get("kind") == "response":
                    reply = IdeResponse.model_validate(obj)
                    answers[reply.query_id] = reply
            except (ValueError, ValidationError):
                return Outcome.unknown("crash", f"F*'s output is unreadable: {line[:200]}")
    prefix, cand = answers.get(f"p-{nonce}"), answers.get(f"c-{nonce}")
    if prefix is None or cand is None:
        reason = "memory" if died_of_memory(result) else \
            {"wall": "timeout", "cpu": "timeout"}.get(result.limit_hit or "", "crash")
        return Outcome(status="unknown", reason=reason, diagnostics=[Diagnostic(
            message=f"F* stopped before answering (exit {result.exit_code}, signal {result.signal}, limit "
                    f"{result.limit_hit}): {result.stderr.strip()[-300:]}")])
    if prefix.status != "success":
        return Outcome.unknown("toolchain", f"the task's context does not load in F*: {str(prefix.response)[:500]}")
    return _judge(cand, body_line)


def check(task: Task, candidate: Candidate, *, sandbox: Sandbox | None = None, efficiency: str | None = None,
          toolchain: Toolchain | None = None, pool: ProcessPool | None = None, precheck: bool = True) -> Verdict:
    """Verify one F* definition (see the module docstring). Never raises for anything the candidate does."""
    return SETUP.check(task, candidate, sandbox=sandbox, toolchain=toolchain, pool=pool,
                       manifest=lambda box, tc: manifest(task, box, efficiency, tc),
                       prepare=lambda: _prepare(task, candidate, precheck))


def _prepare(task: Task, candidate: Candidate, precheck: bool) -> Outcome | ProverJob:
    """The code F* checks (scaffolding, the task's `val`, the candidate's definition), ready to run; or why the
    candidate is refuted before F* sees it."""
    opts = options_of(task)
    if precheck:
        found = _lexical(candidate.text, opts.short_name())
        if found is not None:
            return Outcome(status="refuted", reason="audit", diagnostics=[found])
    head = scaffolding(opts) + task.statement.rstrip() + "\n"
    code = head + candidate.text.rstrip() + "\n"
    body_line = head.count("\n") + 1
    return ProverJob(
        once=lambda box, tc: _run_oneshot(box, tc, task, opts, code, body_line),
        pooled=lambda pool: _run_pooled(pool, task, opts, code, body_line),
        # the include directories are read by the F* process: bound into its sandbox with the toolchain's
        pool_for=lambda tc, box: default_pool(tc, with_binds(box, (*tc.ro_paths, *opts.include_dirs))))
