"""Sandbox capabilities as types (Spawns, Pairs, Binds), `spawning`, and the one `with_binds`, on real sandboxes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from oneshot_sandbox import DockerKind, RunOnly

from proofsmith.sandbox import (
    Binds,
    Pairs,
    SandboxUnsupported,
    Spawns,
    get_sandbox,
    seen_at,
    spawning,
    with_binds,
)
from proofsmith.schema import Limits

LIMITS = Limits(wall_s=10, cpu_s=5, memory_mb=256)


@pytest.fixture
def host_dir():
    """A host directory the sandbox's slot uid may read (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="caps-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_each_sandbox_has_the_capabilities_it_offers(bwrap, warm_or_skip):
    warm = get_sandbox("warm")
    assert isinstance(bwrap, Spawns) and isinstance(bwrap, Binds) and not isinstance(bwrap, Pairs)
    assert isinstance(warm, Pairs) and not isinstance(warm, Spawns) and not isinstance(warm, Binds)
    assert not isinstance(RunOnly(bwrap), Spawns)


def test_spawning_gives_bwrap_for_the_warm_pool_and_refuses_a_run_only_sandbox(bwrap, warm_or_skip):
    assert spawning(bwrap) is bwrap
    assert spawning(get_sandbox("warm")) is get_sandbox("bwrap")
    with pytest.raises(SandboxUnsupported, match="docker sandbox cannot start processes"):
        spawning(DockerKind(bwrap))


def test_a_bind_shows_a_host_file_at_its_inside_path_and_nothing_else(bwrap, host_dir):
    secret = host_dir / "secret.txt"
    secret.write_text("not bound")
    shown = host_dir / "shown.txt"
    shown.write_text("bound text")
    bind = (str(shown), "/opt/proofsmith/shown.txt")
    box = with_binds(bwrap, [bind])
    assert box is not bwrap and seen_at(box, bind) == "/opt/proofsmith/shown.txt"
    run = box.run(["/bin/cat", seen_at(box, bind)], {}, LIMITS)
    assert (run.exit_code, run.stdout) == (0, "bound text"), run.stderr
    # the host path itself is not shown, and the plain sandbox does not see the bind
    assert box.run(["/bin/cat", str(secret)], {}, LIMITS).exit_code != 0
    assert bwrap.run(["/bin/cat", "/opt/proofsmith/shown.txt"], {}, LIMITS).exit_code != 0


def test_binds_are_one_sandbox_per_set_and_a_bound_sandbox_keeps_its_own(bwrap, tmp_path):
    path = str(tmp_path)
    box = with_binds(bwrap, [path])
    assert with_binds(bwrap, [path]) is box
    assert with_binds(box, [path]) is box
    assert with_binds(bwrap, []) is bwrap
    # relative and missing host paths are left out (bwrap would refuse to start on a missing one)
    assert with_binds(bwrap, ["relative/dir", str(tmp_path / "missing")]) is bwrap


def test_the_warm_pool_binds_through_bwrap_and_docker_cannot_bind(bwrap, warm_or_skip, tmp_path):
    box = with_binds(get_sandbox("warm"), [str(tmp_path)])
    assert box.kind == "bwrap" and box is with_binds(bwrap, [str(tmp_path)])
    with pytest.raises(SandboxUnsupported):
        with_binds(DockerKind(bwrap), [str(tmp_path)])
