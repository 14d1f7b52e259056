"""Pull the answer out of what a model said: fences, chatter, repeats and trailing tests removed.

Python goes through tree-sitter, which parses broken code without raising:
the first complete definition of the entry point is kept with the imports and
helpers it may need; prints, asserts, example calls, `__main__` blocks, test
functions and repeated definitions are dropped. Coq proofs are cut at the
first `Qed.`/`Defined.`. An answer that cannot be used raises
`ExtractionError` with the parser's message, which `refuted_verdict` turns
into a refuted Verdict, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from proofsmith import __version__
from proofsmith.schema import Candidate, Diagnostic, Manifest, Task, Verdict


class ExtractionError(ValueError):
    """The model's output holds no usable answer; the message says why, with a position where known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Block:
    """A code block found in model output: its text, fence tag, and whether its closing fence was missing."""

    text: str
    tag: str
    closed: bool


_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(^[ \t]*```[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)


def code_blocks(text: str) -> list[Block]:
    """The fenced blocks in order; an unclosed last fence (output cut short) runs to the end of the text."""
    blocks = []
    for match in _FENCE.finditer(text):
        blocks.append(Block(text=match.group(2), tag=match.group(1).lower(), closed=bool(match.group(3))))
    return blocks


# --------------------------------------------------------------------------- Python


@lru_cache(maxsize=1)
def _parser():
    try:
        import tree_sitter
        import tree_sitter_python
    except ImportError:
        raise ExtractionError("code extraction needs tree-sitter: run `pip install 'proofsmith[models]'`") from None
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))


_PY_TAGS = {"python", "py", "python3", ""}
#: Helpers by these names are tests or demos, kept only when the entry point calls them.
_TEST_NAME = re.compile(r"^(test\w*|check\w*|main|run_tests?|verify\w*|example\w*|demo\w*)$", re.IGNORECASE)


def extract_python(text: str, entry_point: str, *, prompt: str | None = None) -> str:
    """The program to check: imports, helpers and the first complete `def entry_point`, nothing else.

    Looks in fenced Python blocks first (those defining the entry point
    before the others), then in the whole text. With `prompt` (a HumanEval
    style signature and docstring), output that only continues the body is
    appended to it. Raises ExtractionError when no block holds a definition
    that parses.
    """
    sources = [b.text for b in code_blocks(text) if b.tag in _PY_TAGS]
    sources.sort(key=lambda s: f"def {entry_point}" not in s)  # stable: fence order kept within each group
    sources.append(text)
    if prompt is not None:
        sources.append(prompt + text)
    first_error: ExtractionError | None = None
    for source in sources:
        try:
            return _program(source, entry_point)
        except ExtractionError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def _program(source: str, entry_point: str) -> str:
    data = source.encode()
    root = _parser().parse(data).root_node
    entry = None
    broken = None
    # (node, name, defined before the entry point) for every other definition worth keeping
    pieces: list[tuple[object, str | None, bool]] = []
    seen: set[str] = set()
    for node in root.children:
        name = _defined_name(node)
        if name is not None:
            if name == entry_point:
                if entry is not None:
                    continue  # a repeat of the entry point: the first complete one wins
                if node.has_error:
                    broken = broken or _first_error(node)
                    continue
                entry = node
                pieces.append((node, name, True))
            elif name not in seen and not node.has_error:
                pieces.append((node, name, entry is None))
            seen.add(name)
        elif node.type in ("import_statement", "import_from_statement", "future_import_statement"):
            if not node.has_error:
                pieces.append((node, None, True))
        elif (node.type == "expression_statement" and entry is None and _is_assignment(node)
              and not node.has_error and entry_point not in _text(data, node)):
            # constants a solution defines before its function; after it they are example runs
            pieces.append((node, None, True))
    if entry is None:
        if broken is not None:
            line, column, snippet = broken
            raise ExtractionError(f"the definition of `{entry_point}` does not parse at line {line}, column {column}"
                                  f" (near {snippet!r})", line, column)
        raise ExtractionError(f"the output has no definition of `{entry_point}`")
    needed = _referenced(entry, pieces)
    kept = [
        _text(data, node)
        for node, name, before in pieces
        if name is None or name == entry_point or name in needed or (before and not _TEST_NAME.match(name))
    ]
    return "\n\n".join(_hoist_imports(kept)) + "\n"


def _referenced(entry, pieces) -> set[str]:
    """Names of the definitions the entry point uses, directly or through other helpers."""
    bodies = {name: node for node, name, _ in pieces if name is not None}
    needed: set[str] = set()
    frontier = [entry]
    while frontier:
        for ident in _identifiers(frontier.pop()):
            if ident in bodies and ident not in needed:
                needed.add(ident)
                frontier.append(bodies[ident])
    return needed


def _identifiers(node) -> set[str]:
    found = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier" and current.text:
            found.add(current.text.decode())
        stack.extend(current.children)
    return found


def _defined_name(node) -> str | None:
    target = node
    if node.type == "decorated_definition":
        target = node.child_by_field_name("definition")
    if target is not None and target.type in ("function_definition", "class_definition"):
        name = target.child_by_field_name("name")
        return name.text.decode() if name is not None else None
    return None


def _is_assignment(node) -> bool:
    return any(child.type in ("assignment", "augmented_assignment") for child in node.children)


def _text(data: bytes, node) -> str:
    return data[node.start_byte:node.end_byte].decode()


def _first_error(node) -> tuple[int, int, str]:
    stack = [node]
    while stack:
        current = stack.pop(0)
        if current.type == "ERROR" or current.is_missing:
            text = current.text.decode(errors="replace") if current.text else ""
            return current.start_point[0] + 1, current.start_point[1] + 1, text[:40]
        stack[0:0] = list(current.children)
    return node.start_point[0] + 1, node.start_point[1] + 1, ""


def _hoist_imports(parts: list[str]) -> list[str]:
    # an import written after the function in the output must still run before it is called
    imports = [p for p in parts if p.startswith(("import ", "from "))]
    return imports + [p for p in parts if p not in imports]


def prompt_imports(prompt: str) -> str:
    """The top-level import lines of a task prompt (HumanEval's `from typing import List`, ...)."""
    root = _parser().parse(prompt.encode()).root_node
    lines = [n.text.decode() for n in root.children
             if n.type in ("import_statement", "import_from_statement") and not n.has_error]
    return "\n".join(lines)


def python_candidate(task: Task, text: str, candidate_id: str | None = None) -> Candidate:
    """A whole-program Candidate from model output for a Python task (prompt imports kept); ExtractionError if none."""
    if not task.entry_point:
        raise ExtractionError(f"task {task.id} has no entry_point to extract")
    program = extract_python(text, task.entry_point, prompt=task.statement)
    header = prompt_imports(task.statement)
    missing = [line for line in header.splitlines() if line not in program]
    if missing:
        program = "\n".join(missing) + "\n\n" + program
    return Candidate(task_id=task.id, id=candidate_id, text=program)


# --------------------------------------------------------------------------- Coq and the others

_COQ_END = re.compile(r"\b(Qed|Defined|Admitted|Abort)\s*\.", re.DOTALL)
_COQ_COMMENT = re.compile(r"\(\*.*?\*\)", re.DOTALL)
_COQ_SENTENCE = re.compile(r"(.+?\.)(?=\s|$)", re.DOTALL)


def extract_coq_proof(text: str, statement: str | None = None) -> str:
    """The tactics of the proof, as the Coq checker takes them: after `Proof.`, before the first `Qed.`/`Defined.`.

    A restated theorem is dropped (everything up to `Proof.`, or up to the
    task's `statement` when the model left `Proof.` out). Raises
    ExtractionError when the proof never ends, ends with `Admitted.`/`Abort.`,
    or is empty.
    """
    blocks = [b.text for b in code_blocks(text) if b.tag in ("coq", "v", "rocq", "")]
    sources = sorted(blocks, key=lambda s: _COQ_END.search(_COQ_COMMENT.sub(" ", s)) is None) + [text]
    for source in sources:
        source = _COQ_COMMENT.sub(lambda m: " " * len(m.group(0)), source)  # keeps offsets for line numbers
        match = _COQ_END.search(source)
        if match is None:
            continue
        if match.group(1) in ("Admitted", "Abort"):
            line = source.count("\n", 0, match.start()) + 1
            raise ExtractionError(f"the proof ends with `{match.group(1)}.`: it is not finished", line)
        script = source[: match.start()]
        start = None
        for start in re.finditer(r"(?:^|\s)Proof\s*\.", script):
            pass  # the last `Proof.` before the end: earlier ones belong to restated lemmas
        if start is not None:
            script = script[start.end():]
        elif statement is not None and statement.strip() in script:
            script = script[script.index(statement.strip()) + len(statement.strip()):]
        script = "\n".join(line.rstrip() for line in script.strip("\n").splitlines()).strip()
        if not script:
            raise ExtractionError("the proof between `Proof.` and `Qed.` is empty")
        return script + "\n"
    raise ExtractionError("the output has no proof ending in `Qed.` or `Defined.`")


def extract_tactic(text: str, language: str) -> str:
    """The first tactic in the output: a Coq sentence (through its period) or a Lean line."""
    blocks = [b.text for b in code_blocks(text) if b.tag in ("coq", "lean", "lean4", "")]
    body = blocks[0] if blocks else text
    if language == "coq":
        body = _COQ_COMMENT.sub(" ", body)
        for match in _COQ_SENTENCE.finditer(body.strip()):
            sentence = " ".join(match.group(1).split())
            if sentence.startswith(("Proof.", "Theorem ", "Lemma ", "Example ")) or sentence in ("-", "+", "*"):
                continue
            return sentence
        raise ExtractionError("the output has no Coq tactic ending in a period")
    for line in body.splitlines():
        line = line.split("--", 1)[0].strip()
        if line.startswith(("theorem ", "lemma ", "example ")):
            continue
        # small models open their one tactic with the proof's `by` (`by simp`): the tactic is what follows
        line = re.sub(r"^(?::=\s*)?by\b\s*", "", line)
        if line:
            return line
    raise ExtractionError(f"the output has no {language} tactic")


def extract_block(text: str, tag: str) -> str:
    """The first fenced block tagged `tag` (or untagged), else the whole text stripped; for Lean and F* answers."""
    for block in code_blocks(text):
        if block.tag in (tag, ""):
            return block.text.strip() + "\n"
    stripped = text.strip()
    if not stripped:
        raise ExtractionError("the output is empty")
    return stripped + "\n"


def refuted_verdict(task: Task, error: ExtractionError, candidate_id: str | None = None) -> Verdict:
    """A refuted Verdict for output that held no usable answer, carrying the extractor's message."""
    return Verdict(
        task_id=task.id,
        candidate_id=candidate_id,
        status="refuted",
        reason="extract",
        reward=0.0,
        diagnostics=[Diagnostic(message=str(error), line=error.line, column=error.column)],
        manifest=Manifest(checker="extract", checker_version=__version__, proofsmith_version=__version__,
                          limits=task.limits, sandbox="none"),
    )
