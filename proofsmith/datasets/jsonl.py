"""Read Task and Candidate files in JSON Lines (plain or `.gz`).

One bad line costs that line only: it becomes one error string naming the
file, the line number and the field (`tasks.jsonl:3: language: Input should
be ...`), and every good line is still returned, so a batch loses nothing
else. A file that cannot be opened at all raises `InputError`.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import zlib
from collections.abc import Iterator
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from proofsmith.schema import Candidate, Task

M = TypeVar("M", bound=BaseModel)

_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}


class InputError(FileNotFoundError):
    """An input file is missing or unreadable; the message is one line for the user."""


def read_tasks(path: str | os.PathLike[str]) -> tuple[list[Task], list[str]]:
    """Tasks from a JSONL file, and one error string per bad line (duplicate ids included)."""
    numbered, errors = read_tasks_numbered(path)
    return [task for _, task in numbered], errors


def read_candidates(path: str | os.PathLike[str]) -> tuple[list[Candidate], list[str]]:
    """Candidates from a JSONL file, and one error string per bad line."""
    numbered, errors = read_candidates_numbered(path)
    return [cand for _, cand in numbered], errors


def read_tasks_numbered(path: str | os.PathLike[str]) -> tuple[list[tuple[int, Task]], list[str]]:
    """Like `read_tasks`, each task paired with its line number (for later error lines)."""
    records, problems = _read_models(path, Task)
    first_line: dict[str, int] = {}
    tasks: list[tuple[int, Task]] = []
    for lineno, task in records:
        if task.id in first_line:
            problems.append((lineno, f"id: duplicate task id {task.id!r} (first on line {first_line[task.id]})"))
            continue
        first_line[task.id] = lineno
        tasks.append((lineno, task))
    return tasks, _format(path, problems)


def read_candidates_numbered(path: str | os.PathLike[str]) -> tuple[list[tuple[int, Candidate]], list[str]]:
    """Like `read_candidates`, each candidate paired with its line number."""
    records, problems = _read_models(path, Candidate)
    return records, _format(path, problems)


def _format(path: str | os.PathLike[str], problems: list[tuple[int, str]]) -> list[str]:
    name = os.fspath(path)
    return [f"{name}:{lineno}: {problem}" for lineno, problem in sorted(problems, key=lambda p: p[0])]


def _read_models(path: str | os.PathLike[str], model: type[M]) -> tuple[list[tuple[int, M]], list[tuple[int, str]]]:
    """Good lines as (line, model); bad lines as (line, problem)."""
    records: list[tuple[int, M]] = []
    errors: list[tuple[int, str]] = []
    for lineno, raw in _lines(path):
        try:
            # A byte-order mark is harmless noise some editors add to line 1.
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            errors.append((lineno, f"not valid UTF-8 (byte {exc.start + 1})"))
            continue
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append((lineno, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            errors.append((lineno, "not valid JSON here (nested too deeply)"))
            continue
        except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
            errors.append((lineno, f"not valid JSON here (a number longer than {sys.get_int_max_str_digits()} digits)"))
            continue
        if not isinstance(data, dict):
            errors.append((lineno, f"expected a JSON object, got {_JSON_TYPES.get(type(data), 'a value')}"))
            continue
        try:
            records.append((lineno, model.model_validate(data)))
        except ValidationError as exc:
            errors.append((lineno, _describe(exc)))
    return records, errors


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        # a key is the user's text: show control characters escaped, so the error stays one line
        field = ".".join(str(part) if str(part).isprintable() else ascii(str(part))[1:-1] for part in err["loc"])
        parts.append(f"{field}: {err['msg']}" if field else err["msg"])
    return "; ".join(parts)


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    name = os.fspath(path)
    try:
        fh = gzip.open(path, "rb") if name.endswith(".gz") else open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, expected a .jsonl file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    with fh:
        try:
            yield from enumerate(fh, start=1)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputError(f"{name}: not a readable gzip file ({exc})") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None

