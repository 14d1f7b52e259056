"""The Coq checker: whole proof scripts, compiled by `coqc` in the sandbox.

A task gives the file text before the theorem (`context`), the theorem
(`statement`) and `options` (see `CoqOptions`). The checker writes

    Task.v = context + the statement under a fresh name, admitted
             + statement + Proof. + candidate + Qed. + closers
             + the exported-type comparison + a marker + Print Assumptions <name>.

and compiles it with `coqc -q`. The candidate is verified only when the
audit (coq_audit.py) accepts its text, coqc exits 0, the theorem exported
after the closers has exactly the type of the task's statement, and the
axioms printed after the marker are among those the task's reference proof
uses (computed once per task by checking the reference the same way, then
cached).

Why the type comparison: a theorem in a Section is exported with the section
variables its proof used. A proof that uses a hypothesis the statement does
not need proves a weaker theorem (`False -> 1 = 2`) whose proof is closed.
The fresh-named copy of the statement is admitted with an explicit `Proof
using` (the task's own, else the one Coq suggests for the reference proof,
else none beyond the statement's), so its type is the task's; after the
closers, a command of proofsmith's own checks with `constr_eq` that the
candidate's theorem has that very type. The copy is an axiom: citing it
fails the assumption check.

Repeated checks of one task are cheap through a compiled prefix: where the
theorem is at top level, `Prefix.v` = context + statement + `Admitted.` is
compiled once to `Prefix.vo`; each candidate then goes in a small file that
`Require`s it, states the theorem again and proves it, and must show with
`constr_eq` that its statement is the very term `Prefix` elaborated. The
admitted `Prefix.<name>` is an axiom, so citing it fails the assumption check.
A task whose reference proof does not go through that path is checked cold.

Outcomes: a Coq error or a failed audit -> refuted with Coq's message
(positions relative to the candidate); coqc killed by the time or memory
limit -> refuted (timeout / memory_limit: the reference proof fits them),
or unknown (overload) where the run-queue delay shows the machine starved
coqc; anything else broken -> unknown with the reason.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from proofsmith.provers.coq_audit import audit_script
from proofsmith.provers.coq_dependencies import (FETCHING_NOTE, HAMMER_IMPORT, PRINTER_HEADERS, about_commands,
                                                 dependency_commands, dependency_marker, forbidden_libraries,
                                                 forbidden_uses, parse_dependencies, parse_paths)
from proofsmith.provers.coq_text import head_words, split_sentences, strip_comments
from proofsmith.provers.prover_check import CheckFrame, Outcome, checker_manifest, checker_version, tool_version
from proofsmith.sandbox import RunResult, Sandbox, get_sandbox
from proofsmith.sandbox.supervise import overload
from proofsmith.schema import Candidate, Diagnostic, Limits, Manifest, Resources, Task, Verdict, task_options

#: The compiler; `PROOFSMITH_COQC` overrides it (tests use it to simulate a missing Coq).
COQC = os.environ.get("PROOFSMITH_COQC", "/usr/bin/coqc")
INSTALL_HINT = "coqc not found: install Coq (`apt-get install coq libcoq-stdlib`, or `make install`)"
#: Changes whenever the checker's code does, so cached verdicts of older code are not reused.
CHECKER_VERSION = checker_version(__file__, ("coq.py", "coq_audit.py", "coq_dependencies.py", "coq_text.py",
                                             "source_lexer.py", "prover_check.py"))

Mode = Literal["auto", "cold", "prefix"]
#: coqc flags a task may ask for (the libraries' own build flags, notes/datasets.md 3.4 item 5).
ALLOWED_FLAGS = frozenset({"-noinit", "-indices-matter", "-type-in-type", "-impredicative-set"})
_MARKER = "ps_audit_marker_"


class CoqOptions(BaseModel):
    """What `Task.options` holds for a Coq task."""

    model_config = ConfigDict(extra="ignore")

    #: `[["-R", dir, logical], ["-Q", dir, logical], ...]`
    load_paths: list[tuple[Literal["-R", "-Q"], str, str]] = Field(default_factory=list)
    #: extra coqc flags, from ALLOWED_FLAGS
    flags: list[str] = Field(default_factory=list)
    #: the theorem's name as `Print Assumptions` must see it after the closers (e.g. `M.foo`)
    name: str
    #: `End X.` sentences closing the Sections/Modules open at the theorem, innermost first
    closers: str = ""
    #: the original `Proof ...` sentence (`Proof using x.`, `Proof with auto.`)
    proof_command: str = "Proof."
    #: allow the compiled-prefix speed-up for this task
    cache_prefix: bool = True
    #: proofsmith adds `HAMMER_IMPORT` after the context, so proofs may use CoqHammer's tactics (`sauto`,
    #: `hauto`, reconstructions; they need no ATPs) and `lia`; recorded in the verdict's manifest
    hammer: bool = False
    #: the library the theorem comes from (`Coq.ZArith.Zeven`): with `hammer`, a proof may not depend on it or
    #: on a library that needs it, since the hammer's imports load them (`coq_dependencies`)
    library: str = ""


def context_of(task: Task, opts: CoqOptions) -> str:
    """The task's context as checked: its own text, then the imports its options allow proofsmith to add."""
    return _joined(task.context, HAMMER_IMPORT) if opts.hammer else task.context


