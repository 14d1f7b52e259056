"""The warm worker (zygote) that runs inside one bubblewrap (standard library only).

It starts once per pool worker with the caller's module imported (for the
Python checker: its harness), then serves checks. Each check is a pair of
processes joined by two pipes, a *candidate* (untrusted) and a *judge*; the
zygote forks each, and each child builds its own isolation before any
untrusted byte reaches it: new mount, IPC, UTS and pid namespaces (the
network namespace is the zygote's own, private and empty, and the zygote
runs one check at a time), a fresh tmpfs work dir and /tmp, its slot cgroup,
rlimits, its slot uid, no_new_privs and the seccomp filter.

What the judge reads (the tests, the expected values) never passes through
the zygote: the supervisor writes each process's files into memfds and hands
the zygote only their descriptors (SCM_RIGHTS), the judge's in a message the
zygote receives after the candidate is forked. The forked child copies its
files from those descriptors into its own tmpfs with sendfile. So no byte of
the judge's input is ever in the zygote's memory, nor in any process forked
from it before the judge (the candidate), now or in a later check.

Wire format, on one SOCK_SEQPACKET socket on fd 0 (the supervisor's end is
zygote.py): every message is one frame, a 4-byte big-endian length and that
many bytes of JSON, with descriptors attached. A frame that is truncated,
whose length disagrees with the message, or that carries other descriptors
than it says ends the zygote (the supervisor starts a new one).

1. `{"module": NAME, "preload": [...]}` + [seccomp BPF] -> `{"ready": true, "pid": N}`
2. per check: `{"role": "candidate", "argv", "files": [names], "slot"}`
   + [stdout, stderr, *files]; the zygote forks the candidate, then receives
   `{"role": "judge", "argv", "files", "slot", "wall_s"}` + [stdout, stderr,
   report, *files], forks the judge, waits for it up to `wall_s`, measures
   the candidate's run queue (runqueue.py), kills both and answers
   `{"judge": status, "candidate": status, "wall_killed", "wall_s", "runqueue"}`.

In a child, fd 0 is /dev/null, 1 and 2 its stdout and stderr memfds, 3 reads
from the peer, 4 writes to it, and the judge's report memfd is 5 (PEER_FDS).
"""

from __future__ import annotations

import ctypes
import fcntl
import importlib
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC, _CLONE_NEWPID = 0x00020000, 0x04000000, 0x08000000, 0x20000000
_MS_REC, _MS_PRIVATE, _MS_NOSUID, _MS_NODEV = 0x4000, 0x40000, 0x2, 0x4
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 38, 22, 2
#: The largest frame either side sends (headers only: contents travel as descriptors).
MAX_FRAME = 1 << 16
#: The most descriptors one frame carries.
MAX_FDS = 16
#: Where a child finds its peer's pipes and its extra descriptors.
PEER_FDS = 3


class ProtocolError(RuntimeError):
    """A frame that does not follow the wire format."""


def send_frame(sock: socket.socket, message: dict, fds: list[int] = ()) -> None:
    """Send one frame: the length-prefixed JSON `message`, with `fds` attached."""
    body = json.dumps(message).encode()
    frame = struct.pack("!I", len(body)) + body
    if len(frame) > MAX_FRAME:
        raise ProtocolError(f"a frame of {len(frame)} bytes is over the {MAX_FRAME}-byte limit")
    socket.send_fds(sock, [frame], list(fds)) if fds else sock.sendall(frame)


def recv_frame(sock: socket.socket) -> tuple[dict, list[int]] | None:
    """Receive one frame: its JSON object and the descriptors it carries; None at EOF."""
    data, fds, flags, _ = socket.recv_fds(sock, MAX_FRAME, MAX_FDS)
    if not data and not fds:
        return None
    try:
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            raise ProtocolError("a truncated frame")
        if len(data) < 4 or struct.unpack("!I", data[:4])[0] != len(data) - 4:
            raise ProtocolError("a frame whose length prefix disagrees with its size")
        message = json.loads(data[4:])
        if not isinstance(message, dict):
            raise ProtocolError("a frame that is not a JSON object")
    except BaseException:
        _close(fds)
        raise
    return message, fds


def _expect(got: tuple[dict, list[int]] | None, nfds, role: str | None = None) -> tuple[dict, list[int]] | None:
    """`got` when it is `role`'s frame with `nfds(message)` descriptors; ProtocolError otherwise."""
    if got is None:
        return None
    message, fds = got
    try:
        if role is not None and message.get("role") != role:
            raise ProtocolError(f"expected the {role}'s frame")
        if len(fds) != nfds(message):
            raise ProtocolError(f"a frame carrying {len(fds)} descriptors where {nfds(message)} belong")
    except BaseException:
        _close(fds)
        raise
    return got


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


def _close_all_but(keep: set[int]) -> None:
    # closerange, not /proc/self/fd: a sibling may have mounted another pid
    # namespace's /proc over ours, where our own pid does not exist.
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


