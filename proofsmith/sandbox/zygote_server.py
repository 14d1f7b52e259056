"""The warm worker (zygote) that runs inside one bubblewrap (standard library only).

It starts once per pool slot with the harness imported, then serves checks:
for each, it forks the candidate and the judge, and each child builds its own
isolation before any untrusted byte reaches it (notes/sandbox.md section 2.2):
new mount, ipc, uts and pid namespaces (the network namespace is the
zygote's own, private and empty, and the zygote runs one check at a time), a fresh tmpfs work dir and /tmp,
its slot cgroup, rlimits, its slot uid, no_new_privs and the seccomp filter.

Nothing secret is in the zygote's memory at fork time: the program and the
judge's spec are copied from the supervisor's pipe into a bytearray, written
to the already-forked child that needs it, and the bytearray is zeroed.

Wire format on stdin: one JSON header line `{"program": N, "spec": M, ...}`
followed by exactly N + M raw bytes; the reply is one JSON line on stdout.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's dir out

import python_harness  # noqa: E402 - imported once here so every fork starts warm

# Warm the modules test code and candidates commonly import.
import ast, collections, functools, hashlib, heapq, itertools, math, random, re, string, typing  # noqa: E401,F401

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC, _CLONE_NEWPID = 0x00020000, 0x04000000, 0x08000000, 0x20000000
_MS_REC, _MS_PRIVATE, _MS_NOSUID, _MS_NODEV = 0x4000, 0x40000, 0x2, 0x4
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 38, 22, 2
_OUT_CAP = 1 << 20


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def _load_seccomp(bpf: bytes) -> None:
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def _read_exact(fd: int, buf: bytearray) -> None:
    view = memoryview(buf)
    while view:
        n = os.readv(fd, [view])
        if n == 0:
            raise EOFError
        view = view[n:]


def _fill(buf: bytearray, pending: bytes, fd: int) -> bytes:
    """Fill `buf` from bytes already read, then from `fd`; return what is left of `pending`."""
    got = pending[: len(buf)]
    buf[: len(got)] = got
    if len(got) < len(buf):
        _read_exact(fd, memoryview(buf)[len(got):])
    return pending[len(got):]


class Child:
    """One forked, self-isolating process (its pid is the intermediate's)."""

    def __init__(self, pid: int, data_w: int, out_fd: int, err_fd: int) -> None:
        self.pid, self.data_w, self.out_fd, self.err_fd = pid, data_w, out_fd, err_fd
        self.status: int | None = None


def _fork_child(role: str, slot: dict, keep: tuple[int, ...], bpf: bytes) -> Child:
    """Fork a child that isolates itself, then waits for its files on a pipe."""
    data_r, data_w = os.pipe()
    out_fd = os.memfd_create(f"{role}-stdout", 0)
    err_fd = os.memfd_create(f"{role}-stderr", 0)
    pid = os.fork()
    if pid:
        os.close(data_r)
        return Child(pid, data_w, out_fd, err_fd)
    code = 70
    try:
        _child(role, slot, keep, bpf, data_r, out_fd, err_fd)
        code = 0
    except BaseException as exc:  # noqa: BLE001 - report set-up failures on stderr, then die
        try:
            os.write(2, f"zygote child {role}: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
    os._exit(code)


def _close_all_but(keep: set[int]) -> None:
    # closerange, not /proc/self/fd: a sibling may have mounted another pid
    # namespace's /proc over ours, where our own pid does not exist.
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _child(role: str, slot: dict, keep: tuple[int, ...], bpf: bytes, data_r: int, out_fd: int, err_fd: int) -> None:
    # Hold nothing of the zygote's: not its pipes to the supervisor, not the other child's.
    null = os.open("/dev/null", os.O_RDWR)
    for target in (0, 1):
        os.dup2(null, target)
    os.dup2(err_fd, 2)
    _close_all_but({data_r, out_fd, *keep})
    for path in slot["procs"]:
        with open(path, "w") as fh:
            fh.write("0")
    # No per-child network namespace: the zygote's bubblewrap already has a
    # private one with nothing in it, and this zygote runs one check at a time,
    # so no other candidate is ever reachable there (a netns costs ~3 ms).
    _check(_libc.unshare(_CLONE_NEWNS | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWPID), "unshare")
    pid = os.fork()
    if pid:
        # The intermediate: hold no pipe end (the judge must see the candidate's EOF),
        # reap pid 1 of the new namespace and pass its status on.
        _close_all_but(set())
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _mount("none", "/", None, _MS_REC | _MS_PRIVATE, None)
    size = slot["tmpfs_bytes"]
    _mount("tmpfs", "/work", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode=0755")
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode=1777")
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV, None)
    # Files arrive only now, after the fork: a length-prefixed list of (name, bytes).
    uid = slot["uid"]
    header = bytearray(4)
    _read_exact(data_r, header)
    (count,) = struct.unpack("!I", header)
    for _ in range(count):
        _read_exact(data_r, header)
        name = bytearray(struct.unpack("!I", header)[0])
        _read_exact(data_r, name)
        _read_exact(data_r, header)
        body = bytearray(struct.unpack("!I", header)[0])
        _read_exact(data_r, body)
        path = "/work/" + name.decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, body)
        os.close(fd)
        os.chown(path, uid, uid)
    os.close(data_r)
    os.chown("/work", uid, uid)
    os.chdir("/work")
    for res, value in slot["rlimits"]:
        resource.setrlimit(res, (value, value))
    cpu = slot["cpu"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # As pid 1 of its namespace the child ignores SIGXCPU's default action, so
    # act on it here (the hard limit's SIGKILL a second later backs this up).
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(128 + signal.SIGXCPU))
    os.dup2(out_fd, 1)
    _close_all_but(set(keep))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _load_seccomp(bpf)
    sys.argv = ["harness.py", *slot["argv"]]
    python_harness.main(sys.argv)
    sys.stdout.flush()
    os._exit(0)


def _send_files(child: Child, files: list[tuple[bytes, bytearray]]) -> None:
    parts = [struct.pack("!I", len(files))]
    for name, body in files:
        parts += [struct.pack("!I", len(name)), name, struct.pack("!I", len(body)), body]
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(child.data_w, view):]
    os.close(child.data_w)


