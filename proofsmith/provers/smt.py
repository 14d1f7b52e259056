"""The SMT checker: a synthesized function verified for all inputs by Z3, or a counterexample.

A task is SyGuS-like. `Task.options` (see `SmtOptions`) gives the signature:
parameters and result, each of sort `u<w>` (a w-bit unsigned value, which the
Python function receives as an int in [0, 2**w)), `i<w>` (w-bit signed, an int
in [-2**(w-1), 2**(w-1))), `int` (an unbounded integer) or `bool`; the
specification as an SMT-LIB formula over the parameters and `result` (`spec`),
and/or a reference implementation (`Task.reference`, Python in the supported
subset or an SMT-LIB term) whose equivalence is the spec; and an optional
`precondition` on the inputs. In SMT-LIB, `u<w>` and `i<w>` are both
`(_ BitVec w)` (the spec chooses signed or unsigned operators).

The candidate is a Python function (`candidate_format: python`, the default)
in the subset of `smt_python`, or an SMT-LIB term over the parameters
(`smtlib`).

Semantics of Python candidates, written down here because Python ints are
unbounded: the function runs on the inputs as Python ints (the ranges above),
with Python's own arithmetic (no overflow, floor division, arithmetic `>>`);
only its return value is cut to the result's width, taken mod 2**w (for
`i<w>` results, the same bit pattern: -1 and 2**w - 1 are the same result).
A `bool` result is the truth value of what the function returns; an `int`
result is the value itself (True counts as 1). A run that raises (division by
zero, negative shift count, failed assert) or returns None fails the spec.

Verdicts: Z3 proves `precondition and not (no failure and spec(candidate))`
unsatisfiable -> verified. A model -> refuted, with the counterexample input,
the expected output (the reference's, where the task has one) and the actual
output; for Python candidates the checker then runs the candidate on that input
in the sandbox and reports what the run returned (if the run disagrees with
Z3's prediction, the verdict is unknown/internal, never a wrong refutation).
Z3 timeout, `unknown`, or a Z3 killed by the sandbox -> unknown with the
reason. A Python candidate outside the subset, or an ill-formed SMT-LIB term,
is refuted with a message naming the construct.

Z3 runs as the `z3` binary of the `z3-solver` wheel inside the sandbox (bwrap,
with the binary bound read-only; or the process sandbox), with the task's wall
and memory limits, killed from outside when it overruns; its own soft timeout
(`-t`), hard timeout (`-T`), memory cap and random seeds are set below the
sandbox's and recorded in the manifest. The query is built in the trusted
process (term construction only: nothing is solved there).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar, Literal

import z3
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith import __version__
from proofsmith.provers import smt_sexpr
from proofsmith.provers.smt_python import Param, Unsupported, Val, as_int, extend, translate
from proofsmith.sandbox import RunResult, Sandbox, SandboxUnsupported, get_sandbox
from proofsmith.schema import Candidate, Diagnostic, Limits, Manifest, Resources, Task, Verdict, task_options

#: Where the Z3 binary appears inside the bwrap sandbox.
SANDBOX_Z3 = "/opt/proofsmith/z3"
INSTALL_HINT = "z3 not found: `pip install z3-solver` (or `make install`), or point PROOFSMITH_Z3 at a z3 binary"
CHECKER_VERSION = "1+" + hashlib.sha256(
    b"".join(Path(__file__).with_name(n).read_bytes() for n in ("smt.py", "smt_python.py", "smt_sexpr.py"))
).hexdigest()[:12]
_SORT = re.compile(r"^(?:(u|i)(\d+)|int|bool)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = frozenset({"result", "true", "false", "let", "forall", "exists", "ite", "not", "and", "or", "distinct"})


def z3_binary() -> str | None:
    """The z3 executable: $PROOFSMITH_Z3, the one beside this Python (the z3-solver wheel's), or on PATH."""
    override = os.environ.get("PROOFSMITH_Z3")
    if override:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    beside = Path(sys.executable).parent / "z3"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside.resolve())
    found = shutil.which("z3")
    return str(Path(found).resolve()) if found else None


