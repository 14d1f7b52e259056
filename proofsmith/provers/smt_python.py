"""A supported subset of Python, translated to Z3 terms with Python's own semantics.

The translation is exact, not an approximation: for every input, the term's
value is what CPython returns (or the error it raises). Python ints are
unbounded, so in bit-vector mode every intermediate value carries a static
interval and is held in a signed bit-vector wide enough for that interval
(a sum of two 32-bit values takes 34 bits, a product 66): `(x + y) >> 1` is
the true average, as in Python. Only the function's result is cut to the
task's width (see `proofsmith.provers.smt`). In integer mode (a task over
unbounded `int` parameters) values are Z3 integers and bitwise operators are
not supported.

Supported: one function (plus helper functions it calls, inlined, and
top-level constant assignments); positional parameters (defaults too); int and
bool constants; `+ - * // % ** & | ^ ~ << >>` (`**` by a constant exponent up
to 64; shifts by amounts whose range is known), unary `- + ~ not`; comparisons
(chained too); `and`/`or` (returning an operand, as Python does); if-expressions;
`abs`, `min`, `max`, `int`, `bool`, `v.bit_length()` (bit-vector tasks);
assignments (also `a, b = b, a`),
augmented assignments, `if`/`elif`/`else` (an `if` whose branches both fall
through is one path: each branch runs on its own copy of the names, which are
joined after it, a name bound on one side only being unbound), `return`,
`pass`, `assert`, `raise`,
`for NAME in range(...)` whose bounds are constants (unrolled: the name is
bound to each value in turn, as CPython binds it, then the `else` block runs;
no `break` or `continue`; at most `MAX_ITERATIONS` iterations per translation),
`while` loops without `break` or `continue` (unrolled to `WHILE_ITERATIONS`
nested `if`s; an input on which the loop runs longer is an overrun `Failure`,
which the checker refuses as unsupported, so a program is verified only where
no input overruns),
docstrings, and `import m` / `from m import n` of the standard library. Anything
else raises `Unsupported`, naming the construct and its line.

The module is modelled as CPython loads it: the source must `compile`; the
top-level statements run in order against one namespace (a later binding of a
name replaces an earlier one, whatever it was: constant, function or import);
every `def` evaluates its defaults and annotations when it runs (not only the
functions that are called; no decorators); a function reads the namespace as
it is when it is called (the entry point: once the whole module has loaded).
A name bound by an import is opaque: the program may not use it, and since the
checker does not know what it holds, `as` aliases are refused. `from m import *`
is modelled for the modules of `STAR_IMPORTABLE` only (`from typing import *`
heads many a model's program): it binds exactly the names the candidates'
interpreter says it binds (`star_import_names`), each opaque, so a star import
that shadows `abs` or an earlier helper makes every later use of that name
unsupported, as any import does. A program that certainly fails while loading (a syntax error, a name
read before it is bound, `1 // 0` in a default) raises `WontLoad`. The SMT
checker also loads and runs the program in CPython before it says verified.

Runtime errors are part of the meaning: a division by zero, a negative shift
count, a failed `assert`, a reached `raise`, or a path that
ends without `return` (the function returns None) are recorded as `Failure`s,
each with the condition under which it happens.
"""

from __future__ import annotations

import ast
import builtins
import json
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import z3

#: Widest intermediate value, in bits, before the translation gives up.
MAX_WIDTH = 1024
#: Most paths through the function (each `if` that may return or raise doubles them; one whose branches fall
#: through is joined, one path).
MAX_PATHS = 512
#: Deepest helper-call nesting.
MAX_CALL_DEPTH = 8
#: Most loop iterations unrolled in one translation (all loops, all paths): `for i in range(32)` over the bits of
#: a word fits; a loop the program could not run in a moment is refused, not approximated.
MAX_ITERATIONS = 256
#: Iterations a `while` loop is unrolled to: `while x: x >>= 1` over a 64-bit word fits. An input on which the loop
#: would run longer is an `overrun` (see `Failure`).
WHILE_ITERATIONS = 65

Mode = Literal["bv", "int"]

#: Modules whose `from m import *` the translation models: importing them runs no code a program could observe.
STAR_IMPORTABLE = ("typing", "collections", "math", "itertools", "functools", "operator", "heapq", "bisect", "string")

_STAR_NAMES_SCRIPT = (
    "import importlib, json, sys\n"
    "out = {}\n"
    "for name in sys.argv[1:]:\n"
    "    m = importlib.import_module(name)\n"
    "    names = getattr(m, '__all__', None)\n"
    "    out[name] = list(names) if names is not None else [n for n in vars(m) if not n.startswith('_')]\n"
    "print(json.dumps(out))\n"
)


class Unsupported(Exception):
    """The program uses a construct outside the supported subset; the message names it."""

    def __init__(self, what: str, node: ast.AST | None = None) -> None:
        self.line = getattr(node, "lineno", None)
        super().__init__(f"line {self.line}: {what}" if self.line else what)
        self.what = what


class WontLoad(Unsupported):
    """The program fails before its function can be called: it does not compile, or loading it raises."""


@dataclass(frozen=True)
class Failure:
    """A runtime error the program raises when `cond` holds (None return included).

    An `overrun` is not an error of the program: a `while` loop still running after the iterations the translation
    unrolled, where the translation no longer says what CPython does. A checker must refuse an input that reaches
    one (the program is outside the subset there), never take it for a counterexample.
    """

    cond: z3.BoolRef
    message: str
    overrun: bool = False


@dataclass(frozen=True)
class Val:
    """A Python value as a Z3 term: an int (bit-vector or integer) or a bool."""

    kind: Literal["int", "bool"]
    expr: z3.ExprRef
    lo: int | None = None
    hi: int | None = None

    @property
    def width(self) -> int:
        """Bits of the signed bit-vector holding the value (bit-vector mode)."""
        return self.expr.size()  # type: ignore[attr-defined]


def signed_width(lo: int, hi: int) -> int:
    """The fewest bits of a two's complement number that hold every value in [lo, hi]."""
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width


