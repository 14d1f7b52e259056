"""The warm pool: pre-forked zygotes, one bubblewrap each, that run pairs of processes.

A zygote is one interpreter started once inside a bubblewrap with the
caller's module imported (`WarmProgram`); each pair then costs two forks that
isolate themselves (see `zygote_server.py`) instead of two fresh bubblewraps
and interpreters. Measured on these machines: about 8 ms per isolated fork
against about 40 ms per bubblewrap (notes/sandbox.md section 2.2).

A pair is a *candidate* (untrusted) and a *judge* joined by two pipes
(`run_pair`), the unit of work of a checker that keeps what it checks against
out of the candidate's process. The pool knows no checker: the caller says
which interpreter and module to run, each process's argv, files and limits.
Files travel as memfd descriptors over the zygote's socket and the zygote
never reads them; the candidate is forked before the judge's descriptors
reach the zygote, so nothing of the judge's input is ever in the candidate's
memory (freed or not), in this check or a later one.

Nothing is left on the host: the zygote's code reaches its sandbox through
memfds (`bwrap --file`), and its slots' cgroups go with the pool's slots.
"""

from __future__ import annotations

import atexit
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

from proofsmith.sandbox import limits as rl
from proofsmith.sandbox import seccomp
from proofsmith.sandbox.bwrap import BwrapUnavailable, _system_mounts
from proofsmith.sandbox.capabilities import BoxKind, PairRun, Peer, WarmProgram
from proofsmith.sandbox.slots import SandboxBusy, Slot, SlotPool
from proofsmith.sandbox.supervise import RunResult
from proofsmith.sandbox.zygote_server import PEER_FDS, ProtocolError, recv_frame, send_frame
from proofsmith.schema import Limits

_HERE = Path(__file__).parent
#: The zygote's own code, shipped into each sandbox: the server and the run-queue probe it imports.
_SERVER_FILES = ("zygote_server.py", "runqueue.py")
_START_TIMEOUT = 20.0
LAYERS = ["uid", "pidns", "netns", "ipcns", "utsns", "mountns", "no-caps", "no-new-privs", "ro-system",
          "tmpfs-work", "seccomp", "rlimits"]
#: In each process of a pair: the fd it reads its peer from, the fd it writes to it, and (judge) its report fd.
PEER_READ_FD, PEER_WRITE_FD, REPORT_FD = PEER_FDS, PEER_FDS + 1, PEER_FDS + 2
#: The largest judge report read back.
_REPORT_CAP = 1 << 20
_TAIL = 4000


