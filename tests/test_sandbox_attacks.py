"""The attack matrix of notes/sandbox.md section 1, run for real against the default bwrap sandbox.

Every test runs hostile Python inside `sandbox.run`, checks that the payload
really made its attempt (it prints a marker first, then what happened), and
checks from the host that the attempt did nothing. The last tests do the same
for the `process` fallback, for the limits it promises (cpu, memory, wall).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid

import pytest

from proofsmith.schema import Limits

PYTHON = "/usr/bin/python3"
_PR_SET_CHILD_SUBREAPER = 36
PYTHON_SUPERVISOR = sys.executable


def run_py(box, code: str, limits: Limits | None = None, **kw):
    """Run Python `code` in `box` with small default limits."""
    return box.run([PYTHON, "-c", textwrap.dedent(code)], {}, limits or Limits(wall_s=10, cpu_s=5, memory_mb=256), **kw)


def lines(result) -> list[str]:
    return result.stdout.splitlines()


# --------------------------------------------------------------------------- baseline


@pytest.mark.timeout(60)
def test_sandbox_runs_a_program_and_reports_its_layers(bwrap):
    result = run_py(bwrap, "import os; print('HELLO', os.getuid(), os.getcwd())")
    assert result.ok, result
    word, uid, cwd = result.stdout.split()
    assert word == "HELLO" and int(uid) != 0 and cwd == "/work"
    for layer in ("uid", "userns", "pidns", "netns", "mountns", "no-caps", "seccomp", "rlimits"):
        assert layer in result.isolation


# --------------------------------------------------------------------------- network


@pytest.mark.timeout(60)
def test_network_tcp_to_host_listener_fails(bwrap):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = run_py(bwrap, f"""
            import socket
            print("ATTEMPT tcp 127.0.0.1:{port}", flush=True)
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(3)
                s.connect(("127.0.0.1", {port}))
                print("CONNECTED", flush=True)
            except OSError as exc:
                print("BLOCKED", exc.errno, flush=True)
            try:
                s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s6.settimeout(3)
                s6.connect(("::1", {port}))
                print("CONNECTED6", flush=True)
            except OSError as exc:
                print("BLOCKED6", exc.errno, flush=True)
        """)
        assert "ATTEMPT tcp" in result.stdout, result
        assert "BLOCKED" in result.stdout and "BLOCKED6" in result.stdout, result
        assert "CONNECTED" not in result.stdout
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever reached the host's listener
    finally:
        listener.close()


@pytest.mark.timeout(60)
def test_network_host_abstract_unix_socket_unreachable(bwrap):
    name = f"proofsmith-test-{uuid.uuid4().hex}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + name)
    listener.listen(8)
    listener.setblocking(False)
    # the host itself can reach it: the name is right
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.connect("\0" + name)
    listener.accept()[0].close()
    probe.close()
    try:
        result = run_py(bwrap, f"""
            import socket
            print("ATTEMPT abstract", flush=True)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # AF_UNIX is allowed by seccomp
            print("SOCKET-OK", flush=True)
            try:
                s.connect("\\0{name}")
                print("CONNECTED", flush=True)
            except OSError as exc:
                print("BLOCKED", exc.errno, flush=True)
        """)
        assert "ATTEMPT abstract" in result.stdout and "SOCKET-OK" in result.stdout, result
        assert "BLOCKED" in result.stdout and "CONNECTED" not in result.stdout, result
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


# --------------------------------------------------------------------------- filesystem


@pytest.mark.timeout(60)
def test_writing_to_world_writable_host_dirs_does_not_reach_the_host(bwrap, tmp_path):
    targets = []
    for base in ("/tmp", "/var/tmp", "/dev/shm", str(tmp_path)):
        if not os.path.isdir(base):
            continue
        d = tempfile.mkdtemp(prefix="ps-attack-", dir=base)
        os.chmod(d, 0o777)
        targets.append(d)
    name = f"pwned-{uuid.uuid4().hex}"
    paths = [os.path.join(d, name) for d in targets] + [f"/usr/{name}", f"/{name}", f"/work/../{name}"]
    result = run_py(bwrap, f"""
        import os
        for path in {paths!r}:
            print("ATTEMPT", path, flush=True)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as fh:
                    fh.write("owned")
                print("WROTE", path, flush=True)  # inside the sandbox's own tmpfs at most
            except OSError as exc:
                print("FAILED", path, exc.errno, flush=True)
    """)
    assert result.ok, result
    for path in paths:
        assert f"ATTEMPT {path}" in result.stdout
        assert not os.path.exists(path), f"the sandbox wrote {path} on the host"
    assert f"FAILED /usr/{name} {errno.EROFS}" in result.stdout or f"FAILED /usr/{name} {errno.EACCES}" in result.stdout
    # and nothing the run wrote survives into the next run
    again = run_py(bwrap, f"""
        import os
        print("SEEN" if any(os.path.exists(p) for p in {paths!r}) else "CLEAN")
    """)
    assert again.stdout.strip() == "CLEAN", again
    for d in targets:
        os.rmdir(d)


@pytest.mark.timeout(60)
def test_reading_host_secrets_fails(bwrap, monkeypatch, tmp_path):
    token = f"SECRET-{uuid.uuid4().hex}"
    monkeypatch.setenv("PROOFSMITH_TEST_SECRET", token)
    secret_files = []
    for base in ("/root", "/var/tmp", str(tmp_path)):
        if not os.path.isdir(base):
            continue
        d = tempfile.mkdtemp(prefix="ps-secret-", dir=base)
        os.chmod(d, 0o755)
        path = os.path.join(d, "secret.txt")
        with open(path, "w") as fh:
            fh.write(token)
        os.chmod(path, 0o644)  # world-readable on the host
        secret_files.append(path)
    assert os.path.exists("/etc/shadow")
    try:
        result = run_py(bwrap, f"""
            import os
            found = []
            for path in ["/etc/shadow", "/etc/gshadow", "/root/.bash_history"] + {secret_files!r}:
                print("ATTEMPT", path, flush=True)
                try:
                    with open(path, "rb") as fh:
                        data = fh.read()
                    print("READ", path, len(data), flush=True)
                    found.append(data.decode(errors="replace"))
                except OSError as exc:
                    print("DENIED", path, exc.errno, flush=True)
            print("ATTEMPT environ", flush=True)
            found.append(repr(dict(os.environ)))
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    for what in ("environ", "cmdline"):
                        try:
                            with open(f"/proc/{{pid}}/{{what}}", "rb") as fh:
                                found.append(fh.read().decode(errors="replace"))
                        except OSError:
                            pass
            print("ATTEMPT walk", flush=True)
            for root, dirs, files in os.walk("/"):
                if root in ("/proc", "/sys", "/usr", "/dev"):
                    dirs[:] = []
                    continue
                for f in files:
                    try:
                        with open(os.path.join(root, f), "rb") as fh:
                            found.append(fh.read(1 << 16).decode(errors="replace"))
                    except OSError:
                        pass
            print("LOOT", "".join(found))
            print("DONE", flush=True)
        """)
    finally:
        for path in secret_files:
            os.unlink(path)
            os.rmdir(os.path.dirname(path))
    out = result.stdout
    assert "ATTEMPT environ" in out and "ATTEMPT walk" in out and "DONE" in out, result
    assert token not in out and token not in result.stderr
    assert "DENIED /etc/shadow" in out
    for path in secret_files:
        assert f"DENIED {path}" in out
    with open("/etc/shadow") as fh:
        root_line = fh.readline().strip()
    assert root_line and root_line not in out


# --------------------------------------------------------------------------- processes


@pytest.mark.timeout(60)
def test_fork_bomb_is_bounded_and_the_host_is_fine(bwrap, host):
    marker = f"ps-bomb-{uuid.uuid4().hex}"
    limits = Limits(wall_s=5, cpu_s=5, memory_mb=256, pids=24)
    running = bwrap.spawn([PYTHON, "-c", textwrap.dedent("""
        import os, sys
        print("UID", os.getuid(), flush=True)
        reported = False
        while True:
            try:
                os.fork()
            except OSError as exc:
                if not reported:
                    reported = True
                    print("FORKFAIL", exc.errno, flush=True)
    """), marker], {}, limits)
    time.sleep(2.0)
    bomb = host.processes_with(marker.encode())  # the payloads and bwrap's outer process
    alive_mid_run = len(bomb)
    result = running.wait()
    assert "UID" in result.stdout, result
    assert f"FORKFAIL {errno.EAGAIN}" in result.stdout, result
    # the whole tree, bwrap included, is held to the pids limit (one of slack: /proc is not read atomically)
    assert 8 <= alive_mid_run <= limits.pids + 1, f"{alive_mid_run} bomb processes alive with pids={limits.pids}"
    assert result.limit_hit in ("pids", "wall")
    assert result.wall_s < limits.wall_s + 3
    uid = int(result.stdout.split("UID", 1)[1].split()[0])
    assert host.wait_until(lambda: not host.processes_of_uid(uid), 2.0), "bomb processes survived the run"
    assert not host.processes_with(marker.encode())
    assert subprocess.run(["/bin/true"]).returncode == 0  # the host still forks
    assert run_py(bwrap, "print('after')").stdout.strip() == "after"


@pytest.mark.timeout(60)
def test_memory_bomb_is_killed_at_the_memory_limit(bwrap):
    result = run_py(bwrap, """
        chunks = []
        for i in range(48):  # 48 x 64 MiB = 3 GiB, every page touched
            chunks.append(bytes([i % 250 + 1]) * (64 << 20))
            print("CHUNK", i, flush=True)
        print("SURVIVED", flush=True)
    """, Limits(wall_s=30, cpu_s=20, memory_mb=256))
    assert "CHUNK 0" in result.stdout, result
    assert "SURVIVED" not in result.stdout
    assert "CHUNK 8" not in result.stdout  # 9 x 64 MiB > 256 MiB
    assert result.signal == signal.SIGKILL or "MemoryError" in result.stderr, result
    assert result.limit_hit == "memory", result
    if any(layer.endswith("-memory") for layer in result.isolation):
        assert result.peak_memory_kb is not None and result.peak_memory_kb <= 256 * 1024 * 1.05


@pytest.mark.timeout(60)
def test_infinite_loop_hits_the_cpu_limit(bwrap):
    result = run_py(bwrap, """
        print("LOOPING", flush=True)
        while True:
            pass
    """, Limits(wall_s=20, cpu_s=1, memory_mb=256))
    assert "LOOPING" in result.stdout, result
    assert result.limit_hit == "cpu", result
    assert result.signal in (signal.SIGXCPU, signal.SIGKILL)
    assert 0.9 <= result.cpu_s < 4 and result.wall_s < 8


@pytest.mark.timeout(60)
def test_infinite_loop_ignoring_sigxcpu_is_killed_at_the_hard_cpu_limit(bwrap):
    result = run_py(bwrap, """
        import signal
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        print("IGNORING", flush=True)
        while True:
            pass
    """, Limits(wall_s=20, cpu_s=1, memory_mb=256))
    assert "IGNORING" in result.stdout, result
    assert result.limit_hit == "cpu", result
    assert result.signal == signal.SIGKILL
    assert result.wall_s < 8


@pytest.mark.timeout(60)
def test_sleeping_past_the_wall_limit_is_killed_on_time(bwrap):
    result = run_py(bwrap, """
        import time
        print("SLEEPING", flush=True)
        time.sleep(60)
        print("WOKE", flush=True)
    """, Limits(wall_s=1.5, cpu_s=10, memory_mb=256))
    assert "SLEEPING" in result.stdout and "WOKE" not in result.stdout, result
    assert result.limit_hit == "wall"
    assert 1.5 <= result.wall_s < 2.5, result.wall_s


@pytest.mark.timeout(60)
def test_setsid_daemon_does_not_outlive_the_run(bwrap, host):
    marker = f"ps-daemon-{uuid.uuid4().hex}"
    head, tail = marker[:12], marker[12:]  # the payload's own argv must not contain the marker whole
    result = run_py(bwrap, f"""
        import os, time
        marker = "{head}" + "{tail}"
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("{PYTHON}", ["{PYTHON}", "-c", "import time; time.sleep(30)", marker])
            os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.3)
        alive = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open(f"/proc/{{p}}/cmdline", "rb") as fh:
                        if marker.encode() in fh.read():
                            alive.append(p)
                except OSError:
                    pass
        print("DAEMON", len(alive), flush=True)
    """)
    assert result.ok, result
    assert "DAEMON 1" in result.stdout, result  # the daemon was running when the payload left
    assert result.wall_s < 10  # the run did not wait for the daemon either
    assert not host.processes_with(marker.encode()), "the setsid daemon outlived the run"


@pytest.mark.timeout(60)
def test_sandbox_dies_with_a_killed_supervisor(bwrap, host):
    """SIGKILL the supervising process mid-run: nothing it started may live on."""
    marker = f"ps-orphan-{uuid.uuid4().hex}"
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    supervisor = subprocess.Popen(
        [PYTHON_SUPERVISOR, "-c", textwrap.dedent(f"""
            from proofsmith.sandbox import get_sandbox
            from proofsmith.schema import Limits
            get_sandbox("bwrap").run(["{PYTHON}", "-c", "import time; time.sleep(30)", "{marker}"], {{}},
                                     Limits(wall_s=30, cpu_s=5, memory_mb=256))
        """)],
        cwd=repo, env={**os.environ, "PYTHONPATH": repo},
    )
    try:
        assert host.wait_until(lambda: host.processes_with(marker.encode()), 20.0), "the sandbox never started"
        supervisor.kill()
        supervisor.wait()
        assert host.wait_until(lambda: not host.processes_with(marker.encode()), 3.0), \
            "sandboxed processes outlived their supervisor"
    finally:
        supervisor.kill()
        supervisor.wait()


def _zombie_children() -> list[tuple[int, int]]:
    """(pid, uid) of zombie children of this process (orphans land here: the test process is a subreaper)."""
    me, found = os.getpid(), []
    for tid in os.listdir(f"/proc/{me}/task"):
        try:
            children = open(f"/proc/{me}/task/{tid}/children").read().split()
        except OSError:
            continue
        for child in children:
            try:
                fields = dict(line.split(":", 1) for line in open(f"/proc/{child}/status").read().splitlines())
            except (OSError, ValueError):
                continue
            if fields.get("State", "").strip().startswith("Z"):
                found.append((int(child), int(fields["Uid"].split()[0])))
    return found


@pytest.mark.timeout(60)
def test_a_finished_run_leaves_no_zombie_behind(bwrap):
    """bwrap's own init used to be left unreaped (a zombie holding a pids charge) after every run.

    As a child subreaper this process inherits any such orphan, so a leak shows up
    here at once instead of vanishing into the host's pid 1.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper")
    result = run_py(bwrap, "import os; print(os.getuid())")
    uid = int(result.stdout)
    time.sleep(0.3)
    left = [pid for pid, owner in _zombie_children() if owner == uid]
    assert not left, f"zombies of the run's uid {uid}: {left}"