@functools.cache
def z3_version(binary: str | None = None) -> str | None:
    """`z3 --version` (e.g. `Z3 version 5.4.1 - 64 bit`), or None when Z3 is missing or broken."""
    binary = binary or z3_binary()
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "--version"], check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


class SmtOptions(BaseModel):
    """What `Task.options` holds for an SMT task (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    #: `[[name, sort], ...]` in call order
    params: list[tuple[str, str]] = Field(min_length=1)
    result: str
    #: SMT-LIB Bool formula over the parameters and `result`
    spec: str | None = None
    #: SMT-LIB Bool formula over the parameters; inputs outside it do not count
    precondition: str | None = None
    candidate_format: Literal["python", "smtlib"] = "python"
    #: Z3's own timeout, seconds (default: 70 % of the wall limit); above the wall limit the sandbox kills Z3
    solver_timeout_s: float | None = Field(None, gt=0)
    seed: int = 0


def options_of(task: Task) -> SmtOptions:
    """The task's SMT options, validated; ValueError with a one-line message."""
    opts = task_options(task, SmtOptions)
    for name, sort in [*opts.params, ("result", opts.result)]:
        match = _SORT.match(sort)
        if match is None or (match.group(2) and not 1 <= int(match.group(2)) <= 256):
            raise ValueError(f"task {task.id}: sort {sort!r} of {name}: use u<w> or i<w> (1 <= w <= 256), int or bool")
    names = [n for n, _ in opts.params]
    for name in names:
        if not _NAME.match(name) or name in _RESERVED or name.startswith("ps_"):
            raise ValueError(f"task {task.id}: parameter name {name!r} is not allowed (an identifier, not `result`, "
                             "not starting with `ps_`)")
    if len(set(names)) != len(names):
        raise ValueError(f"task {task.id}: parameter names repeat")
    sorts = [s for _, s in opts.params] + [opts.result]
    if "int" in sorts and any(is_bitvec(s) for s in sorts):
        raise ValueError(f"task {task.id}: mix of int and bit-vector sorts: use one or the other (bool goes with both)")
    return opts


def mode_of(opts: SmtOptions) -> Literal["bv", "int"]:
    """Bit-vector mode unless some sort is an unbounded int."""
    return "int" if "int" in [s for _, s in opts.params] + [opts.result] else "bv"


def smt_sort(sort: str) -> str:
    """The SMT-LIB sort of a signature sort."""
    if sort == "int":
        return "Int"
    if sort == "bool":
        return "Bool"
    return f"(_ BitVec {sort[1:]})"


def _width(sort: str) -> int:
    return int(sort[1:])


def is_bitvec(sort: str) -> bool:
    """`u<w>` or `i<w>` (not `int`, not `bool`)."""
    return sort not in ("int", "bool")


def params_of(opts: SmtOptions, ctx: z3.Context | None = None) -> list[Param]:
    """The translator's view of the parameters (constants in `ctx`, default Z3's main context)."""
    mode = mode_of(opts)
    out = []
    for name, sort in opts.params:
        if sort == "bool":
            out.append(Param(name, z3.Bool(name, ctx), "bool"))
        elif mode == "int":
            out.append(Param(name, z3.Int(name, ctx), "int"))
        else:
            w = _width(sort)
            lo, hi = (0, (1 << w) - 1) if sort[0] == "u" else (-(1 << (w - 1)), (1 << (w - 1)) - 1)
            out.append(Param(name, z3.BitVec(name, w, ctx), "int", lo, hi, unsigned=sort[0] == "u"))
    return out


def is_smtlib(text: str) -> bool:
    """Whether a reference is an SMT-LIB term (else it is Python)."""
    return text.lstrip().startswith("(")


class Translated(BaseModel):
    """A Python function as SMT-LIB text: its result (of the result sort) and its failure code."""

    model_config = ConfigDict(extra="forbid")

    result: str
    failure: str
    messages: list[str]


