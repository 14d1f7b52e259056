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
output. Z3 timeout, `unknown`, or a Z3 killed by the sandbox -> unknown with
the reason. A Python candidate outside the subset, or an ill-formed SMT-LIB
term, is refuted with a message naming the construct; one that certainly fails
to load (it does not compile, or its top level raises) is refuted `load_error`.
A model where a `while` loop overruns its unrolling (`smt_python.Failure`) is
no counterexample (the translation stops saying what CPython does there): the
candidate is refused as unsupported, so a loop is proved only where no input
runs it past the unrolling.
A star import of a modelled module, when the candidates' interpreter cannot
list the names it binds, is unknown/internal: the checker failed, not the
program.

A proof about the translation is only as good as the translation, so a Python
candidate is also run for real, whatever Z3 answered: one sandboxed CPython
run (the interpreter the Python checker runs candidates with) compiles and
loads the program, then calls the entry point on `PROBES` inputs (edges and
inputs drawn from a hash of the task and the candidate) and on the
counterexample, if any. A program that fails to load there is refuted
`load_error`. Where a call does not do what the translation predicts, the
translation missed something, and the verdict rests on CPython's own result:
Z3 checks it against the spec at that input (refuted `counterexample` when it
breaks the spec; unknown/internal when it does not, since the rest of the
proof cannot be trusted). Only a program that loaded and agreed with its
translation on every run is verified.

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
import random
import re
import subprocess
import time
from pathlib import Path
from typing import Literal, NamedTuple

import z3
from pydantic import BaseModel, ConfigDict, Field

from proofsmith.provers import smt_sexpr
from proofsmith.provers.prover_check import CheckFrame, Outcome
from proofsmith.provers.smt_python import (
    Param,
    StarNamesUnknown,
    Unsupported,
    Val,
    WontLoad,
    as_int,
    extend,
    translate,
)
from proofsmith.sandbox import RunResult, Sandbox, SandboxUnsupported, get_sandbox, seen_at, spawning, with_binds
from proofsmith.sandbox.tools import CANDIDATE_PYTHON, z3_binary
from proofsmith.schema import Candidate, Diagnostic, Limits, Manifest, Resources, Status, Task, Verdict, task_options
from proofsmith.version import __version__

