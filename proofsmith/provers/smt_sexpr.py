"""The little SMT-LIB reading the SMT checker needs: candidate terms and Z3's `get-value` answers.

A candidate term goes into the query text, so it is read first: one balanced
S-expression, no comments, quoted symbols or strings (which could hide a
parenthesis), no commands. Then it cannot close the `define-fun` it sits in
and add assertions of its own.
"""

from __future__ import annotations

import re

SExpr = str | list["SExpr"]

_TOKEN = re.compile(r"\s*(?:(\()|(\))|([^\s()]+))")
#: Words that start SMT-LIB commands; none may appear in a term.
COMMANDS = frozenset({
    "assert", "check-sat", "check-sat-assuming", "declare-const", "declare-datatype", "declare-datatypes",
    "declare-fun", "declare-sort", "define-fun", "define-fun-rec", "define-funs-rec", "define-sort", "echo", "exit",
    "get-assertions", "get-assignment", "get-info", "get-model", "get-option", "get-proof", "get-unsat-assumptions",
    "get-unsat-core", "get-value", "pop", "push", "reset", "reset-assertions", "set-info", "set-logic", "set-option",
    "eval", "simplify", "include", "minimize", "maximize", "check-sat-using", "apply", "display", "declare-rel",
    "rule", "query", "declare-var", "define-const", "assert-soft",
})


class SExprError(ValueError):
    """Text that is not one acceptable S-expression; the message says why."""


def parse(text: str) -> list[SExpr]:
    """Every S-expression in `text`, in order (for Z3's answers, which hold no strings we need)."""
    stack: list[list[SExpr]] = [[]]
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        if match.group(1):
            stack.append([])
        elif match.group(2):
            if len(stack) == 1:
                raise SExprError("a `)` closes nothing")
            done = stack.pop()
            stack[-1].append(done)
        elif match.group(3):
            stack[-1].append(match.group(3))
    if len(stack) != 1:
        raise SExprError(f"{len(stack) - 1} unclosed `(`")
    return stack[0]


def check_term(text: str) -> SExpr:
    """The candidate term, read; SExprError naming what makes it unacceptable."""
    for char, what in ((";", "comments (`;`)"), ("|", "quoted symbols (`|...|`)"), ('"', "string literals")):
        if char in text:
            raise SExprError(f"{what} are not allowed in a candidate term")
    exprs = parse(text)
    if len(exprs) != 1:
        raise SExprError(f"expected one term, found {len(exprs)}")
    term = exprs[0]
    for word in _atoms(term):
        if word in COMMANDS:
            raise SExprError(f"`{word}` is an SMT-LIB command, not part of a term")
    return term


def _atoms(expr: SExpr):
    if isinstance(expr, str):
        yield expr
        return
    for item in expr:
        yield from _atoms(item)


def value(expr: SExpr) -> int | bool:
    """A Z3 model value (`#x0f`, `#b1`, `(_ bv5 8)`, `12`, `(- 3)`, `true`) as a Python int or bool."""
    if isinstance(expr, str):
        if expr == "true":
            return True
        if expr == "false":
            return False
        if expr.startswith("#x"):
            return int(expr[2:], 16)  # noqa: FURB166 - SMT-LIB #x, not 0x
        if expr.startswith("#b"):
            return int(expr[2:], 2)  # noqa: FURB166
        return int(expr)
    if len(expr) == 3 and expr[0] == "_" and isinstance(expr[1], str) and expr[1].startswith("bv"):
        return int(expr[1][2:])
    if len(expr) == 2 and expr[0] == "-":
        inner = value(expr[1])
        return -int(inner)
    raise SExprError(f"not a value: {expr!r}")
