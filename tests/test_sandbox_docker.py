"""The Docker sandbox: real runs where an engine answers, the start-up error everywhere."""

from __future__ import annotations

import pytest

from proofsmith.sandbox.docker import LABEL, DockerSandbox, DockerUnavailable, docker_engine
from proofsmith.schema import Limits

ENGINE = docker_engine()
needs_engine = pytest.mark.skipif(
    ENGINE is None, reason="no Docker engine answers here (`docker --version` is only the client): start dockerd"
)
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def box() -> DockerSandbox:
    try:
        return DockerSandbox()
    except DockerUnavailable as exc:  # engine up, but the image (or runtime) asked for is not there
        pytest.skip(str(exc))


def _py(code: str) -> list[str]:
    return ["python3", "-c", code]


def test_no_engine_fails_fast_naming_the_fix(monkeypatch, tmp_path):
    dead = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{dead}")
    with pytest.raises(DockerUnavailable) as info:
        DockerSandbox()
    message = str(info.value)
    assert "\n" not in message
    try:
        import docker  # noqa: F401
    except ImportError:
        assert "pip install 'proofsmith[docker]'" in message
    else:
        assert str(dead) in message and "start dockerd" in message and "--sandbox bwrap" in message


@needs_engine
def test_hello_world_with_files_and_stdin(box):
    code = "import os, sys\nprint('hello', os.getuid(), os.getcwd(), open('data/in.txt').read(), sys.stdin.read())\n"
    result = box.run(["python3", "main.py"], {"main.py": code, "data/in.txt": "file"}, Limits(), stdin=b"piped")
    assert result.ok, result
    assert result.stdout == "hello 65534 /work file piped\n"
    assert result.sandbox == "docker"
    assert {"container", "netns-none", "ro-rootfs", "no-caps", "uid-65534"} <= set(result.isolation)


@needs_engine
def test_exit_code_and_stderr(box):
    result = box.run(_py("import sys; print('bad', file=sys.stderr); sys.exit(3)"), {}, Limits())
    assert result.exit_code == 3 and result.stderr == "bad\n" and result.error is None and result.limit_hit is None


@needs_engine
def test_network_is_blocked(box):
    code = (
        "import socket\n"
        "print(sorted(name for _, name in socket.if_nameindex()))\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('blocked', exc.errno)\n"
    )
    result = box.run(_py(code), {}, Limits())
    assert result.ok, result
    interfaces, outcome = result.stdout.splitlines()
    assert interfaces == "['lo']"
    assert outcome.startswith("blocked")


@needs_engine
def test_root_is_read_only_and_work_dir_is_writable(box):
    # /var/tmp is world-writable in Debian images, so only a read-only root stops the write
    code = (
        "import errno\n"
        "for path in ('/var/tmp/pwned', '/usr/pwned'):\n"
        "    try:\n"
        "        open(path, 'w')\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print(errno.errorcode[exc.errno])\n"
        "open('out.txt', 'w').write('ok')\n"
        "print(open('out.txt').read())\n"
    )
    result = box.run(_py(code), {}, Limits())
    assert result.ok, result
    lines = result.stdout.split()
    assert "wrote" not in lines and "EROFS" in lines and lines[-1] == "ok"


@needs_engine
def test_memory_limit(box):
    result = box.run(_py("x = b'a' * (512 << 20)\nprint('survived')"), {}, Limits(memory_mb=128))
    assert result.limit_hit == "memory", result
    assert "survived" not in result.stdout


@needs_engine
def test_wall_timeout_kills(box):
    result = box.run(_py("import time; print('start', flush=True); time.sleep(60)"), {}, Limits(wall_s=2))
    assert result.limit_hit == "wall", result
    assert result.stdout == "start\n"
    assert 2 <= result.wall_s < 15


@needs_engine
def test_cpu_limit(box):
    result = box.run(_py("while True: pass"), {}, Limits(cpu_s=1, wall_s=5))
    # without the rlimits layer (gVisor) the wall clock is what stops a spinning program
    assert result.limit_hit == ("cpu" if "rlimits" in box.layers() else "wall"), result
    assert result.wall_s < 15


@needs_engine
def test_output_is_capped(box):
    result = box.run(_py("print('x' * 5000)"), {}, Limits(output_bytes=1000))
    assert result.stdout == "x" * 1000
    assert result.stdout_truncated
    assert result.limit_hit == "output"


@needs_engine
def test_output_flood_is_stopped(box):
    result = box.run(_py("while True: print('y' * 1000)"), {}, Limits(output_bytes=1000, file_size_mb=1, wall_s=30))
    assert result.limit_hit == "output", result
    assert len(result.stdout) == 1000 and result.stdout_truncated
    assert result.wall_s < 25


@needs_engine
def test_containers_are_removed(box):
    before = {c.id for c in box.client.containers.list(all=True, filters={"label": LABEL})}
    box.run(_py("print(1)"), {}, Limits())
    box.run(_py("import time; time.sleep(30)"), {}, Limits(wall_s=1))
    after = {c.id for c in box.client.containers.list(all=True, filters={"label": LABEL})}
    assert after <= before


@needs_engine
def test_file_names_must_stay_in_the_work_dir(box):
    with pytest.raises(ValueError, match="relative to /work"):
        box.run(["true"], {"../etc/passwd": "x"}, Limits())
