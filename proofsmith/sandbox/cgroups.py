"""Per-slot cgroups (v1 or v2, whichever is writable) for memory and pids.

One cgroup per worker slot, created once and reused (mkdir/rmdir per run costs
about 15 ms, notes/sandbox.md section 2.1). When no hierarchy is writable the
sandbox falls back to rlimits and says so in the manifest.

Slot cgroups live in a `proofsmith` group under this process's own cgroup in
each hierarchy and are named `<pid>-slot<n>` for the process that made them:
`SlotCgroup.remove` deletes them (at the latest at exit, see slots.py), and
`sweep_stale` deletes the empty ones whose process is dead (one killed before
its exit handlers ran).
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
#: What this package names the group of all slots in a hierarchy.
BASE = "proofsmith"
_SLOT_NAME = re.compile(r"^(\d+)-slot\d+$")


def _own_paths() -> dict[str, str]:
    """Controller name -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    try:
        text = Path("/proc/self/cgroup").read_text()
    except OSError:
        return paths
    for line in text.splitlines():
        _, ctrls, path = line.split(":", 2)
        for ctrl in ctrls.split(",") if ctrls else ["unified"]:
            paths[ctrl] = path
    return paths


def base_dirs() -> list[Path]:
    """The `proofsmith` group of every hierarchy this process sits in (v1: memory, pids, cpuacct; v2: unified)."""
    own = _own_paths()
    if (_ROOT / "cgroup.controllers").exists():
        candidates = [_ROOT / own.get("unified", "/").lstrip("/") / BASE]
    else:
        candidates = [_ROOT / ctrl / own.get(ctrl, "/").lstrip("/") / BASE for ctrl in ("memory", "pids", "cpuacct")]
    return [path for path in dict.fromkeys(candidates) if path.is_dir()]


def slot_owner(group: Path) -> int | None:
    """The pid that made a slot cgroup, from its name (`<pid>-slot<n>`); None for any other name."""
    match = _SLOT_NAME.match(group.name)
    return int(match.group(1)) if match else None