def options_of(task: Task) -> CoqOptions:
    """The task's Coq options, validated (raises ValueError with a one-line message)."""
    opts = task_options(task, CoqOptions)
    bad = [f for f in opts.flags if f not in ALLOWED_FLAGS]
    if bad:
        raise ValueError(f"task {task.id}: coqc flag {bad[0]!r} is not allowed (use one of {sorted(ALLOWED_FLAGS)})")
    if not re.fullmatch(r"[A-Za-z_][\w'.]*", opts.name):
        raise ValueError(f"task {task.id}: options.name {opts.name!r} is not a Coq name")
    if not re.fullmatch(r"Proof(\s+(using|with)\b[^.]*)?\.", opts.proof_command.strip()):
        raise ValueError(f"task {task.id}: options.proof_command must be `Proof.`, `Proof using ...` or `Proof with ...`")
    return opts


def validate(task: Task) -> str | None:
    """A one-line problem with a Coq task, or None when it can be checked."""
    if not coq_version():
        return INSTALL_HINT
    try:
        opts = options_of(task)
    except ValueError as exc:
        return str(exc)
    for _, directory, _ in opts.load_paths:
        if not os.path.isdir(directory):
            return f"task {task.id}: load path {directory} does not exist (is its libcoq-* package installed?)"
    words = head_words(task.statement, 1)
    if not words or split_sentences(task.statement).problem is not None:
        return f"task {task.id}: the statement must be one Coq sentence ending with '.'"
    if renamed_statement(task.statement, opts.name.rsplit(".", 1)[-1], "x") is None:
        return f"task {task.id}: {STATEMENT_HINT}"
    return None


@functools.cache
def coq_version() -> str | None:
    """`coqc --print-version` (e.g. `8.16.1 4.13.1`), or None when coqc is missing."""
    if not (os.path.isfile(COQC) and os.access(COQC, os.X_OK)) and shutil.which(COQC) is None:
        return None
    return tool_version([COQC, "--print-version"])


def manifest(task: Task, sandbox: Sandbox, efficiency: str | None) -> Manifest:
    """The manifest every verdict of this checker carries."""
    opts = task.options
    return checker_manifest("coq", CHECKER_VERSION, task, sandbox,
                            toolchain={"coqc": coq_version() or "missing", "coqc_path": COQC},
                            options={"load_paths": opts.get("load_paths", []), "flags": opts.get("flags", []),
                                     **({"hammer": True} if opts.get("hammer") else {})})


def coqc_limits(limits: Limits) -> Limits:
    """coqc needs ~0.5-0.8 GB and writes a .vo: at least 2 GB and room for files and output."""
    return Limits(
        wall_s=limits.wall_s,
        cpu_s=max(limits.cpu_s, limits.wall_s),
        memory_mb=max(2048, limits.memory_mb),
        pids=16,
        output_bytes=64 << 20,
        file_size_mb=128,
        open_files=256,
    )


