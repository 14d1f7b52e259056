"""The production sandbox: one short-lived Docker container per run.

Each run gets a fresh container (notes/sandbox.md section 4, "With Docker"):
no network, a read-only image, tmpfs /tmp and a size-capped tmpfs work dir, no
capabilities, no_new_privs, uid 65534, memory (swap included), pids and CPU
quotas from the engine's cgroups, rlimits for CPU time, file size, open files
and core dumps, and gVisor when `PROOFSMITH_DOCKER_RUNTIME=runsc`. The
supervisor keeps the wall clock, the output cap and the kill; the container is
removed whatever happens.

Files travel as a tar on the container's stdin: the engine refuses
`put_archive` on a read-only root (it only writes into volumes), and anything
written before start would land under the tmpfs and vanish when it mounts. A
three-line `sh` bootstrap unpacks the tar into the tmpfs and execs the program,
so the image needs `sh`, `head` and `tar` (every Debian-based image has them).
"""

from __future__ import annotations

import io
import os
import posixpath
import signal
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from proofsmith.sandbox import limits as rl
from proofsmith.sandbox.capabilities import BoxKind
from proofsmith.sandbox.supervise import RunResult
from proofsmith.schema import Limits

if TYPE_CHECKING:
    import docker as docker_sdk
    from docker.models.containers import Container

#: The image used when neither the constructor nor PROOFSMITH_DOCKER_IMAGE names one.
DEFAULT_IMAGE = "python:3.11-slim"
#: Where the candidate's files and working directory appear inside the container.
WORKDIR = "/work"
#: The uid (and gid) every run uses: nobody/nogroup on Debian.
UID = 65534
USER = f"{UID}:{UID}"
#: Label put on every container this module starts, so strays can be found.
LABEL = "proofsmith.sandbox"

_STDIN_NAME = ".proofsmith-stdin"
_BOOT_FAILED = 125
# $1 is the tar's length: `head -c` hands tar exactly the archive, so no
# half-close of the attach socket is needed (TLS and ssh transports lack one).
# The program's stdin is a file in the tmpfs, opened and then unlinked.
_BOOT = f"""n=$1; shift
head -c "$n" | tar -x -m -f - -C {WORKDIR} || {{ echo "proofsmith-boot: could not unpack the files" >&2; exit {_BOOT_FAILED}; }}
exec 0<{WORKDIR}/{_STDIN_NAME} && rm -f {WORKDIR}/{_STDIN_NAME} || exit {_BOOT_FAILED}
exec "$@"
"""
_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKDIR, "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
_PING_TIMEOUT_S = 5
# a kill can take the engine ten seconds and more; runs must not fail on the ping's short timeout
_API_TIMEOUT_S = 120
_RUNSC_THREADS = 1024


class DockerUnavailable(RuntimeError):
    """The Docker SDK, the engine, the image or the runtime asked for is missing."""


def _where() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (or the current docker context)"


def _client(timeout: int = _PING_TIMEOUT_S) -> docker_sdk.DockerClient:
    """A client that has answered a ping, or DockerUnavailable naming the fix."""
    try:
        import docker
    except ImportError:
        raise DockerUnavailable("the docker Python SDK is not installed: pip install 'proofsmith[docker]'") from None
    try:
        # from_env already asks the engine for its API version, so a dead socket fails here
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(f"no Docker engine answers at {_where()}: start dockerd or use --sandbox bwrap") from exc
    return client


def docker_engine() -> str | None:
    """The version of the Docker engine that answers here, or None (no SDK, no engine)."""
    try:
        client = _client()
    except DockerUnavailable:
        return None
    try:
        return str(client.version().get("Version", "unknown"))
    except Exception:  # an engine that pings but cannot say its version is still no engine to trust
        return None
    finally:
        client.close()


