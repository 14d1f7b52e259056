"""One lexer for the comments and strings of Coq, Lean 4 and F* source, for the soundness audits.

An audit must see exactly the comments and strings its prover sees: text the
audit takes for a comment or a string but the prover reads as code (or the
reverse) is a way past the audit. The rules, per language:

- Coq (checked against coqc: tests/test_source_lexer.py): comments `(* *)`
  nest, and a string inside a comment is lexed as a string, so `(* "*)" *)`
  is one comment and an unclosed string inside a comment leaves the comment
  open; strings escape `"` as `""` (no backslash escapes); `(*)` opens a
  comment; no line comments and no character literals (`'` is a letter of
  names: `x'`).
- Lean 4: comments `/- -/` nest and `--` runs to the end of the line; strings
  escape with a backslash; raw strings `r"..."`, `r#"..."#` have no escapes;
  in an interpolated string (`s!"..."`, `m!"..."`) the `{...}` parts are code,
  so the whole literal is left as code; character literals `'a'`, `'"'`,
  `'\\''`, `'\\x41'`, `'\\u0041'` (not after a letter of a name: `h'` is a name).
- F*: comments `(* *)` nest, `//` runs to the end of the line; `(*)` is the
  operator `*` in parentheses, not a comment; strings escape with a
  backslash; character literals as in Lean (`'a` alone is a type variable).

`lex` cuts a text into spans that cover it in order; `blanked` overwrites
comments and the insides of strings and characters with spaces, keeping
newlines, quotes and so every position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = ["COQ", "FSTAR", "LEAN", "Lexed", "Rules", "Span", "blanked", "lex"]

Kind = Literal["code", "comment", "string", "char"]


@dataclass(frozen=True)
class Rules:
    """How one language writes comments, strings and characters."""

    name: str
    block_open: str
    block_close: str
    line_comment: str | None
    #: how a string holds its quote: `doubled` (`""`, Coq) or `backslash` (`\"`)
    escape: Literal["doubled", "backslash"]
    #: strings inside comments are lexed (Coq), so a `*)` in them does not close the comment
    strings_in_comments: bool = False
    char_literals: bool = False
    #: texts where the block opener begins that are code, not a comment (F*'s `(*)`)
    not_comments: tuple[str, ...] = ()
    #: Lean's raw strings `r"..."`, `r#"..."#` and interpolated strings `s!"...{code}..."`
    raw_strings: bool = False
    interpolated_strings: bool = False


COQ = Rules(name="coq", block_open="(*", block_close="*)", line_comment=None, escape="doubled",
            strings_in_comments=True)
LEAN = Rules(name="lean", block_open="/-", block_close="-/", line_comment="--", escape="backslash",
             char_literals=True, raw_strings=True, interpolated_strings=True)
FSTAR = Rules(name="fstar", block_open="(*", block_close="*)", line_comment="//", escape="backslash",
              char_literals=True, not_comments=("(*)",))


class Span(NamedTuple):
    """`text[start:end]` is one token of `kind`; `text[inner_start:inner_end]` is what lies between its delimiters."""

    kind: Kind
    start: int
    end: int
    inner_start: int
    inner_end: int


class Lexed(NamedTuple):
    """A text cut into spans, and what is left open at its end."""

    spans: list[Span]
    #: "comment" or "string" when one never closes (its span runs to the end), else None
    problem: Literal["comment", "string"] | None = None
    #: where the unclosed comment or string begins
    problem_at: int | None = None


_HEX = re.compile(r"[0-9a-fA-F]+")


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_'"


def _string_end(text: str, i: int, rules: Rules) -> int:
    """Index just after the string whose opening quote is at `i`, or -1 when it never closes."""
    n = len(text)
    j = i + 1
    while j < n:
        ch = text[j]
        if rules.escape == "backslash" and ch == "\\":
            j += 2
            continue
        if ch == '"':
            if rules.escape == "doubled" and j + 1 < n and text[j + 1] == '"':
                j += 2
                continue
            return j + 1
        j += 1
    return -1


def _raw_string_at(text: str, i: int) -> tuple[int, int, int] | None:
    """(end, inner start, inner end) of a Lean raw string `r#*"..."#*` starting at `i`, (-1, ...) when unclosed."""
    m = re.compile(r'r(#*)"').match(text, i)
    if m is None or (i and _is_name_char(text[i - 1])):
        return None
    closer = '"' + m.group(1)
    at = text.find(closer, m.end())
    if at < 0:
        return -1, m.end(), len(text)
    return at + len(closer), m.end(), at


def _char_end(text: str, i: int) -> int | None:
    """Index just after a character literal opening at `i` (`'a'`, `'\\n'`, `'\\x41'`), or None when it is not one."""
    n = len(text)
    if i + 2 >= n or (i and _is_name_char(text[i - 1])):
        return None
    j = i + 1
    if text[j] == "\\":
        kind = text[j + 1] if j + 1 < n else ""
        if kind in ("x", "u"):
            m = _HEX.match(text, j + 2, min(n, j + 2 + (2 if kind == "x" else 4)))
            j = m.end() if m else j + 2
        else:
            j += 2
    elif text[j] in "'\n":
        return None
    else:
        j += 1
    return j + 1 if j < n and text[j] == "'" else None


def _comment_end(text: str, i: int, rules: Rules) -> int:
    """Index just after the block comment opening at `i` (nested), or -1 when it never closes."""
    n = len(text)
    depth = 0
    j = i
    while j < n:
        if text.startswith(rules.block_open, j):
            depth += 1
            j += len(rules.block_open)
        elif text.startswith(rules.block_close, j):
            depth -= 1
            j += len(rules.block_close)
            if depth == 0:
                return j
        elif rules.strings_in_comments and text[j] == '"':
            j = _string_end(text, j, rules)
            if j < 0:
                return -1
        else:
            j += 1
    return -1


def _interpolated_end(text: str, i: int, rules: Rules) -> int:
    """Index just after the interpolated string whose quote is at `i`; its `{...}` parts are code. -1: unclosed."""
    n = len(text)
    j = i + 1
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
        elif ch == '"':
            return j + 1
        elif ch == "{":
            j = _code_until_brace(text, j + 1, rules)
            if j < 0:
                return -1
        else:
            j += 1
    return -1


def _code_until_brace(text: str, j: int, rules: Rules) -> int:
    """Index just after the `}` that closes an interpolation's code starting at `j`, or -1."""
    depth = 1
    n = len(text)
    while j < n:
        token = _token_at(text, j, rules)
        if token is not None:
            if token[1] < 0:
                return -1
            j = token[1]
            continue
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return -1