class _Spawner:
    """One long-lived thread that starts every zygote.

    `bwrap --die-with-parent` ties the sandbox to the thread that forked it
    (PR_SET_PDEATHSIG fires when that thread exits), so a zygote started from
    a short-lived pool thread would die with it.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, name="proofsmith-zygote-spawner", daemon=True).start()

    def _loop(self) -> None:
        while True:
            fn, done = self._jobs.get()
            try:
                done.put((True, fn()))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                done.put((False, exc))

    def call(self, fn):
        done: queue.Queue = queue.Queue(maxsize=1)
        self._jobs.put((fn, done))
        ok, value = done.get()
        if not ok:
            raise value
        return value


_SPAWNER: _Spawner | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawn(fn):
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None:
            _SPAWNER = _Spawner()
    return _SPAWNER.call(fn)


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name, 0)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _bwrap_args(binary: str, files: list[tuple[int, str]], slot_groups: dict[str, list[Path]]) -> list[str]:
    """The zygote's bubblewrap: `files` (fd, path inside) copied in, each role's cgroups bound at /cg/<role>/<i>."""
    args = [binary, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent",
            "--new-session", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
            *_system_mounts(()), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/work",
            "--dir", "/zygote"]
    for fd, inside in files:
        args += ["--file", str(fd), inside]
    for role, groups in slot_groups.items():
        for i, group in enumerate(groups):
            args += ["--bind", str(group), f"/cg/{role}/{i}"]
    return args + ["--chdir", "/zygote"]


def _read_tail(fd: int, cap: int = _TAIL) -> str:
    size = os.fstat(fd).st_size
    return os.pread(fd, cap, max(0, size - cap)).decode("utf-8", "replace")


class _Worker:
    """One zygote process and the two slots (candidate, judge) it runs pairs in."""

    def __init__(self, program: WarmProgram, binary: str, cand: Slot, judge: Slot) -> None:
        self.program = program
        self.cand, self.judge = cand, judge
        self.procs = {role: [f"/cg/{role}/{i}/cgroup.procs" for i in range(len(slot.cgroup.groups()))]
                      for role, slot in (("candidate", cand), ("judge", judge))}
        sources = [(_HERE / name).read_bytes() for name in _SERVER_FILES] + [program.module]
        names = [*_SERVER_FILES, f"{program.module_name}.py"]
        fds = [_memfd(f"zygote-{name}", data) for name, data in zip(names, sources)]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self._last_words = ""
        try:
            args = _bwrap_args(binary, [(fd, f"/zygote/{name}") for fd, name in zip(fds, names)],
                               {"candidate": cand.cgroup.groups(), "judge": judge.cgroup.groups()})
            args += ["--", program.python, "-I", "-S", "/zygote/zygote_server.py"]
            self.proc = _spawn(lambda: subprocess.Popen(args, stdin=theirs.fileno(), stdout=subprocess.DEVNULL,
                                                        stderr=subprocess.PIPE, pass_fds=fds,
                                                        start_new_session=True))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            for fd in fds:
                os.close(fd)
        bpf = _memfd("zygote-seccomp", seccomp.filter_bpf())
        try:
            send_frame(self.sock, {"module": program.module_name, "preload": list(program.preload)}, [bpf])
            ready = self._reply(_START_TIMEOUT)
        except (OSError, ProtocolError, ValueError):
            ready = None
        finally:
            os.close(bpf)
        if not ready or not ready.get("ready"):
            self.close()
            raise BwrapUnavailable(f"the warm worker did not start: {self._last_words or 'no answer'}")

    def _reply(self, timeout: float) -> dict | None:
        if not select.select([self.sock], [], [], timeout)[0]:
            return None
        got = recv_frame(self.sock)
        if got is None:
            return None
        message, fds = got
        for fd in fds:
            os.close(fd)
        if fds:
            raise ProtocolError("the zygote sent descriptors")
        return message

    def _slot_spec(self, role: str, slot: Slot, limits: Limits) -> dict:
        cg = slot.cgroup
        # limits.pids counts the program's processes; the intermediate that reaps its pid 1 comes on top.
        cg.prepare(memory_bytes=limits.memory_mb << 20, pids=limits.pids + 1)
        return {
            "uid": slot.uid,
            "procs": self.procs[role],
            "rlimits": rl.rlimits(limits, memory_by_cgroup=cg.memory is not None, pids_by_cgroup=cg.pids is not None),
            "cpu": rl.cpu_rlimit(limits)[0],
            "tmpfs_bytes": max(limits.file_size_mb << 20, 1 << 20) * 4,
        }

    def run(self, cand: Peer, judge: Peer) -> tuple[dict, dict[str, int]]:
        """Send one pair; the zygote's reply and the output memfds (the caller closes them)."""
        outs = {name: _memfd(name) for name in ("cand_out", "cand_err", "judge_out", "judge_err", "report")}
        try:
            cand_files = [_memfd("file", data) for data in cand.files.values()]
            try:
                send_frame(self.sock, {"role": "candidate", "argv": cand.argv, "files": list(cand.files),
                                       "slot": self._slot_spec("candidate", self.cand, cand.limits)},
                           [outs["cand_out"], outs["cand_err"], *cand_files])
            finally:
                for fd in cand_files:
                    os.close(fd)
            judge_files = [_memfd("file", data) for data in judge.files.values()]
            try:
                send_frame(self.sock, {"role": "judge", "argv": judge.argv, "files": list(judge.files),
                                       "slot": self._slot_spec("judge", self.judge, judge.limits),
                                       "wall_s": judge.limits.wall_s},
                           [outs["judge_out"], outs["judge_err"], outs["report"], *judge_files])
            finally:
                for fd in judge_files:
                    os.close(fd)
            reply = self._reply(judge.limits.wall_s + 10.0)
            if reply is None:
                raise TimeoutError("the warm worker stopped answering")
        except BaseException:
            for fd in outs.values():
                os.close(fd)
            raise
        return reply, outs

    def close(self) -> None:
        """Stop the zygote (its slots stay with the pool)."""
        proc = self.proc
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        try:
            self._last_words = proc.stderr.read()[-500:].decode(errors="replace").strip()
        except (OSError, ValueError):
            pass
        proc.stderr.close()
        self.sock.close()
        for slot in (self.cand, self.judge):
            slot.cgroup.kill_all()

    def stderr_tail(self) -> str:
        """The last words of a stopped zygote (after `close`)."""
        return self._last_words