@dataclass
class Param:
    """One parameter as the translator sees it: name, Z3 constant, and Python range."""

    name: str
    const: z3.ExprRef
    kind: Literal["int", "bool"]
    lo: int | None = None
    hi: int | None = None
    #: bit-vector mode: the constant is an unsigned pattern (zero-extended), else signed
    unsigned: bool = False


@dataclass(frozen=True)
class _Value:
    """A module-level name bound to an int or bool."""

    val: Val
    line: int


@dataclass(frozen=True)
class _Function:
    """A module-level name bound to a function, with the defaults its `def` evaluated (None: not an int/bool)."""

    node: ast.FunctionDef
    defaults: tuple[Val | None, ...]


@dataclass(frozen=True)
class _Imported:
    """A module-level name bound by an import: an object the translation does not model."""

    statement: str
    line: int


_Binding = _Value | _Function | _Imported


@dataclass
class _Ctx:
    mode: Mode
    #: the Z3 context every term of this translation lives in (one per translation: z3 contexts are not
    #: thread-safe, and checks run on several threads)
    z: z3.Context
    #: the module's one namespace, as far as loading has got (CPython's module dict)
    namespace: dict[str, _Binding] = field(default_factory=dict)
    #: `from __future__ import annotations`: annotations are kept as strings, never evaluated
    lazy_annotations: bool = False
    failures: list[Failure] = field(default_factory=list)
    paths: int = 0
    depth: int = 0
    #: loop iterations unrolled so far (`MAX_ITERATIONS`)
    iterations: int = 0
    #: names local to each function being translated (innermost last): Python makes a name assigned
    #: anywhere in a function local everywhere in it, so reading it early raises, even if a global exists
    scopes: list[frozenset[str]] = field(default_factory=list)


def param_value(param: Param, mode: Mode) -> Val:
    """The Python value a parameter holds, as a `Val`."""
    if param.kind == "bool":
        return Val("bool", param.const)
    if mode == "int":
        return Val("int", param.const)
    expr = z3.ZeroExt(1, param.const) if param.unsigned else param.const
    return Val("int", expr, param.lo, param.hi)


def translate(source: str, entry_point: str, params: list[Param], mode: Mode) -> tuple[Val, list[Failure]]:
    """The value `entry_point(*params)` returns and the failures it may raise; `Unsupported` otherwise."""
    module = parse_module(source)
    zctx = params[0].const.ctx if params else z3.main_ctx()
    ctx = _Ctx(mode=mode, z=zctx)
    _load(ctx, module)
    binding = ctx.namespace.get(entry_point)
    if binding is None:
        raise Unsupported(f"no function named `{entry_point}`")
    if isinstance(binding, _Imported):
        raise Unsupported(f"`{entry_point}` is bound by an import (`{binding.statement}`, line {binding.line}), "
                          "not a function the checker can translate")
    if isinstance(binding, _Value):
        raise Unsupported(f"`{entry_point}` is not a function once the module has loaded (line {binding.line} "
                          "binds it to a value)")
    args = [param_value(p, mode) for p in params]
    value = _call(ctx, binding, args, z3.BoolVal(True, zctx), None)
    return value, ctx.failures


def parse_module(source: str) -> ast.Module:
    """The program's syntax tree, once CPython's compiler accepts it (`WontLoad` with its message otherwise).

    Read from the UTF-8 bytes the program is run from, as an import reads a file: a coding declaration
    (`# coding: unicode_escape`) changes what the text means, and the tree must be the one CPython runs.
    """
    try:
        data = source.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise WontLoad(f"the program is not UTF-8 text ({exc.reason})") from None
    try:
        # compiling checks what the parser alone lets through: repeated parameters, `from __future__ import braces`,
        # misplaced future imports, `return` outside a function; nothing runs
        compile(data, "candidate.py", "exec", dont_inherit=True)
        return ast.parse(data)
    except SyntaxError as exc:
        raise WontLoad(f"{type(exc).__name__}: {exc.msg}", exc) from None
    except (ValueError, RecursionError, MemoryError, LookupError, UnicodeError) as exc:
        raise WontLoad(f"the program does not compile: {type(exc).__name__}: {exc}") from None


def _load(ctx: _Ctx, module: ast.Module) -> None:
    """Run the module's top-level statements in order, as CPython does when it loads the program."""
    for stmt in module.body:
        if _is_docstring(stmt):
            continue
        if isinstance(stmt, ast.FunctionDef):
            _bind(ctx, stmt.name, _define(ctx, stmt), stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name in _import(ctx, stmt):
                _bind(ctx, name, _Imported(ast.unparse(stmt), stmt.lineno), stmt)
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            value = _module_expr(ctx).eval(stmt.value)
            for target in stmt.targets:
                _bind(ctx, target.id, _Value(value, stmt.lineno), stmt)  # type: ignore[attr-defined]
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.simple:
            _annotation(ctx, stmt.annotation, f"`{stmt.target.id}`")
            if stmt.value is not None:
                _bind(ctx, stmt.target.id, _Value(_module_expr(ctx).eval(stmt.value), stmt.lineno), stmt)
        else:
            raise Unsupported(f"top-level `{_describe(stmt)}` (only functions, constants and imports)", stmt)
        _settle_load_failures(ctx)


def _bind(ctx: _Ctx, name: str, binding: _Binding, stmt: ast.stmt) -> None:
    """Bind a module-level name; never a dunder name (`__builtins__` is where the module's functions find abs, min,
    ...: rebinding it changes what every call to a builtin does)."""
    if name.startswith("__") and name.endswith("__"):
        raise Unsupported(f"top-level binding of `{name}` (a module's dunder names change how it runs)", stmt)
    ctx.namespace[name] = binding


def _module_expr(ctx: _Ctx) -> _Expr:
    return _Expr(ctx, {}, z3.BoolVal(True, ctx.z))


def _settle_load_failures(ctx: _Ctx) -> None:
    """Top-level code has no inputs: each failure it recorded either certainly happens (WontLoad) or never does."""
    for failure in ctx.failures:
        cond = z3.simplify(failure.cond)
        if z3.is_true(cond):
            raise WontLoad(failure.message)
        if not z3.is_false(cond):
            raise Unsupported(f"a top-level value that may fail ({failure.message}) depending on nothing known")
    ctx.failures.clear()


def _define(ctx: _Ctx, fn: ast.FunctionDef) -> _Function:
    """What a `def` does when it runs: evaluate decorators, defaults and annotations, in CPython's order."""
    if fn.decorator_list:
        raise Unsupported(f"decorator `@{ast.unparse(fn.decorator_list[0])}` on `{fn.name}` (decorators are not "
                          "modelled)", fn)
    spec = fn.args
    ev = _module_expr(ctx)
    defaults = tuple(_default(ev, d) for d in spec.defaults)
    for d in spec.kw_defaults:
        if d is not None:
            _default(ev, d)
    if not ctx.lazy_annotations:
        every = [*spec.posonlyargs, *spec.args, *([spec.vararg] if spec.vararg else []), *spec.kwonlyargs,
                 *([spec.kwarg] if spec.kwarg else [])]
        for arg in every:
            if arg.annotation is not None:
                _annotation(ctx, arg.annotation, f"`{arg.arg}` of `{fn.name}`")
        if fn.returns is not None:
            _annotation(ctx, fn.returns, f"the result of `{fn.name}`")
    return _Function(fn, defaults)


def _default(ev: _Expr, node: ast.expr) -> Val | None:
    """A default's value; None for a constant that is not an int or bool (evaluating it cannot fail)."""
    if isinstance(node, ast.Constant) and not isinstance(node.value, int):
        return None
    return ev.eval(node)


def _annotation(ctx: _Ctx, node: ast.expr, of: str) -> None:
    """Evaluate an annotation for its failures only (its value is never used)."""
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, ast.Name):
        if node.id not in ctx.namespace and not hasattr(builtins, node.id):
            raise WontLoad(f"NameError: name '{node.id}' is not defined (the annotation of {of})", node)
        return
    raise Unsupported(f"annotation `{ast.unparse(node)}` of {of} (only names and strings)", node)


