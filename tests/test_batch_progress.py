"""`proofsmith prove` over several tasks shows a bar over the tasks with the solved count, on a terminal only.

Real everything: `--model none` (automation only, no language model), real
Coq sessions and coqc, and the command runs as a subprocess whose stderr is
a real pseudo-terminal (or a pipe, where no bar may appear).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proofsmith.schema import Limits, Task

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="Coq is not installed (apt-get install coq)")

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(wall_s=60, cpu_s=60, memory_mb=2048)
#: automation proves the first and the last; nothing proves the second
TASKS = [
    Task(id="add_0_r", language="coq", kind="proof", statement="Theorem add_0_r : forall n : nat, n + 0 = n.",
         limits=LIMITS, options={"name": "add_0_r"}),
    Task(id="one_is_two", language="coq", kind="proof", statement="Theorem one_is_two : 1 = 2.", limits=LIMITS,
         options={"name": "one_is_two"}),
    Task(id="t_true", language="coq", kind="proof", statement="Theorem t_true : True.", limits=LIMITS,
         options={"name": "t_true"}),
]
#: the batch bar's text: "3 tasks  solved 1" (rich's ANSI codes removed)
BATCH = re.compile(r"(\d)/3 tasks  solved (\d)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _command(tmp_path: Path) -> list[str]:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(t.model_dump_json() + "\n" for t in TASKS))
    return [sys.executable, "-m", "proofsmith", "prove", "--task-file", str(tasks), "--model", "none", "--budget", "4",
            "--max-seconds", "20", "--traces", str(tmp_path / "traces"), "-o", str(tmp_path / "out.jsonl")]


def _on_a_terminal(command: list[str]) -> tuple[int, str]:
    """Run `command` with stderr on a pseudo-terminal; its exit status and what the terminal got, ANSI removed."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = bytearray()
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
    return proc.returncode, ANSI.sub("", seen.decode(errors="replace"))


def test_a_batch_on_a_terminal_shows_tasks_done_and_solved_so_far(bwrap_or_skip, tmp_path):
    status, screen = _on_a_terminal(_command(tmp_path))
    assert status == 1, screen[-2000:]  # one task is not solved
    done = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["solved"]) for r in done] == [("add_0_r", True), ("one_is_two", False),
                                                           ("t_true", True)]
    shown = list(dict.fromkeys((int(a), int(b)) for a, b in BATCH.findall(screen)))
    # while task i runs the bar shows the i - 1 tasks done and how many of them were solved
    assert shown == [(0, 0), (1, 1), (2, 1)], screen[-3000:]
    # and the running search's own bar below it
    assert "t_true" in screen and "/4 model calls" in screen


def test_no_bar_when_stderr_is_not_a_terminal(bwrap_or_skip, tmp_path):
    proc = subprocess.run(_command(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "solved add_0_r" in proc.stderr  # the per-task lines are there
    assert not BATCH.search(proc.stderr + proc.stdout) and "model calls  " not in proc.stderr, proc.stderr
