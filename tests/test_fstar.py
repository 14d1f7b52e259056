"""The F* checker through the `--ide` stand-in (NOT F*: proofsmith/provers/standins/fstar_ide.py).

No F* toolchain exists on the build machines, so these tests drive the real
protocol layer, file-affinity pool, sandbox (bubblewrap), timeouts, crash
recovery and the Warning 335 rule against the stand-in, which speaks F*'s
IDE JSON. They show the checker handles F*'s answers soundly, not that any
real F* definition checks (tests/test_fstar_real.py does, where F* is
installed).
"""

from __future__ import annotations

import time

import pytest
from oneshot_sandbox import RunOnly

from proofsmith.provers import UnsupportedTask, fstar, validate_task
from proofsmith.provers import check as provers_check
from proofsmith.provers.fstar_ide import standin_toolchain
from proofsmith.schema import Candidate, Limits, Task

VAL = "val add_comm : a:nat -> b:nat -> Lemma (a + b == b + a)"


def fstar_task(id: str = "add_comm", *, context: str = "module Demo\nopen FStar.Mul\n", wall_s: float = 5,
               **options) -> Task:
    options = {"name": "Demo.add_comm", "vconfig": {"z3rlimit": 20, "initial_fuel": 2, "max_fuel": 8}, **options}
    return Task(id=id, language="fstar", kind="proof", statement=VAL, context=context, options=options,
                limits=Limits(wall_s=wall_s))


def cand(task: Task, text: str) -> Candidate:
    return Candidate(task_id=task.id, text=text)


