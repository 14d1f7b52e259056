"""Splitting Coq source into sentences, for the loader, the audit and step mode.

Comments and strings are Coq's own (source_lexer.COQ, tested against coqc):
comments `(* ... *)` nest and may hold strings; strings escape `"` as `""`.
A sentence ends at a `.` followed by whitespace or the end of the text (so
`Nat.add` and `..` do not end one); bullets (`-`, `+`, `*`, repeated) and the
braces `{` `}` at the start of a sentence are sentences of their own, and so
is a goal selector with a brace (`2: {`) (notes/datasets.md section 3.4).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from proofsmith.provers.source_lexer import COQ, lex

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


def split_sentences(text: str) -> SplitResult:
    """Cut `text` into sentences; comments between sentences belong to none."""
    lexed = lex(text, COQ)
    #: where each comment and string starts -> its span
    tokens = {span.start: span for span in lexed.spans if span.kind != "code"}
    sentences: list[Sentence] = []
    n = len(text)
    i = 0
    start: int | None = None  # first token of the sentence being read
    while i < n:
        ch = text[i]
        token = tokens.get(i)
        if token is not None and token.kind == "comment":
            if lexed.problem_at == i:
                return SplitResult(sentences, start if start is not None else i, "comment")
            i = token.end
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
        if token is not None:  # a string
            if lexed.problem_at == i:
                return SplitResult(sentences, start, "string")
            i = token.end
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
    """`text` with every comment replaced by one space (strings kept as they are); an unclosed one ends it."""
    if "(*" not in text:  # no comment can start: skip the lexer, the hot path of scanning a library
        return text
    out: list[str] = []
    for span in lex(text, COQ).spans:
        out.append(" " if span.kind == "comment" else text[span.start:span.end])
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