def python_to_smt(source: str, entry_point: str, opts: SmtOptions) -> Translated:
    """Translate a Python function of the subset; raises `Unsupported`."""
    mode = mode_of(opts)
    # a context of its own: checks run on several threads, and z3 contexts are not thread-safe
    zctx = z3.Context()
    value, failures = translate(source, entry_point, params_of(opts, zctx), mode)
    result = _result_term(value, opts.result, mode)
    code: z3.ArithRef = z3.IntVal(0, zctx)
    for index in range(len(failures), 0, -1):  # the first failure on a path is the one Python raises
        code = z3.If(failures[index - 1].cond, z3.IntVal(index, zctx), code)
    return Translated(result=result.sexpr(), failure=code.sexpr(), messages=[f.message for f in failures])


def _result_term(value: Val, sort: str, mode: str) -> z3.ExprRef:
    if sort == "bool":
        if value.kind == "bool":
            return value.expr
        zero = z3.IntVal(0, value.expr.ctx) if mode == "int" else z3.BitVecVal(0, value.width, value.expr.ctx)
        return value.expr != zero
    value = as_int(value, mode)  # type: ignore[arg-type]
    if sort == "int":
        return value.expr
    w = _width(sort)
    if value.width >= w:
        return z3.Extract(w - 1, 0, value.expr)
    return extend(value, w)


# --------------------------------------------------------------------------- validation, manifest


def validate(task: Task) -> str | None:
    """A one-line problem with an SMT task, or None when it can be checked."""
    if z3_version() is None:
        return INSTALL_HINT
    try:
        opts = options_of(task)
    except ValueError as exc:
        return str(exc)
    if opts.spec is None and not task.reference:
        return f"task {task.id}: give a spec (options.spec, an SMT-LIB formula) or a reference implementation"
    if opts.candidate_format == "python" and not task.entry_point:
        return f"task {task.id}: a Python candidate needs an entry_point (the function's name)"
    for what, text in (("spec", opts.spec), ("precondition", opts.precondition)):
        if text is not None:
            try:
                smt_sexpr.check_term(text)
            except smt_sexpr.SExprError as exc:
                return f"task {task.id}: options.{what}: {exc}"
    if task.reference and not is_smtlib(task.reference):
        if not task.entry_point:
            return f"task {task.id}: a Python reference needs an entry_point"
        try:
            python_to_smt(task.reference, task.entry_point, opts)
        except Unsupported as exc:
            return f"task {task.id}: the reference is outside the supported Python subset: {exc}"
    return None


def solver_timeout(task: Task, opts: SmtOptions) -> float:
    """Z3's own timeout in seconds."""
    return opts.solver_timeout_s if opts.solver_timeout_s is not None else round(0.7 * task.limits.wall_s, 3)


def manifest(task: Task, sandbox: Sandbox, efficiency: str | None) -> Manifest:
    """The manifest every verdict of this checker carries: Z3's version, options, seed and limits."""
    binary = z3_binary()
    raw = task.options
    timeout = raw.get("solver_timeout_s") or round(0.7 * task.limits.wall_s, 3)
    return Manifest(
        checker="smt",
        checker_version=CHECKER_VERSION,
        proofsmith_version=__version__,
        toolchain={"z3": z3_version() or "missing", "z3_path": binary or "missing", "z3py": z3.get_version_string()},
        options={"solver_timeout_s": timeout, "seed": raw.get("seed", 0),
                 "candidate_format": raw.get("candidate_format", "python"),
                 "z3_args": _z3_flags(task.limits, timeout, raw.get("seed", 0))},
        limits=task.limits,
        sandbox=sandbox.kind,
        isolation=sandbox.layers(),
    )


def _z3_flags(limits: Limits, timeout_s: float, seed: int) -> list[str]:
    hard = max(1, int(timeout_s + 1))
    return ["-smt2", f"-t:{max(1, int(timeout_s * 1000))}", f"-T:{hard}", f"-memory:{max(64, limits.memory_mb - 64)}",
            f"smt.random_seed={seed}", f"sat.random_seed={seed}"]