#: findlib's configuration, which coqc reads to find its plugins; /etc is not in the sandbox.
FINDLIB_CONF = 'destdir="/tmp"\npath="/usr/local/lib/ocaml/4.13.1:/usr/lib/ocaml:/usr/lib/ocaml/METAS"\n'
#: Where Debian's CoqHammer keeps `htimeout` and `predict`: its plugin runs the ATPs through `htimeout` found
#: on PATH, so without this directory every cvc4 and z3 call fails and only eprover is left.
HAMMER_LIBEXEC = "/usr/libexec/coq-hammer"
#: Environment for every Coq process in the sandbox.
COQ_ENV = {"OCAMLFIND_CONF": "/work/findlib.conf", "PATH": f"/usr/local/bin:/usr/bin:/bin:{HAMMER_LIBEXEC}"}


def coq_files(files: dict[str, str | bytes]) -> dict[str, str | bytes]:
    """`files` plus what Coq itself needs in the work dir."""
    return {"findlib.conf": FINDLIB_CONF, **files}


def coqc_argv(opts: CoqOptions, filename: str) -> list[str]:
    """The coqc command line for one file in the sandbox's work dir."""
    argv = [COQC, "-q", "-w", "-all", *opts.flags]
    for flag, directory, logical in opts.load_paths:
        argv += [flag, directory, logical]
    return [*argv, filename]


# --------------------------------------------------------------------------- files


class ProofFile(BaseModel):
    """A generated `.v` file and where the candidate's text sits in it."""

    text: str
    #: 1-based line of the candidate's first line
    body_line: int
    body_lines: int
    marker: str
    #: 1-based line of the `Proof ...` sentence, and whether the candidate wrote it
    command_line: int = 0
    command_is_candidates: bool = False
    #: the message of the exported-type comparison's failure (None: the file has no comparison)
    type_mismatch: str | None = None
    #: the marker `Print All Dependencies` prints after, just before `marker` (None: no dependency print)
    dependencies: str | None = None


def _joined(*parts: str) -> str:
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts if p)


def cold_file(task: Task, opts: CoqOptions, body: str, proof_command: str | None, *,
              expected_using: str | None = None, suggest: bool = False, dependencies: bool = False) -> ProofFile:
    """Task.v for a cold check: the whole prefix, the proof, the closers, the type check, the assumption print.

    `expected_using` (a `Proof using ...` sentence) adds the statement under a
    fresh name, admitted with it, and the comparison of the exported types
    after the closers; `suggest` asks Coq which `Proof using` the proof needs
    (for the reference proof, see `suggested_using`); `dependencies` prints
    every constant the theorem depends on (see `coq_dependencies`).
    """
    marker = _MARKER + secrets.token_hex(8)
    short = opts.name.rsplit(".", 1)[-1]
    expected: list[str] = []
    compare: list[str] = []
    mismatch = None
    if expected_using is not None:
        twin = f"ps_expected_{secrets.token_hex(6)}"
        renamed = renamed_statement(task.statement, short, twin)
        if renamed is None:
            raise ValueError(f"task {task.id}: {STATEMENT_HINT}")
        expected = [renamed, expected_using, "Admitted."]
        qualifier = opts.name[: -len(short)]
        mismatch = f"ps_type_mismatch_{secrets.token_hex(8)}"
        compare = [f"Goal True. let a := type of @{opts.name} in let b := type of @{qualifier}{twin} in "
                   f"tryif constr_eq a b then exact I else fail \"{mismatch}\". Qed."]
    command = proof_sentence(opts, proof_command)
    before = _joined(context_of(task, opts), *expected, "Set Suggest Proof Using." if suggest else "",
                     task.statement)
    head = before + _joined(command)
    deps = dependency_marker() if dependencies else None
    tail = _joined("Qed.", opts.closers, *compare, f"Locate {marker}.", f"Print Assumptions {opts.name}.",
                   *(dependency_commands(opts.name, deps) if deps else ()))
    return ProofFile(text=head + _joined(body) + tail, body_line=head.count("\n") + 1,
                     body_lines=body.count("\n") + 1, marker=marker, command_line=before.count("\n") + 1,
                     command_is_candidates=command != opts.proof_command, type_mismatch=mismatch, dependencies=deps)


