"""Stand-in protocol processes for tests: NOT Lean, NOT F*.

No registry reachable from proofsmith's build machines ships a Lean 4 or F*
toolchain, so the protocol layers of `proofsmith.provers.lean` and
`proofsmith.provers.fstar` are tested against these small standard-library
Python scripts instead. Each speaks its tool's wire protocol (framing, field
names, message shapes, error texts) closely enough to exercise the pools,
timeouts, crash recovery, recycling, audits and parsing for real, and can
hang, crash, leak memory or print the diagnostics the real tool prints for
each known exploit, on demand. Their "semantics" are a handful of textual
rules, documented in each script; a verdict reached through a stand-in says
nothing about a real proof.

- `lean_repl.py`: the JSON protocol of leanprover-community/repl.
- `fstar_ide.py`: F*'s `--ide` JSON protocol.

The scripts are package data so that other test suites (the red-team corpus)
can use them: `script_path("lean_repl")` is the file; the checkers copy it into
the sandbox's work dir and run it with the system `python3`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["script_path", "script_source"]

_HERE = Path(__file__).parent


def script_path(name: str) -> Path:
    """The stand-in script `name` (`lean_repl` or `fstar_ide`)."""
    path = _HERE / f"{name}.py"
    if not path.is_file():
        raise ValueError(f"no stand-in named {name!r} (have: lean_repl, fstar_ide)")
    return path


def script_source(name: str) -> str:
    """The stand-in script's text (what the checkers copy into the sandbox)."""
    return script_path(name).read_text()