# --------------------------------------------------------------------------- the sandbox


class BoundBwrap:
    """bwrap sandboxes with extra read-only binds (source -> path inside), one per set of binds, per process."""

    _lock = threading.Lock()
    _boxes: ClassVar[dict[tuple[tuple[str, str], ...], Sandbox]] = {}

    @classmethod
    def get(cls, binds: tuple[tuple[str, str], ...]) -> Sandbox:
        """The sandbox with `binds` (created on first use)."""
        with cls._lock:
            box = cls._boxes.get(binds)
            if box is None:
                from proofsmith.sandbox.bwrap import BwrapSandbox

                box = BwrapSandbox(4)
                # bound at fixed paths outside /work, which the sandbox's own work dir would hide
                # (BwrapSandbox's extra_ro binds a path at the same path)
                for source, inside in binds:
                    box._mounts = [*box._mounts, "--ro-bind", source, inside]
                cls._boxes[binds] = box
            return box


def z3_runner(sandbox: Sandbox) -> tuple[Sandbox, str]:
    """The sandbox Z3 runs in for a check given `sandbox`, and the binary's path inside it."""
    binary = z3_binary()
    if binary is None:
        raise FileNotFoundError(INSTALL_HINT)
    if sandbox.kind in ("bwrap", "warm"):
        return BoundBwrap.get(((binary, SANDBOX_Z3),)), SANDBOX_Z3
    if sandbox.kind == "process":
        return sandbox, binary
    raise SandboxUnsupported(f"the {sandbox.kind} sandbox has no Z3: use --sandbox bwrap or process for SMT tasks")


def solver_limits(limits: Limits) -> Limits:
    """Z3's process limits: the task's wall clock and memory, a few threads, small files."""
    return Limits(wall_s=limits.wall_s, cpu_s=max(limits.cpu_s, limits.wall_s), memory_mb=max(256, limits.memory_mb),
                  pids=16, output_bytes=1 << 20, file_size_mb=16, open_files=64)


# --------------------------------------------------------------------------- the query


class Query(BaseModel):
    """An SMT-LIB script and what the checker needs to read Z3's answer."""

    model_config = ConfigDict(extra="forbid")

    text: str
    #: names whose values `get-value` asks for (parameters, result, ps_failure, ps_expected?)
    values: list[str]
    failure_messages: list[str] = Field(default_factory=list)
    reference_messages: list[str] = Field(default_factory=list)
    has_expected: bool = False


