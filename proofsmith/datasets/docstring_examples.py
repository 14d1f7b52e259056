"""The examples a function's docstring shows, as io tests: the visible tests of a HumanEval-style prompt.

A prompt's docstring is what a user would see; its worked examples are the
tests a search may legitimately run (`Task.visible_tests`), unlike the
benchmark's hidden `test_code`. Examples come in several shapes, all read
here without running anything (values go through `ast.literal_eval` only):

- doctest: `>>> f(1, 2)` then the expected value on the next line(s), or
  `>>> f(1, 2) == 3`;
- a call and its result on one line: `f(1, 2) == 3`, `=> 3`, `==> 3`, `➞ 3`,
  `-> 3`, `= 3`, `returns 3`, `# returns 3`, `# => 3`, `should return 3`
  (a comment or a parenthesised explanation after the value is dropped);
- `For x = 1, y = 2 the output should be 3` (`result` for `output` too);
- `Input: 1` followed by `Output: 3` (one-parameter functions, or
  `name = value` pairs).

Only calls of the entry point itself with literal arguments count (a call of
a helper, or of `round(f(x), 2)`, is not an example of `f`); a bare `true` /
`false` result is read as a bool. Anything else is skipped, never guessed.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from proofsmith.schema import IOTest

#: absolute tolerance for a float an example shows (docstrings print rounded values such as 6.00)
FLOAT_ATOL = 1e-6

_SEPARATORS = ("should return", "# returns", "# =>", "returns", "==>", "==", "=>", "->", "➞", "=", ":")
_BOOLS = {"true": True, "false": False}
_FOR = re.compile(r"^\s*(?:[*-]\s*)?For (?P<assign>.+?),?\s+the (?:output|result) should be (?P<expected>.+?)\s*$",
                  re.IGNORECASE)
_INPUT = re.compile(r"^\s*Input:\s*(?P<value>.+?)\s*$")
_OUTPUT = re.compile(r"^\s*Output:\s*(?P<value>.+?)\s*$")


def examples_from_prompt(prompt: str, entry_point: str) -> list[IOTest]:
    """The io tests the docstring of `entry_point` in `prompt` shows, in order, duplicates dropped."""
    function = _function(prompt, entry_point)
    if function is None:
        return []
    docstring = ast.get_docstring(function, clean=True) or ""
    params = [a.arg for a in function.args.args]
    found: list[IOTest] = []
    for test in (*_doctests(docstring, entry_point), *_inline_calls(docstring, entry_point),
                 *_for_sentences(docstring, params), *_input_output(docstring, params)):
        if test is not None and test not in found:
            found.append(test)
    return found


def _function(prompt: str, name: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def _literal(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is a Python literal (or a bare true/false), else (False, None)."""
    text = text.strip()
    if text.lower() in _BOOLS:
        return True, _BOOLS[text.lower()]
    for attempt in (text, text.rstrip(".").rstrip()):
        try:
            return True, ast.literal_eval(attempt)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return False, None


def _test(args: list[Any], kwargs: dict[str, Any], expected: Any) -> IOTest:
    atol = FLOAT_ATOL if isinstance(expected, float) or (
        isinstance(expected, (list, tuple)) and any(isinstance(v, float) for v in expected)) else 0.0
    return IOTest(args=args, kwargs=kwargs, expected=expected, atol=atol)


def _call_args(source: str, entry_point: str) -> tuple[list[Any], dict[str, Any]] | None:
    """The literal arguments of `source` when it is exactly a call of `entry_point`."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry_point):
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if len(kwargs) != len(node.keywords):
        return None
    return args, kwargs


def _compared_call(source: str, entry_point: str) -> tuple[list[Any], dict[str, Any], Any] | None:
    """`f(1) == 2` as (args, kwargs, expected), else None."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
        return None
    call = _call_args(ast.unparse(node.left), entry_point)
    ok, expected = _literal(ast.unparse(node.comparators[0]))
    return (*call, expected) if call is not None and ok else None


def _doctests(doc: str, entry_point: str):
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith(">>>"):
            continue
        source = stripped[3:]
        compared = _compared_call(source, entry_point)
        if compared is not None:  # `>>> f(1) == 2`: the example is the comparison's right side
            yield _test(*compared)
            continue
        call = _call_args(source, entry_point)
        if call is None:
            continue
        out = []
        for follow in lines[i + 1:]:
            if not follow.strip() or follow.strip().startswith(">>>"):
                break
            out.append(follow.strip())
        ok, expected = _literal(" ".join(out)) if out else (False, None)
        if ok:
            yield _test(*call, expected)


def _matching_paren(text: str, start: int) -> int | None:
    """The index of the `)` closing the `(` at `start`, skipping string literals; None if unclosed."""
    depth, i, quote = 0, start, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i if ch == ")" else None
        i += 1
    return None


def _inline_calls(doc: str, entry_point: str):
    for match in re.finditer(rf"(?<![\w.>]){re.escape(entry_point)}\(", doc):
        line_start = doc.rfind("\n", 0, match.start()) + 1
        if doc[line_start:match.start()].lstrip().startswith(">>>"):
            continue  # a doctest, read by _doctests
        close = _matching_paren(doc, match.end() - 1)
        if close is None:
            continue
        call = _call_args(doc[match.start():close + 1].replace("\n", " "), entry_point)
        if call is None:
            continue
        line_end = doc.find("\n", close)
        rest = doc[close + 1:line_end if line_end != -1 else len(doc)].strip()
        for sep in _SEPARATORS:
            if rest.startswith(sep):
                rest = rest[len(sep):].strip()
                break
        else:
            continue
        ok, expected = _literal(rest)
        for cut in ("#", " ("):  # a comment or an explanation after the value
            if not ok and cut in rest:
                ok, expected = _literal(rest.split(cut, 1)[0])
        if ok:
            yield _test(*call, expected)


def _assignments(text: str, params: list[str]) -> tuple[list[Any], dict[str, Any]] | None:
    """`a = 1, b = "x"` as arguments: positional when they name the parameters in order, else keywords."""
    pieces = text.split(",")
    for end in range(len(pieces), 0, -1):  # the longest prefix of comma-separated pieces that reads
        try:
            call = ast.parse(f"_({','.join(pieces[:end])})", mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(call, ast.Call) or call.args or not call.keywords:
            continue
        try:
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in params}
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        if len(kwargs) != len(call.keywords):
            return None
        if list(kwargs) == params:
            return list(kwargs.values()), {}
        return [], kwargs
    return None


def _for_sentences(doc: str, params: list[str]):
    for line in doc.splitlines():
        match = _FOR.match(line)
        if not match:
            continue
        call = _assignments(match["assign"], params)
        ok, expected = _literal(match["expected"])
        if call is not None and ok and (call[0] or call[1]):
            yield _test(*call, expected)


def _input_output(doc: str, params: list[str]):
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        given = _INPUT.match(line)
        if not given:
            continue
        output = next((_OUTPUT.match(follow) for follow in lines[i + 1:i + 3] if _OUTPUT.match(follow)), None)
        if output is None:
            continue
        ok, expected = _literal(output["value"])
        if not ok:
            continue
        call = _assignments(given["value"], params)
        if call is None and len(params) == 1:
            single, value = _literal(given["value"])
            call = ([value], {}) if single else None
        if call is not None:
            yield _test(*call, expected)