#: `from __future__` features the compiler accepts change nothing the translation models, except this one.
_LAZY_ANNOTATIONS = "annotations"


def _import(ctx: _Ctx, stmt: ast.Import | ast.ImportFrom) -> list[str]:
    """The names an import binds; it must be of the standard library, bind plain names and alias nothing."""
    what = ast.unparse(stmt)
    for alias in stmt.names:
        if alias.asname is not None:
            raise Unsupported(f"import with `as` (`{what}`): the checker does not model what an alias binds", stmt)
    if isinstance(stmt, ast.Import):
        modules = [a.name for a in stmt.names]
    else:
        if stmt.level:
            raise Unsupported("relative import", stmt)
        modules = [stmt.module or ""]
        if any(a.name == "*" for a in stmt.names):
            bound = star_import_names().get(stmt.module or "") if stmt.module in STAR_IMPORTABLE else None
            if bound is None:
                raise Unsupported(f"`{what}` with `*`: the checker models the names `*` binds only for "
                                  f"{', '.join(STAR_IMPORTABLE)}", stmt)
            return sorted(bound)
    for module in modules:
        if module != "__future__" and (module.split(".")[0] not in sys.stdlib_module_names
                                       or module.startswith("_")):
            raise Unsupported(f"import of `{module}` (only the standard library)", stmt)
    if isinstance(stmt, ast.Import):
        return [a.name.split(".")[0] for a in stmt.names]
    if stmt.module == "__future__" and any(a.name == _LAZY_ANNOTATIONS for a in stmt.names):
        ctx.lazy_annotations = True
    return [a.name for a in stmt.names]


class StarNamesUnknown(Exception):
    """The candidates' interpreter could not list what a star import binds: the checker, not the program, failed."""


#: the names `star_import_names` listed, kept once known (a failure is not kept: the next check asks again)
_star_names: dict[str, frozenset[str]] | None = None


def star_import_names() -> dict[str, frozenset[str]]:
    """The names `from m import *` binds, per module of `STAR_IMPORTABLE`, as the candidates' interpreter has them.

    Asked of that interpreter (`CANDIDATE_PYTHON`, isolated mode, trusted code only), not of this one: the names
    differ between Python versions, and a name missed here is one whose shadowing the translation would not see.
    Raises `StarNamesUnknown` when the interpreter cannot say, so the check ends `unknown` rather than blaming
    the candidate; only an answer is remembered.
    """
    global _star_names
    if _star_names is not None:
        return _star_names
    from proofsmith.sandbox.tools import CANDIDATE_PYTHON

    try:
        done = subprocess.run([CANDIDATE_PYTHON, "-I", "-c", _STAR_NAMES_SCRIPT, *STAR_IMPORTABLE],
                              capture_output=True, text=True, timeout=60, check=True)
        names = json.loads(done.stdout)
        _star_names = {m: frozenset(str(n) for n in names[m]) for m in STAR_IMPORTABLE}
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
        raise StarNamesUnknown(f"{CANDIDATE_PYTHON} could not list the names of "
                               f"{', '.join(STAR_IMPORTABLE)} ({type(exc).__name__}: {str(exc)[:200]}); "
                               "check that PROOFSMITH_PYTHON names a working python3") from None
    return _star_names


def _call(ctx: _Ctx, fn: _Function, args: list[Val], pc: z3.BoolRef, node: ast.AST | None) -> Val:
    spec = fn.node.args
    name = fn.node.name
    if spec.vararg or spec.kwarg or spec.kwonlyargs or spec.posonlyargs:
        raise Unsupported(f"function `{name}` has *args, **kwargs, keyword-only or positional-only parameters",
                          fn.node)
    first_default = len(spec.args) - len(fn.defaults)
    if not first_default <= len(args) <= len(spec.args):
        raise Unsupported(f"`{name}` takes {len(spec.args)} parameters, called with {len(args)}", node or fn.node)
    filled = list(fn.defaults[len(args) - first_default:])
    if any(v is None for v in filled):
        raise Unsupported(f"a default of `{name}` that is not an int or bool is used", node or fn.node)
    if ctx.depth >= MAX_CALL_DEPTH:
        raise Unsupported(f"calls nested deeper than {MAX_CALL_DEPTH} (recursion?) at `{name}`", node or fn.node)
    ctx.depth += 1
    ctx.scopes.append(_local_names(fn.node))
    try:
        env = {a.arg: v for a, v in zip(spec.args, [*args, *filled], strict=True)}  # type: ignore[list-item]
        return _block(ctx, list(fn.node.body), env, pc, fn.node)
    finally:
        ctx.depth -= 1
        ctx.scopes.pop()