def build_query(task: Task, candidate: Candidate, opts: SmtOptions) -> Query:
    """The script asking Z3 for an input where the candidate fails the spec; `Unsupported`/SExprError on bad input."""
    names = [n for n, _ in opts.params]
    rsort = smt_sort(opts.result)
    head = ["(set-option :print-success false)", "(set-option :produce-models true)", '(echo "@@candidate")']
    failure, messages = "0", []
    if opts.candidate_format == "smtlib":
        smt_sexpr.check_term(candidate.text)
        # defined before anything of the task's, so the term cannot call the reference or the spec
        formals = " ".join(f"({n} {smt_sort(s)})" for n, s in opts.params)
        head.append(f"(define-fun ps_cand ({formals}) {rsort}\n{candidate.text.strip()}\n)")
        result = f"(ps_cand {' '.join(names)})"
    else:
        translated = python_to_smt(candidate.text, task.entry_point or "", opts)
        result, failure, messages = translated.result, translated.failure, translated.messages
    body = ['(echo "@@task")']
    body += [f"(declare-const {n} {smt_sort(s)})" for n, s in opts.params]
    body.append(f"(define-fun result () {rsort} {result})")
    body.append(f"(define-fun ps_failure () Int {failure})")
    values = [*names, "result", "ps_failure"]
    ref_messages: list[str] = []
    if task.reference:
        if is_smtlib(task.reference):
            expected, ref_failure = task.reference.strip(), "0"
        else:
            ref = python_to_smt(task.reference, task.entry_point or "", opts)
            expected, ref_failure, ref_messages = ref.result, ref.failure, ref.messages
        body.append(f"(define-fun ps_expected () {rsort} {expected})")
        body.append(f"(define-fun ps_ref_failure () Int {ref_failure})")
        values += ["ps_expected", "ps_ref_failure"]
    ok = opts.spec if opts.spec is not None else "(= result ps_expected)"
    body.append(f"(define-fun ps_ok () Bool {ok})")
    if opts.precondition:
        body.append(f"(assert {opts.precondition})")
    body.append("(assert (not (and (= ps_failure 0) ps_ok)))")
    get = f"(get-value ({' '.join(values)}))"
    tail = []
    # small inputs first: a counterexample there is as real, and says more to a model than f(2046538756)
    for tier, bound in enumerate(SMALL_BOUNDS):
        small = _small_inputs(opts, bound)
        if small:
            tail += ["(push)", f"(set-option :timeout {SMALL_TIMEOUT_MS})", f"(assert {small})",
                     f'(echo "@@check_small{tier}")', "(check-sat)", f'(echo "@@model_small{tier}")', get, "(pop)"]
    tail += [f"(set-option :timeout {max(1, int(solver_timeout(task, opts) * 1000))})", '(echo "@@check")',
             "(check-sat)", '(echo "@@reason")', "(get-info :reason-unknown)", '(echo "@@model")', get,
             '(echo "@@end")']
    return Query(text="\n".join([*head, *body, *tail]) + "\n", values=values, failure_messages=messages,
                 reference_messages=ref_messages, has_expected=bool(task.reference))


#: Z3's time for each small-input search before the full one, ms.
SMALL_TIMEOUT_MS = 300
#: The small-input tiers: every numeric input in [-16, bound] (unsigned: [0, bound]), tried in order.
SMALL_BOUNDS = (15, 255)


def _small_inputs(opts: SmtOptions, bound: int) -> str | None:
    """A formula keeping every numeric parameter in [-16, bound], or None when that restricts nothing."""
    parts = []
    for name, sort in opts.params:
        if sort == "int":
            parts.append(f"(and (>= {name} (- 16)) (<= {name} {bound}))")
        elif is_bitvec(sort) and sort[0] == "u" and (1 << _width(sort)) - 1 > bound:
            parts.append(f"(bvule {name} (_ bv{bound} {_width(sort)}))")
        elif is_bitvec(sort) and sort[0] == "i" and (1 << (_width(sort) - 1)) - 1 > bound:
            w = _width(sort)
            parts.append(f"(and (bvsge {name} (bvneg (_ bv16 {w}))) (bvsle {name} (_ bv{bound} {w})))")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else f"(and {' '.join(parts)})"


def segments(stdout: str) -> dict[str, str]:
    """Z3's output split at the `@@name` echo markers."""
    out: dict[str, str] = {}
    current = None
    for line in stdout.splitlines():
        if line.startswith("@@"):
            current = line[2:].strip()
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def _errors(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r'\(error "((?:[^"]|"")*)"\)', text)]


# --------------------------------------------------------------------------- check


