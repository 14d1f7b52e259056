"""The Lean checker through the REPL stand-in (NOT Lean: proofsmith/provers/standins/lean_repl.py).

No Lean toolchain exists on the build machines, so these tests drive the real
protocol layer, pool, sandbox (bubblewrap), timeouts, crash recovery,
recycling and audits against the stand-in process, which speaks the REPL's
JSON and prints Lean's diagnostics for each exploit on demand. What they show
is that the checker handles those answers soundly; they say nothing about
real Lean proofs (tests/test_lean_real.py does, where Lean is installed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from oneshot_sandbox import DockerKind, RunOnly

from proofsmith.provers import UnsupportedTask, lean, validate_task
from proofsmith.provers import check as provers_check
from proofsmith.provers.lean_repl import parse_response, repl_pool, standin_toolchain
from proofsmith.provers.prover_process import ProcessPool, ReplFailure
from proofsmith.schema import Candidate, Limits, Task

ROOT = Path(__file__).resolve().parents[1]
STATEMENT = "theorem add_zero' (n : Nat) : n + 0 = n"


def lean_task(id: str = "add_zero", *, context: str = "import Mathlib\nopen Nat\n", statement: str = STATEMENT,
              wall_s: float = 5, **options) -> Task:
    return Task(id=id, language="lean", kind="proof", statement=statement, context=context, options=options,
                limits=Limits(wall_s=wall_s))


def cand(task: Task, text: str) -> Candidate:
    return Candidate(task_id=task.id, text=text)


@pytest.fixture
def make_pool(bwrap):
    """A fresh pool over the stand-in: `make_pool(*standin_flags, **pool_kwargs)`; closed after the test."""
    pools: list[ProcessPool] = []

    def make(*flags: str, **kwargs) -> ProcessPool:
        kwargs.setdefault("memory_mb", 512)
        kwargs.setdefault("recycle_mb", 400)
        kwargs.setdefault("max_processes", 2)
        pool = repl_pool(standin_toolchain(*flags), bwrap, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


@pytest.fixture
def pool(make_pool):
    return make_pool()


def run(task: Task, text: str, pool: ProcessPool, **kw):
    return lean.check(task, cand(task, text), pool=pool, **kw)


# --------------------------------------------------------------------------- verdicts


def test_a_proof_the_repl_accepts_and_the_audit_passes_is_verified(pool):
    task = lean_task()
    v = run(task, "by simp", pool)
    assert v.status == "verified" and v.reward == 1.0, v.diagnostics
    assert v.manifest.checker == "lean" and v.manifest.toolchain["lean"] == "stand-in (not Lean)"
    restated = run(task, "theorem add_zero'  (n : Nat) :\n  n + 0 = n := by omega", pool)
    assert restated.status == "verified", restated.diagnostics


def test_a_lean_error_is_refuted_with_its_line_in_the_candidate(pool):
    task = lean_task()
    v = run(task, "by\n  intro\n  wrong", pool)
    assert v.status == "refuted" and v.reason == "lean_error"
    assert "unsolved goals" in v.diagnostics[0].message
    assert v.diagnostics[0].line == 1


def test_a_changed_statement_is_refuted_before_lean_runs(pool):
    task = lean_task()
    v = run(task, "theorem add_zero' (n : Nat) : n + 0 = n + 0 := by simp", pool)
    assert v.status == "refuted" and v.reason == "statement"
    assert pool.started == 0


def test_a_theorem_inside_a_namespace_is_audited_under_its_full_name(pool):
    task = lean_task("ns", context="import Mathlib\nnamespace Demo\naxiom cheat : False\n")
    v = run(task, "by simp", pool)
    assert v.status == "verified", v.diagnostics
    cheated = run(task, "by exact cheat.elim", pool)
    assert cheated.status == "refuted" and "Demo.cheat" in cheated.diagnostics[0].message


def test_step_tactics_are_checked_as_a_by_block(pool):
    task = lean_task()
    v = lean.check(task, Candidate(task_id=task.id, text="intro\nsimp", steps=["intro", "simp"]), pool=pool)
    assert v.status == "verified", v.diagnostics


# --------------------------------------------------------------------------- header reuse and the pool


def test_the_header_is_elaborated_once_per_process_and_reused(make_pool):
    pool = make_pool("--header-delay", "1.0")
    task = lean_task()
    t0 = time.monotonic()
    assert run(task, "by simp", pool).status == "verified"
    first = time.monotonic() - t0
    t1 = time.monotonic()
    for text in ("by omega", "by norm_num", "by simp"):
        assert run(task, text, pool).status == "verified"
    warm = (time.monotonic() - t1) / 3
    assert pool.started == 1
    assert first >= 1.0 > warm, (first, warm)
    other = lean_task("other", context="import Mathlib.Data.Nat.Basic\n")
    assert run(other, "by simp", pool).status == "verified"
    assert pool.started == 2


def test_a_full_pool_evicts_the_oldest_process_of_another_header(make_pool):
    pool = make_pool(max_processes=1)
    assert run(lean_task(), "by simp", pool).status == "verified"
    assert run(lean_task("b", context="import Aesop\n"), "by simp", pool).status == "verified"
    assert pool.started == 2 and pool.retired == 1 and pool.size() == 1


def test_a_process_is_retired_after_max_uses(make_pool):
    pool = make_pool(max_uses=2)
    for text in ("by simp", "by omega", "by simp"):
        assert run(lean_task(), text, pool).status == "verified"
    assert pool.started == 2


def test_a_process_that_grew_past_the_recycle_size_is_retired_after_its_check(make_pool):
    pool = make_pool(memory_mb=600, recycle_mb=150)
    assert run(lean_task(), "by simp -- standin: leak=200", pool).status == "verified"
    assert pool.retired == 1 and pool.size() == 0
    assert run(lean_task(), "by simp", pool).status == "verified"
    assert pool.started == 2


def test_one_candidates_macros_do_not_reach_the_next_check(pool):
    task = lean_task()
    hijack = 'by simp\nmacro "#print" "axioms" x:ident : command => `(#check 1)'
    assert run(task, hijack, pool, precheck=False).reason == "audit"
    assert run(task, "by simp", pool).status == "verified"
    assert pool.started == 1


# --------------------------------------------------------------------------- unknown is never a pass


def test_a_hung_repl_is_a_timeout_and_the_pool_recovers(pool):
    task = lean_task(wall_s=1.5)
    t0 = time.monotonic()
    v = run(task, "by simp -- standin: hang", pool)
    assert v.status == "unknown" and v.reason == "timeout" and v.reward == 0.0
    assert time.monotonic() - t0 < 6
    assert run(task, "by simp", pool).status == "verified"
    assert pool.size() == 1


@pytest.mark.parametrize("directive", ["crash", "partial-crash", "garbage"])
def test_a_crash_is_retried_once_then_unknown(pool, directive):
    v = run(lean_task(), f"by simp -- standin: {directive}", pool)
    assert v.status == "unknown" and v.reason == "crash", v.diagnostics
    assert "after one retry" in v.diagnostics[0].message
    assert pool.started == 2  # the first process and the one the retry got
    assert run(lean_task(), "by simp", pool).status == "verified"


def test_a_repl_that_dies_between_checks_is_replaced_and_the_check_retried(make_pool):
    # 7 requests per check on a fresh process (header, context, candidate, 4 audit commands), 5 on a warm one
    pool = make_pool("--die-after", "9")
    assert run(lean_task(), "by simp", pool).status == "verified"
    v = run(lean_task(), "by omega", pool)
    assert v.status == "verified", v.diagnostics
    assert pool.started == 2


def test_memory_past_the_limit_is_unknown_memory(make_pool):
    pool = make_pool(memory_mb=200, recycle_mb=150)
    v = run(lean_task(wall_s=10), "by simp -- standin: leak=400", pool)
    assert v.status == "unknown" and v.reason == "memory", v.diagnostics
    assert run(lean_task(), "by simp", pool).status == "verified"


def test_a_broken_header_is_unknown_toolchain_not_refuted(pool):
    v = run(lean_task(context="import NoSuchLibrary\n"), "by simp", pool)
    assert v.status == "unknown" and v.reason == "toolchain"
    assert "unknown module prefix" in v.diagnostics[0].message


def test_an_answer_out_of_step_is_a_crash():
    with pytest.raises(ReplFailure) as exc:
        parse_response({"unexpected": 1})
    assert exc.value.reason == "crash"


# --------------------------------------------------------------------------- exploits: the lexical layer


EXPLOITS = {
    "sorry": "by sorry",
    "admit (kimina-lean-server#75)": "by admit",
    "sorry in guillemets": "by exact «sorry»",
    "native_decide": "by native_decide",
    "new axiom": "by simp\naxiom cheat : False",
    "implemented_by": "by simp\n@[implemented_by fastTrue] def slow : Bool := false",
    "extern": "by simp\n@[extern \"c_true\"] opaque magic : Bool",
    "skipKernelTC": "by\n  set_option debug.skipKernelTC true in simp",
    "hijacked #print (terminal-bench-science#325)":
        'by simp\nmacro "#print" "axioms" x:ident : command => `(#check 1)',
    "sorry through a macro": 'by trust_me\nmacro "trust_me" : tactic => `(tactic| sorry)',
    "notation": "by simp\nnotation \"ok\" => sorry",
    "#eval": "by simp\n#eval IO.println \"{}\"",
    "sorryAx by name": "by exact sorryAx _ false",
    "ofReduceBool": "by exact Lean.ofReduceBool _ _ rfl",
    "meta-programming": "by run_tac Lean.Elab.Tactic.closeMainGoal (Lean.mkConst `True.intro)",
    "an unclosed comment swallowing the audit": "by simp /-",
    "another theorem": "by simp\ntheorem add_zero'' : True := trivial",
    "a Mathlib command at column 0": "by simp\nirreducible_def cheat : Nat := 0",
}


@pytest.mark.parametrize("name", list(EXPLOITS))
def test_every_exploit_is_rejected_by_the_lexical_check(pool, name):
    v = run(lean_task(), EXPLOITS[name], pool)
    assert v.status == "refuted" and v.reason == "audit", (name, v.reason, v.diagnostics)
    assert pool.started == 0  # Lean never saw it


def test_native_decide_is_allowed_only_when_the_task_says_so(pool):
    v = run(lean_task(allow_native_decide=True), "by native_decide", pool)
    assert v.status == "verified", v.diagnostics


# --------------------------------------------------------------------------- exploits: the audit alone


def test_audit_alone_sorry_is_refuted(pool):
    for text in ("by sorry", "by admit"):
        v = run(lean_task(), text, pool, precheck=False)
        assert v.status == "refuted" and v.reason == "sorry", (text, v.diagnostics)


def test_audit_alone_native_decide_axiom_is_refuted(pool):
    v = run(lean_task(), "by native_decide", pool, precheck=False)
    assert v.status == "refuted" and v.reason == "axioms"
    assert "Lean.ofReduceBool" in v.diagnostics[0].message


def test_audit_alone_an_axiom_in_scope_is_refuted(pool):
    # verifiers#2177: an axiom the proof can reach earns nothing
    task = lean_task(context="import Mathlib\naxiom cheat : False\n")
    v = run(task, "by exact cheat.elim", pool)
    assert v.status == "refuted" and v.reason == "axioms"
    assert "cheat" in v.diagnostics[0].message
    allowed = run(lean_task("allowed", context="import Mathlib\naxiom cheat : False\n", allowed_axioms=["cheat"]),
                  "by exact cheat.elim", pool)
    assert allowed.status == "verified"


def test_audit_alone_a_hijacked_print_is_caught_by_the_canary(pool):
    v = run(lean_task(), EXPLOITS["hijacked #print (terminal-bench-science#325)"], pool, precheck=False)
    assert v.status == "refuted" and v.reason == "audit"
    assert "hijacked" in v.diagnostics[0].message


def test_audit_alone_skip_kernel_is_caught_by_the_kernel_recheck(pool):
    honest = run(lean_task(), "by simp -- standin: kernel-reject", pool, precheck=False)
    assert honest.status == "refuted" and "(kernel)" in honest.diagnostics[0].message
    skipped = run(lean_task(), "by\n  set_option debug.skipKernelTC true in simp -- standin: kernel-reject", pool,
                  precheck=False)
    assert skipped.status == "refuted" and skipped.reason == "kernel", skipped.diagnostics


# --------------------------------------------------------------------------- the docker path, one REPL run per check


@pytest.mark.parametrize(("text", "status", "reason"), [
    ("by simp", "verified", None),
    ("by wrong", "refuted", "lean_error"),
    ("by native_decide", "refuted", "axioms"),
    ('by simp\nmacro "#print" "axioms" x:ident : command => `(#check 1)', "refuted", "audit"),
    ("by simp -- standin: crash", "unknown", "crash"),
])
def test_one_shot_runs_give_the_same_verdicts(bwrap, text, status, reason):
    task = lean_task(wall_s=3)
    v = lean.check(task, cand(task, text), sandbox=RunOnly(bwrap), toolchain=standin_toolchain(), precheck=False)
    assert (v.status, v.reason) == (status, reason), v.diagnostics


def test_one_shot_timeout_is_unknown(bwrap, monkeypatch):
    monkeypatch.setenv("PROOFSMITH_LEAN_HEADER_TIMEOUT_S", "1")
    task = lean_task(wall_s=1)
    t0 = time.monotonic()
    v = lean.check(task, cand(task, "by simp -- standin: hang"), sandbox=RunOnly(bwrap),
                   toolchain=standin_toolchain(), precheck=False)
    assert (v.status, v.reason) == ("unknown", "timeout"), v.diagnostics
    assert time.monotonic() - t0 < 10


# --------------------------------------------------------------------------- missing toolchain


def test_without_a_toolchain_validate_names_what_to_install(monkeypatch):
    monkeypatch.delenv("PROOFSMITH_LEAN_REPL", raising=False)
    monkeypatch.delenv("PROOFSMITH_LEAN_IMAGE", raising=False)
    problem = validate_task(lean_task())
    assert problem is not None and "\n" not in problem and "make images" in problem
    with pytest.raises(UnsupportedTask):
        provers_check(lean_task(), cand(lean_task(), "by simp"))
    v = lean.check(lean_task(), cand(lean_task(), "by simp"))
    assert v.status == "unknown" and v.reason == "toolchain"


def test_the_cli_says_one_line_when_lean_is_missing(tmp_path):
    task = lean_task()
    (tmp_path / "t.jsonl").write_text(task.model_dump_json() + "\n")
    (tmp_path / "c.jsonl").write_text(json.dumps({"task_id": task.id, "text": "by simp"}) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROOFSMITH_LEAN")}
    env.update(PYTHONPATH=str(ROOT), PROOFSMITH_NO_CACHE="1")
    proc = subprocess.run([sys.executable, "-m", "proofsmith.cli", "check", "t.jsonl", "c.jsonl"], check=False,
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2
    assert len(lines) == 1 and "no Lean REPL configured" in lines[0] and "Traceback" not in proc.stderr


def test_the_environment_points_the_checker_at_the_standin(monkeypatch, bwrap):
    monkeypatch.setenv("PROOFSMITH_LEAN_REPL", "standin --header-delay 0")
    assert validate_task(lean_task()) is None
    v = provers_check(lean_task(), cand(lean_task(), "by simp"), sandbox="bwrap", use_cache=False)
    assert v.status == "verified" and v.manifest.toolchain["repl"].startswith("stand-in")


def test_docker_without_an_engine_is_unknown_sandbox_in_one_line(bwrap, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    task = lean_task()
    v = lean.check(task, cand(task, "by simp"), sandbox=DockerKind(bwrap), toolchain=standin_toolchain())
    assert v.status == "unknown" and v.reason == "sandbox", v.diagnostics
    assert "\n" not in v.diagnostics[0].message


# --------------------------------------------------------------------------- the audit alone, exploits in the context
# A candidate never writes text before the theorem (the checker writes the statement first), so these put the
# exploit where a careless checker would let it: the context. The audit must still refuse.


def test_audit_alone_sorry_through_a_macro_without_any_warning_is_refuted(pool):
    task = lean_task("alias", context='import Mathlib\nmacro "trust_me" : tactic => `(tactic| sorry)\n')
    v = run(task, "by trust_me", pool)
    assert v.status == "refuted" and v.reason == "axioms" and "sorryAx" in v.diagnostics[0].message


@pytest.mark.parametrize("decl", ["@[implemented_by fastTrue] def slow : Bool := false",
                                  '@[extern "c_true"] opaque slow : Bool'])
def test_audit_alone_compiler_tricks_show_their_axiom(pool, decl):
    task = lean_task("trick", context=f"import Mathlib\n{decl}\n")
    v = run(task, "by\n  have := slow\n  native_decide", pool, precheck=False)
    assert v.status == "refuted" and v.reason == "axioms" and "Lean.ofReduceBool" in v.diagnostics[0].message


# --------------------------------------------------------------------------- wire format


def test_documented_answer_shapes_parse_into_the_right_models():
    """Answers in the shapes the REPL's README and REPL/JSON.lean document (optional fields left out)."""
    from proofsmith.provers.lean_repl import CommandResponse, ProofStepResponse, ReplError

    plain = parse_response({"env": 3})
    assert isinstance(plain, CommandResponse) and plain.env == 3 and plain.messages == [] and plain.sorries == []
    full = parse_response({"sorries": [{"proofState": 0, "pos": {"line": 1, "column": 29}, "goal": "x : Unit\n⊢ Nat",
                                        "endPos": {"line": 1, "column": 34}}],
                           "messages": [{"severity": "warning", "pos": {"line": 1, "column": 4},
                                         "endPos": None, "data": "declaration uses 'sorry'"}], "env": 0})
    assert isinstance(full, CommandResponse) and full.sorries[0].proofState == 0
    assert full.messages[0].severity == "warning" and full.messages[0].endPos is None
    step = parse_response({"proofState": 2, "goals": []})
    assert isinstance(step, ProofStepResponse) and step.goals == [] and step.proofStatus is None
    assert isinstance(parse_response({"message": "Unknown environment."}), ReplError)
    with pytest.raises(ReplFailure):
        parse_response({"env": "zero"})
    with pytest.raises(ReplFailure):
        parse_response([1, 2])