def _local_names(fn: ast.FunctionDef) -> frozenset[str]:
    names = {a.arg for a in fn.args.args}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return frozenset(names)


def _block(ctx: _Ctx, stmts: list[ast.stmt], env: dict[str, Val], pc: z3.BoolRef, fn: ast.FunctionDef) -> Val:
    """The value the rest of a function returns from here.

    An `if` that may return or raise runs the rest of the block on both sides (two paths, `MAX_PATHS`); one whose
    branches both fall through (no `return`, `raise`, `break` or `continue` in them) is one path: each branch runs
    on its own copy of the names, which are then joined (`_joined`).
    """
    ctx.paths += 1
    if ctx.paths > MAX_PATHS:
        raise Unsupported(f"more than {MAX_PATHS} paths through `{fn.name}` (too many `if` statements)", fn)
    env = dict(env)
    pending = deque(stmts)
    while pending:
        stmt = pending.popleft()
        ev = _Expr(ctx, env, pc)
        if isinstance(stmt, ast.Return):
            return ev.eval(stmt.value) if stmt.value is not None else _none_return(ctx, pc, stmt)
        if isinstance(stmt, ast.Raise):
            # reached -> the call fails (whatever it raises); unreachable guards cost nothing
            what = ast.unparse(stmt.exc).split("(")[0] if stmt.exc is not None else "the current exception"
            ctx.failures.append(Failure(pc, f"raised {what} (line {stmt.lineno})"))
            return Val("int", z3.BitVecVal(0, 1, ctx.z), 0, 0) if ctx.mode == "bv" else Val("int", z3.IntVal(0, ctx.z))
        if isinstance(stmt, ast.If) and not (_falls_through(stmt.body) and _falls_through(stmt.orelse)):
            cond = ev.truth(ev.eval(stmt.test))
            rest = list(pending)
            then = _block(ctx, list(stmt.body) + rest, env, z3.And(pc, cond), fn)
            other = _block(ctx, list(stmt.orelse) + rest, env, z3.And(pc, z3.Not(cond)), fn)
            return merge(ctx.mode, cond, then, other)
        pc = _step(ctx, stmt, env, pc, fn, pending)
    return _none_return(ctx, pc, fn)


def _falls_through(stmts: list[ast.stmt]) -> bool:
    """Whether control always leaves `stmts` at their end (nothing in them returns, raises, breaks or continues)."""
    jumps = (ast.Return, ast.Raise, ast.Break, ast.Continue)
    return not any(isinstance(node, jumps) for stmt in stmts for node in ast.walk(stmt))


def _through(ctx: _Ctx, stmts: list[ast.stmt], env: dict[str, Val], pc: z3.BoolRef,
             fn: ast.FunctionDef) -> tuple[dict[str, Val], z3.BoolRef]:
    """Run statements that fall through (`_falls_through`): the names after them, and the path condition (narrowed
    by their `assert`s)."""
    env = dict(env)
    pending = deque(stmts)
    while pending:
        pc = _step(ctx, pending.popleft(), env, pc, fn, pending)
    return env, pc


def _step(ctx: _Ctx, stmt: ast.stmt, env: dict[str, Val], pc: z3.BoolRef, fn: ast.FunctionDef,
          pending: deque[ast.stmt]) -> z3.BoolRef:
    """Run one statement that does not end the path, updating `env` (a loop puts its iterations at the front of
    `pending`); the path condition after it."""
    ev = _Expr(ctx, env, pc)
    if isinstance(stmt, ast.For):
        # the loop becomes its iterations, in place: the rest of the block follows them as it follows the loop
        pending.extendleft(reversed(_unrolled(ctx, stmt, ev)))
    elif isinstance(stmt, ast.While):
        pending.extendleft(reversed(_while_unrolled(ctx, stmt)))
    elif isinstance(stmt, _Overrun):
        ctx.failures.append(Failure(pc, f"a `while` loop (line {stmt.lineno}) that runs more than "
                                        f"{WHILE_ITERATIONS} iterations", overrun=True))
    elif isinstance(stmt, ast.If):
        cond = ev.truth(ev.eval(stmt.test))
        then_env, then_pc = _through(ctx, list(stmt.body), env, z3.And(pc, cond), fn)
        else_env, else_pc = _through(ctx, list(stmt.orelse), env, z3.And(pc, z3.Not(cond)), fn)
        joined = _joined(ctx.mode, cond, then_env, else_env)
        env.clear()
        env.update(joined)
        return z3.Or(then_pc, else_pc)
    elif isinstance(stmt, ast.Assign):
        _assign(env, stmt, ev)
    elif isinstance(stmt, ast.AugAssign):
        if not isinstance(stmt.target, ast.Name):
            raise Unsupported(f"augmented assignment to `{_describe(stmt.target)}`", stmt)
        current = ev.eval(ast.Name(id=stmt.target.id, ctx=ast.Load(), lineno=stmt.lineno))
        env[stmt.target.id] = ev.binop(stmt.op, current, ev.eval(stmt.value), stmt)
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        env[stmt.target.id] = ev.eval(stmt.value)
    elif isinstance(stmt, ast.Assert):
        ok = ev.truth(ev.eval(stmt.test))
        ctx.failures.append(Failure(z3.And(pc, z3.Not(ok)), f"AssertionError (line {stmt.lineno})"))
        return z3.And(pc, ok)
    elif not (isinstance(stmt, ast.Pass) or _is_docstring(stmt)):
        raise Unsupported(f"`{_describe(stmt)}` statement", stmt)
    return pc


def _joined(mode: Mode, cond: z3.BoolRef, then: dict[str, Val], other: dict[str, Val]) -> dict[str, Val]:
    """The names after an `if` whose branches fell through: each bound on both sides, as the side `cond` picks.

    A name bound on one side only is left out: reading it later is refused, as CPython would raise
    UnboundLocalError on the other side.
    """
    return {name: value if other[name] is value else merge(mode, cond, value, other[name])
            for name, value in then.items() if name in other}


