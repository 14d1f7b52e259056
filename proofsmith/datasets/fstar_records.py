"""The F* dataset's records (microsoft/FStarDataSet, arXiv:2405.01787) as proofsmith Tasks.

The dataset cannot be shipped or fetched here (notes/datasets.md), so the
loader reads files the user provides: a JSON array of records, a JSONL file
of records, or an "insight file" (`{"defs": [...]}`). A record has (fields of
the dataset harness, FStarLang/fstar_dataset `fstar_harness.py`):
`file_name`, `name` (fully qualified), `opens_and_abbrevs`, `vconfig` (the
solver options the definition was checked with), `source_type` (its `val`)
and `source_definition` (its `let`, the reference answer).

Each record becomes an `fstar` Task: `statement` is the `val`, `reference`
the definition, and `options` carry the name, file, opens, vconfig and
`checked_prefix: true`, so the checker loads the file's checked prefix up to
the definition (`push-partial-checked-file`) from `dataset_dir` (the
directory with the dataset's sources and `.checked` files, passed to F* as
`--include`; bwrap mounts it read-only). A record whose type is unknown
(`<UNK>`: no `val`) is skipped, since the statement could not be held fixed,
and so are those the dataset's harness skips (interleaved from an interface,
not a definition, a `type`, a dummy file); `load` says how many.
tests/data/fstar_records_sample.jsonl is a small hand-written file in this
format (not dataset data).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from proofsmith.schema import Source, Task

__all__ = ["SOURCE", "Loaded", "RecordError", "load", "task_of"]

SOURCE = Source(benchmark="fstar-dataset", licence="CDLA-Permissive-2.0",
                url="https://huggingface.co/datasets/microsoft/FStarDataSet")
_REQUIRED = ("file_name", "name", "source_type", "source_definition")


class RecordError(ValueError):
    """A record file that cannot be read; the message names the file and record."""


class Loaded(NamedTuple):
    """The tasks, and how many records were skipped for having no `val`."""

    tasks: list[Task]
    skipped: int


def task_of(record: dict[str, Any], dataset_dir: str | None = None) -> Task | None:
    """One record as a Task, or None when it has no `val` (see the module docstring)."""
    missing = [k for k in _REQUIRED if k not in record]
    if missing:
        raise RecordError(f"record {record.get('name', '?')!r} lacks {', '.join(missing)}")
    source_type = (record["source_type"] or "").strip()
    if not source_type or source_type == "<UNK>" or not source_type.lstrip().startswith("val"):
        return None
    definition = record["source_definition"] or ""
    # the dataset harness's own exclusions: copied from an interface, not a definition, a type, a dummy
    if record.get("interleaved") or definition.startswith("<") or "=" not in definition or \
            record["file_name"] == "dummy":
        return None
    source_type_is_lemma = "Lemma" in source_type
    options: dict[str, Any] = {
        "name": record["name"],
        "file_name": record["file_name"],
        "opens_and_abbrevs": record.get("opens_and_abbrevs") or [],
        "vconfig": record.get("vconfig"),
        "checked_prefix": True,
        "include_dirs": [dataset_dir] if dataset_dir else [],
    }
    return Task(id=f"fstar/{record['name']}", language="fstar",
                kind="proof" if record.get("is_proof") or source_type_is_lemma else "program",
                statement=source_type, reference=record["source_definition"], options=options, source=SOURCE)


def _records(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{\"defs\"")) or (stripped.startswith("{") and
                                                                       "\n{" not in stripped.strip()):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RecordError(f"{path}: not JSON ({exc})") from None
        if isinstance(data, dict):
            data = data.get("defs", [data])
        if not isinstance(data, list):
            raise RecordError(f"{path}: expected a list of records")
        return data
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                raise RecordError(f"{path}:{lineno}: not JSON ({exc})") from None
    return out


def load(path: str | Path, *, dataset_dir: str | None = None, limit: int | None = None) -> Loaded:
    """Tasks from a record file (see the module docstring); the first `limit` if given."""
    path = Path(path)
    if not path.exists():
        raise RecordError(f"{path}: no such file (the F* dataset is not shipped: download it, see the docstring)")
    tasks: list[Task] = []
    skipped = 0
    for index, record in enumerate(_records(path)):
        if not isinstance(record, dict):
            raise RecordError(f"{path}: record {index} is not an object")
        try:
            task = task_of(record, dataset_dir)
        except RecordError as exc:
            raise RecordError(f"{path}: record {index}: {exc}") from None
        if task is None:
            skipped += 1
            continue
        tasks.append(task)
        if limit is not None and len(tasks) >= limit:
            break
    return Loaded(tasks, skipped)