@pytest.mark.timeout(60)
def test_killing_the_parent_and_host_processes_fails(bwrap):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        result = run_py(bwrap, f"""
            import os
            print("PPID", os.getppid(), flush=True)
            for target in (os.getppid(), {victim.pid}, {os.getpid()}, 1):
                print("ATTEMPT kill", target, flush=True)
                try:
                    os.kill(target, 9)
                    print("SENT", target, flush=True)
                except OSError as exc:
                    print("DENIED", target, exc.errno, flush=True)
            print("ATTEMPT kill -1", flush=True)
            try:
                os.kill(-1, 9)
            except OSError as exc:
                print("DENIED -1", exc.errno, flush=True)
            print("SURVIVED", flush=True)
        """)
        assert f"ATTEMPT kill {victim.pid}" in result.stdout and "ATTEMPT kill -1" in result.stdout, result
        assert f"DENIED {victim.pid} {errno.ESRCH}" in result.stdout  # host pids are not even visible
        time.sleep(0.2)
        assert victim.poll() is None, "the sandbox killed a host process"
        assert run_py(bwrap, "print('alive')").stdout.strip() == "alive"  # supervisor and slots fine
    finally:
        victim.kill()
        victim.wait()


@pytest.mark.timeout(60)
def test_one_gigabyte_of_output_is_capped_and_ends_quickly(bwrap):
    limits = Limits(wall_s=30, cpu_s=20, memory_mb=256, output_bytes=1 << 20, file_size_mb=8)
    result = run_py(bwrap, """
        import sys
        print("START", flush=True)
        chunk = b"x" * (1 << 20)
        for _ in range(1024):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        print("FINISHED", flush=True)
    """, limits)
    assert result.stdout.startswith("START"), result.stdout[:100]
    assert "FINISHED" not in result.stdout
    assert len(result.stdout.encode()) <= limits.output_bytes
    assert result.stdout_truncated
    assert result.limit_hit in ("output", "file_size"), result
    assert result.wall_s < 10