def _token_at(text: str, i: int, rules: Rules) -> tuple[Kind, int, int, int] | None:
    """The comment, string or character starting at `i`: (kind, end or -1 when unclosed, inner start, inner end)."""
    n = len(text)
    ch = text[i]
    if text.startswith(rules.block_open, i) and not any(text.startswith(x, i) for x in rules.not_comments):
        end = _comment_end(text, i, rules)
        return "comment", end, i, (end if end >= 0 else n)
    if rules.line_comment and text.startswith(rules.line_comment, i):
        newline = text.find("\n", i)
        end = n if newline < 0 else newline
        return "comment", end, i, end
    if rules.raw_strings and ch == "r":
        raw = _raw_string_at(text, i)
        if raw is not None:
            return "string", raw[0], raw[1], raw[2]
    if ch == '"':
        if rules.interpolated_strings and i >= 2 and text[i - 1] == "!" and _is_name_char(text[i - 2]):
            end = _interpolated_end(text, i, rules)
            return "code", end, i, (end if end >= 0 else n)
        end = _string_end(text, i, rules)
        return "string", end, i + 1, (end - 1 if end >= 0 else n)
    if rules.char_literals and ch == "'":
        end = _char_end(text, i)
        if end is not None:
            return "char", end, i + 1, end - 1
    return None


def lex(text: str, rules: Rules) -> Lexed:
    """Cut `text` into code, comment, string and character spans, following `rules` (see the module docstring)."""
    spans: list[Span] = []
    n = len(text)
    i = code_from = 0
    while i < n:
        token = _token_at(text, i, rules)
        if token is None:
            i += 1
            continue
        kind, end, inner_start, inner_end = token
        if code_from < i:
            spans.append(Span("code", code_from, i, code_from, i))
        if end < 0:
            problem: Literal["comment", "string"] = "comment" if kind == "comment" else "string"
            spans.append(Span(kind, i, n, inner_start, n))
            return Lexed(spans, problem, i)
        spans.append(Span(kind, i, end, inner_start, inner_end))
        i = code_from = end
    if code_from < n:
        spans.append(Span("code", code_from, n, code_from, n))
    return Lexed(spans)


def blanked(text: str, lexed: Lexed) -> str:
    """`text` with comments, and the insides of strings and characters, overwritten by spaces (newlines kept)."""
    out = list(text)
    for span in lexed.spans:
        if span.kind == "code":
            continue
        for k in range(span.inner_start, span.inner_end):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)