#: Where the Z3 binary appears inside the bwrap sandbox.
SANDBOX_Z3 = "/opt/proofsmith/z3"
INSTALL_HINT = "z3 not found: `pip install z3-solver` (or `make install`), or point PROOFSMITH_Z3 at a z3 binary"
CHECKER_VERSION = "1+" + hashlib.sha256(
    b"".join(Path(__file__).with_name(n).read_bytes() for n in ("smt.py", "smt_python.py", "smt_sexpr.py"))
).hexdigest()[:12]
_SORT = re.compile(r"^(?:(u|i)(\d+)|int|bool)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: How many inputs a Python candidate is run on besides a counterexample (edges first, then drawn ones).
PROBES = 6
_RESERVED = frozenset({"result", "true", "false", "let", "forall", "exists", "ite", "not", "and", "or", "distinct"})


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


class Prediction(BaseModel):
    """What the translation says one call does: the failure it raises, or the exact value it returns."""

    model_config = ConfigDict(extra="forbid")

    args: list[int | bool]
    failure: str | None = None
    #: the exact Python value (True counts as 1), before the cut to the result's width; None: not a constant
    value: int | None = None

    def agrees(self, observed: Observed) -> bool:
        """Whether a real run did what the translation predicts (any exception counts as the failure)."""
        if observed.outcome == "raised" or observed.is_none:
            return self.failure is not None
        if self.failure is not None or self.value is None or observed.value is None:
            return False
        return int(observed.value) == self.value

    def text(self) -> str:
        """`failure ...` or the value, for messages."""
        return f"a failure ({self.failure})" if self.failure is not None else repr(self.value)


class Translated(BaseModel):
    """A Python function as SMT-LIB text: its result (of the result sort) and its failure code."""

    model_config = ConfigDict(extra="forbid")

    result: str
    failure: str
    messages: list[str]
    #: the messages of the failures that are overruns (`smt_python.Failure`): the subset's limit, not the program's
    overruns: list[str] = Field(default_factory=list)
    #: what the function does on the inputs asked for
    predictions: list[Prediction] = Field(default_factory=list)


def python_to_smt(source: str, entry_point: str, opts: SmtOptions,
                  inputs: list[list[int | bool]] | None = None) -> Translated:
    """Translate a Python function of the subset, and predict its calls on `inputs`; raises `Unsupported`."""
    mode = mode_of(opts)
    # a context of its own: checks run on several threads, and z3 contexts are not thread-safe
    zctx = z3.Context()
    params = params_of(opts, zctx)
    value, failures = translate(source, entry_point, params, mode)
    result = _result_term(value, opts.result, mode)
    code: z3.ArithRef = z3.IntVal(0, zctx)
    for index in range(len(failures), 0, -1):  # the first failure on a path is the one Python raises
        code = z3.If(failures[index - 1].cond, z3.IntVal(index, zctx), code)
    messages = [f.message for f in failures]
    overruns = [f.message for f in failures if f.overrun]
    predictions = [_predict(value, code, messages, params, args, mode) for args in inputs or []]
    # where a loop overruns its unrolling the translation predicts nothing a run could confirm
    predictions = [p for p in predictions if p.failure not in overruns]
    return Translated(result=result.sexpr(), failure=code.sexpr(), messages=messages, overruns=overruns,
                      predictions=predictions)


def _predict(value: Val, code: z3.ArithRef, messages: list[str], params: list[Param], args: list[int | bool],
             mode: str) -> Prediction:
    """The translation evaluated at one input (ground terms simplified to constants: nothing is solved)."""
    subst = []
    for param, arg in zip(params, args, strict=True):
        ctx = param.const.ctx
        if param.kind == "bool":
            subst.append((param.const, z3.BoolVal(bool(arg), ctx)))
        elif mode == "int":
            subst.append((param.const, z3.IntVal(int(arg), ctx)))
        else:
            subst.append((param.const, z3.BitVecVal(int(arg), param.const.size(), ctx)))  # type: ignore[attr-defined]
    failed = z3.simplify(z3.substitute(code, *subst))
    if not z3.is_int_value(failed):
        return Prediction(args=args)
    if failed.as_long():  # type: ignore[attr-defined]
        index = failed.as_long()  # type: ignore[attr-defined]
        return Prediction(args=args, failure=messages[index - 1] if index <= len(messages) else f"failure {index}")
    got = z3.simplify(z3.substitute(value.expr, *subst))
    if value.kind == "bool":
        return Prediction(args=args, value=int(z3.is_true(got))) if z3.is_bool(got) and \
            (z3.is_true(got) or z3.is_false(got)) else Prediction(args=args)
    if mode == "bv" and z3.is_bv_value(got):
        return Prediction(args=args, value=got.as_signed_long())  # type: ignore[attr-defined]
    if mode == "int" and z3.is_int_value(got):
        return Prediction(args=args, value=got.as_long())  # type: ignore[attr-defined]
    return Prediction(args=args)


def probe_inputs(task: Task, candidate: Candidate, opts: SmtOptions) -> list[list[int | bool]]:
    """The inputs a Python candidate is run on besides a counterexample: zeros, the sorts' edges, then drawn ones.

    Drawn from a hash of the task and the candidate, so that a verdict is reproducible and a candidate cannot
    know its inputs without being itself.
    """
    rng = random.Random(hashlib.sha256(f"{task.id}\0{candidate.text}".encode()).digest())

    def edges(sort: str) -> list[int | bool]:
        if sort == "bool":
            return [False, True, True]
        if sort == "int":
            return [0, 1 << 40, -(1 << 40)]
        w = _width(sort)
        return [0, (1 << w) - 1, 0] if sort[0] == "u" else [0, (1 << (w - 1)) - 1, -(1 << (w - 1))]

    def drawn(sort: str) -> int | bool:
        if sort == "bool":
            return rng.random() < 0.5
        if sort == "int":
            return rng.randint(-(1 << 33), 1 << 33)
        w = _width(sort)
        return rng.randrange(1 << w) if sort[0] == "u" else rng.randrange(1 << w) - (1 << (w - 1))

    sorts = [s for _, s in opts.params]
    out: list[list[int | bool]] = []
    for i in range(3):
        row = [edges(s)[i] for s in sorts]
        if row not in out:
            out.append(row)
    while len(out) < PROBES:
        out.append([drawn(s) for s in sorts])
    return out


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
        # the CPython that loads and runs Python candidates before a verdict
        toolchain={"z3": z3_version() or "missing", "z3_path": binary or "missing", "z3py": z3.get_version_string(),
                   "python": CANDIDATE_PYTHON},
        options={"solver_timeout_s": timeout, "seed": raw.get("seed", 0),
                 "candidate_format": raw.get("candidate_format", "python"),
                 "probes": PROBES if raw.get("candidate_format", "python") == "python" else 0,
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


def z3_runner(sandbox: Sandbox) -> tuple[Sandbox, str]:
    """The sandbox Z3 runs in for a check given `sandbox`, and the binary's path inside it."""
    binary = z3_binary()
    if binary is None:
        raise FileNotFoundError(INSTALL_HINT)
    try:
        box = with_binds(spawning(sandbox), [(binary, SANDBOX_Z3)])
    except SandboxUnsupported:
        raise SandboxUnsupported(f"the {sandbox.kind} sandbox has no Z3: use --sandbox bwrap or process for SMT "
                                 "tasks") from None
    return box, seen_at(box, (binary, SANDBOX_Z3))


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
    #: the failure messages that mean "a loop ran past its unrolling": refused, never a counterexample
    overruns: list[str] = Field(default_factory=list)
    reference_messages: list[str] = Field(default_factory=list)
    has_expected: bool = False
    #: a Python candidate: what its translation predicts on the probe inputs
    probes: list[Prediction] = Field(default_factory=list)


def build_query(task: Task, candidate: Candidate, opts: SmtOptions) -> Query:
    """The script asking Z3 for an input where the candidate fails the spec; `Unsupported`/SExprError on bad input."""
    names = [n for n, _ in opts.params]
    rsort = smt_sort(opts.result)
    head = ["(set-option :print-success false)", "(set-option :produce-models true)", '(echo "@@candidate")']
    failure, messages, overruns, probes = "0", [], [], []
    if opts.candidate_format == "smtlib":
        smt_sexpr.check_term(candidate.text)
        # defined before anything of the task's, so the term cannot call the reference or the spec
        formals = " ".join(f"({n} {smt_sort(s)})" for n, s in opts.params)
        head.append(f"(define-fun ps_cand ({formals}) {rsort}\n{candidate.text.strip()}\n)")
        result = f"(ps_cand {' '.join(names)})"
    else:
        translated = python_to_smt(candidate.text, task.entry_point or "", opts, probe_inputs(task, candidate, opts))
        result, failure, messages = translated.result, translated.failure, translated.messages
        overruns, probes = translated.overruns, translated.predictions
    query = _task_query(task, opts, head, result, failure)
    tail = []
    # small inputs first: a counterexample there is as real, and says more to a model than f(2046538756)
    for tier, bound in enumerate(SMALL_BOUNDS):
        small = _small_inputs(opts, bound)
        if small:
            tail += ["(push)", f"(set-option :timeout {SMALL_TIMEOUT_MS})", f"(assert {small})",
                     f'(echo "@@check_small{tier}")', "(check-sat)", f'(echo "@@model_small{tier}")',
                     _get_values(query.values), "(pop)"]
    tail += [f"(set-option :timeout {max(1, int(solver_timeout(task, opts) * 1000))})", '(echo "@@check")',
             "(check-sat)", '(echo "@@reason")', "(get-info :reason-unknown)", '(echo "@@model")',
             _get_values(query.values), '(echo "@@end")']
    return query.model_copy(update={"text": query.text + "\n".join(tail) + "\n", "failure_messages": messages,
                                    "overruns": overruns, "probes": probes})


def point_query(task: Task, opts: SmtOptions, args: list[int | bool], observed: Observed) -> Query:
    """The script asking whether what a real run did at one input breaks the spec there (sat: it does)."""
    fixed = [f"(assert (= {n} {_literal(a, s)}))" for (n, s), a in zip(opts.params, args, strict=True)]
    got = normalise(observed.value, opts.result) if observed.outcome == "returned" else None
    failed = got is None  # raised, returned None, or returned something that is no value of the result sort
    result = _literal(False if opts.result == "bool" else 0, opts.result) if failed else _literal(got, opts.result)
    head = ["(set-option :print-success false)", "(set-option :produce-models true)"]
    query = _task_query(task, opts, head, result, "1" if failed else "0", fixed)
    tail = [f"(set-option :timeout {max(1, int(solver_timeout(task, opts) * 1000))})", '(echo "@@check")',
            "(check-sat)", '(echo "@@reason")', "(get-info :reason-unknown)", '(echo "@@model")',
            _get_values(query.values), '(echo "@@end")']
    what = observed.error if observed.outcome == "raised" else f"returned {observed.repr}"
    return query.model_copy(update={"text": query.text + "\n".join(tail) + "\n", "failure_messages": [what]})


def _literal(value: int | bool, sort: str) -> str:
    """A Python value of a signature sort as an SMT-LIB constant."""
    if sort == "bool":
        return "true" if value else "false"
    if sort == "int":
        return str(int(value)) if int(value) >= 0 else f"(- {-int(value)})"
    return f"(_ bv{int(value) % (1 << _width(sort))} {_width(sort)})"


def _get_values(names: list[str]) -> str:
    return f"(get-value ({' '.join(names)}))"


def _task_query(task: Task, opts: SmtOptions, head: list[str], result: str, failure: str,
                extra: list[str] | None = None) -> Query:
    """The query up to its checks: the inputs, the candidate's result and failure, the reference and the spec."""
    names = [n for n, _ in opts.params]
    rsort = smt_sort(opts.result)
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
    body += extra or []
    return Query(text="\n".join([*head, *body]) + "\n", values=values, reference_messages=ref_messages,
                 has_expected=bool(task.reference))


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
    # no resources until Z3 has run (what the candidate's own runs used is not counted)
    frame = CheckFrame(task, candidate, manifest(task, box, efficiency), started, resources=Resources())
    opts = options_of(task)

    def verdict(decision: Decision) -> Verdict:
        return frame.verdict(decision.outcome())

    try:
        query = build_query(task, candidate, opts)
    except WontLoad as exc:
        return verdict(Decision("refuted", "load_error", f"the program fails when it loads: {exc.what}", exc.line))
    except Unsupported as exc:
        return verdict(Decision("refuted", "unsupported", f"unsupported construct: {exc.what}. The checker "
                                "translates a subset of Python: int and bool arithmetic, comparisons, if/else, "
                                "assignments, return, `for` over a constant `range` and `while`; no lists, strings "
                                "or library calls.", exc.line))
    except smt_sexpr.SExprError as exc:
        return verdict(Decision("refuted", "syntax", f"the candidate is not one SMT-LIB term: {exc}"))
    except StarNamesUnknown as exc:
        return verdict(Decision("unknown", "internal", f"cannot model the program's star import: {exc}"))
    runner, binary = z3_runner(box)
    run = _solve(task, opts, query, runner, binary)
    frame.resources = Resources(cpu_s=run.cpu_s, wall_s=run.wall_s, peak_memory_kb=run.peak_memory_kb,
                                limit_hit=run.limit_hit)
    decided = _decide(task, opts, query, run)
    if isinstance(decided, Counterexample) and decided.failure in query.overruns:
        # the translation stops saying what CPython does there: the program is outside the subset, not wrong
        return verdict(Decision("refuted", "unsupported", f"unsupported construct: {decided.failure}, on "
                                f"{decided.call}. The checker unrolls a `while` loop that many times and proves "
                                "a program only where no input needs more; use a bounded `for` or no loop."))
    if opts.candidate_format == "python":
        # the proof is about the translation: CPython must load the program and agree with it before any verdict
        decided = _confirm(task, opts, candidate.text, query, decided, box, runner, binary)
    if isinstance(decided, Counterexample):
        return verdict(Decision("refuted", "counterexample", decided.message()))
    return verdict(decided)


class Decision(NamedTuple):
    """A verdict's status, reason and message, before the verdict is made."""

    status: Status
    reason: str | None
    message: str | None = None
    line: int | None = None

    def outcome(self) -> Outcome:
        """The decision as the Outcome a CheckFrame makes the verdict of (one diagnostic, when there is a message)."""
        diagnostics = [Diagnostic(message=self.message, line=self.line)] if self.message else []
        return Outcome(status=self.status, reason=self.reason, diagnostics=diagnostics)


VERIFIED = Decision("verified", None)


def _solve(task: Task, opts: SmtOptions, query: Query, runner: Sandbox, binary: str) -> RunResult:
    """Z3 on the query, in the sandbox, under the task's limits."""
    return runner.run([binary, *_z3_flags(task.limits, solver_timeout(task, opts), opts.seed), "query.smt2"],
                      {"query.smt2": query.text}, solver_limits(task.limits))


def _decide(task: Task, opts: SmtOptions, query: Query, run: RunResult) -> Decision | Counterexample:
    """What Z3's run says: verified, a counterexample, or why there is no answer."""
    timeout = solver_timeout(task, opts)
    if run.error:
        return Decision("unknown", "sandbox", run.error)
    if run.limit_hit in ("wall", "cpu"):
        return Decision("unknown", "timeout", f"Z3 was killed at the {run.limit_hit} limit "
                        f"({task.limits.wall_s:g} s) before it decided")
    if run.limit_hit == "memory":
        return Decision("unknown", "memory", f"Z3 was killed at the memory limit ({task.limits.memory_mb} MB)")
    parts = segments(run.stdout)
    cand_errors = _errors(parts.get("candidate", ""))
    if cand_errors:
        return Decision("refuted", "syntax", "Z3 rejected the candidate term: " + "; ".join(cand_errors[:3]))
    task_errors = _errors(parts.get("task", ""))
    if task_errors:
        return Decision("unknown", "internal", "Z3 rejected the query built from the task: " +
                        "; ".join(task_errors[:3]))
    answer = parts.get("check", "").strip()
    if answer == "unsat":
        return VERIFIED
    if answer in ("unknown", "timeout", "") or answer.startswith("(error"):
        why = parts.get("reason", "").strip() or answer or "no answer"
        tail = (run.stderr or run.stdout)[-300:].strip()
        if "timeout" in why or "canceled" in why or answer == "timeout":
            return Decision("unknown", "timeout", f"Z3 gave up after its {timeout:g} s timeout ({why})")
        if "memory" in why or "memory" in answer:
            return Decision("unknown", "memory", f"Z3 ran out of memory ({why})")
        if not answer:
            return Decision("unknown", "crash", f"Z3 ended without an answer (exit {run.exit_code}): {tail}")
        return Decision("unknown", "undecided" if answer == "unknown" else "crash", f"Z3 could not decide: {why}")
    if answer != "sat":
        return Decision("unknown", "crash", f"unexpected answer from Z3: {answer[:200]}")
    try:
        found = [f"model_small{i}" for i in range(len(SMALL_BOUNDS)) if parts.get(f"check_small{i}", "").strip() == "sat"]
        model = _read_model(parts.get(found[0] if found else "model", ""), query)
    except (smt_sexpr.SExprError, ValueError) as exc:
        return Decision("unknown", "internal", f"cannot read Z3's model: {exc}")
    cex = counterexample(task, opts, query, model)
    if cex.reference_error:
        return Decision("unknown", "internal", f"the task's reference fails on {cex.call}: {cex.reference_error}")
    return cex


def _confirm(task: Task, opts: SmtOptions, program: str, query: Query, decided: Decision | Counterexample,
             box: Sandbox, runner: Sandbox, binary: str) -> Decision | Counterexample:
    """Z3's decision about a Python candidate, or what one real run of it (load, probes, counterexample) overrides."""
    cex = decided if isinstance(decided, Counterexample) else None
    calls = [p.args for p in query.probes] + ([cex.args] if cex is not None else [])
    ran = run_program(task, program, calls, box)
    if ran.broken:
        return Decision("unknown", ran.broken_reason, "the program could not be run in CPython to confirm the "
                        f"verdict: {ran.broken}")
    if ran.load_error is not None:
        return Decision("refuted", "load_error", f"the program fails when CPython loads it: {ran.load_error}")
    call = (task.entry_point or "candidate") + "({})"
    for prediction, observed in zip(query.probes, ran.calls, strict=False):
        if not prediction.agrees(observed):
            said = f"the SMT translation predicted {prediction.text()} on " \
                   f"{call.format(', '.join(map(repr, prediction.args)))}"
            return _at_point(task, opts, prediction.args, observed, said, runner, binary)
    if cex is not None and cex.confirm(ran.calls[-1]):
        predicted = f"a failure ({cex.failure})" if cex.failure is not None else repr(cex.actual)
        return _at_point(task, opts, cex.args, ran.calls[-1],
                         f"the SMT translation predicted {predicted} on {cex.call}", runner, binary)
    return decided


def _at_point(task: Task, opts: SmtOptions, args: list[int | bool], observed: Observed, said: str,
              runner: Sandbox, binary: str) -> Decision | Counterexample:
    """A run disagreed with the translation: refuted if CPython's own result breaks the spec there, else unknown."""
    got = observed.error if observed.outcome == "raised" else f"returned {observed.repr}"
    gap = f"{said}, but CPython {'raised ' if observed.outcome == 'raised' else ''}{got} (a translation gap; " \
          "please report it)"
    query = point_query(task, opts, args, observed)
    decided = _decide(task, opts, query, _solve(task, opts, query, runner, binary))
    if isinstance(decided, Counterexample):
        decided.observed = observed
        return decided
    if decided.status == "verified":  # unsat: CPython's result meets the spec at this input
        return Decision("unknown", "internal", f"{gap}: not verified, since the proof was about the translation")
    return Decision("unknown", "internal", f"{gap}; Z3 could not check CPython's result there either "
                    f"({decided.message})")


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

_RUNNER = r"""
import json, sys
spec = json.loads(open("calls.json").read())


def seen(value):
    # huge ints as hex: a JSON number or a repr() past CPython's digit limit would raise
    big = type(value) is int and value.bit_length() > 4096
    out = {"outcome": "returned", "repr": (hex(value) if big else repr(value))[:200], "is_none": value is None}
    if type(value) is bool:
        out["bool"] = value
    elif type(value) is int:
        out["int"] = hex(value)
    return out


report = {"load_error": None, "calls": []}
ns = {"__name__": "candidate"}
try:
    # bytes, as an import reads them (a coding declaration is honoured, as the translation honours it)
    exec(compile(open("candidate.py", "rb").read(), "candidate.py", "exec", dont_inherit=True), ns)
    function = ns[spec["entry_point"]]
except BaseException as exc:
    report["load_error"] = f"{type(exc).__name__}: {exc}"[:300]
else:
    for args in spec["calls"]:
        try:
            report["calls"].append(seen(function(*args)))
        except BaseException as exc:
            report["calls"].append({"outcome": "raised", "error": f"{type(exc).__name__}: {exc}"[:200]})
sys.stdout.write("\n" + spec["marker"] + json.dumps(report) + "\n")
"""


class ProgramRun(BaseModel):
    """One real run of a Python candidate: whether it loaded, and what each call did."""

    model_config = ConfigDict(extra="forbid")

    #: why the run itself failed (no result to read); empty when it ran
    broken: str = ""
    broken_reason: str = "sandbox"
    #: the exception loading the program raised (compile, top-level code, no such function), if any
    load_error: str | None = None
    calls: list[Observed] = Field(default_factory=list)


def _observed(raw: dict) -> Observed:
    value: int | bool | None = None
    if "bool" in raw:
        value = bool(raw["bool"])
    elif "int" in raw:
        value = int(raw["int"], 16)
    return Observed(outcome=raw.get("outcome", "broken"), repr=raw.get("repr", ""), value=value,
                    is_none=bool(raw.get("is_none")), error=raw.get("error", ""))


def run_program(task: Task, program: str, calls: list[list[int | bool]], sandbox: Sandbox) -> ProgramRun:
    """Load `program` in CPython (as the Python checker runs candidates) in the sandbox and call the entry point."""
    try:
        box = spawning(sandbox)
    except SandboxUnsupported:
        raise SandboxUnsupported(f"the {sandbox.kind} sandbox cannot run SMT candidates: use bwrap or process") \
            from None
    marker = "@@result" + hashlib.sha256(os.urandom(16)).hexdigest()[:16] + ":"
    spec = json.dumps({"entry_point": task.entry_point, "calls": calls, "marker": marker})
    limits = Limits(wall_s=task.limits.wall_s, cpu_s=task.limits.cpu_s, memory_mb=max(256, task.limits.memory_mb),
                    pids=4, output_bytes=1 << 20, file_size_mb=1, open_files=32)
    run: RunResult = box.run([CANDIDATE_PYTHON, "-I", "-S", "runner.py"],
                             {"runner.py": _RUNNER, "candidate.py": program, "calls.json": spec}, limits)
    if run.error:
        return ProgramRun(broken=run.error)
    if run.limit_hit:
        # the subset's loops are unrolled within smt_python.MAX_ITERATIONS and its ints bounded: a run over its
        # limits means a busy machine, not the candidate
        return ProgramRun(broken=f"the run hit its {run.limit_hit} limit",
                          broken_reason="timeout" if run.limit_hit in ("wall", "cpu") else "sandbox")
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith(marker)]
    if not lines:
        return ProgramRun(broken=f"no result (exit {run.exit_code}): {run.stderr[-300:]}")
    try:
        raw = json.loads(lines[-1][len(marker):])
        ran = ProgramRun(load_error=raw["load_error"], calls=[_observed(c) for c in raw["calls"]])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return ProgramRun(broken=f"unreadable result: {exc}")
    if ran.load_error is None and len(ran.calls) != len(calls):
        return ProgramRun(broken=f"{len(ran.calls)} results for {len(calls)} calls")
    return ran