@pytest.mark.timeout(60)
def test_stderr_flood_is_capped_too(bwrap):
    limits = Limits(wall_s=30, cpu_s=20, memory_mb=256, output_bytes=1 << 16, file_size_mb=4)
    result = run_py(bwrap, """
        import os
        os.write(1, b"START\\n")
        chunk = b"e" * (1 << 20)
        for _ in range(1024):
            os.write(2, chunk)
    """, limits)
    assert result.stdout.startswith("START"), result
    assert len(result.stderr.encode()) <= limits.output_bytes
    assert result.stderr_truncated
    assert result.wall_s < 10


# --------------------------------------------------------------------------- escalation


_LIBC = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"

ESCALATIONS = {
    "setuid0": "os.setuid(0)",
    "setgid0": "os.setgid(0)",
    "setgroups0": "os.setgroups([0])",
    "mount_tmpfs": _LIBC + "if libc.mount(b'none', b'/tmp', b'tmpfs', 0, None) != 0:\n"
                           "    raise OSError(ctypes.get_errno(), 'mount')",
    "mount_proc": _LIBC + "if libc.mount(b'proc', b'/tmp', b'proc', 0, None) != 0:\n"
                          "    raise OSError(ctypes.get_errno(), 'mount')",
    "unshare_newuser": _LIBC + "if libc.unshare(0x10000000) != 0:\n    raise OSError(ctypes.get_errno(), 'unshare')",
    "unshare_newnet": _LIBC + "if libc.unshare(0x40000000) != 0:\n    raise OSError(ctypes.get_errno(), 'unshare')",
    "socket_af_inet": "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)",
    "socket_af_inet6": "import socket\nsocket.socket(socket.AF_INET6, socket.SOCK_DGRAM)",
    "socket_af_netlink": "import socket\nsocket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)",
    "socket_af_packet": "import socket\nsocket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)",
    "ptrace_attach_parent": _LIBC + "if libc.ptrace(16, os.getppid(), 0, 0) != 0:\n"
                                    "    raise OSError(ctypes.get_errno(), 'ptrace')",
    "ptrace_traceme": _LIBC + "if libc.ptrace(0, 0, 0, 0) != 0:\n    raise OSError(ctypes.get_errno(), 'ptrace')",
    "chroot": "os.chroot('/tmp')",
    "setns_parent_net": _LIBC + "fd = os.open('/proc/1/ns/net', os.O_RDONLY)\n"
                                "if libc.setns(fd, 0) != 0:\n    raise OSError(ctypes.get_errno(), 'setns')",
    "mknod_block_device": "import stat\nos.mknod('/tmp/disk', stat.S_IFBLK | 0o600, os.makedev(8, 0))",
    "sethostname": "import socket\nsocket.sethostname('pwned')",
}