def test_pickled_environments_come_back(bwrap):
    from proofsmith.provers.lean_repl import CommandResponse, ReplProcess

    proc = ReplProcess(standin_toolchain(), bwrap, "import Mathlib", memory_mb=256, header_timeout_s=10)
    try:
        defined = proc.command("theorem keep : 1 = 1 := by rfl", proc.header_env, 5)
        assert isinstance(proc.pickle_env(defined.env, "/tmp/keep.olean"), CommandResponse)
        back = proc.unpickle_env("/tmp/keep.olean")
        assert isinstance(back, CommandResponse)
        printed = proc.command("#print axioms keep", back.env, 5)
        assert printed.messages[0].data == "'keep' does not depend on any axioms"
    finally:
        proc.close()


def test_memory_is_caught_from_outside_without_cgroups_too():
    """Only RLIMIT_AS as the hard cap (no cgroup): the outside monitor still reports `memory`, not a crash."""
    if os.geteuid() != 0:
        pytest.skip("the process sandbox needs root")
    from proofsmith.sandbox.process import ProcessSandbox

    box = ProcessSandbox(slots=2, use_cgroups=False, warn=False)
    with repl_pool(standin_toolchain(), box, memory_mb=200, recycle_mb=150, max_processes=1) as pool:
        v = run(lean_task(wall_s=10), "by simp -- standin: leak=400", pool)
        assert v.status == "unknown" and v.reason == "memory", v.diagnostics
        assert run(lean_task(), "by simp", pool).status == "verified"