def _kill(child: Child) -> None:
    try:
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(child: Child) -> int:
    if child.status is None:
        _, status = os.waitpid(child.pid, 0)
        child.status = status
    return child.status


def _wait(child: Child, deadline: float) -> bool:
    """Wait for the child until the deadline; True when it exited."""
    pidfd = os.pidfd_open(child.pid)
    try:
        return bool(select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))[0])
    finally:
        os.close(pidfd)


def _read_memfd(fd: int, cap: int = _OUT_CAP) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, cap).decode("utf-8", "replace")


def _status(status: int) -> dict:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return {"exit_code": None, "signal": -code}
    if code > 128:  # the intermediate reports pid 1's death by signal N as 128 + N
        return {"exit_code": None, "signal": code - 128}
    return {"exit_code": code, "signal": None}


def _stderr_tail(fd: int) -> str:
    size = os.lseek(fd, 0, os.SEEK_END)
    os.lseek(fd, max(0, size - 4000), os.SEEK_SET)
    return os.read(fd, 4000).decode("utf-8", "replace")


def serve(bpf: bytes) -> None:
    """Answer check requests on stdin until EOF."""
    stdin, stdout = 0, sys.stdout
    header_buf = b""
    while True:
        while b"\n" not in header_buf:
            chunk = os.read(stdin, 4096)
            if not chunk:
                return
            header_buf += chunk
        line, _, rest = header_buf.partition(b"\n")
        header = json.loads(line)
        # Fork both children before the program or the spec is read.
        j2c_r, j2c_w = os.pipe()
        c2j_r, c2j_w = os.pipe()
        cand_slot, judge_slot = header["candidate"], header["judge"]
        report_fd = os.memfd_create("judge-report", 0)
        cand_slot["argv"] = ["serve", str(j2c_r), str(c2j_w), "candidate.py", header["entry_point"]]
        judge_slot["argv"] = ["judge", str(c2j_r), str(j2c_w), "spec.json", str(report_fd)]
        cand = _fork_child("candidate", cand_slot, (j2c_r, c2j_w), bpf)
        judge = _fork_child("judge", judge_slot, (c2j_r, j2c_w, report_fd), bpf)
        for fd in (j2c_r, j2c_w, c2j_r, c2j_w):
            os.close(fd)
        started = time.monotonic()
        program = bytearray(header["program"])
        spec = bytearray(header["spec"])
        rest = _fill(program, rest, stdin)
        header_buf = _fill(spec, rest, stdin)
        _send_files(cand, [(b"candidate.py", program)])
        _send_files(judge, [(b"spec.json", spec)])
        program[:] = bytes(len(program))
        spec[:] = bytes(len(spec))
        wall_killed = not _wait(judge, started + header["wall_s"])
        _kill(cand)
        _kill(judge)
        cand_status, judge_status = _reap(cand), _reap(judge)
        wall = time.monotonic() - started
        reply = {
            "judge_stdout": _read_memfd(judge.out_fd),
            "judge_report": _read_memfd(report_fd),
            "judge": _status(judge_status),
            "candidate": _status(cand_status),
            "judge_stderr": _stderr_tail(judge.err_fd),
            "candidate_stderr": _stderr_tail(cand.err_fd),
            "wall_killed": wall_killed,
            "wall_s": wall,
        }
        for fd in (cand.out_fd, cand.err_fd, judge.out_fd, judge.err_fd, report_fd):
            os.close(fd)
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


def main() -> None:
    """Read the seccomp BPF (length-prefixed) from stdin, say ready, serve."""
    size = bytearray(4)
    _read_exact(0, size)
    bpf = bytearray(struct.unpack("!I", size)[0])
    _read_exact(0, bpf)
    sys.stdout.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    serve(bytes(bpf))


if __name__ == "__main__":
    main()