@pytest.fixture
def make_pool(bwrap):
    pools = []

    def make(*flags: str, **kwargs):
        kwargs.setdefault("memory_mb", 512)
        kwargs.setdefault("max_processes", 2)
        pool = fstar.make_pool(standin_toolchain(*flags), bwrap, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


@pytest.fixture
def pool(make_pool):
    return make_pool()


def run(task: Task, text: str, pool, **kw):
    return fstar.check(task, cand(task, text), pool=pool, **kw)


def test_a_definition_f_star_accepts_is_verified(pool):
    v = run(fstar_task(), "let add_comm a b = ()", pool)
    assert v.status == "verified" and v.reward == 1.0, v.diagnostics
    assert v.manifest.toolchain["version"] == "stand-in (not F*)"
    assert v.manifest.options["vconfig"]["z3rlimit"] == 20


def test_an_f_star_error_is_refuted_with_its_line(pool):
    v = run(fstar_task(), "let add_comm a b =\n  wrong ()", pool)
    assert v.status == "refuted" and v.reason == "fstar_error"
    assert v.diagnostics[0].message.startswith("(Error 19)") and v.diagnostics[0].line == 2


def test_the_recorded_vconfig_is_replayed(pool):
    text = "let add_comm a b = () // standin: needs-rlimit=20"
    assert run(fstar_task(), text, pool).status == "verified"
    low = run(fstar_task("low", vconfig={"z3rlimit": 5}), text, pool)
    assert low.status == "refuted" and "rlimit" in low.diagnostics[0].message


def test_scaffolding_follows_the_dataset_harness():
    opts = fstar.FStarOptions(name="Demo.f", opens_and_abbrevs=[{"open": "FStar.Seq"}, {"abbrev": "L",
                              "full_module": "FStar.List.Tot"}], vconfig={"z3rlimit": 50, "z3seed": 3,
                              "smtencoding_elim_box": True, "z3refresh": False, "retry": True})
    text = fstar.scaffolding(opts)
    assert text.splitlines() == ["module L = FStar.List.Tot", "open FStar.Seq",
                                 '#push-options "--z3rlimit 50 --z3seed 3 --smtencoding.elim_box true"']


def test_file_affinity_keeps_the_prefix_pushed_between_checks(make_pool):
    pool = make_pool("--startup-delay", "0.8")
    t0 = time.monotonic()
    assert run(fstar_task(), "let add_comm a b = ()", pool).status == "verified"
    first = time.monotonic() - t0
    t1 = time.monotonic()
    assert run(fstar_task(), "let add_comm x y = ()", pool).status == "verified"
    assert pool.started == 1 and first >= 0.8 > time.monotonic() - t1
    other = fstar_task("other", context="module Other\n", name="Other.add_comm")
    assert run(other, "let add_comm a b = ()", pool).status == "verified"
    assert pool.started == 2


def test_the_dataset_mode_loads_the_checked_prefix(pool):
    task = fstar_task(context="", checked_prefix=True, file_name="Demo.fst",
                      opens_and_abbrevs=[{"open": "FStar.Mul"}])
    assert run(task, "let add_comm a b = ()", pool).status == "verified"
    assert run(task, "let add_comm a b = wrong", pool).status == "refuted"


EXPLOITS = {
    "admit": "let add_comm a b = admit ()",
    "assume": "let add_comm a b = assume (a + b == b + a)",
    "assume val": "assume val cheat : squash False\nlet add_comm a b = ()",
    "admitP": "let add_comm a b = admitP (a + b == b + a)",
    "magic": "let add_comm a b = magic ()",
    "admit_smt_queries pragma": '#push-options "--admit_smt_queries true"\nlet add_comm a b = wrong ()',
    "set-options": '#set-options "--lax"\nlet add_comm a b = ()',
    "expect_failure": "[@@expect_failure]\nlet add_comm a b = wrong ()",
    "a new val (statement changed)": "val add_comm : unit -> unit\nlet add_comm () = ()",
    "another definition only": "let helper = ()",
    "tactic admit": "let add_comm a b = assert True by (tadmit ())",
    "unclosed comment": "let add_comm a b = () (*",
    "qualified tadmit": "let add_comm a b = assert True by (FStar.Tactics.tadmit ())",
    "qualified admit": "let add_comm a b = Prims.admit ()",
    "set_options tactic": 'let add_comm a b = assert (a + b == b + a) by (set_options "--admit_smt_queries true")',
    "admit_termination": "let rec add_comm a b = admit_termination ()",
}


@pytest.mark.parametrize("name", list(EXPLOITS))
def test_every_exploit_is_rejected_by_the_lexical_check(pool, name):
    v = run(fstar_task(), EXPLOITS[name], pool)
    assert v.status == "refuted" and v.reason == "audit", (name, v.diagnostics)
    assert pool.started == 0


@pytest.mark.parametrize("text", ["let add_comm a b = admit ()", "let add_comm a b = assume (a + b == b + a)",
                                  "assume val cheat : squash False\nlet add_comm a b = ()"])
def test_audit_alone_warning_335_is_refuted(pool, text):
    v = run(fstar_task(), text, pool, precheck=False)
    assert v.status == "refuted" and v.reason == "assume", v.diagnostics
    assert v.diagnostics[0].message.startswith("Warning 335")


def test_a_hung_f_star_is_a_timeout_and_the_pool_recovers(pool):
    task = fstar_task(wall_s=1.5)
    v = run(task, "let add_comm a b = () (* standin: hang *)", pool)
    assert v.status == "unknown" and v.reason == "timeout"
    assert run(task, "let add_comm a b = ()", pool).status == "verified"


@pytest.mark.parametrize("directive", ["crash", "garbage"])
def test_a_crash_is_retried_once_then_unknown(pool, directive):
    v = run(fstar_task(), f"let add_comm a b = () (* standin: {directive} *)", pool)
    assert v.status == "unknown" and v.reason == "crash", v.diagnostics
    assert pool.started == 2
    assert run(fstar_task(), "let add_comm a b = ()", pool).status == "verified"


def test_an_f_star_that_dies_between_checks_is_replaced(make_pool):
    # a fresh process answers context + push + pop, a warm one push + pop: the 6th query is never answered
    pool = make_pool("--die-after", "5")
    assert run(fstar_task(), "let add_comm a b = ()", pool).status == "verified"
    assert run(fstar_task(), "let add_comm x y = ()", pool).status == "verified"
    v = run(fstar_task(), "let add_comm u v = ()", pool)
    assert v.status == "verified", v.diagnostics
    assert pool.started == 2


def test_memory_past_the_limit_is_unknown_memory(make_pool):
    pool = make_pool(memory_mb=200, recycle_mb=150)
    v = run(fstar_task(wall_s=10), "let add_comm a b = () (* standin: leak=400 *)", pool)
    assert v.status == "unknown" and v.reason == "memory", v.diagnostics


@pytest.mark.parametrize(("text", "status", "reason"), [
    ("let add_comm a b = ()", "verified", None),
    ("let add_comm a b = wrong ()", "refuted", "fstar_error"),
    ("let add_comm a b = admit ()", "refuted", "assume"),
    ("let add_comm a b = () (* standin: crash *)", "unknown", "crash"),
])
def test_one_shot_runs_give_the_same_verdicts(bwrap, text, status, reason):
    task = fstar_task(wall_s=3)
    v = fstar.check(task, cand(task, text), sandbox=RunOnly(bwrap), toolchain=standin_toolchain(), precheck=False)
    assert (v.status, v.reason) == (status, reason), v.diagnostics


def test_without_f_star_validate_names_what_to_install(monkeypatch):
    monkeypatch.delenv("PROOFSMITH_FSTAR", raising=False)
    monkeypatch.delenv("PROOFSMITH_FSTAR_IMAGE", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    problem = validate_task(fstar_task())
    assert problem is not None and "\n" not in problem and "make images" in problem
    with pytest.raises(UnsupportedTask):
        provers_check(fstar_task(), cand(fstar_task(), "let add_comm a b = ()"))


def test_the_environment_points_the_checker_at_the_standin(monkeypatch, bwrap):
    monkeypatch.setenv("PROOFSMITH_FSTAR", "standin")
    assert validate_task(fstar_task()) is None
    v = provers_check(fstar_task(), cand(fstar_task(), "let add_comm a b = ()"), sandbox="bwrap", use_cache=False)
    assert v.status == "verified" and v.manifest.toolchain["fstar"].startswith("stand-in")