def _unrolled(ctx: _Ctx, loop: ast.For, ev: _Expr) -> list[ast.stmt]:
    """`for name in range(...): body else: orelse` as the statements CPython runs: `name = k` and the body, for
    each k of the range, then `orelse` (which always runs: `break` is refused).

    `range` must be the builtin (no name of the module or the function hides it) and its arguments constants,
    evaluated once, before the first iteration, as CPython evaluates them. Step 0 raises ValueError there.
    """
    what = "`for` loop"
    if loop.type_comment is not None or not isinstance(loop.target, ast.Name):
        raise Unsupported(f"{what} over `{_describe(loop.target)}` (only one name)", loop)
    call = loop.iter
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "range"):
        raise Unsupported(f"{what} over `{_describe(call)}` (only `range` with constant bounds)", loop)
    if call.keywords or not 1 <= len(call.args) <= 3 or any(isinstance(a, ast.Starred) for a in call.args):
        raise Unsupported(f"{what} over `range` with {len(call.args)} arguments or keywords", loop)
    if "range" in ev.env or "range" in ctx.namespace or (ctx.scopes and "range" in ctx.scopes[-1]):
        raise Unsupported(f"{what} over `range`, which is not the builtin here", loop)
    _refuse_jumps(loop)
    bounds = [ev.constant(ev.eval(a), a, "`range` argument") for a in call.args]
    start, stop, step = (0, bounds[0], 1) if len(bounds) == 1 else (*bounds[:2], bounds[2] if len(bounds) == 3 else 1)
    if step == 0:
        return [ast.copy_location(ast.Raise(exc=ast.Name(id="ValueError", ctx=ast.Load()), cause=None), loop)]
    values = range(start, stop, step)
    _count_iterations(ctx, len(values), loop)
    unrolled: list[ast.stmt] = []
    for k in values:
        bind = ast.Assign(targets=[ast.Name(id=loop.target.id, ctx=ast.Store())], value=ast.Constant(value=k))
        unrolled += [ast.fix_missing_locations(ast.copy_location(bind, loop)), *loop.body]
    return unrolled + list(loop.orelse)


def _refuse_jumps(loop: ast.For | ast.While) -> None:
    """`Unsupported` for a `break` or `continue` in the loop's body: an unrolling runs every iteration to its end."""
    for node in (n for stmt in loop.body for n in ast.walk(stmt)):
        if isinstance(node, (ast.Break, ast.Continue)):
            raise Unsupported(f"`{type(node).__name__.lower()}` in a loop", node)


def _count_iterations(ctx: _Ctx, iterations: int, loop: ast.stmt) -> None:
    """Add a loop's iterations to the translation's count; `Unsupported` past `MAX_ITERATIONS`."""
    ctx.iterations += iterations
    if ctx.iterations > MAX_ITERATIONS:
        raise Unsupported(f"loops of more than {MAX_ITERATIONS} iterations in all", loop)


class _Overrun(ast.stmt):
    """Where an unrolled `while` loop would still run: its condition held after `WHILE_ITERATIONS` iterations."""

    _fields = ()


def _while_unrolled(ctx: _Ctx, loop: ast.While) -> list[ast.stmt]:
    """`while test: body else: orelse` as `WHILE_ITERATIONS` nested `if test: body`, the innermost ending in an
    `_Overrun`, then `orelse` (which always runs: `break` is refused).

    Nested, not in a row: once the test is false no later iteration is translated, and a body that falls through
    keeps the whole loop one path (`_joined`).
    """
    _refuse_jumps(loop)
    _count_iterations(ctx, WHILE_ITERATIONS, loop)
    inner: list[ast.stmt] = [ast.copy_location(ast.If(test=loop.test, body=[ast.copy_location(_Overrun(), loop)],
                                                      orelse=[]), loop)]
    for _ in range(WHILE_ITERATIONS):
        inner = [ast.copy_location(ast.If(test=loop.test, body=[*loop.body, *inner], orelse=[]), loop)]
    return inner + list(loop.orelse)


def _none_return(ctx: _Ctx, pc: z3.BoolRef, node: ast.AST) -> Val:
    ctx.failures.append(Failure(pc, f"returned None (no value returned, line {getattr(node, 'lineno', '?')})"))
    return Val("int", z3.BitVecVal(0, 1, ctx.z), 0, 0) if ctx.mode == "bv" else Val("int", z3.IntVal(0, ctx.z))


def _assign(env: dict[str, Val], stmt: ast.Assign, ev: _Expr) -> None:
    """`a = b = e`, and `a, b = e1, e2` (every right-hand side evaluated before any name is bound)."""
    for target in stmt.targets:
        if isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple) and \
                len(target.elts) == len(stmt.value.elts) and all(isinstance(t, ast.Name) for t in target.elts):
            continue
        if not isinstance(target, ast.Name):
            raise Unsupported(f"assignment to `{_describe(target)}`", stmt)
    if isinstance(stmt.value, ast.Tuple):
        if not all(isinstance(t, ast.Tuple) for t in stmt.targets):
            raise Unsupported("a tuple value (only `a, b = e1, e2` unpacking)", stmt)
        values = [ev.eval(e) for e in stmt.value.elts]
        for target in stmt.targets:
            for name, value in zip(target.elts, values, strict=True):  # type: ignore[attr-defined]
                env[name.id] = value
        return
    value = ev.eval(stmt.value)
    for target in stmt.targets:
        env[target.id] = value  # type: ignore[attr-defined]


def merge(mode: Mode, cond: z3.BoolRef, a: Val, b: Val) -> Val:
    """`a if cond else b` as one value."""
    if a.kind == "bool" and b.kind == "bool":
        return Val("bool", z3.If(cond, a.expr, b.expr))
    a, b = as_int(a, mode), as_int(b, mode)
    if mode == "int":
        return Val("int", z3.If(cond, a.expr, b.expr))
    lo, hi = min(a.lo, b.lo), max(a.hi, b.hi)  # type: ignore[type-var]
    width = max(a.width, b.width)
    return Val("int", z3.If(cond, extend(a, width), extend(b, width)), lo, hi)