#: what the kernel answers each attempt: EPERM from seccomp or missing privilege; EINVAL where uid/gid 0
#: does not even exist in the sandbox's user namespace
EXPECTED_ERRNO = {name: {errno.EPERM} for name in ESCALATIONS} | {
    "setuid0": {errno.EPERM, errno.EINVAL}, "setgid0": {errno.EPERM, errno.EINVAL},
}

# raw syscalls on the deny list (x86_64 numbers): each must fail with EPERM
DENIED_SYSCALLS_X86_64 = {
    "keyctl": 250, "add_key": 248, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "init_module": 175, "finit_module": 313, "kexec_load": 246,
    "reboot": 169, "swapon": 167, "acct": 163, "syslog": 103, "process_vm_readv": 310,
    "open_by_handle_at": 304, "pivot_root": 155, "setns": 308, "unshare": 272,
    # a candidate must not make itself wait for a CPU (the Python checker would read it as overload)
    "setpriority": 141, "sched_setparam": 142, "sched_setscheduler": 144, "sched_setaffinity": 203,
    "sched_setattr": 314, "sched_yield": 24,
}


def _escalate(box, name: str, attempt: str, limits: Limits | None = None):
    code = (
        "import os\n"
        f"print('ATTEMPT {name}', flush=True)\n"
        "try:\n" + textwrap.indent(attempt, "    ") + "\n"
        "    print('ESCALATED', flush=True)\n"
        "except (OSError, ValueError) as exc:\n"
        "    print('DENIED', getattr(exc, 'errno', None), exc, flush=True)\n"
    )
    return box.run([PYTHON, "-c", code], {}, limits or Limits(wall_s=10, cpu_s=5, memory_mb=256))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(ESCALATIONS))
