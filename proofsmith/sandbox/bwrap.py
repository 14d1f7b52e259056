"""The default sandbox on Linux: bubblewrap run as an unprivileged slot uid.

Layers (notes/sandbox.md rows 8-10): user, pid, net, ipc, uts and cgroup
namespaces (`--unshare-all`), no nested user namespaces, no capabilities, a
read-only system, a fresh size-capped tmpfs as work dir and /tmp, the seccomp
filter, rlimits set before exec, and the slot's cgroup when one is writable.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from typing import ClassVar

from proofsmith.sandbox import seccomp
from proofsmith.sandbox.capabilities import Bind, BoxKind
from proofsmith.sandbox.slots import SlotPool
from proofsmith.sandbox.supervise import Running, launch, run_via_spawn
from proofsmith.schema import Limits

#: Where the candidate's files and working directory appear inside the sandbox.
WORKDIR = "/work"
_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin")
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives", "/etc/ssl/certs")


class BwrapUnavailable(RuntimeError):
    """bubblewrap is not installed or cannot create namespaces here."""


def _system_mounts(binds: Sequence[Bind]) -> list[str]:
    args: list[str] = []
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in _ETC_FILES:
        args += ["--ro-bind-try", path, path]
    for source, inside in binds:
        args += ["--ro-bind", source, inside]
    return args


def _decode_exit(code: int) -> tuple[int | None, int | None]:
    # bwrap's pid 1 reports a child killed by signal N as exit status 128 + N.
    if code > 128 and code - 128 < 65:
        return None, code - 128
    return code, None


class BwrapSandbox:
    """One bubblewrap per process; see the module docstring for the layers.

    `binds` shows host paths read-only inside: (host path, path inside). An
    inside path under /work or /tmp would be hidden by their tmpfs.
    """

    kind: BoxKind = "bwrap"
    #: The copies `with_binds` made, one per set of binds (shared by every sandbox of this process).
    _BOUND: ClassVar[dict[tuple[Bind, ...], BwrapSandbox]] = {}
    _BOUND_LOCK: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, slots: int = 8, *, use_cgroups: bool = True, binds: Sequence[Bind] = ()) -> None:
        binary = shutil.which("bwrap")
        if binary is None:
            raise BwrapUnavailable("bubblewrap not found: install it (`apt-get install bubblewrap`) or use --sandbox process")
        self.binary = binary
        self.slots = SlotPool(slots, use_cgroups=use_cgroups)
        self.binds: tuple[Bind, ...] = tuple(binds)
        self._use_cgroups = use_cgroups
        self._mounts = _system_mounts(self.binds)
        seccomp.filter_bpf()  # fail at start-up, not on the first check

    def with_binds(self, binds: Sequence[Bind]) -> BwrapSandbox:
        """This sandbox, also showing `binds`; made on first use, then shared (itself when it has them all)."""
        wanted = tuple(sorted({*self.binds, *binds}))
        if set(wanted) == set(self.binds):
            return self
        with self._BOUND_LOCK:
            box = self._BOUND.get(wanted)
            if box is None:
                # a slot per warm prover a pool may start (cores - 1), and room for the one-off runs beside them
                box = self._BOUND[wanted] = BwrapSandbox(max(4, (os.cpu_count() or 2) + 2),
                                                         use_cgroups=self._use_cgroups, binds=wanted)
            return box

    def layers(self) -> list[str]:
        """Isolation layers active for a run (every slot's cgroup is set up alike)."""
        return self.layers_for(self.slots.any_slot())

    def spawn(
        self,
        argv: Sequence[str],
        files: Mapping[str, str | bytes],
        limits: Limits,
        *,
        pass_fds: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> Running:
        """Start `argv` inside a fresh sandbox with `files` in its work dir."""
        slot = self.slots.acquire()
        opened: list[int] = []
        try:
            # `pids == 1` means no child at all, which only seccomp can promise here:
            # the cgroup must also leave room for bwrap's own processes.
            filter_fd = seccomp.filter_fd(no_fork=limits.pids == 1)
            opened.append(filter_fd)
            tmpfs_size = str(max(limits.file_size_mb << 20, 1 << 20) * 4)
            args = [
                self.binary,
                "--unshare-all", "--unshare-user", "--disable-userns",
                # --as-pid-1: no bwrap init, which bwrap's outer process would exit
                # without reaping (a zombie per run, holding a pids charge).
                "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL", "--as-pid-1",
                "--hostname", "sandbox",
                *self._mounts,
                "--proc", "/proc", "--dev", "/dev",
                "--size", tmpfs_size, "--tmpfs", "/tmp",
                "--size", tmpfs_size, "--tmpfs", WORKDIR,
            ]
            for name, content in files.items():
                fd = os.memfd_create(f"f-{os.path.basename(name)}", 0)
                opened.append(fd)
                os.write(fd, content.encode() if isinstance(content, str) else content)
                os.lseek(fd, 0, os.SEEK_SET)
                args += ["--file", str(fd), f"{WORKDIR}/{name}"]
            base_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKDIR, "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
            for key, value in {**base_env, **(env or {})}.items():
                args += ["--setenv", key, value]
            args += ["--chdir", WORKDIR, "--seccomp", str(filter_fd), "--", *argv]
            stdin_fd = None
            if stdin is not None:
                stdin_fd = os.memfd_create("stdin", 0)
                opened.append(stdin_fd)
                os.write(stdin_fd, stdin)
                os.lseek(stdin_fd, 0, os.SEEK_SET)
            running = launch(
                args,
                slot=slot,
                limits=limits,
                env={},
                cwd="/",
                pass_fds=[*opened, *pass_fds],
                stdin=stdin_fd,
                sandbox=self.kind,
                isolation=self.layers_for(slot),
                on_exit=lambda: self.slots.release(slot),
                decode_signal=_decode_exit,
                pid1=True,
                # bwrap's outer process; during set-up a helper too, which only matters
                # when the program itself may have no more than one process.
                pids_overhead=1 if limits.pids > 1 else 2,
                outer=True,
            )
        except BaseException:
            self.slots.release(slot)
            raise
        finally:
            for fd in opened:
                os.close(fd)
        return running

    def layers_for(self, slot) -> list[str]:
        """Layers for a run in `slot`."""
        return ["uid", "userns", "pidns", "netns", "ipcns", "utsns", "mountns", "no-nested-userns",
                "no-caps", "ro-system", "tmpfs-work", "seccomp", "rlimits", *slot.cgroup.layers]

    run = run_via_spawn
