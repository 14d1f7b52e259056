"""Host programs that sandboxed runs execute: the CPython candidates run under, and the z3 binary.

They live beside the sandbox, not in a checker, because more than one checker
runs them (the Python checker, its CrossHair contracts, the SMT checker's
confirming runs) and the sandbox must be able to show them (see `with_binds`).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = ["CANDIDATE_PYTHON", "z3_binary"]

#: The interpreter candidates run under; outside root's home so slot uids can read it.
CANDIDATE_PYTHON = os.environ.get("PROOFSMITH_PYTHON", "/usr/bin/python3")


def z3_binary() -> str | None:
    """The z3 executable: $PROOFSMITH_Z3, the one beside this Python (the z3-solver wheel's), or on PATH."""
    override = os.environ.get("PROOFSMITH_Z3")
    if override:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    beside = Path(sys.executable).parent / "z3"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside.resolve())
    found = shutil.which("z3")
    return str(Path(found).resolve()) if found else None
