"""Worker slots: each is an unprivileged uid/gid plus its reused cgroup.

RLIMIT_NPROC counts every process of a uid machine-wide, and two candidates
with one uid can signal each other, so every concurrently running sandboxed
process gets a slot of its own (notes/sandbox.md, pitfalls).
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import threading
from dataclasses import dataclass

from proofsmith.sandbox import leftovers
from proofsmith.sandbox.cgroups import SlotCgroup
from proofsmith.sandbox.leftovers import UID_BASE

#: Slot numbers are unique across every pool of this process (uids and cgroup names derive from them).
_NEXT_SLOT = itertools.count()
#: Seconds a run waits for a free slot before it gives up (a check then comes back `unknown`, reason sandbox).
SLOT_WAIT_S = 600.0


class SandboxBusy(RuntimeError):
    """No slot came free in time: every sandboxed process slot stayed in use (too many warm provers or checks)."""


@dataclass
class Slot:
    """One uid/gid and its cgroup."""

    index: int
    uid: int
    cgroup: SlotCgroup


class SlotPool:
    """A bounded pool of slots, handed out one per running sandboxed process."""

    def __init__(self, size: int, use_cgroups: bool = True) -> None:
        self.size = size
        self._free: queue.Queue[Slot] = queue.Queue()
        self._all: list[Slot] = []
        self._lock = threading.Lock()
        self._use_cgroups = use_cgroups
        self._created = 0
        leftovers.sweep_once()  # what processes killed before their exit handlers left behind
        atexit.register(self.close)

    def _new_slot(self) -> Slot:
        index = next(_NEXT_SLOT)
        self._created += 1
        name = f"{os.getpid()}-slot{index}"
        slot = Slot(index=index, uid=UID_BASE + (os.getpid() % 4096) * 256 + index % 256, cgroup=SlotCgroup(name, enabled=self._use_cgroups))
        self._all.append(slot)
        return slot

    def acquire(self, timeout: float | None = None) -> Slot:
        """Take a free slot, creating one while fewer than `size` exist; SandboxBusy after `timeout` (SLOT_WAIT_S)."""
        timeout = SLOT_WAIT_S if timeout is None else timeout
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._created < self.size:
                return self._new_slot()
        try:
            return self._free.get(timeout=timeout)
        except queue.Empty:
            raise SandboxBusy(f"no sandbox slot came free in {timeout:g} s (all {self.size} in use): run fewer "
                              "checks or warm provers at once, or give the sandbox more slots") from None

    def any_slot(self) -> Slot:
        """A slot to look at (its cgroup's layers), without reserving it."""
        with self._lock:
            return self._all[0] if self._all else self._new_slot_free()

    def _new_slot_free(self) -> Slot:
        slot = self._new_slot()
        self._free.put(slot)
        return slot

    def release(self, slot: Slot) -> None:
        """Give a slot back after its processes were killed."""
        self._free.put(slot)

    def close(self) -> None:
        """Kill anything left in the slots and remove their cgroups."""
        for slot in self._all:
            slot.cgroup.kill_all()
            slot.cgroup.remove()
        self._all.clear()