def pid_alive(pid: int) -> bool:
    """Whether `pid` names a live process in this pid namespace."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[Path]:
    """Delete the slot cgroups of dead processes; return them.

    Only empty groups go (rmdir refuses the others): a group that still holds
    a process is a leak to see, not to hide, and its processes are not ours
    to kill. A pid reused by a new process keeps its dead namesake's groups
    until that process is gone too.
    """
    removed = []
    for base in base_dirs():
        try:
            groups = [g for g in base.iterdir() if g.is_dir()]
        except OSError:
            continue
        for group in groups:
            owner = slot_owner(group)
            if owner is None or owner == os.getpid() or pid_alive(owner):
                continue
            try:
                group.rmdir()
                removed.append(group)
            except OSError:
                pass
    return removed


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
        return True
    except OSError:
        return False


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_key(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


class SlotCgroup:
    """The memory and pids cgroups of one worker slot.

    `layers` lists what works (`cgroup-memory`, `cgroup-pids`); an empty list
    means the caller must rely on rlimits.
    """

    def __init__(self, name: str, enabled: bool = True) -> None:
        self.name = name
        self.version: int | None = None
        self.memory: Path | None = None
        self.pids: Path | None = None
        self.cpu: Path | None = None
        self._cpu_start = 0
        self._failcnt = 0
        self._pids_events = 0
        if enabled:
            self._setup()

    @property
    def layers(self) -> list[str]:
        """Isolation layers this cgroup provides."""
        out = []
        if self.memory is not None:
            out.append(f"cgroup{self.version}-memory")
        if self.pids is not None:
            out.append(f"cgroup{self.version}-pids")
        return out

    def _setup(self) -> None:
        own = _own_paths()
        mem_root = _ROOT / "memory"
        if (mem_root / "memory.limit_in_bytes").exists() or (mem_root / "cgroup.procs").exists():
            self.version = 1
            self.memory = self._make(mem_root, own.get("memory", "/"))
            self.pids = self._make(_ROOT / "pids", own.get("pids", "/"))
            self.cpu = self._make(_ROOT / "cpuacct", own.get("cpuacct", "/"))
            return
        if (_ROOT / "cgroup.controllers").exists():
            self.version = 2
            base = _ROOT / own.get("unified", "/").lstrip("/") / BASE
            group = base / self.name.replace("/", "-")
            for _ in range(3):  # another process may remove an empty base between our two mkdirs
                try:
                    base.mkdir(exist_ok=True)
                    _write(base / "cgroup.subtree_control", "+memory +pids")
                    group.mkdir(exist_ok=True)
                    break
                except FileNotFoundError:
                    continue
                except OSError:
                    return
            else:
                return
            if (group / "memory.max").exists():
                self.memory = group
            if (group / "pids.max").exists():
                self.pids = group
            self.cpu = group  # cpu.stat is there without the cpu controller

    def _make(self, hierarchy: Path, own: str) -> Path | None:
        group = hierarchy / own.lstrip("/") / BASE / self.name
        for _ in range(3):  # another process may remove an empty base between mkdirs
            try:
                group.mkdir(parents=True, exist_ok=True)
                break
            except FileNotFoundError:
                continue
            except OSError:
                return None
        return group if (group / "cgroup.procs").exists() else None

    def procs_files(self) -> list[bytes]:
        """The cgroup.procs files a child writes itself into before exec."""
        return [str(g / "cgroup.procs").encode() for g in self.groups()]

    def pids_in(self) -> list[int] | None:
        """The processes in this slot now (host pids), or None without a cgroup to ask."""
        for group in self.groups():
            try:
                return [int(p) for p in (group / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                continue
        return None

    def groups(self) -> list[Path]:
        """The distinct cgroup directories of this slot."""
        return sorted({g for g in (self.memory, self.pids, self.cpu) if g is not None})

    def prepare(self, memory_bytes: int, pids: int) -> None:
        """Set this run's limits and reset the peak and event counters."""
        if self.memory is not None:
            if self.version == 1:
                _write(self.memory / "memory.limit_in_bytes", str(memory_bytes))
                _write(self.memory / "memory.max_usage_in_bytes", "0")
                self._failcnt = _read_int(self.memory / "memory.failcnt") or 0
            else:
                _write(self.memory / "memory.max", str(memory_bytes))
                _write(self.memory / "memory.swap.max", "0")
                _write(self.memory / "memory.peak", "0")  # resettable on kernels >= 6.12
                self._failcnt = _read_key(self.memory / "memory.events", "oom_kill")
        if self.pids is not None:
            # Tasks of the slot's previous run may still be charged while the kernel
            # finishes tearing them down: wait for them briefly, then budget this
            # run on top of any that remain (never below what it asked for).
            lingering = _read_int(self.pids / "pids.current") or 0
            deadline = time.monotonic() + 2.0
            while lingering and time.monotonic() < deadline:
                time.sleep(0.002)
                lingering = _read_int(self.pids / "pids.current") or 0
            _write(self.pids / "pids.max", str(pids + lingering))
            self._pids_events = _read_key(self.pids / "pids.events", "max")
        self._cpu_start = self._cpu_ns() or 0

    def _cpu_ns(self) -> int | None:
        if self.cpu is None:
            return None
        if self.version == 1:
            return _read_int(self.cpu / "cpuacct.usage")
        usec = _read_key(self.cpu / "cpu.stat", "usage_usec")
        return usec * 1000

    def cpu_s(self) -> float | None:
        """CPU seconds used by every process of this run (children included)."""
        now = self._cpu_ns()
        return None if now is None else (now - self._cpu_start) / 1e9

    def peak_kb(self) -> int | None:
        """Peak memory of this run, KiB."""
        if self.memory is None:
            return None
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        value = _read_int(self.memory / name)
        return value // 1024 if value is not None else None

    def memory_hit(self) -> bool:
        """Whether the memory limit was hit during this run."""
        if self.memory is None:
            return False
        if self.version == 1:
            return (_read_int(self.memory / "memory.failcnt") or 0) > self._failcnt
        return _read_key(self.memory / "memory.events", "oom_kill") > self._failcnt

    def pids_hit(self) -> bool:
        """Whether a fork was refused by the pids limit during this run."""
        return self.pids is not None and _read_key(self.pids / "pids.events", "max") > self._pids_events

    def kill_all(self, spare: int | None = None) -> None:
        """SIGKILL every process in the slot (daemons that escaped with setsid too).

        `spare` (a pid) is left alive: the sandbox's outer process, so that it
        reaps what it started instead of leaving zombies to the host's init.
        """
        for group in self.groups():
            if spare is None and _write(group / "cgroup.kill", "1"):
                continue
            for _ in range(50):
                try:
                    pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                pids = [pid for pid in pids if pid != spare]
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.002)

    def remove(self) -> None:
        """Delete the cgroups (after `kill_all`), and the `proofsmith` group above them once it is empty."""
        for group in self.groups():
            for _ in range(20):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            try:
                group.parent.rmdir()  # fails while any other slot, ours or another process's, is there
            except OSError:
                pass
