"""Checkers, one module per language, behind one `check` entry point.

A new checker is one module with `validate(task) -> str | None`,
`manifest(task, sandbox, efficiency) -> Manifest` and
`check(task, candidate, *, sandbox, efficiency) -> Verdict`, plus one
`LanguageSpec` registered in `proofsmith.languages` naming it.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

from proofsmith import languages
from proofsmith.sandbox import SandboxBusy, SandboxKind, SandboxUnsupported, get_sandbox
from proofsmith.schema import Candidate, Diagnostic, Manifest, Task, Verdict, cache_key
from proofsmith.version import __version__

#: language -> its checker module, as registered in `proofsmith.languages`
_CHECKERS = languages.FieldView("checker")


class UnsupportedTask(ValueError):
    """The task's language has no checker installed here."""


def checker_for(task: Task) -> ModuleType:
    """The checker module for the task's language."""
    name = _CHECKERS.get(task.language)
    if name is None:
        known = ", ".join(sorted(_CHECKERS))
        raise UnsupportedTask(f"task {task.id}: no checker for language {task.language!r} yet (available: {known})")
    return importlib.import_module(name)


def validate_task(task: Task) -> str | None:
    """One line saying why the task cannot be checked, or None."""
    try:
        return checker_for(task).validate(task)
    except UnsupportedTask as exc:
        return str(exc)


def _unknown(task: Task, candidate: Candidate, reason: str, message: str, sandbox: str, started: float) -> Verdict:
    return Verdict(
        task_id=task.id,
        candidate_id=candidate.id,
        status="unknown",
        reason=reason,
        reward=0.0,
        diagnostics=[Diagnostic(message=message)],
        wall_s=time.monotonic() - started,
        manifest=Manifest(checker=task.language, checker_version="?", proofsmith_version=__version__,
                          limits=task.limits, sandbox=sandbox),
    )


def check(
    task: Task,
    candidate: Candidate,
    *,
    sandbox: SandboxKind = "auto",
    efficiency: str | None = None,
    use_cache: bool = True,
) -> Verdict:
    """Verify `candidate` against `task`. Infrastructure failures come back `unknown`, never raised."""
    started = time.monotonic()
    if candidate.task_id != task.id:
        raise ValueError(f"candidate is for task {candidate.task_id!r}, not {task.id!r}")
    problem = validate_task(task)
    if problem:
        raise UnsupportedTask(problem)
    module = checker_for(task)
    try:
        box = get_sandbox(sandbox)
    except Exception as exc:  # noqa: BLE001 - a broken sandbox is an unknown, with the fix named
        return _unknown(task, candidate, "sandbox", str(exc), sandbox, started)
    cache = _cache() if use_cache else None
    key = None
    if cache is not None:
        key = cache_key(task, candidate, module.manifest(task, box, efficiency))
        hit = cache.get(key)
        if hit is not None:
            return hit.model_copy(update={"candidate_id": candidate.id})
    try:
        verdict = module.check(task, candidate, sandbox=box, efficiency=efficiency)
    except Exception as exc:  # noqa: BLE001 - never let one check take a batch down
        detail = "".join(traceback.format_exception_only(exc)).strip()
        reason = "sandbox" if isinstance(exc, (OSError, SandboxUnsupported, SandboxBusy)) else "internal"
        return _unknown(task, candidate, reason, detail, box.kind, started)
    if key is not None:
        verdict = verdict.model_copy(update={"cache_key": key})
        if cache is not None and verdict.status != "unknown":
            cache.put(key, verdict)
    return verdict


def _cache():
    try:
        from proofsmith.verdict_cache import default_cache
    except ImportError:
        return None
    return default_cache()


def check_many(
    pairs: Sequence[tuple[Task, Candidate]],
    *,
    jobs: int = 2,
    sandbox: SandboxKind = "auto",
    efficiency: str | None = None,
    use_cache: bool = True,
    on_verdict: Callable[[int, Verdict], None] | None = None,
) -> list[Verdict]:
    """Verify many pairs on `jobs` threads (each check runs in its own sandboxes); input order kept."""
    verdicts: list[Verdict | None] = [None] * len(pairs)

    def one(index: int) -> None:
        task, cand = pairs[index]
        verdicts[index] = check(task, cand, sandbox=sandbox, efficiency=efficiency, use_cache=use_cache)
        if on_verdict is not None:
            on_verdict(index, verdicts[index])

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(one, i) for i in range(len(pairs))]:
            future.result()
    return [v for v in verdicts if v is not None]