def check(task: Task, candidate: Candidate, *, sandbox: Sandbox | None = None, efficiency: str | None = None) -> Verdict:
    """Verify one candidate for all inputs. Never raises for anything the candidate does."""
    box = sandbox or get_sandbox("auto")
    started = time.monotonic()
    man = manifest(task, box, efficiency)
    opts = options_of(task)
    resources = Resources()

    def verdict(status: str, reason: str | None, message: str | None = None, line: int | None = None) -> Verdict:
        return Verdict(task_id=task.id, candidate_id=candidate.id, status=status, reason=reason,  # type: ignore[arg-type]
                       reward=1.0 if status == "verified" else 0.0,
                       diagnostics=[Diagnostic(message=message, line=line)] if message else [],
                       resources=resources, wall_s=time.monotonic() - started, manifest=man)

    try:
        query = build_query(task, candidate, opts)
    except Unsupported as exc:
        return verdict("refuted", "unsupported", f"unsupported construct: {exc.what}. The checker translates a "
                       "subset of Python: int and bool arithmetic, comparisons, if/else, assignments and return; "
                       "no loops, lists, strings or library calls.", exc.line)
    except smt_sexpr.SExprError as exc:
        return verdict("refuted", "syntax", f"the candidate is not one SMT-LIB term: {exc}")
    runner, binary = z3_runner(box)
    timeout = solver_timeout(task, opts)
    run = runner.run([binary, *_z3_flags(task.limits, timeout, opts.seed), "query.smt2"], {"query.smt2": query.text},
                     solver_limits(task.limits))
    resources = Resources(cpu_s=run.cpu_s, wall_s=run.wall_s, peak_memory_kb=run.peak_memory_kb,
                          limit_hit=run.limit_hit)
    if run.error:
        return verdict("unknown", "sandbox", run.error)
    if run.limit_hit in ("wall", "cpu"):
        return verdict("unknown", "timeout", f"Z3 was killed at the {run.limit_hit} limit "
                       f"({task.limits.wall_s:g} s) before it decided")
    if run.limit_hit == "memory":
        return verdict("unknown", "memory", f"Z3 was killed at the memory limit ({task.limits.memory_mb} MB)")
    parts = segments(run.stdout)
    cand_errors = _errors(parts.get("candidate", ""))
    if cand_errors:
        return verdict("refuted", "syntax", "Z3 rejected the candidate term: " + "; ".join(cand_errors[:3]))
    task_errors = _errors(parts.get("task", ""))
    if task_errors:
        return verdict("unknown", "internal", "Z3 rejected the query built from the task: " + "; ".join(task_errors[:3]))
    answer = parts.get("check", "").strip()
    if answer == "unsat":
        return verdict("verified", None)
    if answer in ("unknown", "timeout", "") or answer.startswith("(error"):
        why = parts.get("reason", "").strip() or answer or "no answer"
        tail = (run.stderr or run.stdout)[-300:].strip()
        if "timeout" in why or "canceled" in why or answer == "timeout":
            return verdict("unknown", "timeout", f"Z3 gave up after its {timeout:g} s timeout ({why})")
        if "memory" in why or "memory" in answer:
            return verdict("unknown", "memory", f"Z3 ran out of memory ({why})")
        if not answer:
            return verdict("unknown", "crash", f"Z3 ended without an answer (exit {run.exit_code}): {tail}")
        return verdict("unknown", "undecided" if answer == "unknown" else "crash", f"Z3 could not decide: {why}")
    if answer != "sat":
        return verdict("unknown", "crash", f"unexpected answer from Z3: {answer[:200]}")
    try:
        found = [f"model_small{i}" for i in range(len(SMALL_BOUNDS)) if parts.get(f"check_small{i}", "").strip() == "sat"]
        model = _read_model(parts.get(found[0] if found else "model", ""), query)
    except (smt_sexpr.SExprError, ValueError) as exc:
        return verdict("unknown", "internal", f"cannot read Z3's model: {exc}")
    cex = counterexample(task, opts, query, model)
    if cex.reference_error:
        return verdict("unknown", "internal", f"the task's reference fails on {cex.call}: {cex.reference_error}")
    if opts.candidate_format == "python":
        observed = run_candidate(task, candidate.text, cex.args, box)
        problem = cex.confirm(observed)
        if problem:
            return verdict("unknown", "internal", problem)
    return verdict("refuted", "counterexample", cex.message())


def _read_model(text: str, query: Query) -> dict[str, int | bool]:
    exprs = smt_sexpr.parse(text)
    if len(exprs) != 1 or not isinstance(exprs[0], list):
        raise ValueError(f"expected one list of values, got {text[:200]!r}")
    out: dict[str, int | bool] = {}
    for pair in exprs[0]:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError(f"not a (name value) pair: {pair!r}")
        out[pair[0]] = smt_sexpr.value(pair[1])
    missing = [n for n in query.values if n not in out]
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    return out