#: statements proofsmith can restate under another name (the loader's keywords, with attributes and modifiers)
_STATEMENT_HEAD = re.compile(
    r"\s*(?:#\[[^\]]*\]\s*)*(?:(?:Local|Global|Polymorphic|Monomorphic|Private)\s+)*"
    r"(?:Theorem|Lemma|Remark|Fact|Corollary|Proposition|Property|Example)\s+([A-Za-z_][\w']*)(?![\w'])")
STATEMENT_HINT = ("the statement must be `Theorem NAME ...` (or Lemma, Remark, Fact, Corollary, Proposition, "
                  "Property, Example) with NAME the last part of options.name")


def renamed_statement(statement: str, short: str, new: str) -> str | None:
    """The statement with its theorem's name `short` replaced by `new` (comments dropped); None when it is not one."""
    code = strip_comments(statement)
    m = _STATEMENT_HEAD.match(code)
    if m is None or m.group(1) != short:
        return None
    return code[:m.start(1)] + new + code[m.end(1):]


_PROOF_USING = re.compile(r"Proof\s+using\b(.*?)(?:\s+with\b.*)?\.", re.DOTALL)


def proof_sentence(opts: CoqOptions, candidates: str | None) -> str:
    """The `Proof ...` sentence the proof runs under: the candidate's, except that a task's `Proof using` stays."""
    if candidates is None or _PROOF_USING.fullmatch(opts.proof_command.strip()):
        return opts.proof_command
    return candidates


def expected_using(opts: CoqOptions, suggested: str | None) -> str:
    """The `Proof using` that fixes the task's exported type: the task's own, else Coq's suggestion for the
    reference proof, else only the statement's own section variables (`Proof using .`)."""
    m = _PROOF_USING.fullmatch(opts.proof_command.strip())
    if m:
        return f"Proof using {m.group(1).strip()}."
    return suggested or "Proof using ."


def suggested_using(stdout: str, short: str) -> str | None:
    """The first `Proof using ...` Coq suggested for theorem `short` (`Set Suggest Proof Using`), or None.

    Only read from the reference proof's run, whose text is the task's own.
    """
    found = None
    # Coq's printer breaks long lines anywhere between words: match across whitespace.
    for m in re.finditer(r"The\s+proof\s+of\s+(\S+)\s+should\s+start\s+with\s+one\s+of\s+the\s+following\s+"
                         r"commands:\s*(Proof\s+using\b[^.]*\.)(?=\s|\Z)", re.sub(r"</?infomsg>", "", stdout)):
        if m.group(1) == short:
            found = " ".join(m.group(2).split())
    return found


_REISSUE_FIRST = {"Require", "From"}
_REISSUE_AFTER = {"Import", "Export", "Open", "Set", "Unset"}


def _reissued(context: str) -> tuple[list[str], list[str]]:
    """Sentences of the prefix that `Require Import Prefix.` does not bring back: loads, imports, scopes, flags."""
    first: list[str] = []
    after: list[str] = []
    for sentence in split_sentences(context).sentences:
        words = head_words(sentence.text, 2)
        if words[:1] and words[0] in ("Local", "Global") and len(words) > 1:
            words = words[1:]
        if words[:1] and words[0] in _REISSUE_FIRST:
            first.append(sentence.text)
        elif words[:1] and words[0] in _REISSUE_AFTER:
            after.append(sentence.text)
    return first, after


def prefix_source(task: Task, opts: CoqOptions) -> str:
    """Prefix.v: the context and the statement, admitted, so its elaborated type is kept."""
    return _joined(context_of(task, opts), task.statement, "Admitted.")