def test_escalation_fails(bwrap, name):
    result = _escalate(bwrap, name, ESCALATIONS[name])
    assert f"ATTEMPT {name}" in result.stdout, result
    assert "ESCALATED" not in result.stdout, result
    denied = [line for line in lines(result) if line.startswith("DENIED ")]
    assert len(denied) == 1, result
    assert int(denied[0].split()[1]) in EXPECTED_ERRNO[name], denied[0]


@pytest.mark.timeout(60)
@pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers are x86_64's")
def test_denied_syscalls_fail_with_eperm(bwrap):
    calls = "\n".join(
        f"r = libc.syscall({nr}, 0, 0, 0, 0, 0); print('SYSCALL {name}', r, ctypes.get_errno(), flush=True)"
        for name, nr in DENIED_SYSCALLS_X86_64.items()
    )
    result = bwrap.run([PYTHON, "-c", _LIBC + calls], {}, Limits(wall_s=10, cpu_s=5, memory_mb=256))
    assert result.exit_code == 0, result
    seen = {line.split()[1]: (int(line.split()[2]), int(line.split()[3]))
            for line in lines(result) if line.startswith("SYSCALL ")}
    assert set(seen) == set(DENIED_SYSCALLS_X86_64), result
    for name, (ret, err) in seen.items():
        assert (ret, err) == (-1, errno.EPERM), f"{name}: returned {ret}, errno {err}"


