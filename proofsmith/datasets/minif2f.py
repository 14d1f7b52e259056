"""miniF2F (Lean 4) as proofsmith Tasks, read from files the user provides.

miniF2F cannot be shipped: no registry reachable from the build machines has
it (notes/datasets.md), so the loader reads what the user downloaded:

- a split file of the Lean 4 port (`Valid.lean`, `Test.lean`: a header of
  imports, `set_option`s and `open`s, then every theorem ending in `:= by
  sorry`); the split is the file's stem, lower-cased;
- or a JSONL file with one record per theorem (`name`, `split`,
  `formal_statement` ending in `:= by` or `:= by sorry`, `header`), the
  layout DeepSeek-Prover's `minif2f.jsonl` uses.

Each theorem becomes a `lean`/`proof` Task: `context` is the header,
`statement` the theorem up to its final `:=`, `options.name` its name.
tests/data/minif2f_sample.lean and .jsonl are small hand-written files in
both layouts (not miniF2F data).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from proofsmith.schema import Source, Task

__all__ = ["SOURCE", "DatasetError", "load", "load_jsonl", "load_lean_file"]

SOURCE = Source(benchmark="minif2f-lean4", licence="Apache-2.0 (Lean port), MIT (original)",
                url="https://github.com/yangky11/miniF2F-lean4")
_THEOREM = re.compile(r"^(?:theorem|lemma)\s+([^\s:({\[]+)", re.MULTILINE)
_SORRY_TAIL = re.compile(r":=\s*(?:by\s+)?sorry\s*\Z")
_BY_TAIL = re.compile(r":=\s*(?:by)?\s*\Z")


class DatasetError(ValueError):
    """A miniF2F file that cannot be read; the message names the file and line."""


def _strip_doc(text: str) -> str:
    """The text without a trailing docstring or comment block that belongs to the next theorem."""
    return re.sub(r"(/--.*?-/|/-.*?-/)\s*\Z", "", text, flags=re.DOTALL).rstrip()


def _task(name: str, split: str, header: str, statement: str) -> Task:
    return Task(id=f"minif2f/{split}/{name}", language="lean", kind="proof", statement=statement.strip(),
                context=header.strip() + "\n", options={"name": name}, source=SOURCE)


def load_lean_file(path: str | Path, split: str | None = None) -> list[Task]:
    """Every theorem of one Lean split file (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    split = split or path.stem.lower()
    starts = [m.start() for m in _THEOREM.finditer(text)]
    if not starts:
        raise DatasetError(f"{path}: no `theorem` found (is this a miniF2F Lean 4 split file?)")
    header = _strip_doc(text[:starts[0]])
    tasks = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        block = _strip_doc(text[start:end])
        m = _SORRY_TAIL.search(block)
        if not m:
            line = text.count("\n", 0, start) + 1
            raise DatasetError(f"{path}:{line}: the theorem does not end with `:= by sorry`")
        name = _THEOREM.match(block).group(1)  # type: ignore[union-attr]
        tasks.append(_task(name, split, header, block[:m.start()]))
    return tasks


def load_jsonl(path: str | Path) -> list[Task]:
    """Every record of a miniF2F JSONL file (see the module docstring)."""
    path = Path(path)
    tasks = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            statement = record["formal_statement"]
            name = record["name"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{lineno}: not a miniF2F record ({exc})") from None
        statement = statement.rstrip()
        m = _SORRY_TAIL.search(statement) or _BY_TAIL.search(statement)
        if not m:
            raise DatasetError(f"{path}:{lineno}: formal_statement does not end with `:= by` or `:= by sorry`")
        tasks.append(_task(name, record.get("split", "all"), record.get("header", "import Mathlib\n"),
                           statement[:m.start()]))
    return tasks


def load(path: str | Path, split: str | None = None) -> list[Task]:
    """Tasks from a `.lean` split file or a `.jsonl` file; `split` filters JSONL records."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file (miniF2F is not shipped: download it, see the module docstring)")
    if path.suffix == ".lean":
        return load_lean_file(path, split)
    tasks = load_jsonl(path)
    return [t for t in tasks if split is None or t.id.split("/")[1] == split]