class Child:
    """One forked, self-isolating process (its pid is the intermediate's)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None


def _fork_child(spec: dict, module, bpf: bytes, out_fd: int, err_fd: int, files: list[tuple[str, int]],
                peer_fds: list[int]) -> Child:
    """Fork a child that isolates itself, copies in its files and runs `module.main`."""
    pid = os.fork()
    if pid:
        return Child(pid)
    code = 70
    try:
        _child(spec, module, bpf, out_fd, err_fd, files, peer_fds)
        code = 0
    except BaseException as exc:  # noqa: BLE001 - report set-up failures on stderr, then die
        try:
            os.write(2, f"zygote child {spec.get('role')}: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
    os._exit(code)


def _copy_in(files: list[tuple[str, int]], uid: int) -> None:
    """Copy each file from its descriptor into /work (kernel to kernel), owned by `uid`."""
    for name, src in files:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"bad file name {name!r}")
        path = "/work/" + name
        dst = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        offset = 0
        while True:
            sent = os.sendfile(dst, src, offset, 1 << 20)
            if sent == 0:
                break
            offset += sent
        os.close(dst)
        os.close(src)
        os.chown(path, uid, uid)


def _child(spec: dict, module, bpf: bytes, out_fd: int, err_fd: int, files: list[tuple[str, int]],
           peer_fds: list[int]) -> None:
    slot = spec["slot"]
    # Hold nothing of the zygote's: not its socket to the supervisor, not the other child's pipes.
    null = os.open("/dev/null", os.O_RDWR)
    for target in (0, 1):
        os.dup2(null, target)
    os.dup2(err_fd, 2)
    _close_all_but({out_fd, *peer_fds, *(fd for _, fd in files)})
    # A session of its own: its own autogroup too, whose nice it may lower for itself only
    # (never for the zygote and the checks after it), which runqueue.measure then sees.
    os.setsid()
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
    uid = slot["uid"]
    _copy_in(files, uid)
    os.chown("/work", uid, uid)
    os.chdir("/work")
    # Peer descriptors to their fixed numbers: first copied above that range, then dup2'ed into it.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, PEER_FDS + len(peer_fds)) for fd in peer_fds]
    os.dup2(out_fd, 1)
    for i, fd in enumerate(high):
        os.dup2(fd, PEER_FDS + i)
    _close_all_but(set(range(PEER_FDS, PEER_FDS + len(high))))
    for res, value in slot["rlimits"]:
        resource.setrlimit(res, (value, value))
    cpu = slot["cpu"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # As pid 1 of its namespace the child ignores SIGXCPU's default action, so
    # act on it here (the hard limit's SIGKILL a second later backs this up).
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(128 + signal.SIGXCPU))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _load_seccomp(bpf)
    sys.argv = [module.__name__ + ".py", *spec["argv"]]
    code = module.main(sys.argv)
    sys.stdout.flush()
    os._exit(code if isinstance(code, int) else 0)


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


def _status(status: int) -> dict:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return {"exit_code": None, "signal": -code}
    if code > 128:  # the intermediate reports pid 1's death by signal N as 128 + N
        return {"exit_code": None, "signal": code - 128}
    return {"exit_code": code, "signal": None}


def _close(fds) -> None:
    for fd in fds:
        os.close(fd)


def serve(sock: socket.socket, module, bpf: bytes) -> None:
    """Answer check requests until the supervisor closes its end."""
    import runqueue  # shipped beside this file

    while True:
        got = _recv_role(sock, "candidate", extra=0)
        if got is None:
            return
        cand_spec, (c_out, c_err, *c_files) = got
        j2c_r, j2c_w = os.pipe()
        c2j_r, c2j_w = os.pipe()
        started = time.monotonic()
        # The candidate is forked before the judge's frame (and its descriptors) is even received.
        cand = _fork_child(cand_spec, module, bpf, c_out, c_err, list(zip(cand_spec["files"], c_files)),
                           [j2c_r, c2j_w])
        _close([c_out, c_err, *c_files, j2c_r, c2j_w])
        try:
            got = _recv_role(sock, "judge", extra=1)
        except BaseException:
            _kill(cand)
            _reap(cand)
            raise
        if got is None:
            _kill(cand)
            _reap(cand)
            return
        judge_spec, (j_out, j_err, report, *j_files) = got
        judge = _fork_child(judge_spec, module, bpf, j_out, j_err, list(zip(judge_spec["files"], j_files)),
                            [c2j_r, j2c_w, report])
        _close([j_out, j_err, report, *j_files, c2j_r, j2c_w])
        wall_killed = not _wait(judge, started + judge_spec["wall_s"])
        # What the candidate's processes waited for a CPU, measured before they are killed.
        queue = runqueue.measure(runqueue.descendants([cand.pid]))
        _kill(cand)
        _kill(judge)
        cand_status, judge_status = _reap(cand), _reap(judge)
        send_frame(sock, {
            "judge": _status(judge_status),
            "candidate": _status(cand_status),
            "wall_killed": wall_killed,
            "wall_s": time.monotonic() - started,
            "runqueue": list(queue) if queue is not None else None,
        })


def _recv_role(sock: socket.socket, role: str, extra: int) -> tuple[dict, list[int]] | None:
    """The frame of one role: its header and [stdout, stderr, *extra, *files]."""
    return _expect(recv_frame(sock), lambda m: 2 + extra + len(m.get("files", [])), role)


def main() -> None:
    """Read the start frame (module, preloads, seccomp BPF), import the module, say ready, serve."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)  # -I leaves the script's dir out
    sock = socket.socket(fileno=0)
    got = _expect(recv_frame(sock), lambda m: 1)
    if got is None:
        return
    start, (bpf_fd,) = got
    bpf = os.pread(bpf_fd, 1 << 20, 0)
    os.close(bpf_fd)
    # Imported once here, so every fork starts warm.
    module = importlib.import_module(start["module"])
    for name in start.get("preload", []):
        importlib.import_module(name)
    send_frame(sock, {"ready": True, "pid": os.getpid()})
    serve(sock, module, bpf)


if __name__ == "__main__":
    main()
