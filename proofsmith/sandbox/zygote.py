"""The warm pool for Python checks: pre-forked zygotes, one bubblewrap each.

One `python3` per pool worker starts once inside a bubblewrap with the harness
imported; each check then costs two forks that isolate themselves (see
`zygote_server.py`) instead of two fresh bubblewraps and interpreters.
Measured on these machines: about 8 ms per isolated fork against about 40 ms
per bubblewrap (notes/sandbox.md section 2.2).

The pool offers `run_pair` (judge + candidate, the Python checker's unit of
work) and nothing else; other checkers use the per-process sandboxes.
"""

from __future__ import annotations

import json
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

from proofsmith.sandbox import limits as rl
from proofsmith.sandbox import seccomp
from proofsmith.sandbox.bwrap import BwrapUnavailable, _system_mounts
from proofsmith.sandbox.slots import Slot, SlotPool
from proofsmith.sandbox.supervise import RunResult
from proofsmith.schema import Limits

_HERE = Path(__file__).parent
_SERVER = _HERE / "zygote_server.py"
_HARNESS = _HERE.parent / "provers" / "python_harness.py"
_START_TIMEOUT = 20.0
LAYERS = ["uid", "pidns", "netns", "ipcns", "utsns", "mountns", "no-caps", "no-new-privs", "ro-system",
          "tmpfs-work", "seccomp", "rlimits"]


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


