"""Splitting Coq source into sentences, for the loader, the audit and step mode.

Coq's own lexer rules that matter here (notes/datasets.md section 3.4):
comments `(* ... *)` nest and may hold strings; strings escape `"` as `""`;
a sentence ends at a `.` followed by whitespace or the end of the text (so
`Nat.add` and `..` do not end one); bullets (`-`, `+`, `*`, repeated) and the
braces `{` `}` at the start of a sentence are sentences of their own, and so
is a goal selector with a brace (`2: {`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Sentence", "SplitResult", "blank", "head_words", "split_sentences", "strip_comments"]


class Sentence(NamedTuple):
    """One sentence: `text[start:end]` of the source, from its first token to its final `.` (or bullet)."""

    start: int
    end: int
    text: str


class SplitResult(NamedTuple):
    """The sentences of a text, and what could not be split."""

    sentences: list[Sentence]
    #: offset of trailing text that is not a finished sentence (None when there is none)
    unfinished_at: int | None
    #: why the text does not split cleanly: "comment", "string" or "sentence" (None when it does)
    problem: str | None


_BULLET = re.compile(r"(-+|\++|\*+|\{|\})")
_SELECTOR_BRACE = re.compile(r"(\d+|\[[A-Za-z_][\w']*\])\s*:\s*\{")


def _skip_comment(text: str, i: int) -> int:
    """Index just after the comment opening at `i`, or -1 when it never closes."""
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("(*", i):
            depth += 1
            i += 2
        elif text.startswith("*)", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        elif text[i] == '"':
            i = _skip_string(text, i)
            if i < 0:
                return -1
        else:
            i += 1
    return -1


def _skip_string(text: str, i: int) -> int:
    """Index just after the string opening at `i` (`""` is an escaped quote), or -1."""
    i += 1
    n = len(text)
    while i < n:
        if text[i] == '"':
            if i + 1 < n and text[i + 1] == '"':
                i += 2
                continue
            return i + 1
        i += 1
    return -1


def split_sentences(text: str) -> SplitResult:
    """Cut `text` into sentences; comments between sentences belong to none."""
    sentences: list[Sentence] = []
    n = len(text)
    i = 0
    start: int | None = None  # first token of the sentence being read
    while i < n:
        ch = text[i]
        if text.startswith("(*", i):
            j = _skip_comment(text, i)
            if j < 0:
                return SplitResult(sentences, start if start is not None else i, "comment")
            i = j
            continue
        if ch.isspace():
            i += 1
            continue
        if start is None:
            start = i
            sel = _SELECTOR_BRACE.match(text, i)
            if sel:
                sentences.append(Sentence(i, sel.end(), text[i:sel.end()]))
                i, start = sel.end(), None
                continue
            bullet = _BULLET.match(text, i)
            if bullet and not text.startswith("*)", i):
                end = bullet.end()
                # `{|` starts a record term, `-1` or `- >`-like text is not a bullet but a term.
                if not (ch == "{" and text.startswith("{|", i)):
                    sentences.append(Sentence(i, end, text[i:end]))
                    i, start = end, None
                    continue
        if ch == '"':
            j = _skip_string(text, i)
            if j < 0:
                return SplitResult(sentences, start, "string")
            i = j
            continue
        if ch == ".":
            j = i
            while j < n and text[j] == ".":
                j += 1
            # `.` and `tac...` (the `Proof with` default) end a sentence; `..` (notations) does not.
            if (j == n or text[j].isspace()) and j - i in (1, 3):
                sentences.append(Sentence(start, j, text[start:j]))
                start = None
            i = j
            continue
        i += 1
    if start is not None:
        return SplitResult(sentences, start, "sentence")
    return SplitResult(sentences, None, None)


def strip_comments(text: str) -> str:
    """`text` with every comment replaced by one space (strings kept as they are)."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        if text.startswith("(*", i):
            j = _skip_comment(text, i)
            out.append(" ")
            if j < 0:
                break
            i = j
        elif text[i] == '"':
            j = _skip_string(text, i)
            j = n if j < 0 else j
            out.append(text[i:j])
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def blank(text: str, start: int, end: int) -> str:
    """`text` with `[start, end)` overwritten by spaces (newlines kept), so positions stay put."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


_ATTRIBUTE = re.compile(r"#\[[^\]]*\]\s*")
_TOKEN = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*|\S")


def head_words(sentence: str, count: int = 3) -> list[str]:
    """The first `count` tokens of a sentence (a word, or one other character), comments and `#[...]` skipped."""
    body = strip_comments(sentence).strip()
    while True:
        m = _ATTRIBUTE.match(body)
        if not m:
            break
        body = body[m.end():]
    return _TOKEN.findall(body)[:count] if body else []