def test_doctor_says_what_is_there_and_what_to_install(monkeypatch):
    from proofsmith.doctor import fstar_finding, lean_finding

    for var in ("PROOFSMITH_LEAN_REPL", "PROOFSMITH_LEAN_IMAGE", "PROOFSMITH_FSTAR", "PROOFSMITH_FSTAR_IMAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    lean_line, fstar_line = lean_finding(), fstar_finding()
    assert not lean_line.ok and "make images" in lean_line.detail and "PROOFSMITH_LEAN_REPL" in lean_line.detail
    assert not fstar_line.ok and "make images" in fstar_line.detail and "PROOFSMITH_FSTAR" in fstar_line.detail
    monkeypatch.setenv("PROOFSMITH_LEAN_REPL", "standin")
    monkeypatch.setenv("PROOFSMITH_FSTAR", "standin")
    assert "NOT Lean" in lean_finding().detail and not lean_finding().ok
    assert "NOT F*" in fstar_finding().detail and not fstar_finding().ok
    monkeypatch.delenv("PROOFSMITH_LEAN_REPL")
    monkeypatch.setenv("PROOFSMITH_LEAN_IMAGE", "proofsmith/lean:v4.15.0")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    image_line = lean_finding()
    assert not image_line.ok and "proofsmith/lean:v4.15.0" in image_line.detail


def test_by_on_the_line_after_the_statement_is_fine(pool):
    task = lean_task()
    v = run(task, "theorem add_zero' (n : Nat) : n + 0 = n :=\nby simp", pool)
    assert v.status == "verified", v.diagnostics
    assert run(task, "by\nsimp", pool).reason == "audit"  # a second line in column 0 is not
