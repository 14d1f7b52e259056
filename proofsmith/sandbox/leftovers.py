"""What a proofsmith process leaves on the host, tied to its pid so that a dead one's leftovers can be found.

Temp dirs are named `proofsmith-<kind>-<pid>-<random>` (`temp_dir`) and slot
cgroups `<pid>-slot<n>` (cgroups.py). A process removes its own at exit
(`SlotPool.close` runs from atexit; each temp dir's user deletes it when
done); one killed before that leaves them, and the next process to create a
sandbox removes them (`sweep`, once per process).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

from proofsmith.sandbox.cgroups import pid_alive, sweep_stale

PREFIX = "proofsmith-"
#: First uid handed to slots (slots.py); each proofsmith process takes its own block of 256. A temp dir owned by
#: a uid from here up is a process sandbox's work dir, lent to a slot.
UID_BASE = 200_000
_KEYED = re.compile(r"^proofsmith-[a-z]+-(\d+)-")
#: The temp dirs of proofsmith versions before pids were in the names: code copies for zygotes,
#: read once at start-up, and work dirs of the process sandbox.
_UNKEYED = re.compile(r"^proofsmith-(zygote|work)-[a-z0-9_]{8}$")
#: How old an unkeyed dir must be before it is taken for a leftover (its process may still be starting).
UNKEYED_AGE_S = 600.0

_SWEPT = False
_LOCK = threading.Lock()


def temp_dir(kind: str) -> str:
    """A new private temp dir `proofsmith-<kind>-<pid>-XXXXXXXX`; the caller deletes it when done."""
    return tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-")


def temp_dir_owner(path: Path) -> int | None:
    """The pid in a temp dir's name, or None for a name without one."""
    match = _KEYED.match(path.name)
    return int(match.group(1)) if match else None


def stale_temp_dirs(root: Path | None = None) -> list[Path]:
    """proofsmith temp dirs under `root` (the temp dir) whose process is dead, or unkeyed and old."""
    root = Path(root or tempfile.gettempdir())
    try:
        entries = [p for p in root.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return []
    stale = []
    for path in entries:
        owner = temp_dir_owner(path)
        if owner is not None:
            if owner != os.getpid() and not pid_alive(owner):
                stale.append(path)
        elif _UNKEYED.match(path.name):
            try:
                if time.time() - path.stat().st_mtime > UNKEYED_AGE_S:
                    stale.append(path)
            except OSError:
                continue
    return [p for p in stale if p.is_dir() and not p.is_symlink() and _ours(p)]


def _ours(path: Path) -> bool:
    # /tmp is shared: never delete another user's dir, whatever its name says (a process sandbox's
    # work dir belongs to the slot uid it was lent to)
    try:
        owner = path.lstat().st_uid
    except OSError:
        return False
    return owner == os.geteuid() or (os.geteuid() == 0 and owner >= UID_BASE)


def sweep() -> list[Path]:
    """Remove dead processes' temp dirs and empty slot cgroups; return what went."""
    removed = []
    for path in stale_temp_dirs():
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed + sweep_stale()


def sweep_once() -> None:
    """`sweep`, the first time this process asks (every sandbox asks when it is created)."""
    global _SWEPT
    with _LOCK:
        if _SWEPT:
            return
        _SWEPT = True
    sweep()