def prefixed_file(task: Task, opts: CoqOptions, body: str, proof_command: str | None, *,
                  dependencies: bool = False) -> ProofFile:
    """Task.v on top of Prefix.vo: reloads, restates, proves, compares the statement, prints assumptions."""
    first, after = _reissued(context_of(task, opts))
    short = opts.name.rsplit(".", 1)[-1]
    command = proof_sentence(opts, proof_command)
    before = _joined(*first, "Require Import Prefix.", *after, task.statement)
    head = before + _joined(command)
    marker = _MARKER + secrets.token_hex(8)
    same = (f"Goal True. let a := type of @{short} in let b := type of @Prefix.{short} in "
            f"constr_eq a b; exact I. Qed.")
    deps = dependency_marker() if dependencies else None
    tail = _joined("Qed.", same, f"Locate {marker}.", f"Print Assumptions {short}.",
                   *(dependency_commands(short, deps) if deps else ()))
    return ProofFile(text=head + _joined(body) + tail, body_line=head.count("\n") + 1,
                     body_lines=body.count("\n") + 1, marker=marker, command_line=before.count("\n") + 1,
                     command_is_candidates=command != opts.proof_command, dependencies=deps)


# --------------------------------------------------------------------------- output


#: One located message of coqc: `File "<path>", line N, characters A-B:` and its text, up to the next one.
_LOCATED = re.compile(r'File "([^"\n]*)", line (\d+), characters (\d+)-(\d+):\n(.*?)(?=\nFile "|\Z)', re.DOTALL)
#: The file every generated proof is compiled as (prefix mode compiles `Prefix.v` separately, unparsed).
CHECKED_FILE = "Task.v"


def parse_error(stderr: str, pf: ProofFile, filename: str = CHECKED_FILE) -> tuple[Diagnostic, str]:
    """Coq's first error in the checked file as a Diagnostic relative to the candidate, and where it was.

    Where: `body`, `command` (the candidate's own `Proof ...` sentence), `before` (the task's text),
    `after` (Qed, closers and proofsmith's own commands) or `unknown`. Only locations in `filename`
    count: other tools coqc runs (the native compiler reports its generated `.ml` at line 1) are
    never read as the task's context.
    """
    for m in _LOCATED.finditer(stderr):
        if m.group(1).rsplit("/", 1)[-1] != filename:
            continue
        message = m.group(5).strip()
        if not message.startswith("Error") and "Error:" not in message:
            continue
        message = message.split("Error:", 1)[-1].strip() if message.startswith("Error") else message
        line, col = int(m.group(2)), int(m.group(3))
        if line == pf.command_line and pf.command_is_candidates:
            return Diagnostic(message=message), "command"
        rel = line - pf.body_line + 1
        if rel < 1:
            return Diagnostic(message=message), "before"
        if rel > pf.body_lines:
            return Diagnostic(message=message), "after"
        return Diagnostic(message=message, line=rel, column=col), "body"
    tail = stderr.strip()[-1500:] or "coqc failed without a message"
    return Diagnostic(message=tail.split("Error:", 1)[-1].strip()), "unknown"



def parse_assumptions(stdout: str, marker: str) -> frozenset[str] | None:
    """The assumption lines `Print Assumptions` printed after the marker (None when the marker is missing).

    Each assumption is its name and type as printed: an entry starts at
    column 0, and indented lines continue it. Only Coq's own fixed lines
    (the headers, `Closed under the global context`, coqtop's `Fetching ...
    from disk for <library>`) are skipped, by their whole text: an entry is
    a name followed by ` : ` or a lone identifier, so no name can pose as
    one of them, and whatever else is printed counts as an assumption.
    """
    at = stdout.rfind(marker)
    if at < 0:
        return None
    lines = re.sub(r"</?infomsg>", "", stdout[at:]).splitlines()[1:]
    found: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if not line[:1].isspace() and (text in PRINTER_HEADERS or FETCHING_NOTE.fullmatch(text)):
            continue
        if line[:1].isspace() and found:
            found[-1] += " " + text
        else:
            found.append(text)
    return frozenset(" ".join(a.split()) for a in found)


# --------------------------------------------------------------------------- runs


class Run(BaseModel):
    """One coqc run of a generated file."""

    result: RunResult
    file: ProofFile


