"""A benchmark's append-only JSONL results file: finished rows read back by key, new rows appended crash-safely.

Each finished unit of work is one line, flushed and fsynced at once, so a
crash loses at most the unit in flight; a rerun reads the file and skips the
keys already there. A torn last line (a crash mid-write) is ignored on
reading and fenced off with a newline before the next append.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import IO, Any


def read_rows(path: Path, key: Callable[[dict], Hashable]) -> dict[Hashable, dict]:
    """The rows of `path` by `key(row)` (a later row replaces an earlier one); {} when the file is absent."""
    rows: dict[Hashable, dict] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            rows[key(row)] = row
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return rows


def open_for_append(path: Path) -> IO[str]:
    """The results file for appending, after a newline if a crash left the last line unfinished."""
    torn = path.is_file() and path.stat().st_size > 0 and path.read_bytes()[-1:] != b"\n"
    fh = path.open("a", encoding="utf-8")
    if torn:
        fh.write("\n")
    return fh


def append_row(fh: IO[str], row: dict[str, Any]) -> None:
    """Write one finished row and make it durable before the next unit of work starts."""
    fh.write(json.dumps(row) + "\n")
    fh.flush()
    os.fsync(fh.fileno())
