"""`proofsmith prove` over several tasks: one task that cannot be searched never ends the batch.

The model is the scripted test double of search_doubles.py (standing in for
the language model only); Coq (warm coqtop sessions, then coqc) and the bwrap
sandbox are real.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from proofsmith.schema import Limits, Task

from search_doubles import ScriptedPolicy

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="Coq is not installed (apt-get install coq)")

LIMITS = Limits(wall_s=60, cpu_s=60, memory_mb=2048)
#: a proof in the context fails (as `QArith_base.Qnum` does inside QArith_base.v), stays open, and coqtop refuses
#: the statement as a nested proof: the error line must name the first error, the cause
BROKEN = Task(id="broken_context", language="coq", kind="proof",
              context="Lemma left_open : True.\nProof. exact no_such_term. Qed.\n",
              statement="Theorem t_true : True.", limits=LIMITS, options={"name": "t_true"})
GOOD = Task(id="good", language="coq", kind="proof", statement="Theorem t_good : True.", limits=LIMITS,
            options={"name": "t_good"})


def test_a_task_whose_context_does_not_load_is_one_error_line_and_the_batch_goes_on(bwrap_or_skip, tmp_path,
                                                                                  monkeypatch):
    import proofsmith.models as models
    from proofsmith.cli import cli

    monkeypatch.setattr(models, "load_policy", lambda *a, **k: ScriptedPolicy(lambda prompt: ["exact I."]))
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(t.model_dump_json() + "\n" for t in (BROKEN, GOOD)))
    out_file = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["prove", "--task-file", str(tasks), "--strategy", "mcts", "--budget", "2",
                                      "--traces", str(tmp_path / "traces"), "-o", str(out_file)],
                                standalone_mode=False)
    assert result.exception is None, result.output
    assert result.return_value == 1, result.output  # a task not solved: exit status 1, neither a crash nor 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken_context" in errors[0] and "no_such_term" in errors[0], result.output
    assert "<prompt>" not in errors[0]
    done = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["task_id"] for r in done] == ["good"] and done[0]["solved"]