def run_coqc(sandbox: Sandbox, task: Task, opts: CoqOptions, pf: ProofFile,
             extra_files: dict[str, bytes] | None = None) -> Run:
    """Compile `pf` as Task.v in a fresh sandbox."""
    files = coq_files({"Task.v": pf.text, **(extra_files or {})})
    result = sandbox.run(coqc_argv(opts, "Task.v"), files, coqc_limits(task.limits), env=COQ_ENV)
    return Run(result=result, file=pf)


def _cache_root() -> Path:
    from proofsmith.verdict_cache import cache_dir

    return cache_dir() / "coq"


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _task_key(task: Task) -> str:
    return _key(task.context, task.statement, task.reference or "", json.dumps(task.options, sort_keys=True),
                coq_version() or "", CHECKER_VERSION)


class _Store:
    """Small on-disk JSON/bytes store under the cache dir; best effort, never fatal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memory: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        with self._lock:
            if name in self._memory:
                return self._memory[name]
        try:
            data = (_cache_root() / name).read_bytes()
        except OSError:
            return None
        with self._lock:
            self._memory[name] = data
        return data

    def put(self, name: str, data: bytes) -> None:
        with self._lock:
            self._memory[name] = data
        path = _cache_root() / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            pass


_STORE = _Store()
_TASK_LOCKS: dict[str, threading.Lock] = {}
_TASK_LOCKS_GUARD = threading.Lock()


def _task_lock(key: str) -> threading.Lock:
    with _TASK_LOCKS_GUARD:
        return _TASK_LOCKS.setdefault(key, threading.Lock())


class Reference(BaseModel):
    """What checking the task's reference proof once established, per mode."""

    ok: bool
    #: assumptions the reference proof uses, as printed in that mode's file
    axioms: list[str] = Field(default_factory=list)
    message: str | None = None
    #: the `Proof using ...` Coq suggested for the reference proof (cold mode, in a Section), else None
    suggested_using: str | None = None

    def expected_using(self, opts: CoqOptions) -> str:
        """The `Proof using` sentence the task's exported type is fixed by (see `expected_using`)."""
        return expected_using(opts, self.suggested_using)


def compiled_prefix(sandbox: Sandbox, task: Task, opts: CoqOptions) -> bytes | None:
    """Prefix.vo for the task (compiled once, then from the cache), or None when it does not compile."""
    key = "prefix/" + _task_key(task) + ".vo"
    data = _STORE.get(key)
    if data is not None:
        return data or None
    argv = ["/bin/sh", "-c", '"$@" >&2 && base64 -w0 Prefix.vo', "sh", *coqc_argv(opts, "Prefix.v")]
    result = sandbox.run(argv, coq_files({"Prefix.v": prefix_source(task, opts)}), coqc_limits(task.limits),
                         env=COQ_ENV)
    if not result.ok or result.stdout_truncated:
        if result.limit_hit is None and result.error is None:
            _STORE.put(key, b"")  # it does not compile: remember, do not retry every check
        return None
    data = base64.b64decode(result.stdout)
    _STORE.put(key, data)
    return data


def _reference_check(sandbox: Sandbox, task: Task, opts: CoqOptions, mode: str) -> Reference:
    body = task.reference or ""
    if mode == "prefix":
        vo = compiled_prefix(sandbox, task, opts)
        if vo is None:
            return Reference(ok=False, message="the prefix does not compile on its own")
        run = run_coqc(sandbox, task, opts, prefixed_file(task, opts, body, None), {"Prefix.vo": vo})
    else:
        run = run_coqc(sandbox, task, opts, cold_file(task, opts, body, None, suggest=True))
    res = run.result
    if not res.ok:
        diag, _ = parse_error(res.stderr, run.file)
        why = f"{res.limit_hit} limit" if res.limit_hit else diag.message
        return Reference(ok=False, message=f"the reference proof does not check ({mode}): {why}")
    axioms = parse_assumptions(res.stdout, run.file.marker)
    if axioms is None:
        return Reference(ok=False, message="no Print Assumptions output")
    suggested = suggested_using(res.stdout, opts.name.rsplit(".", 1)[-1]) if mode == "cold" else None
    ref = Reference(ok=True, axioms=sorted(axioms), suggested_using=suggested)
    if mode == "cold" and opts.closers.strip():
        # A theorem in a Section: the reference must pass the exported-type check candidates face, or no
        # candidate proving the same theorem could.
        again = run_coqc(sandbox, task, opts, cold_file(task, opts, body, None,
                                                        expected_using=ref.expected_using(opts)))
        if not again.result.ok:
            diag, _ = parse_error(again.result.stderr, again.file)
            why = (f"{again.result.limit_hit} limit" if again.result.limit_hit
                   else "its theorem's type is not the one its `Proof using` fixes"
                   if again.file.type_mismatch and again.file.type_mismatch in diag.message else diag.message)
            return Reference(ok=False, message=f"the reference proof does not check ({mode}): {why}")
    return ref