@pytest.mark.timeout(60)
@pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers are x86_64's")
def test_clone_with_new_namespace_flags_fails(bwrap):
    # clone(CLONE_NEWUSER | SIGCHLD) through the raw syscall; clone3 answers ENOSYS so glibc uses clone
    result = bwrap.run([PYTHON, "-c", _LIBC + textwrap.dedent("""
        for flag in (0x10000000, 0x40000000, 0x20000000, 0x00020000):
            print("ATTEMPT clone", hex(flag), flush=True)
            r = libc.syscall(56, flag | 17, 0, 0, 0, 0)
            if r == 0:
                os._exit(0)
            print("CLONE", hex(flag), r, ctypes.get_errno(), flush=True)
        r = libc.syscall(435, 0, 0)
        print("CLONE3", r, ctypes.get_errno(), flush=True)
    """)], {}, Limits(wall_s=10, cpu_s=5, memory_mb=256))
    assert result.exit_code == 0, result
    for flag in ("0x10000000", "0x40000000", "0x20000000", "0x20000"):
        assert f"CLONE {flag} -1 {errno.EPERM}" in result.stdout, result
    assert f"CLONE3 -1 {errno.ENOSYS}" in result.stdout


@pytest.mark.timeout(60)
def test_raising_hard_rlimits_fails(bwrap):
    result = run_py(bwrap, """
        import resource
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CORE"):
            res = getattr(resource, name)
            soft, hard = resource.getrlimit(res)
            if hard == resource.RLIM_INFINITY:
                print("UNLIMITED", name, flush=True)
                continue
            print("ATTEMPT", name, hard, flush=True)
            try:
                resource.setrlimit(res, (hard + 1, hard + 1))
                print("RAISED", name, flush=True)
            except (ValueError, OSError) as exc:
                print("DENIED", name, exc, flush=True)
            try:
                resource.setrlimit(res, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                print("RAISED", name, flush=True)
            except (ValueError, OSError) as exc:
                print("DENIED", name, exc, flush=True)
    """, Limits(wall_s=10, cpu_s=5, memory_mb=256, open_files=32))
    assert result.ok, result
    assert "RAISED" not in result.stdout, result
    for name in ("RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE"):
        assert f"ATTEMPT {name}" in result.stdout and f"DENIED {name}" in result.stdout, result