class _Worker:
    """One zygote process and the two slots (candidate, judge) it runs checks in."""

    def __init__(self, python: str) -> None:
        binary = shutil.which("bwrap")
        if binary is None:
            raise BwrapUnavailable("bubblewrap not found: install it (`apt-get install bubblewrap`)")
        self.slots = SlotPool(2)
        self.cand: Slot = self.slots.acquire()
        self.judge: Slot = self.slots.acquire()
        self._code_dir = tempfile.mkdtemp(prefix="proofsmith-zygote-")
        os.chmod(self._code_dir, 0o755)
        for src in (_SERVER, _HARNESS):
            shutil.copy(src, self._code_dir)
        args = [binary, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent",
                "--new-session", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
                *_system_mounts(()), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/work",
                "--ro-bind", self._code_dir, "/zygote"]
        self.procs: dict[str, list[str]] = {}
        for name, slot in (("candidate", self.cand), ("judge", self.judge)):
            paths = []
            for i, group in enumerate(slot.cgroup.groups()):
                inside = f"/cg/{name}/{i}"
                args += ["--bind", str(group), inside]
                paths.append(f"{inside}/cgroup.procs")
            self.procs[name] = paths
        args += ["--chdir", "/zygote", "--", python, "-I", "-S", "/zygote/zygote_server.py"]
        self.proc = _spawn(lambda: subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE, start_new_session=True))
        bpf = seccomp.filter_bpf()
        self.proc.stdin.write(struct.pack("!I", len(bpf)) + bpf)
        self.proc.stdin.flush()
        ready = self._readline(_START_TIMEOUT)
        if not ready or not json.loads(ready).get("ready"):
            err = self.proc.stderr.read1(4000).decode(errors="replace") if self.proc.poll() is not None else ""
            self.close()
            raise BwrapUnavailable(f"the warm Python worker did not start: {err.strip() or 'no answer'}")

    def _readline(self, timeout: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        if not select.select([fd], [], [], timeout)[0]:
            return None
        line = self.proc.stdout.readline()
        return line or None

    def slot_spec(self, name: str, slot: Slot, limits: Limits) -> dict:
        cg = slot.cgroup
        # limits.pids counts the program's processes; the intermediate that reaps its pid 1 comes on top.
        cg.prepare(memory_bytes=limits.memory_mb << 20, pids=limits.pids + 1)
        return {
            "uid": slot.uid,
            "procs": self.procs[name],
            "rlimits": rl.rlimits(limits, memory_by_cgroup=cg.memory is not None, pids_by_cgroup=cg.pids is not None),
            "cpu": rl.cpu_rlimit(limits)[0],
            "tmpfs_bytes": max(limits.file_size_mb << 20, 1 << 20) * 4,
        }

    def stderr_tail(self) -> str:
        """The last words of a stopped zygote (after `close`)."""
        return getattr(self, "_last_words", "")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        try:
            self._last_words = self.proc.stderr.read()[-500:].decode(errors="replace").strip()
        except (OSError, ValueError):
            self._last_words = ""
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass  # unflushed bytes to a dead zygote
        self.slots.close()
        shutil.rmtree(self._code_dir, ignore_errors=True)


class WarmPool:
    """A pool of zygotes; `run_pair` runs one judge + candidate pair in one of them."""

    kind = "bwrap-warm"

    def __init__(self, workers: int = 2, python: str | None = None) -> None:
        from proofsmith.provers.python import CANDIDATE_PYTHON

        self.python = python or CANDIDATE_PYTHON
        self.size = workers
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = 0
        self._layers: list[str] | None = None
        self._idle.put(self._new_worker())  # fail at start-up, not on the first check

    def _new_worker(self) -> _Worker:
        worker = _Worker(self.python)
        self._started += 1
        if self._layers is None:
            self._layers = LAYERS + worker.cand.cgroup.layers
        return worker

    def layers(self) -> list[str]:
        """Isolation layers every candidate in this pool runs under."""
        return list(self._layers or LAYERS)

    def _acquire(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._started < self.size:
                return self._new_worker()
        return self._idle.get()

    def run_pair(self, program: str, spec: str, entry_point: str, limits: Limits,
                 judge_limits: Limits) -> tuple[RunResult, RunResult, str]:
        """Run the judge and candidate: (judge, candidate) results like two sandbox runs, and the judge's report."""
        worker = self._acquire()
        replaced = False
        try:
            program_b, spec_b = program.encode(), spec.encode()
            header = {
                "program": len(program_b),
                "spec": len(spec_b),
                "entry_point": entry_point,
                "wall_s": limits.wall_s,
                "candidate": worker.slot_spec("candidate", worker.cand, limits),
                "judge": worker.slot_spec("judge", worker.judge, judge_limits),
            }
            worker.proc.stdin.write(json.dumps(header).encode() + b"\n" + program_b + spec_b)
            worker.proc.stdin.flush()
            line = worker._readline(limits.wall_s + 10.0)
            if line is None:
                raise TimeoutError("the warm worker stopped answering")
            reply = json.loads(line)
        except (OSError, ValueError, TimeoutError) as exc:
            replaced = True
            worker.close()
            detail = worker.stderr_tail()
            broken = RunResult(sandbox=self.kind, isolation=self.layers(),
                               error=f"warm worker failed: {exc}" + (f" ({detail})" if detail else ""))
            return broken, broken, ""
        finally:
            if not replaced:
                for slot in (worker.cand, worker.judge):
                    slot.cgroup.kill_all()
                self._idle.put(worker)
            else:
                with self._lock:
                    self._started -= 1
        return (self._result(reply, "judge", worker.judge, judge_limits),
                self._result(reply, "candidate", worker.cand, limits), reply.get("judge_report", ""))

    def _result(self, reply: dict, name: str, slot: Slot, limits: Limits) -> RunResult:
        status = reply[name]
        cg = slot.cgroup
        cpu = cg.cpu_s() or 0.0
        stderr = reply[f"{name}_stderr"]
        stdout = reply.get("judge_stdout", "") if name == "judge" else ""
        hit = rl.limit_hit(limits, wall_killed=reply["wall_killed"], term_signal=status["signal"], cpu_s=cpu,
                           memory_hit=cg.memory_hit(), pids_hit=cg.pids_hit(), stdout_size=len(stdout),
                           stderr_tail=stderr[-2000:])
        return RunResult(exit_code=status["exit_code"], signal=status["signal"], stdout=stdout, stderr=stderr,
                         cpu_s=cpu, wall_s=reply["wall_s"], peak_memory_kb=cg.peak_kb(), limit_hit=hit,
                         sandbox=self.kind, isolation=self.layers())

    def close(self) -> None:
        """Stop every zygote."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