def reference(sandbox: Sandbox, task: Task, opts: CoqOptions, mode: str) -> Reference:
    """The reference proof's outcome in `mode` (cold or prefix), computed once per task and cached.

    A task without a reference proof allows no assumptions at all.
    """
    if not task.reference:
        return Reference(ok=True, axioms=[])
    key = f"reference/{mode}/{_task_key(task)}.json"
    with _task_lock(key):
        data = _STORE.get(key)
        if data is not None:
            return Reference.model_validate_json(data)
        ref = _reference_check(sandbox, task, opts, mode)
        # Timeouts are the machine's state, not the task's: only cache a decided outcome.
        if ref.ok or (ref.message and "limit" not in ref.message):
            _STORE.put(key, ref.model_dump_json().encode())
        return ref


def choose_mode(sandbox: Sandbox, task: Task, opts: CoqOptions, mode: Mode = "auto") -> str:
    """`prefix` when the task allows it and its reference proof passes that way, else `cold`."""
    if mode != "auto":
        return mode
    if not opts.cache_prefix or opts.closers.strip() or not task.reference:
        return "cold"
    return "prefix" if reference(sandbox, task, opts, "prefix").ok else "cold"


# --------------------------------------------------------------------------- check


def check(task: Task, candidate: Candidate, *, sandbox: Sandbox | None = None, efficiency: str | None = None,
          mode: Mode = "auto") -> Verdict:
    """Verify one Coq proof script. Never raises for anything the candidate does."""
    box = sandbox or get_sandbox("auto")
    started = time.monotonic()
    # no resources until coqc has run the candidate (the reference's and the prefix's runs are not its own)
    frame = CheckFrame(task, candidate, manifest(task, box, efficiency), started, resources=Resources())
    if not coq_version():
        return frame.verdict(Outcome.unknown("toolchain", INSTALL_HINT))
    opts = options_of(task)
    audit = audit_script(candidate.text)
    if not audit.ok:
        return frame.verdict(Outcome(status="refuted", reason="audit", diagnostics=[
            Diagnostic(message=audit.message or "", line=audit.line, column=audit.column)]))
    chosen = choose_mode(box, task, opts, mode)
    vo = compiled_prefix(box, task, opts) if chosen == "prefix" else None
    if vo is None:
        chosen = "cold"
    ref = reference(box, task, opts, chosen)
    if not ref.ok:
        return frame.verdict(Outcome.unknown("toolchain", ref.message or "the reference does not check"))
    forbidden = forbidden_libraries(task)
    if forbidden is None:
        return frame.verdict(Outcome.unknown("toolchain", FORBIDDEN_HINT))
    extra = {"Prefix.vo": vo} if vo is not None else None
    if vo is not None:
        pf = prefixed_file(task, opts, audit.body, audit.proof_command, dependencies=bool(forbidden))
    else:
        pf = cold_file(task, opts, audit.body, audit.proof_command, expected_using=ref.expected_using(opts),
                       dependencies=bool(forbidden))
    run = run_coqc(box, task, opts, pf, extra)
    frame.measure(run.result)
    outcome = _judge(task, opts, ref, run)
    if outcome.status == "verified" and forbidden:
        outcome = _judge_dependencies(box, task, opts, run, forbidden, extra)
    return frame.verdict(outcome)


FORBIDDEN_HINT = ("the hammer option loads the task's own library, and which loaded libraries need it cannot be "
                  "read (install Coq's sources, or leave the hammer option out)")