@pytest.mark.timeout(60)
def test_raising_rlimit_as_fails_where_it_is_the_memory_limit(process_sandbox):
    from proofsmith.sandbox.process import ProcessSandbox

    box = ProcessSandbox(slots=1, use_cgroups=False, warn=False)  # no cgroup: memory is RLIMIT_AS
    result = box.run([PYTHON, "-c", textwrap.dedent("""
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        print("ATTEMPT", hard, flush=True)
        try:
            resource.setrlimit(resource.RLIMIT_AS, (hard * 2, hard * 2))
            print("RAISED", flush=True)
        except (ValueError, OSError) as exc:
            print("DENIED", exc, flush=True)
    """)], {}, Limits(wall_s=10, cpu_s=5, memory_mb=256))
    assert f"ATTEMPT {256 << 20}" in result.stdout, result
    assert "DENIED" in result.stdout and "RAISED" not in result.stdout


@pytest.mark.timeout(60)
def test_no_capabilities_and_no_raw_disks(bwrap):
    disks = sorted(os.listdir("/sys/block")) if os.path.isdir("/sys/block") else []
    result = run_py(bwrap, f"""
        import os
        status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            print(cap, int(status[cap].strip(), 16), flush=True)
        print("NoNewPrivs", status["NoNewPrivs"].strip(), flush=True)
        print("Seccomp", status["Seccomp"].strip(), flush=True)
        for disk in {disks!r}:
            print("ATTEMPT", disk, flush=True)
            try:
                os.open("/dev/" + disk, os.O_RDONLY)
                print("OPENED", disk, flush=True)
            except OSError as exc:
                print("DENIED", disk, exc.errno, flush=True)
    """)
    assert result.ok, result
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert f"{cap} 0" in result.stdout, result
    assert "NoNewPrivs 1" in result.stdout
    assert "Seccomp 2" in result.stdout  # filter mode
    assert "OPENED" not in result.stdout
    for disk in disks:
        assert f"ATTEMPT {disk}" in result.stdout