def as_int(v: Val, mode: Mode) -> Val:
    """A bool as the int Python treats it as (True == 1)."""
    if v.kind == "int":
        return v
    if mode == "int":
        return Val("int", z3.If(v.expr, z3.IntVal(1, v.expr.ctx), z3.IntVal(0, v.expr.ctx)))
    return Val("int", z3.If(v.expr, z3.BitVecVal(1, 2, v.expr.ctx), z3.BitVecVal(0, 2, v.expr.ctx)), 0, 1)


def extend(v: Val, width: int) -> z3.BitVecRef:
    """The value's bit-vector sign-extended to `width` bits."""
    if width > MAX_WIDTH:
        raise Unsupported(f"an intermediate value needs {width} bits (more than {MAX_WIDTH})")
    return z3.SignExt(width - v.width, v.expr) if width > v.width else v.expr  # type: ignore[return-value]


class _Expr:
    """Evaluates expressions in one environment under one path condition."""

    def __init__(self, ctx: _Ctx, env: dict[str, Val], pc: z3.BoolRef) -> None:
        self.ctx, self.env, self.pc, self.mode = ctx, env, pc, ctx.mode

    def under(self, cond: z3.BoolRef) -> _Expr:
        return _Expr(self.ctx, self.env, z3.And(self.pc, cond))

    def fail(self, cond: z3.BoolRef, message: str) -> None:
        self.ctx.failures.append(Failure(z3.And(self.pc, cond), message))

    def truth(self, v: Val) -> z3.BoolRef:
        if v.kind == "bool":
            return v.expr  # type: ignore[return-value]
        zero = z3.IntVal(0, self.ctx.z) if self.mode == "int" else z3.BitVecVal(0, v.width, self.ctx.z)
        return v.expr != zero

    def const(self, value: int) -> Val:
        if self.mode == "int":
            return Val("int", z3.IntVal(value, self.ctx.z))
        width = signed_width(value, value)
        if width > MAX_WIDTH:
            raise Unsupported(f"the constant {value} needs more than {MAX_WIDTH} bits")
        return Val("int", z3.BitVecVal(value, width, self.ctx.z), value, value)

    def eval(self, node: ast.expr) -> Val:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise Unsupported(f"{_describe(node)} expression", node)
        return method(node)

    # ------------------------------------------------------------------ leaves

    def _Constant(self, node: ast.Constant) -> Val:
        if isinstance(node.value, bool):
            return Val("bool", z3.BoolVal(node.value, self.ctx.z))
        if isinstance(node.value, int):
            return self.const(node.value)
        raise Unsupported(f"{type(node.value).__name__} constant {node.value!r} (only int and bool)", node)

    def _Name(self, node: ast.Name) -> Val:
        if node.id in self.env:
            return self.env[node.id]
        if self.ctx.scopes and node.id in self.ctx.scopes[-1]:
            raise Unsupported(f"local name `{node.id}` may be read before it is assigned", node)
        binding = self.ctx.namespace.get(node.id)
        if isinstance(binding, _Value):
            return binding.val
        if isinstance(binding, _Function):
            raise Unsupported(f"`{node.id}` is a function here, read as a value", node)
        if isinstance(binding, _Imported):
            raise Unsupported(f"`{node.id}` is bound by an import (`{binding.statement}`, line {binding.line}), "
                              "read as a value", node)
        if hasattr(builtins, node.id):
            raise Unsupported(f"the builtin `{node.id}` read as a value", node)
        self.undefined(node)
        raise Unsupported(f"name `{node.id}` is not assigned on every path before it is read", node)

    def undefined(self, node: ast.Name) -> None:
        """A name bound nowhere: at the top level, on a path that runs, loading the program raises NameError."""
        if not self.ctx.scopes and z3.is_true(z3.simplify(self.pc)):
            raise WontLoad(f"NameError: name '{node.id}' is not defined", node)

    # ------------------------------------------------------------------ operators

    def _UnaryOp(self, node: ast.UnaryOp) -> Val:
        v = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return Val("bool", z3.Not(self.truth(v)))
        v = as_int(v, self.mode)
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.USub):
            return self.negate(v)
        if isinstance(node.op, ast.Invert):
            if self.mode == "int":
                raise Unsupported("bitwise `~` on unbounded ints", node)
            return Val("int", ~v.expr, -v.hi - 1, -v.lo - 1)  # type: ignore[operator]
        raise Unsupported(f"unary {type(node.op).__name__}", node)

    def negate(self, v: Val) -> Val:
        """`-v` for an int value."""
        if self.mode == "int":
            return Val("int", -v.expr)
        lo, hi = -v.hi, -v.lo  # type: ignore[operator]
        w = max(signed_width(lo, hi), v.width)
        return Val("int", -extend(v, w), lo, hi)

    def abs(self, v: Val, node: ast.AST) -> Val:
        """`abs(v)` of an int (or bool) value."""
        v = as_int(v, self.mode)
        return merge(self.mode, self.compare(ast.Lt(), v, self.const(0), node), self.negate(v), v)

    def bit_length(self, v: Val, node: ast.AST) -> Val:
        """`v.bit_length()` of an int (or bool) value: the bits of abs(v), 0 for 0 (bit-vector mode).

        The method of the value's own type: no name of the program can hide it, and the subset's values are ints.
        """
        size = self.abs(v, node)
        top = max(abs(size.lo), abs(size.hi)).bit_length()  # type: ignore[arg-type]
        w = signed_width(0, top)
        count: z3.BitVecRef = z3.BitVecVal(0, w, self.ctx.z)
        for k in range(1, top + 1):
            # abs(v) >= 2**(k-1) holds for k = 1..bit_length exactly, so the count is the bit length
            count = count + z3.If(self.compare(ast.GtE(), size, self.const(1 << (k - 1)), node),
                                  z3.BitVecVal(1, w, self.ctx.z), z3.BitVecVal(0, w, self.ctx.z))
        return Val("int", count, 0, top)

    def _BinOp(self, node: ast.BinOp) -> Val:
        return self.binop(node.op, self.eval(node.left), self.eval(node.right), node)

    def binop(self, op: ast.operator, a: Val, b: Val, node: ast.AST) -> Val:
        a, b = as_int(a, self.mode), as_int(b, self.mode)
        name = type(op).__name__
        if self.mode == "int":
            return self._int_binop(name, a, b, node)
        return self._bv_binop(name, a, b, node)

    def _int_binop(self, name: str, a: Val, b: Val, node: ast.AST) -> Val:
        x, y = a.expr, b.expr
        if name == "Add":
            return Val("int", x + y)
        if name == "Sub":
            return Val("int", x - y)
        if name == "Mult":
            return Val("int", x * y)
        if name in ("FloorDiv", "Mod"):
            self.fail(y == 0, f"ZeroDivisionError (line {getattr(node, 'lineno', '?')})")
            q, r = x / y, x % y  # Z3: Euclidean (0 <= r < |y|)
            adjust = z3.And(y < 0, r != 0)
            if name == "FloorDiv":
                return Val("int", z3.If(adjust, q - 1, q))
            return Val("int", z3.If(adjust, r + y, r))
        if name == "Pow":
            k = self._small_constant(b, node, "exponent")
            out = z3.IntVal(1, self.ctx.z)
            for _ in range(k):
                out = out * x
            return Val("int", out)
        if name in ("LShift", "RShift"):
            k = self._small_constant(b, node, "shift amount")
            if name == "LShift":
                return Val("int", x * (2 ** k))
            return Val("int", x / (2 ** k))  # Euclidean by a positive number = floor
        raise Unsupported(f"`{_OPS.get(name, name)}` on unbounded ints (bit-vector tasks only)", node)

    def constant(self, v: Val, node: ast.AST, what: str) -> int:
        """The int `v` always holds (a bool as 0 or 1); `Unsupported` when it depends on the inputs."""
        value = z3.simplify(as_int(v, self.mode).expr)
        if not z3.is_int_value(value) and not z3.is_bv_value(value):
            raise Unsupported(f"non-constant {what}", node)
        return value.as_long() if z3.is_int_value(value) else value.as_signed_long()  # type: ignore[union-attr]

    def _small_constant(self, v: Val, node: ast.AST, what: str) -> int:
        k = self.constant(v, node, what)
        if not 0 <= k <= 64:
            raise Unsupported(f"{what} {k} (only constants 0..64)", node)
        return k

    def _bv_binop(self, name: str, a: Val, b: Val, node: ast.AST) -> Val:
        alo, ahi, blo, bhi = a.lo, a.hi, b.lo, b.hi
        assert alo is not None and ahi is not None and blo is not None and bhi is not None
        line = getattr(node, "lineno", "?")
        if name in ("Add", "Sub", "Mult"):
            if name == "Add":
                lo, hi = alo + blo, ahi + bhi
            elif name == "Sub":
                lo, hi = alo - bhi, ahi - blo
            else:
                corners = [alo * blo, alo * bhi, ahi * blo, ahi * bhi]
                lo, hi = min(corners), max(corners)
            w = max(signed_width(lo, hi), a.width, b.width)
            x, y = extend(a, w), extend(b, w)
            expr = x + y if name == "Add" else x - y if name == "Sub" else x * y
            return Val("int", expr, lo, hi)
        if name in ("BitAnd", "BitOr", "BitXor"):
            w = max(a.width, b.width)
            x, y = extend(a, w), extend(b, w)
            expr = x & y if name == "BitAnd" else x | y if name == "BitOr" else x ^ y
            lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
            if name == "BitAnd" and (alo >= 0 or blo >= 0):
                lo, hi = 0, min(h for low, h in ((alo, ahi), (blo, bhi)) if low >= 0)
            elif alo >= 0 and blo >= 0:
                lo, hi = 0, (1 << max(ahi.bit_length(), bhi.bit_length())) - 1
            return Val("int", expr, lo, hi)
        if name in ("LShift", "RShift"):
            if blo < 0:
                self.fail(b.expr < z3.BitVecVal(0, b.width, self.ctx.z), f"ValueError: negative shift count (line {line})")
            slo, shi = max(blo, 0), max(bhi, 0)
            if name == "LShift":
                if a.width + shi > MAX_WIDTH:
                    raise Unsupported(f"`<<` by an amount up to {shi}: the value could need more than {MAX_WIDTH} "
                                      f"bits (mask the amount first, e.g. `k & 31`)", node)
                corners = [alo << slo, alo << shi, ahi << slo, ahi << shi]
                lo, hi = min(corners), max(corners)
                w = max(signed_width(lo, hi), a.width, b.width)
                return Val("int", extend(a, w) << extend(b, w), lo, hi)
            cap = min(shi, a.width)  # shifting further gives 0 or -1, as shifting by the width does
            corners = [alo >> slo, alo >> cap, ahi >> slo, ahi >> cap]
            lo, hi = min(corners), max(corners)
            w = max(a.width, b.width)
            return Val("int", extend(a, w) >> extend(b, w), lo, hi)  # >> on BitVecRef is arithmetic
        if name in ("FloorDiv", "Mod"):
            w = max(a.width, b.width) + 1
            x, y = extend(a, w), extend(b, w)
            zero = z3.BitVecVal(0, w, self.ctx.z)
            if blo <= 0 <= bhi:
                self.fail(y == zero, f"ZeroDivisionError (line {line})")
            q, r = x / y, z3.SRem(x, y)  # bvsdiv and bvsrem: truncated towards zero
            adjust = z3.And(r != zero, (r < zero) != (y < zero))
            big = max(abs(alo), abs(ahi))
            if name == "FloorDiv":
                lo, hi = -big - 1, big
                if alo >= 0 and blo > 0:
                    lo, hi = 0, ahi // blo
                return Val("int", z3.If(adjust, q - 1, q), lo, hi)
            m = max(abs(blo), abs(bhi))
            lo, hi = (0, bhi - 1) if blo > 0 else (blo + 1, 0) if bhi < 0 else (-(m - 1), m - 1)
            if alo >= 0 and blo > 0:
                hi = min(hi, ahi)
            return Val("int", z3.If(adjust, r + y, r), min(lo, 0), max(hi, 0))
        if name == "Pow":
            k = self._small_constant(b, node, "exponent")
            out: Val = self.const(1)
            for _ in range(k):
                out = self._bv_binop("Mult", out, a, node)
            return out
        raise Unsupported(f"`{_OPS.get(name, name)}` operator", node)

    def _Compare(self, node: ast.Compare) -> Val:
        left = self.eval(node.left)
        parts = []
        ev = self
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = ev.eval(right_node)
            cmp = ev.compare(op, left, right, node)
            parts.append(cmp)
            ev = ev.under(cmp)  # later comparisons run only when the earlier ones held
            left = right
        return Val("bool", z3.And(*parts) if len(parts) > 1 else parts[0])

    def compare(self, op: ast.cmpop, a: Val, b: Val, node: ast.AST) -> z3.BoolRef:
        name = type(op).__name__
        if name not in ("Eq", "NotEq", "Lt", "LtE", "Gt", "GtE"):
            raise Unsupported(f"`{_OPS.get(name, name)}` comparison", node)
        if a.kind == "bool" and b.kind == "bool" and name in ("Eq", "NotEq"):
            return a.expr == b.expr if name == "Eq" else a.expr != b.expr  # type: ignore[return-value]
        a, b = as_int(a, self.mode), as_int(b, self.mode)
        x, y = a.expr, b.expr
        if self.mode == "bv":
            w = max(a.width, b.width)
            x, y = extend(a, w), extend(b, w)
        return {"Eq": lambda: x == y, "NotEq": lambda: x != y, "Lt": lambda: x < y, "LtE": lambda: x <= y,
                "Gt": lambda: x > y, "GtE": lambda: x >= y}[name]()

    def _BoolOp(self, node: ast.BoolOp) -> Val:
        is_and = isinstance(node.op, ast.And)
        values = [self.eval(node.values[0])]
        guard = z3.BoolVal(True, self.ctx.z)
        for operand in node.values[1:]:
            # the next operand runs only when the ones before let it (short-circuit)
            guard = z3.And(guard, self.truth(values[-1]) if is_and else z3.Not(self.truth(values[-1])))
            values.append(self.under(guard).eval(operand))
        result = values[-1]
        for v in reversed(values[:-1]):
            t = self.truth(v)
            result = merge(self.mode, t, result, v) if is_and else merge(self.mode, t, v, result)
        return result

    def _IfExp(self, node: ast.IfExp) -> Val:
        cond = self.truth(self.eval(node.test))
        return merge(self.mode, cond, self.under(cond).eval(node.body), self.under(z3.Not(cond)).eval(node.orelse))

    def _Call(self, node: ast.Call) -> Val:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "bit_length" and self.mode == "bv" \
                and not node.args and not node.keywords:
            return self.bit_length(self.eval(node.func.value), node)
        if not isinstance(node.func, ast.Name):
            raise Unsupported(f"call to `{_describe(node.func)}`", node)
        name = node.func.id
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise Unsupported(f"keyword or starred arguments in a call to `{name}`", node)
        binding = self.ctx.namespace.get(name)
        if name in self.env or isinstance(binding, _Value) or (self.ctx.scopes and name in self.ctx.scopes[-1]):
            raise Unsupported(f"call to `{name}`, which is a variable here", node)
        if isinstance(binding, _Imported):
            raise Unsupported(f"call to `{name}`, which is bound by an import (`{binding.statement}`, line "
                              f"{binding.line})", node)
        if isinstance(binding, _Function):
            args = [self.eval(a) for a in node.args]
            return _call(self.ctx, binding, args, self.pc, node)
        if name not in _BUILTINS:
            if not hasattr(builtins, name):
                self.undefined(node.func)
            raise Unsupported(f"call to `{name}`", node)
        args = [self.eval(a) for a in node.args]
        if name == "abs" and len(args) == 1:
            return self.abs(args[0], node)
        if name in ("min", "max") and len(args) >= 2:
            best = args[0]
            for v in args[1:]:
                # min keeps the first of equal values, max too: only a strictly better one replaces it
                better = self.compare(ast.Lt() if name == "min" else ast.Gt(), v, best, node)
                best = merge(self.mode, better, v, best)
            return best
        if name == "int" and len(args) == 1:
            return as_int(args[0], self.mode)
        if name == "bool" and len(args) == 1:
            return Val("bool", self.truth(args[0]))
        raise Unsupported(f"call to `{name}`", node)