def _tar(files: Mapping[str, str | bytes], stdin: bytes) -> bytes:
    """The work dir's files (and the program's stdin) as an in-memory tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = {**files, _STDIN_NAME: stdin}
        for name, content in entries.items():
            norm = posixpath.normpath(name)
            if posixpath.isabs(norm) or norm in (".", "..") or norm.startswith("../"):
                raise ValueError(f"file name {name!r} leaves the work dir: give a path relative to {WORKDIR}")
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(norm)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _decode_exit(code: int) -> tuple[int | None, int | None]:
    # docker-init (tini) reports a child killed by signal N as exit status 128 + N.
    if code > 128 and code - 128 < 65:
        return None, code - 128
    return code, None


class _Output:
    """Reads the attach socket: keeps the first `cap` bytes of each stream, counts the rest."""

    def __init__(self, sock: Any, cap: int, kill_at: int, on_flood: Callable[[], None]) -> None:
        self._sock = sock
        self._cap = cap
        self._kill_at = kill_at
        self._on_flood = on_flood
        self.data = {1: bytearray(), 2: bytearray()}
        self.size = {1: 0, 2: 0}
        self.flooded = False
        self.thread = threading.Thread(target=self._read, name="docker-output", daemon=True)

    def _read(self) -> None:
        from docker.utils.socket import frames_iter

        try:
            for stream, chunk in frames_iter(self._sock, tty=False):
                if stream not in self.data or not chunk:
                    continue
                kept = self.data[stream]
                if len(kept) < self._cap:
                    kept += chunk[: self._cap - len(kept)]
                self.size[stream] += len(chunk)
                # the bwrap sandbox's RLIMIT_FSIZE stops a flood at this size; do the same
                if self.size[stream] > self._kill_at and not self.flooded:
                    self.flooded = True
                    self._on_flood()
        except (OSError, ValueError):
            pass  # the socket was closed under us after a kill: what was read stands

    def text(self, stream: int) -> tuple[str, bool]:
        return self.data[stream].decode("utf-8", errors="replace"), self.size[stream] > self._cap


class DockerSandbox:
    """Runs each program in a fresh, locked-down container (see the module docstring).

    Docker offers `run` only: whole-program checks that take files and stdin
    and give back output and an exit status. It has no `spawn`, because a
    container's stdio cannot be handed file descriptors of the supervisor;
    checkers that wire sandboxed processes together with pipes use bwrap.
    `cpu_s` and `peak_memory_kb` are not measured (the engine keeps no usage
    for a container that has exited).
    """

    kind: BoxKind = "docker"

    def __init__(self, image: str | None = None, *, runtime: str | None = None, cpus: float = 1.0) -> None:
        self.client = _client()
        self.client.api.timeout = _API_TIMEOUT_S
        self.image = image or os.environ.get("PROOFSMITH_DOCKER_IMAGE") or DEFAULT_IMAGE
        self.cpus = cpus
        self.runtime = runtime or os.environ.get("PROOFSMITH_DOCKER_RUNTIME") or None
        try:
            self._check_engine()
        except BaseException:
            self.client.close()
            raise

    def _check_engine(self) -> None:
        """Fail at start-up, not on the first check: runtime and image present; probe the layers."""
        import docker

        info = self.client.info()
        self.engine_version = str(self.client.version().get("Version", "unknown"))
        runtimes = info.get("Runtimes") or {}
        if self.runtime is not None and self.runtime not in runtimes:
            raise DockerUnavailable(
                f"the engine at {_where()} has no runtime {self.runtime!r}: register it in daemon.json "
                "(gVisor: `runsc install`) or unset PROOFSMITH_DOCKER_RUNTIME"
            )
        try:
            self.client.images.get(self.image)
        except docker.errors.ImageNotFound as exc:
            raise DockerUnavailable(
                f"image {self.image} is not in the engine: `docker pull {self.image}` or build "
                "containers/python.Dockerfile (containers/README.md) and set PROOFSMITH_DOCKER_IMAGE"
            ) from exc
        # gVisor may be the engine's default runtime as well as the one asked for
        self._runsc = (self.runtime or info.get("DefaultRuntime") or "runc") == "runsc"
        self._layers = self._probe_layers(info)

    def _probe_layers(self, info: dict[str, Any]) -> list[str]:
        """What the engine will really enforce, from its own report (notes/sandbox.md: probe, then record)."""
        security = " ".join(info.get("SecurityOptions") or [])
        layers = ["container", "netns-none", "ro-rootfs", "tmpfs-work", "no-caps", "no-new-privs", "uid-65534"]
        if not self._runsc:
            # gVisor (2022 build, tried) reports RLIMIT_CPU but never fires it: there the wall clock bounds CPU
            layers.append("rlimits")
        if info.get("MemoryLimit", True):
            layers.append("cgroup-memory")
        if info.get("PidsLimit", True) and not self._runsc:
            layers.append("cgroup-pids")
        if info.get("CpuCfsQuota", True):
            layers.append("cgroup-cpu")
        if self._runsc:
            layers.append("runsc")
        elif "name=seccomp" in security and "profile=unconfined" not in security:
            layers.append("seccomp")  # the engine's default profile; gVisor filters its own way
        if "name=userns" in security:
            layers.append("userns-remap")
        if "name=rootless" in security:
            layers.append("rootless")
        return layers

    def layers(self) -> list[str]:
        """Isolation layers active for a run (probed from the engine at construction)."""
        return list(self._layers)

    def _pids_limit(self, limits: Limits) -> int:
        if self._runsc:
            # gVisor's own host threads live in the container's pids cgroup (a ptrace-platform
            # sandbox needs a few hundred): the cgroup can only be a backstop against fork bombs
            return limits.pids + _RUNSC_THREADS
        return limits.pids + 1  # + docker-init

    def _create(self, argv: Sequence[str], tar_size: int, limits: Limits, env: Mapping[str, str] | None) -> Container:
        from docker.types import LogConfig, Ulimit

        cpu_soft, cpu_hard = rl.cpu_rlimit(limits)
        file_size = max(limits.file_size_mb << 20, limits.output_bytes + 4096)
        tmpfs_size = max(limits.file_size_mb << 20, 1 << 20) * 4
        # exec: checkers may build and run binaries there, as under bwrap
        tmpfs_opts = f"rw,exec,nosuid,nodev,size={tmpfs_size}"
        # the engine copies the mode of an image's own /work onto the tmpfs (root 0755 in
        # many images), so the work dir is made the run's own by uid, not by mode
        work_opts = f"{tmpfs_opts},uid={UID},gid={UID},mode=0700"
        kwargs: dict[str, Any] = {}
        if self.runtime is not None:
            kwargs["runtime"] = self.runtime
        return self.client.containers.create(
            self.image,
            entrypoint=["/bin/sh", "-c", _BOOT, "proofsmith-boot"],
            command=[str(tar_size), *argv],
            environment={**_BASE_ENV, **(env or {})},
            working_dir=WORKDIR,
            user=USER,
            hostname="sandbox",
            labels={LABEL: self.kind},
            stdin_open=True,
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"{tmpfs_opts},mode=1777", WORKDIR: work_opts},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            # docker-init as pid 1: rlimit signals and zombies behave as outside a pid namespace
            init=True,
            pids_limit=self._pids_limit(limits),
            mem_limit=limits.memory_mb << 20,
            memswap_limit=limits.memory_mb << 20,
            nano_cpus=int(self.cpus * 1e9),
            ulimits=[
                Ulimit(name="cpu", soft=cpu_soft, hard=cpu_hard),
                Ulimit(name="fsize", soft=file_size, hard=file_size),
                Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                Ulimit(name="core", soft=0, hard=0),
            ],
            # output comes through the attach socket; a log driver would copy floods onto the host disk
            log_config=LogConfig(type=LogConfig.types.NONE),
            **kwargs,
        )

    def run(
        self,
        argv: Sequence[str],
        files: Mapping[str, str | bytes],
        limits: Limits,
        *,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Run `argv` in a fresh container with `files` in its work dir, to exit or to the wall limit."""
        import docker
        import requests

        archive = _tar(files, stdin or b"")
        container: Container | None = None
        sock: Any = None
        raw: Any = None
        try:
            container = self._create(argv, len(archive), limits, env)
            # attach before start: no byte can reach the socket before the reader does
            sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            raw = getattr(sock, "_sock", sock)
            raw.settimeout(None)  # silence is no error: the wall clock is kept by `wait` below
            kill_at = max(limits.file_size_mb << 20, limits.output_bytes + 4096)
            # the reader must never block on the API: the engine finishes a kill only after
            # the output it is still copying to us has been read
            on_flood = lambda: threading.Thread(target=_kill, args=(container,), daemon=True).start()
            output = _Output(raw, limits.output_bytes, kill_at, on_flood)
            output.thread.start()
            started = time.monotonic()
            container.start()
            threading.Thread(target=_send, args=(raw, archive), name="docker-stdin", daemon=True).start()
            wall_killed = False
            try:
                container.wait(timeout=limits.wall_s)
            except requests.exceptions.RequestException:
                # requests reports a read timeout as ReadTimeout or ConnectionError: tell by the clock
                if time.monotonic() - started < limits.wall_s:
                    raise
                wall_killed = True
                _kill(container)
                container.wait(timeout=_API_TIMEOUT_S)
            wall = time.monotonic() - started
            output.thread.join(timeout=_API_TIMEOUT_S)
            container.reload()
            return self._result(container.attrs["State"], output, limits, wall=wall, wall_killed=wall_killed)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            return RunResult(sandbox=self.kind, isolation=self.layers(), error=f"docker: {exc}")
        finally:
            if raw is not None:
                try:
                    raw.shutdown(socket.SHUT_RDWR)  # wakes a reader still blocked in recv; close alone does not
                except OSError:
                    pass
                raw.close()
                sock.close()  # the socket's fd is only released when its file wrapper lets go too
            if container is not None:
                try:
                    container.remove(force=True)
                except docker.errors.NotFound:
                    pass

    def _result(
        self, state: dict[str, Any], output: _Output, limits: Limits, *, wall: float, wall_killed: bool
    ) -> RunResult:
        stdout, out_trunc = output.text(1)
        stderr, err_trunc = output.text(2)
        code = int(state.get("ExitCode", -1))
        error = state.get("Error") or None
        if code == _BOOT_FAILED and "proofsmith-boot:" in stderr:
            error = f"the container could not unpack the files: {stderr.strip()[-500:]}"
        exit_code, term = _decode_exit(code)
        hit = rl.limit_hit(
            limits,
            wall_killed=wall_killed,
            term_signal=term,
            cpu_s=0.0,  # unknown; SIGXCPU alone tells a CPU kill
            memory_hit=bool(state.get("OOMKilled")),
            pids_hit=False,
            # either stream over the cap is an output hit (stdout and stderr are both pipes here)
            stdout_size=max(output.size[1], output.size[2]),
            stderr_tail=stderr[-2000:],
        )
        if output.flooded and hit is None:
            hit = "output"
        return RunResult(
            exit_code=exit_code,
            signal=term,
            stdout=stdout,
            stderr=stderr,
            stdout_truncated=out_trunc,
            stderr_truncated=err_trunc,
            wall_s=wall,
            limit_hit=hit,
            sandbox=self.kind,
            isolation=self.layers(),
            error=error,
        )


def _send(sock: Any, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # the container exited before reading it all; its exit status says why


def _kill(container: Container) -> None:
    import docker

    try:
        container.kill(signal=signal.SIGKILL)
    except docker.errors.APIError:
        pass  # already gone