# --------------------------------------------------------------------------- counterexamples


def python_value(raw: int | bool, sort: str) -> int | bool:
    """A model value (bit pattern) as the Python value a function of the signature sees."""
    if sort == "bool" or isinstance(raw, bool):
        return bool(raw)
    if is_bitvec(sort) and sort[0] == "i":
        w = _width(sort)
        return raw - (1 << w) if raw >= 1 << (w - 1) else raw
    return raw


def normalise(value: object, sort: str) -> int | bool | None:
    """What a Python return value counts as for the result sort (see the module docstring); None if no int/bool."""
    if sort == "bool":
        return bool(value) if isinstance(value, (int, bool)) else None
    if not isinstance(value, (int, bool)):
        return None
    if sort == "int":
        return int(value)
    return python_value(int(value) % (1 << _width(sort)), sort)


class Observed(BaseModel):
    """What one real run of the candidate on an input did."""

    model_config = ConfigDict(extra="forbid")

    #: `returned`, `raised`, or `broken` (the run itself failed: no result to compare)
    outcome: Literal["returned", "raised", "broken"]
    repr: str = ""
    value: int | bool | None = None
    is_none: bool = False
    error: str = ""


class Counterexample(BaseModel):
    """An input where the candidate fails its spec, as Z3 found it."""

    model_config = ConfigDict(extra="forbid")

    entry_point: str
    names: list[str]
    sorts: list[str]
    args: list[int | bool]
    result_sort: str
    #: the candidate's result (result sort view), and the failure Z3 predicts (None: it returns)
    actual: int | bool
    failure: str | None
    expected: int | bool | None
    spec: str | None
    reference_error: str | None = None
    observed: Observed | None = None

    @property
    def call(self) -> str:
        """`f(3, 5)`."""
        return f"{self.entry_point}({', '.join(repr(a) for a in self.args)})"

    def confirm(self, observed: Observed) -> str | None:
        """None when the real run agrees with Z3's prediction; else why the verdict cannot be trusted."""
        self.observed = observed
        if observed.outcome == "broken":
            return f"the candidate could not be run on {self.call} to confirm the counterexample: {observed.error}"
        if self.failure is not None:
            if observed.outcome == "raised" or observed.is_none:
                return None
            return (f"the SMT translation predicted `{self.failure}` on {self.call} but the real run returned "
                    f"{observed.repr} (a translation bug; please report it)")
        if observed.outcome == "raised" or observed.is_none:
            what = observed.error if observed.outcome == "raised" else "None"
            return f"the SMT translation predicted {self.actual!r} on {self.call} but the real run gave {what}"
        got = normalise(observed.value, self.result_sort)
        if got is None or got != self.actual:
            return (f"the SMT translation predicted {self.actual!r} on {self.call} but the real run returned "
                    f"{observed.repr} (a translation bug; please report it)")
        return None

    def message(self) -> str:
        """The counterexample as the repair prompt shows it: the call, what it gave, what it should give."""
        obs = self.observed
        if self.failure is not None:
            got = (f"raised {obs.error}" if obs and obs.outcome == "raised" else
                   "returned None" if obs and obs.is_none else f"fails ({self.failure})")
        else:
            got = f"returned {obs.repr if obs and obs.outcome == 'returned' else repr(self.actual)}"
            if is_bitvec(self.result_sort) and obs is not None and isinstance(obs.value, int) \
                    and not isinstance(obs.value, bool) and obs.value != self.actual:
                got += f", which is {self.actual!r} mod 2**{_width(self.result_sort)}"
        want = (f"the correct result is {self.expected!r}" if self.expected is not None
                else f"no result satisfying the spec {self.spec}")
        text = f"counterexample: {self.call} {got}, but {want}."
        bits = [s for s in [*self.sorts, self.result_sort] if is_bitvec(s)]
        if bits and any(isinstance(a, int) and not isinstance(a, bool) and abs(a) > 9 for a in self.args):
            hexed = ", ".join(_hex(a, s) for a, s in zip(self.args, self.sorts, strict=True))
            text += f" In hex: {self.entry_point}({hexed})"
            if self.failure is None:
                text += f" gave {_hex(self.actual, self.result_sort)}"
            if self.expected is not None:
                text += f", expected {_hex(self.expected, self.result_sort)}"
            text += "."
        return text


