"""The seccomp filter every sandboxed candidate runs under.

A deny-list (default allow) compiled with libseccomp through PyPI `pyseccomp`:
it closes the escalation paths that namespaces and a non-root uid leave open
(notes/sandbox.md section 1: rows 8 -> 9). Sockets other than AF_UNIX, new
namespaces, ptrace, mounts, kernel-module and keyring calls all fail with EPERM.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

#: Syscalls a candidate never needs; each fails with EPERM.
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "syslog", "open_by_handle_at", "name_to_handle_at", "fsopen", "fsmount",
    "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "quotactl", "settimeofday",
    "clock_settime", "adjtimex", "sethostname", "setdomainname", "vhangup", "lookup_dcookie",
    "personality", "iopl", "ioperm",
    # A candidate that lowers its own priority or yields its CPU waits in the run queue by its own doing,
    # which the Python checker must not read as the machine's overload (runqueue.py); raising it needs
    # privileges a slot uid does not have. Callers of sched_yield ignore its result, so it turns into a no-op.
    "setpriority", "sched_setscheduler", "sched_setparam", "sched_setattr", "sched_setaffinity", "sched_yield",
)

_CLONE_NEW_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
)
_AF_UNIX = 1
_CLONE_THREAD = 0x00010000


class SeccompUnavailable(RuntimeError):
    """libseccomp or pyseccomp is missing: install `pyseccomp` and `libseccomp2`."""


def _build_filter(no_fork: bool):  # -> pyseccomp.SyscallFilter
    try:
        import pyseccomp as sc
    except (ImportError, OSError, RuntimeError) as exc:  # pyseccomp raises on a missing libseccomp.so
        raise SeccompUnavailable(f"seccomp unavailable ({exc}); run `make install`") from exc
    flt = sc.SyscallFilter(sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(eperm, name)
        except (ValueError, RuntimeError, OSError):
            continue  # syscall unknown on this architecture
    flt.add_rule(eperm, "socket", sc.Arg(0, sc.NE, _AF_UNIX))
    for flag in _CLONE_NEW_FLAGS:
        flt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory where BPF cannot look; ENOSYS makes glibc
    # fall back to clone(), whose flags the rules above do check.
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    if no_fork:
        # Threads (clone with CLONE_THREAD) stay allowed; new processes do not.
        flt.add_rule(eperm, "fork")
        flt.add_rule(eperm, "vfork")
        flt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
    return flt


@functools.lru_cache(maxsize=2)
def filter_bpf(no_fork: bool = False) -> bytes:
    """The compiled BPF program (bytes), built once per process and variant.

    `no_fork` also refuses new processes (threads are still allowed), for runs
    whose output must come from one process only.
    """
    with tempfile.TemporaryFile() as fh:
        _build_filter(no_fork).export_bpf(fh)
        fh.seek(0)
        return fh.read()


def filter_fd(no_fork: bool = False) -> int:
    """A fresh readable fd holding the BPF program.

    bwrap reads `--seccomp FD` to EOF, so every launch needs its own fd
    (reusing one fails with `prctl(PR_SET_SECCOMP) reported EINVAL`).
    """
    fd = os.memfd_create("proofsmith-seccomp", 0)
    os.write(fd, filter_bpf(no_fork))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
