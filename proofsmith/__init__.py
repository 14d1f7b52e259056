"""proofsmith: find and verify formal proofs and programs.

The Python API: `check(task, candidate) -> Verdict` and `check_many(...)`.
"""

from __future__ import annotations

from proofsmith.schema import Candidate, Limits, Task, Verdict
from proofsmith.version import __version__

__all__ = ["Candidate", "Limits", "Task", "Verdict", "__version__", "check", "check_many"]


def check(task: Task, candidate: Candidate, **options) -> Verdict:
    """Verify one candidate against its task with the checker for its language."""
    from proofsmith.provers import check as _check

    return _check(task, candidate, **options)


def check_many(pairs, **options) -> list[Verdict]:
    """Verify many (task, candidate) pairs in parallel; verdicts in input order."""
    from proofsmith.provers import check_many as _check_many

    return _check_many(pairs, **options)