def _hex(value: int | bool, sort: str) -> str:
    if isinstance(value, bool) or not is_bitvec(sort):
        return repr(value)
    return hex(value % (1 << _width(sort)))


def counterexample(task: Task, opts: SmtOptions, query: Query, model: dict[str, int | bool]) -> Counterexample:
    """The counterexample in Z3's model, in the signature's Python view."""
    args = [python_value(model[n], s) for n, s in opts.params]
    code = int(model["ps_failure"])
    failure = None
    if code:
        failure = query.failure_messages[code - 1] if code <= len(query.failure_messages) else f"failure {code}"
    ref_error = None
    expected = None
    if query.has_expected:
        ref_code = int(model["ps_ref_failure"])
        if ref_code:
            ref_error = query.reference_messages[ref_code - 1] if ref_code <= len(query.reference_messages) else "?"
        expected = python_value(model["ps_expected"], opts.result)
    return Counterexample(entry_point=task.entry_point or "candidate", names=[n for n, _ in opts.params],
                          sorts=[s for _, s in opts.params], args=args, result_sort=opts.result,
                          actual=python_value(model["result"], opts.result), failure=failure, expected=expected,
                          spec=opts.spec, reference_error=ref_error)


# --------------------------------------------------------------------------- running the candidate

_RUNNER = r'''
import json, sys
spec = json.loads(open("call.json").read())
ns = {"__name__": "candidate"}
try:
    exec(compile(open("candidate.py").read(), "candidate.py", "exec"), ns)
    value = ns[spec["entry_point"]](*spec["args"])
    out = {"outcome": "returned", "repr": repr(value)[:200], "is_none": value is None,
           "value": value if type(value) in (int, bool) else None}
except BaseException as exc:
    out = {"outcome": "raised", "error": f"{type(exc).__name__}: {exc}"[:200]}
sys.stdout.write("\n" + spec["marker"] + json.dumps(out) + "\n")
'''


def run_candidate(task: Task, program: str, args: list[int | bool], sandbox: Sandbox) -> Observed:
    """Run `task.entry_point(*args)` of `program` in the sandbox (CPython, as the Python checker runs candidates)."""
    from proofsmith.provers.python import CANDIDATE_PYTHON

    box = sandbox if hasattr(sandbox, "spawn") else get_sandbox("bwrap")
    marker = "@@result" + hashlib.sha256(os.urandom(16)).hexdigest()[:16] + ":"
    call = json.dumps({"entry_point": task.entry_point, "args": args, "marker": marker})
    limits = Limits(wall_s=task.limits.wall_s, cpu_s=task.limits.cpu_s, memory_mb=max(256, task.limits.memory_mb),
                    pids=4, output_bytes=1 << 20, file_size_mb=1, open_files=32)
    run: RunResult = box.run([CANDIDATE_PYTHON, "-I", "-S", "runner.py"],
                             {"runner.py": _RUNNER, "candidate.py": program, "call.json": call}, limits)
    if run.error or run.limit_hit:
        return Observed(outcome="broken", error=run.error or f"the run hit its {run.limit_hit} limit")
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith(marker)]
    if not lines:
        return Observed(outcome="broken", error=f"no result (exit {run.exit_code}): {run.stderr[-300:]}")
    try:
        return Observed.model_validate_json(lines[-1][len(marker):])
    except ValidationError as exc:
        return Observed(outcome="broken", error=f"unreadable result: {exc.errors()[0]['msg']}")