def _judge_dependencies(box: Sandbox, task: Task, opts: CoqOptions, run: Run, forbidden: frozenset[str],
                        extra: dict[str, bytes] | None) -> Outcome:
    """Refuted when the verified proof depends on a constant of a forbidden library (see `coq_dependencies`).

    The printed names are resolved by a second run of the same file with an
    `About` per name appended, so they are read in the scope they were printed in.
    """
    marker = run.file.dependencies
    out = run.result.stdout
    start = out.rfind(marker) if marker else -1
    names = parse_dependencies(out[start + len(marker or ""):]) if start >= 0 else None
    if names is None:
        return Outcome.unknown("internal", "coqc printed no readable dependency list")
    about = dependency_marker()
    again = run_coqc(box, task, opts, run.file.model_copy(
        update={"text": _joined(run.file.text, *about_commands(names, about))}), extra)
    if not again.result.ok:
        return Outcome.unknown("internal", "the dependency lookup did not run: "
                                           f"{again.result.limit_hit or again.result.error or 'coqc failed'}")
    paths = parse_paths(again.result.stdout, names, about)
    if paths is None:
        return Outcome.unknown("internal", "coqc printed no readable path for a dependency")
    used = forbidden_uses(paths, forbidden)
    if used:
        return Outcome(status="refuted", reason="dependencies", diagnostics=[
            Diagnostic(message=f"the proof depends on {p}, from a library that is not available where the theorem "
                               f"stands (the hammer option loads it)") for p in used[:10]])
    return Outcome(status="verified")


def _before_dependencies(stdout: str, pf: ProofFile) -> str:
    """`stdout` up to the dependency print, which follows the assumptions' (all of it when there is none)."""
    at = stdout.rfind(pf.dependencies) if pf.dependencies else -1
    return stdout[:stdout.rfind("\n", 0, at) + 1] if at >= 0 else stdout


def _judge(task: Task, opts: CoqOptions, ref: Reference, run: Run) -> Outcome:
    """What coqc's run of the candidate's file says of it (see the module docstring's outcomes)."""
    res = run.result
    if res.error:
        return Outcome.unknown("sandbox", res.error)
    if res.limit_hit in ("wall", "cpu"):
        # the reference proof checked within these limits: a proof that does not is the candidate's fault,
        # unless the machine measurably starved coqc (run-queue delay), which no verdict may blame on it
        busy = overload(coqc_limits(task.limits), res)
        if busy:
            return Outcome.unknown("overload", busy)
        return Outcome.refuted("timeout", f"coqc ran past {task.limits.wall_s:g} s")
    if res.limit_hit == "memory":
        return Outcome.refuted("memory_limit", "coqc ran out of its memory limit")
    if res.limit_hit == "output":
        return Outcome.refuted("output_limit", "the proof printed more than the output cap")
    if res.signal is not None or res.exit_code is None:
        return Outcome.unknown("crash", f"coqc died (signal {res.signal})")
    if res.exit_code != 0:
        diag, where = parse_error(res.stderr, run.file)
        if where == "before":
            return Outcome.unknown("toolchain", f"the task's context does not compile: {diag.message}")
        if where == "after" and run.file.type_mismatch and run.file.type_mismatch in diag.message:
            return Outcome.refuted("statement", f"the theorem exported after the closers, {opts.name}, does not have "
                                                f"the task's type: the proof uses a section variable the statement "
                                                f"does not ({ref.expected_using(opts)} fixes the ones it may)")
        if where == "after" and diag.message.startswith("Tactic failure: Not equal"):
            return Outcome.unknown("internal", "the restated theorem differs from Prefix's")
        return Outcome(status="refuted", reason="coq_error", diagnostics=[diag])
    axioms = parse_assumptions(_before_dependencies(res.stdout, run.file), run.file.marker)
    if axioms is None:
        return Outcome.unknown("internal", "coqc printed no assumptions")
    extra = sorted(axioms - set(ref.axioms))
    if extra:
        return Outcome(status="refuted", reason="axioms", diagnostics=[
            Diagnostic(message=f"the proof uses an assumption the reference proof does not: {a}") for a in extra])
    return Outcome(status="verified")