@pytest.mark.timeout(60)
def test_concurrent_sandboxes_cannot_see_each_other(bwrap):
    """Two runs at once: B looks for A's abstract socket, tmp file and process, and cannot signal A."""
    name = f"ps-peer-{uuid.uuid4().hex}"
    head, tail = name[:10], name[10:]
    a = bwrap.spawn([PYTHON, "-c", textwrap.dedent(f"""
        import os, socket, time
        name = "{head}" + "{tail}"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind("\\0" + name)
        s.listen(1)
        with open("/tmp/" + name, "w") as fh:
            fh.write("A")
        with open("/work/" + name, "w") as fh:
            fh.write("A")
        print("READY", time.time(), flush=True)
        time.sleep(3)
        print("A-ALIVE", flush=True)
    """), name], {}, Limits(wall_s=10, cpu_s=5, memory_mb=256))
    time.sleep(0.3)
    b = run_py(bwrap, f"""
        import os, socket, signal, time
        name = "{head}" + "{tail}"
        time.sleep(0.5)
        print("ATTEMPT peer", time.time(), flush=True)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect("\\0" + name)
            print("FOUND socket", flush=True)
        except OSError as exc:
            print("NO socket", exc.errno, flush=True)
        for path in ("/tmp/" + name, "/work/" + name):
            print("FOUND file" if os.path.exists(path) else "NO file", flush=True)
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if name.encode() in open(f"/proc/{{p}}/cmdline", "rb").read():
                        print("FOUND process", p, flush=True)
                except OSError:
                    pass
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        print("B-DONE", flush=True)
    """)
    ra = a.wait()
    assert "READY" in ra.stdout, ra
    assert "ATTEMPT peer" in b.stdout and "B-DONE" in b.stdout, b
    a_ready = float(ra.stdout.split("READY", 1)[1].split()[0])
    b_probe = float(b.stdout.split("ATTEMPT peer", 1)[1].split()[0])
    assert a_ready < b_probe, "B probed before A was set up: the test proved nothing"
    assert "FOUND" not in b.stdout, b
    assert "NO socket" in b.stdout and b.stdout.count("NO file") == 2
    assert "A-ALIVE" in ra.stdout and ra.ok, ra


# --------------------------------------------------------------------------- process backend


@pytest.mark.timeout(60)
def test_process_backend_warns_once(capfd):
    if os.geteuid() != 0:
        pytest.skip("the process sandbox needs root")
    from proofsmith.sandbox.process import WARNING, ProcessSandbox

    capfd.readouterr()
    ProcessSandbox(slots=1)
    err = capfd.readouterr().err
    assert err.splitlines() == [WARNING]
    assert "does not isolate" in WARNING


@pytest.mark.timeout(60)
def test_process_backend_enforces_cpu(process_sandbox):
    result = run_py(process_sandbox, """
        print("LOOPING", flush=True)
        while True:
            pass
    """, Limits(wall_s=20, cpu_s=1, memory_mb=256))
    assert "LOOPING" in result.stdout, result
    assert result.limit_hit == "cpu", result
    assert result.wall_s < 8


@pytest.mark.timeout(60)
def test_process_backend_enforces_memory(process_sandbox):
    result = run_py(process_sandbox, """
        chunks = []
        for i in range(48):
            chunks.append(bytes([i % 250 + 1]) * (64 << 20))
            print("CHUNK", i, flush=True)
        print("SURVIVED", flush=True)
    """, Limits(wall_s=30, cpu_s=20, memory_mb=256))
    assert "CHUNK 0" in result.stdout and "SURVIVED" not in result.stdout, result
    assert result.limit_hit == "memory", result


@pytest.mark.timeout(60)
def test_process_backend_enforces_wall(process_sandbox, host):
    marker = f"ps-wall-{uuid.uuid4().hex}"
    result = process_sandbox.run([PYTHON, "-c", "import time; print('SLEEPING', flush=True); time.sleep(60)", marker],
                                 {}, Limits(wall_s=1.5, cpu_s=10, memory_mb=256))
    assert "SLEEPING" in result.stdout, result
    assert result.limit_hit == "wall"
    assert 1.5 <= result.wall_s < 2.5
    assert host.wait_until(lambda: not host.processes_with(marker.encode()), 1.0)


@pytest.mark.timeout(60)
def test_process_backend_work_dir_is_private_to_the_slot_uid(process_sandbox):
    result = run_py(process_sandbox, """
        import os
        print(os.getuid(), os.getcwd(), oct(os.stat(".").st_mode & 0o777), flush=True)
    """)
    uid, cwd, mode = result.stdout.split()
    assert int(uid) != 0 and mode == "0o700", result.stdout
    assert not os.path.exists(cwd)  # removed after the run
