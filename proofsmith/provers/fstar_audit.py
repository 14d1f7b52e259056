"""The F* lexical pre-check: a candidate is `let` definitions and nothing that assumes, admits or reconfigures.

Rejected wherever they appear outside comments and strings (dotted names
read component by component, so `FStar.Tactics.tadmit` is `tadmit`): every
word starting with `assume` or `admit`, `magic`, `unsafe_coerce`, `tadmit`,
`expect_failure`, `--lax`-style and `--admit_smt_queries` options, the
`set_options` tactic, `#`-pragmas (`#push-options`, `#set-options`, ...),
and module-level commands (`val`, `module`, `open`, `friend`, `effect`, ...).
The candidate must define the task's name with `let` or `let rec`. What the
text cannot show, F* reports: `--report_assumes warn` makes every remaining
assume/admit Warning 335, which fstar.py refutes.
"""

from __future__ import annotations

import re

from proofsmith.provers.source_lexer import FSTAR, blanked, lex
from proofsmith.schema import Diagnostic

__all__ = ["precheck", "strip_comments"]

#: rejected wherever they appear, dotted components included (and every word starting with admit/assume)
_ESCAPES = ("magic", "unsafe_coerce", "tadmit", "expect_failure", "expect_lax_failure", "lax", "unsafe_tactic_exec",
            "launch_process", "set_options", "dump_smt", "__cache_version_number__")
_COMMANDS = ("val", "module", "open", "include", "friend", "effect", "new_effect", "sub_effect", "layered_effect",
             "polymonadic_bind", "polymonadic_subcomp", "interface")


def strip_comments(code: str) -> str:
    """F* code with comments (nested `(* *)`, `//`) and the insides of strings and characters blanked, positions
    kept (F*'s rules: source_lexer.FSTAR); `"\0unclosed"` when a comment or string never closes."""
    lexed = lex(code, FSTAR)
    if lexed.problem:
        return "\0unclosed"
    return blanked(code, lexed)


def precheck(code: str, short_name: str) -> Diagnostic | None:
    """The lexical rules of the module docstring; None when the definition may go to F*."""
    clean = strip_comments(code)
    if clean == "\0unclosed":
        return Diagnostic(message="the definition has a comment or string that is never closed")

    def at(offset: int) -> tuple[int, int]:
        return clean.count("\n", 0, offset) + 1, offset - (clean.rfind("\n", 0, offset) + 1)

    m = re.search(r"#\s*[a-z-]+", clean)
    if m:
        line, col = at(m.start())
        return Diagnostic(message=f"'{m.group(0)}' is a pragma: a definition may not change F*'s options",
                          line=line, column=col)
    m = re.search(r"--\s*[a-z_]", clean)
    if m:
        line, col = at(m.start())
        return Diagnostic(message="F* command-line options are not allowed in a definition", line=line, column=col)
    for m in re.finditer(r"(?<![\w'])([A-Za-z_][\w']*)(?![\w'])", clean):
        word = m.group(1)
        dotted = m.start() > 0 and clean[m.start() - 1] == "."  # a component: FStar.Tactics.tadmit
        if word in _ESCAPES or word.startswith(("admit", "assume")):
            line, col = at(m.start())
            return Diagnostic(message=f"'{word}' is an escape hatch: the definition must be proved, not assumed",
                              line=line, column=col)
        if word in _COMMANDS and not dotted:
            line, col = at(m.start())
            return Diagnostic(message=f"'{word}' is a module-level command: give the `let` definition only",
                              line=line, column=col)
    if not re.search(rf"(?m)^\s*(\[@@[^\]]*\]\s*)*(\w+\s+)*let(\s+rec)?\s+{re.escape(short_name)}(?![\w'])", clean):
        return Diagnostic(message=f"the candidate does not define `{short_name}` with `let` (or `let rec`)")
    return None