class WarmPool:
    """A pool of zygotes; `run_pair` runs one candidate + judge pair in one of them."""

    kind: BoxKind = "bwrap-warm"

    def __init__(self, workers: int = 2) -> None:
        binary = shutil.which("bwrap")
        if binary is None:
            raise BwrapUnavailable("bubblewrap not found: install it (`apt-get install bubblewrap`)")
        self.binary = binary
        self.size = workers
        self.slots = SlotPool(2 * workers)
        seccomp.filter_bpf()  # fail at start-up, not on the first check
        self._probe()
        self._cv = threading.Condition()
        self._idle: dict[str, list[_Worker]] = {}
        self._count = 0
        atexit.register(self.close)  # before the slots' own exit handler, which runs after this one

    def _probe(self) -> None:
        """Start the zygote's bubblewrap once with `true` in it: where it cannot run, fail now."""
        proc = _spawn(lambda: subprocess.run([*_bwrap_args(self.binary, [], {}), "--", "true"],
                                             check=False, capture_output=True, timeout=_START_TIMEOUT, cwd="/"))
        if proc.returncode != 0:
            detail = proc.stderr.decode(errors="replace").strip()[-300:]
            raise BwrapUnavailable(f"the warm pool's bubblewrap does not start here: {detail or proc.returncode}")

    def layers(self) -> list[str]:
        """Isolation layers every candidate in this pool runs under."""
        return LAYERS + self.slots.any_slot().cgroup.layers

    def _acquire(self, program: WarmProgram) -> _Worker:
        key = program.key()
        with self._cv:
            while True:
                idle = self._idle.setdefault(key, [])
                if idle:
                    return idle.pop()
                victim = None
                if self._count >= self.size:
                    # another program's idle zygote makes room for one of this program
                    victim = next((ws.pop() for ws in self._idle.values() if ws), None)
                    if victim is None:
                        self._cv.wait()
                        continue
                    self._count -= 1
                self._count += 1
                break
        if victim is not None:
            self._retire(victim, counted=False)
        try:
            cand = self.slots.acquire()
            try:
                judge = self.slots.acquire()
            except BaseException:
                self.slots.release(cand)
                raise
            try:
                return _Worker(program, self.binary, cand, judge)
            except BaseException:
                self.slots.release(cand)
                self.slots.release(judge)
                raise
        except BaseException:
            with self._cv:
                self._count -= 1
                self._cv.notify_all()
            raise

    def _retire(self, worker: _Worker, *, counted: bool = True) -> None:
        worker.close()
        self.slots.release(worker.cand)
        self.slots.release(worker.judge)
        if counted:
            with self._cv:
                self._count -= 1
                self._cv.notify_all()

    def _release(self, worker: _Worker) -> None:
        for slot in (worker.cand, worker.judge):
            slot.cgroup.kill_all()
        with self._cv:
            self._idle.setdefault(worker.program.key(), []).append(worker)
            self._cv.notify_all()

    def run_pair(self, program: WarmProgram, candidate: Peer, judge: Peer) -> PairRun:
        """Run `judge` and `candidate` as a pair in a zygote of `program`; never raises for what they do."""
        try:
            worker = self._acquire(program)
        except (BwrapUnavailable, SandboxBusy, OSError) as exc:
            broken = RunResult(sandbox=self.kind, isolation=self.layers(), error=f"warm worker failed: {exc}")
            return PairRun(broken, broken, "")
        try:
            reply, outs = worker.run(candidate, judge)
        except (OSError, ValueError, TimeoutError, ProtocolError) as exc:
            self._retire(worker)
            detail = worker.stderr_tail()
            broken = RunResult(sandbox=self.kind, isolation=self.layers(),
                               error=f"warm worker failed: {exc}" + (f" ({detail})" if detail else ""))
            return PairRun(broken, broken, "")
        try:
            report = os.pread(outs["report"], _REPORT_CAP, 0).decode("utf-8", "replace")
            return PairRun(self._result(reply, "judge", worker.judge, judge.limits, outs["judge_out"], outs["judge_err"]),
                           self._result(reply, "candidate", worker.cand, candidate.limits, outs["cand_out"],
                                        outs["cand_err"]),
                           report)
        finally:
            for fd in outs.values():
                os.close(fd)
            self._release(worker)

    def _result(self, reply: dict, role: str, slot: Slot, limits: Limits, out_fd: int, err_fd: int) -> RunResult:
        status = reply[role]
        cg = slot.cgroup
        cpu = cg.cpu_s() or 0.0
        stderr = _read_tail(err_fd)
        out_size = os.fstat(out_fd).st_size
        stdout = os.pread(out_fd, limits.output_bytes, 0).decode("utf-8", "replace") if role == "judge" else ""
        hit = rl.limit_hit(limits, wall_killed=reply["wall_killed"], term_signal=status["signal"], cpu_s=cpu,
                           memory_hit=cg.memory_hit(), pids_hit=cg.pids_hit(), stdout_size=out_size,
                           stderr_tail=stderr[-2000:])
        queue = reply.get("runqueue") if role == "candidate" else None
        return RunResult(exit_code=status["exit_code"], signal=status["signal"], stdout=stdout, stderr=stderr,
                         stdout_truncated=out_size > limits.output_bytes, cpu_s=cpu, wall_s=reply["wall_s"],
                         peak_memory_kb=cg.peak_kb(), limit_hit=hit, sandbox=self.kind, isolation=self.layers(),
                         run_delay_s=queue[0] if queue else None, deprioritized=bool(queue and queue[1]))

    def close(self) -> None:
        """Stop every idle zygote."""
        with self._cv:
            workers = [w for ws in self._idle.values() for w in ws]
            self._idle.clear()
        for worker in workers:
            self._retire(worker)