#: The builtins the translation models, when no module-level name hides them.
_BUILTINS = frozenset({"abs", "min", "max", "int", "bool"})

_OPS = {"Add": "+", "Sub": "-", "Mult": "*", "FloorDiv": "//", "Mod": "%", "Pow": "**", "BitAnd": "&", "BitOr": "|",
        "BitXor": "^", "LShift": "<<", "RShift": ">>", "Div": "/", "MatMult": "@", "In": "in", "NotIn": "not in",
        "Is": "is", "IsNot": "is not"}


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _describe(node: ast.AST) -> str:
    names = {"For": "for", "While": "while", "With": "with", "Try": "try", "Raise": "raise", "Lambda": "lambda",
             "ListComp": "list comprehension", "GeneratorExp": "generator expression", "Subscript": "subscript",
             "Attribute": "attribute", "List": "list", "Tuple": "tuple", "Dict": "dict", "Set": "set",
             "JoinedStr": "f-string", "Global": "global", "Nonlocal": "nonlocal", "ClassDef": "class",
             "Delete": "del", "Match": "match", "NamedExpr": "walrus (:=)", "Await": "await", "Yield": "yield",
             "Starred": "starred", "Slice": "slice"}
    kind = type(node).__name__
    if isinstance(node, ast.BinOp):
        return f"`{_OPS.get(type(node.op).__name__, type(node.op).__name__)}`"
    if isinstance(node, ast.Attribute):
        try:
            return ast.unparse(node)
        except Exception:  # noqa: BLE001 - a description only
            return "attribute"
    if isinstance(node, ast.Name):
        return node.id
    return names.get(kind, kind)
