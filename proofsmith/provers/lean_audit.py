"""The Lean soundness rules: the lexical pre-check on a candidate, and reading the audit's answers.

Two layers, and a candidate must pass both (notes/anchors.md section 2 lists
the false positives each rule answers):

1. `precheck(proof)`, before Lean sees anything: a candidate is a proof (a
   `by` block or a term) and nothing else. Rejected wherever they appear
   outside comments and strings: `sorry`, `admit`, `native_decide` (unless
   the task allows it), `implemented_by`, `extern`, every command keyword
   (`axiom`, `theorem`, `def`, `macro`, `macro_rules`, `syntax`, `elab`,
   `notation`, `set_option` other than the heartbeat/recursion limits,
   `attribute`, `import`, ...), every `#command` (`#print`, `#eval`,
   `#exit`), attributes `@[...]`, `unsafe`, meta-programming (`run_tac`,
   `Lean.Elab`, `Lean.Meta`, ...) and the names of the axioms the audit looks
   for (`sorryAx`, `ofReduceBool`, ...). Guillemets are read through
   (`«sorry»` is `sorry`). No line after the first may start in column 0,
   where Lean would end the proof and read a command (Mathlib's own commands
   included, whatever their names).
2. The audit, after Lean accepted the proof, in fresh REPL commands the
   candidate's text is not part of (lean.py runs them): a canary proves
   `#print axioms` still tells the truth in the candidate's environment,
   `#print axioms <theorem>` must list only allowed axioms, and the kernel
   re-checks the theorem under a new name with `debug.skipKernelTC` off.
   `parse_axioms` and `canary_ok` read those answers; anything unexpected is
   a failure, never a pass.

What the canary cannot promise: an elaborator written to lie only about
some names would pass it. No candidate can define one: every way to do so
is a command, which the lexical layer rejects, and the candidate's text only
ever comes after the theorem's own statement, so nothing it declares can
stand between the statement and Lean.

The statement is the task's by construction: the checker writes
`<task statement> := <proof>`; a candidate that restates the theorem must
restate it exactly (`split_candidate`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from proofsmith.provers.source_lexer import LEAN, blanked, lex

__all__ = ["ALLOWED_AXIOMS", "NATIVE_AXIOMS", "Problem", "axioms_allowed", "canary_ok", "parse_axioms", "precheck",
           "split_candidate", "split_header", "strip_comments", "theorem_name"]

#: The axioms a Lean proof may use by default (Lean's three standard axioms).
ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
#: What `native_decide` adds (Lean.ofReduceBool; newer Lean also Lean.trustCompiler and one
#: auxiliary axiom per native computation, lean4 PR #12217); allowed only with allow_native_decide.
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.trustCompiler"})
_NATIVE_AUX = re.compile(r"(?:.*\.)?_native\.native_decide\.ax_[\w.]+")

_COMMANDS = (
    "theorem", "lemma", "def", "abbrev", "example", "instance", "axiom", "axioms", "opaque", "structure",
    "inductive", "class", "mutual", "namespace", "section", "end", "variable", "universe", "import", "export",
    "attribute", "macro", "macro_rules", "syntax", "elab", "elab_rules", "notation", "infix", "infixl",
    "infixr", "prefix", "postfix", "declare_syntax_cat", "initialize", "builtin_initialize", "unsafe",
    "partial", "private", "protected", "noncomputable", "deriving", "local", "scoped", "add_decl_doc",
    "register_option", "register_simp_attr"
)
_ESCAPES = (
    "sorry", "admit", "sorryAx", "native_decide", "implemented_by", "extern", "ofReduceBool", "trustCompiler",
    "reduceBool", "skipKernelTC", "run_tac", "run_cmd", "run_elab", "run_meta", "by_elab",
    "decreasing_by_trust", "csimp"
)
_META = re.compile(r"\b(Lean\.(Elab|Meta|Parser|Environment|addDecl|Kernel|Compiler|IR)|unsafeCast|"
                   r"unsafeBaseIO|unsafeIO|IO\.|EIO|ST\.Ref|ptrAddrUnsafe)\b")
#: set_option names a proof may set locally (`set_option maxHeartbeats 400000 in`).
SAFE_OPTIONS = frozenset({"maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize",
                          "linter.unusedVariables", "pp.all"})


class Problem(NamedTuple):
    """Why a candidate is rejected before Lean sees it, and where (1-based line, 0-based column)."""

    message: str
    line: int | None = None
    column: int | None = None


def strip_comments(text: str) -> str:
    """`text` with comments (nested `/- -/`, `--`), and the insides of strings and character literals, blanked;
    positions kept (Lean's rules: source_lexer.LEAN)."""
    return blanked(text, lex(text, LEAN))


def _unterminated(text: str) -> str | None:
    problem = lex(text, LEAN).problem
    if problem == "comment":
        return "a comment that is never closed"
    if problem == "string":
        return "a string that is never closed"
    return None


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def precheck(proof: str, *, allow_native_decide: bool = False) -> Problem | None:
    """The lexical rules of the module docstring; None when the proof may go to Lean."""
    unclosed = _unterminated(proof)
    if unclosed:
        return Problem(f"the proof has {unclosed}: it could swallow the checker's own commands")
    code = strip_comments(proof)
    code = re.sub(r"[«»]", " ", code)  # «sorry» names the same thing as sorry
    for m in re.finditer(r"#\s*[A-Za-z_]+", code):
        line, col = _position(code, m.start())
        return Problem(f"'{m.group(0)}' is a command: a proof may not contain commands", line, col)
    m = re.search(r"@\[", code)
    if m:
        line, col = _position(code, m.start())
        return Problem("attributes '@[...]' are not allowed in a proof", line, col)
    for m in re.finditer(r"(?<![\w.'])set_option\s+([\w.]+)", code):
        if m.group(1) not in SAFE_OPTIONS:
            line, col = _position(code, m.start())
            return Problem(f"'set_option {m.group(1)}' is not allowed in a proof (only {sorted(SAFE_OPTIONS)})",
                           line, col)
    for m in re.finditer(r"(?<![\w'!?])([A-Za-z_][\w']*)(?![\w'!?])", code):
        word = m.group(1)
        dotted = m.start() > 0 and code[m.start() - 1] == "."  # a component of a dotted name: Lean.ofReduceBool
        if word == "native_decide" and allow_native_decide:
            continue
        if word in _ESCAPES:
            line, col = _position(code, m.start())
            why = {"sorry": "leaves the goal unproved", "admit": "leaves the goal unproved",
                   "native_decide": "trusts the compiler (the task does not allow it)"}.get(word, "is an escape hatch")
            return Problem(f"'{word}' {why}: the proof must be complete and kernel-checked", line, col)
        if word in _COMMANDS and not dotted:
            line, col = _position(code, m.start())
            return Problem(f"'{word}' starts a command: a proof may contain tactics and terms only", line, col)
    for m in re.finditer(r"\n(?=[^\s)\]}⟩|])", code):
        line, col = _position(code, m.start() + 1)
        return Problem("a proof line starts in column 0, where Lean would read a new command: indent the proof",
                       line, col)
    m = _META.search(code)
    if m:
        line, col = _position(code, m.start())
        return Problem(f"'{m.group(0)}': meta-programming is not allowed in a proof", line, col)
    return None


def split_header(context: str) -> tuple[str, str]:
    """(the leading `import` lines, the rest of the context): the pool's key, and what each check elaborates."""
    lines = context.splitlines(keepends=True)
    header: list[str] = []
    i = 0
    in_comment = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if in_comment:
            header.append(line)
            in_comment = "-/" not in stripped
            continue
        if not stripped or stripped.startswith("--"):
            header.append(line)
            continue
        if stripped.startswith("/-"):
            header.append(line)
            in_comment = "-/" not in stripped[2:]
            continue
        if re.match(r"import\s", stripped):
            header.append(line)
            continue
        break
    else:
        i = len(lines)
    imports = "".join(line for line in header if line.strip().startswith("import"))
    return imports.strip(), "".join(lines[i:]).strip()


_NAME = re.compile(r"^\s*(?:@\[[^\]]*\]\s*)?(?:private\s+|protected\s+)?(?:theorem|lemma)\s+([^\s:({\[]+)")


def theorem_name(statement: str) -> str | None:
    """The name a `theorem NAME ...` statement declares, or None."""
    m = _NAME.match(statement)
    return m.group(1) if m else None


def _statement_pattern(statement: str) -> re.Pattern[str]:
    words = strip_comments(statement).split()
    if words and words[0] in ("theorem", "lemma"):
        words[0] = "(?:theorem|lemma)"
        rest = [re.escape(w) for w in words[1:]]
        return re.compile(r"\s*" + r"\s+".join([words[0], *rest]) + r"\s*:=", re.DOTALL)
    return re.compile(r"\s*" + r"\s+".join(re.escape(w) for w in words) + r"\s*:=", re.DOTALL)


def split_candidate(statement: str, text: str) -> tuple[str, int, Problem | None]:
    """(the proof, its offset in `text`, a problem): a candidate is a proof, or the exact statement `:=` a proof.

    A proof may start with `:=`. A candidate that starts with `theorem`,
    `lemma` or `example` must restate the task's statement word for word
    (layout and comments aside); anything else is a changed statement.
    """
    stripped = text.lstrip()
    offset = len(text) - len(stripped)
    head = re.match(r"(?:@\[[^\]]*\]\s*)?(theorem|lemma|example)\b", stripped)
    if head:
        m = _statement_pattern(statement).match(strip_comments(stripped))
        if not m:
            return text, 0, Problem("the candidate states a different theorem than the task's (the statement must "
                                    "be unchanged)", 1, 0)
        offset += m.end()
        return text[offset:], offset, None
    if stripped.startswith(":="):
        offset += 2
        return text[offset:], offset, None
    return text[offset:], offset, None


# Lean quotes the name as is, primes included: 'add_zero'' depends on axioms: [propext]
_DEPENDS = re.compile(r"'(?P<name>[^\n]+)' depends on axioms: \[(?P<axioms>[^\]]*)\]\s*\Z", re.DOTALL)
_NONE = re.compile(r"'(?P<name>[^\n]+)' does not depend on any axioms\s*\Z")


def _unquote(name: str) -> str:
    return name.replace("«", "").replace("»", "").strip()


def _same_name(printed: str, name: str) -> bool:
    """Lean prints the full name: `Foo.bar` answers for `bar` asked inside `namespace Foo`."""
    printed, name = _unquote(printed), _unquote(name).removeprefix("_root_.")
    return printed == name or printed.endswith("." + name)


def parse_axioms(data: str, name: str) -> frozenset[str] | None:
    """The axioms in a `#print axioms NAME` answer, or None when it is not an answer about NAME."""
    data = data.strip()
    m = _DEPENDS.match(data)
    if m and _same_name(m.group("name"), name):
        return frozenset(_unquote(a) for a in m.group("axioms").split(",") if a.strip())
    m = _NONE.match(data)
    if m and _same_name(m.group("name"), name):
        return frozenset()
    return None


def canary_ok(data: str, probe: str, canary: str) -> bool:
    """Whether `#print axioms PROBE` told the truth: exactly the canary axiom (a root name), nothing else."""
    m = _DEPENDS.match(data.strip())
    return bool(m) and _unquote(m.group("name")) == probe and parse_axioms(data, probe) == frozenset({canary})


def axioms_allowed(axioms: frozenset[str], *, extra: frozenset[str] = frozenset(),
                   allow_native_decide: bool = False) -> list[str]:
    """The axioms in `axioms` a proof may not use (empty when all are allowed)."""
    allowed = ALLOWED_AXIOMS | extra | (NATIVE_AXIOMS if allow_native_decide else frozenset())
    bad = []
    for axiom in sorted(axioms):
        if axiom in allowed or (allow_native_decide and _NATIVE_AUX.fullmatch(axiom)):
            continue
        bad.append(axiom)
    return bad
