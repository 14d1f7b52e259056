"""The prover's proposers on real Coq: automation portfolio, CoqHammer, grounded lemma names, no repeated work.

Every step runs in real coqtop sessions in the bwrap sandbox and every found
proof is confirmed by `coqc` from scratch. The language model is replaced by
`ScriptedPolicy` only where a test is about what the search does with the
model's proposals; the user-file test runs the real default model.
"""

from __future__ import annotations

from collections import Counter

import shutil
from pathlib import Path

import pytest
from coq_tasks import ADD_0_R
from search_doubles import FAIL, ScriptedPolicy

from proofsmith.datasets.coq_library import task_from_file
from proofsmith.schema import Limits, Task
from proofsmith.search import Beam, Budget, search
from proofsmith.provers.coq_dependencies import forbidden_libraries, hammer_libraries, library_needs
from proofsmith.search.checker import SearchChecker, hammer_allowed
from proofsmith.search.mcts import MCTS
from proofsmith.search.portfolio import coq_portfolio, goal_variables, hammer_reconstructions, progress_tactics
from proofsmith.search.retrieval import lemma_names, search_commands
from proofsmith.search.similar_proofs import (
    _name_difference,
    _renamed,
    file_proofs,
    first_steps,
    frequent_openings,
    name_analogies,
    similar_proofs,
)
from proofsmith.search import space
from proofsmith.search.space import at_least_as_hard
from proofsmith.search.trace import TraceWriter
from proofsmith.steps import goal_list

USER_TEN = Path(__file__).parents[1] / "proofsmith" / "datasets" / "data" / "user_ten.v"


@pytest.fixture(scope="module")
def coq(bwrap_or_skip) -> None:
    if shutil.which("coqtop") is None:
        pytest.skip("Coq is not installed (apt-get install coq)")


def _checker(**kwargs) -> SearchChecker:
    return SearchChecker(max_sessions=2, **kwargs)


def _nodes(trace: TraceWriter):
    return [e for e in trace.events if e.event == "node"]


# --------------------------------------------------------------------------- pure parts


def test_goal_variables_reads_hypotheses_and_leading_binders():
    goals = "1 goal\n  \n  n, m : nat\n  l : list A\n  ============================\n  forall (b : bool) k, n = m"
    assert goal_variables(goals) == [("n", "nat"), ("m", "nat"), ("l", "list"), ("b", "bool")]


def test_portfolio_offers_only_what_the_environment_loads():
    goals = "1 goal\n  \n  ============================\n  forall n : nat, n + 0 = n"
    bare = [m.tactic for m in coq_portfolio(goals, frozenset({"Coq.Init.Prelude"}), root=True)]
    assert "intros; lia." not in bare and "sauto." not in bare and "hammer." not in bare
    assert "induction n; simpl; auto." in bare and "induction n; simpl; lia." not in bare
    with_lia = [m.tactic for m in coq_portfolio(goals, frozenset({"Coq.micromega.Lia"}), root=True)]
    assert "intros; lia." in with_lia and "induction n; simpl; lia." in with_lia
    hammer = frozenset({"Hammer.Tactics.Tactics", "Hammer.Plugin.Hammer"})
    at_root = [m.tactic for m in coq_portfolio(goals, hammer, root=True)]
    assert "sauto." in at_root and "hammer." in at_root
    assert "hammer." not in [m.tactic for m in coq_portfolio(goals, hammer, root=False)]
    assert "hammer." not in [m.tactic for m in coq_portfolio(goals, hammer, root=True, hammer=False)]


def test_progress_tactics_unfold_the_conclusions_constants_and_destruct_its_variables():
    goals = "1 goal\n  \n  a, b : N\n  H : Nleb b a = false\n  ============================\n  Nleb a b = true"
    tactics = [m.tactic for m in progress_tactics(goals)]
    assert "unfold Nleb." in tactics and "intros." in tactics
    assert "intros; destruct H." in tactics and "intros; destruct a." in tactics
    assert not any(t.startswith("unfold") and (" a." in t or " true." in t) for t in tactics)


def test_hammer_reconstruction_is_repaired_to_parse_and_falls_back_to_its_dependencies():
    printed = ("<infomsg>- dependencies: Lists.List.rev_app_distr</infomsg>\n<infomsg>Replace the hammer tactic "
               "with:\n\tsrun eauto use: rev_app_distr.\n</infomsg>")
    assert hammer_reconstructions(printed) == ["srun (eauto) use: rev_app_distr.", "srun eauto use: rev_app_distr.",
                                               "hauto use: rev_app_distr.", "sauto use: rev_app_distr."]
    assert hammer_reconstructions("<infomsg>Replace the hammer tactic with: sfirstorder </infomsg>\nNo more goals.") \
        == ["sfirstorder."]
    assert hammer_reconstructions("Hammer failed") == []


def test_search_commands_use_the_goal_as_a_pattern_and_skip_bare_notations():
    goals = "1 goal\n  \n  n : nat\n  ============================\n  n + 0 = n"
    assert search_commands(goals) == ["Search (_ + 0 = _)."]
    chain = "1 goal\n  \n  ============================\n  forall a b : nat, a <= b -> a <= S b"
    # the premises too, then the conclusion alone
    assert search_commands(chain) == ["Search (_ <= _ -> _ <= S _).", "Search (_ <= S _)."]
    bare = "1 goal\n  \n  ============================\n  forall a b c : nat, a <= b -> b <= c -> a <= c"
    # `_ <= _` alone would list hundreds of lemmas; with its premises it pins down transitivity
    assert search_commands(bare) == ["Search (_ <= _ -> _ <= _ -> _ <= _)."]
    mono = "1 goal\n  \n  n, m, p, q : Z\n  ============================\n  n <= m -> p <= q -> n + p <= m + q"
    assert search_commands(mono) == ["Search (_ <= _ -> _ <= _ -> _ + _ <= _ + _).", "Search (_ + _ <= _ + _)."]
    lists = "1 goal\n  \n  l : list nat\n  ============================\n  length (rev l) = length l"
    assert search_commands(lists) == ["Search (length (rev _) = length _).", "Search length rev."]
    # libraries the proof may not use are left out of every answer
    assert search_commands(lists, outside=["Coq.Lists.List", "A.B"]) == [
        "Search (length (rev _) = length _) outside A.B Coq.Lists.List.", "Search length rev outside A.B Coq.Lists.List."]


def test_a_function_argument_becomes_a_hole_in_the_search_pattern():
    goals = ("1 goal\n  \n  A, B, C : Type\n  f : A -> B\n  g : B -> C\n  l : list A\n  ============================\n"
             "  map g (map f l) = map (fun x : A => g (f x)) l")
    # before, `fun` made the goal no pattern at all, and `Search map` buried `map_map` under map's other lemmas
    assert search_commands(goals) == ["Search (map _ (map _ _) = map _ _).", "Search map."]
    nested = "1 goal\n  \n  ============================\n  F (fun x => (fun y => y) x) = G (fun z => (z)) 3"
    assert search_commands(nested)[0] == "Search (F _ = G _ 3)."


def test_lemma_names_leaves_out_local_and_introduced_names():
    goals = "1 goal\n  \n  H_le : n <= m\n  ============================\n  n <= S m"
    tactic = "intros x H_x. apply Z.lt_invented_le; rewrite <- Nat.add_0_r in H_le; apply H_x; apply le_S"
    assert lemma_names(tactic, goals) == ["Z.lt_invented_le", "Nat.add_0_r", "le_S"]


def test_a_state_at_least_as_hard_as_an_ancestor_is_recognised():
    parent = goal_list("1 goal\n  \n  n : nat\n  H : n = 0\n  ============================\n  n + 0 = n")
    cleared = goal_list("1 goal\n  \n  n : nat\n  ============================\n  n + 0 = n")
    stronger = goal_list("1 goal\n  \n  n : nat\n  H : n = 0\n  H0 : 0 = n\n  ============================\n  n + 0 = n")
    assert at_least_as_hard(cleared, parent)
    assert at_least_as_hard(parent, parent)
    assert not at_least_as_hard(stronger, parent)
    assert not at_least_as_hard(goal_list("No more goals."), parent)


# --------------------------------------------------------------------------- on real Coq


def test_automation_proves_add_0_r_before_the_model_is_asked(coq):
    policy = ScriptedPolicy([FAIL] * 8)
    with _checker() as checker:
        result = search(ADD_0_R, policy, strategy=MCTS(), budget=Budget(model_calls=8), checker=checker)
    assert result.solved and result.verdict is not None and result.verdict.status == "verified"
    assert result.spend.model_calls == 0 and policy.requests == []
    assert result.verdict.manifest.checker == "coq"  # confirmed by coqc from scratch
    assert result.stats["automation_steps"] >= 1


#: automation reaches new states here (intros, simpl, induction on a and b) but never writes the witness
SEVEN = Task(id="seven", language="coq", kind="proof", context="",
             statement="Lemma seven : forall a b : nat, a + b = b + a -> exists k, k * 7 = 42 + 0 * a.",
             limits=Limits(wall_s=20), options={"name": "seven"})


@pytest.mark.parametrize("lead", [0.0, 1000.0])
def test_automation_that_keeps_finding_states_cannot_starve_the_model_past_its_lead(coq, monkeypatch, lead):
    """Past `AUTOMATION_LEAD_SECONDS` a new state asks the model beside automation's children.

    With the lead spent at once (0 s) the model's `exists 6.` is tried at the first state after `intros`, and the
    proof closes; with a lead the search never spends (the behaviour before the lead existed), the model is
    deferred at every state automation reaches and is asked only where the witness cannot be written.
    """
    monkeypatch.setattr(space, "AUTOMATION_LEAD_SECONDS", lead)
    policy = ScriptedPolicy(lambda prompt: ["exists 6.", "lia."])
    with _checker() as checker:
        result = search(SEVEN, policy, strategy=MCTS(), budget=Budget(model_calls=32, wall_s=20), checker=checker)
    if lead == 0.0:
        assert result.solved and result.verdict is not None and result.verdict.status == "verified"
        assert result.candidate is not None and "exists 6." in result.candidate.steps
        assert result.stats["model_beside_automation"] >= 1 and "model_deferred" not in result.stats
    else:
        assert not result.solved and result.stats["model_deferred"] >= 1
        assert "model_beside_automation" not in result.stats


def test_retrieval_finds_the_lemma_of_a_goal_with_a_function_argument(coq):
    """`coq-textbook`'s map_twice: at 8372fd1 automation, retrieval and CoqHammer did not prove it in 60 s."""
    task = Task(id="map_twice", language="coq", kind="proof", context="Require Import List.\n",
                statement="Lemma map_twice : forall (A B C : Type) (f : A -> B) (g : B -> C) (l : list A),\n"
                          "  map g (map f l) = map (fun x => g (f x)) l.",
                limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048), options={"name": "map_twice"})
    policy = ScriptedPolicy([FAIL] * 4)
    with _checker() as checker:
        result = search(task, policy, strategy=MCTS(), budget=Budget(model_calls=4, wall_s=60), checker=checker)
    assert result.solved and result.verdict is not None and result.verdict.status == "verified"
    assert result.spend.model_calls == 0 and "map_map" in result.candidate.text


def test_without_automation_the_same_search_needs_the_model(coq):
    policy = ScriptedPolicy([FAIL] * 8)
    with _checker(automation=False, retrieval=False) as checker:
        result = search(ADD_0_R, policy, strategy=MCTS(), budget=Budget(model_calls=8), checker=checker)
    assert not result.solved and result.spend.model_calls == 8


def test_an_invented_lemma_name_costs_no_step_and_the_prompt_shows_real_lemmas(coq):
    policy = ScriptedPolicy(["apply Nat.add_zero_invented.", "apply Nat.add_zero_invented."])
    trace = TraceWriter(None)
    with _checker(automation=False) as checker:
        result = Beam(width=1, expand=2).run(ADD_0_R, policy, checker, None, Budget(model_calls=2), trace=trace)
    assert not result.solved
    assert result.spend.checker_calls == 0  # the name was looked up, not run
    assert result.stats["unknown_names"] == 1 and result.stats["duplicate_steps"] == 1
    [node] = _nodes(trace)
    assert node.status == "error" and "no lemma named Nat.add_zero_invented" in (node.error or "")
    # the root is `forall n : nat, n + 0 = n`: retrieval put the stdlib lemma and its type in the prompt
    assert "Lemmas that exist here" in policy.prompts[0] and "Nat.add_0_r : forall n : nat, n + 0 = n" \
        in policy.prompts[0]


def test_a_tactic_is_checked_once_per_state_and_failures_reach_the_prompt(coq):
    policy = ScriptedPolicy(lambda prompt: ["exact I."])
    with _checker(automation=False, retrieval=False) as checker:
        result = Beam(width=1, expand=1).run(ADD_0_R, policy, checker, None, Budget(model_calls=4))
    assert not result.solved and result.spend.model_calls == 4
    assert result.spend.checker_calls == 1 and result.stats["repeats_skipped"] == 3
    assert "exact I." in policy.prompts[-1] and "already failed here" in policy.prompts[-1]


def test_a_state_harder_than_one_on_its_path_is_pruned(coq):
    task = Task(id="le_hyp", language="coq", kind="proof", context="Require Import Arith.\n",
                statement="Theorem le_hyp : forall n : nat, n = 0 -> n + 0 = n.",
                limits=Limits(wall_s=60, cpu_s=60, memory_mb=2048), options={"name": "le_hyp"})
    script = {(): ["intros n H."], ("intros n H.",): ["clear H."]}

    def propose(prompt: str) -> list[str]:
        from search_doubles import steps_in

        return script.get(steps_in(prompt), [FAIL])

    policy = ScriptedPolicy(propose)
    trace = TraceWriter(None)
    with _checker(automation=False, retrieval=False) as checker:
        result = Beam(width=1, expand=1, max_depth=3).run(task, policy, checker, None, Budget(model_calls=3),
                                                          trace=trace)
    assert result.stats["pruned"] >= 1
    assert "clear H." not in [e.step for e in _nodes(trace) if e.status == "ok"]


def test_hammer_is_left_out_where_its_imports_load_the_tasks_own_library(coq):
    if not hammer_libraries():
        pytest.skip("CoqHammer is not installed (apt-get install libcoq-hammer)")
    assert "Coq.Bool.Bool" in hammer_libraries()
    bool_task = ADD_0_R.model_copy(update={"id": "stdlib:Coq.Bool.Bool.orb_negb_r"})
    hammered = bool_task.model_copy(update={"options": {**bool_task.options, "hammer": True}})
    # the ATPs would pick the compiled original, which the checker refuses: the search leaves the hammer out
    assert not hammer_allowed(bool_task)
    assert hammer_allowed(ADD_0_R) and forbidden_libraries(ADD_0_R) == frozenset()
    if library_needs():
        # a caller that sets the option anyway still gets the library rule
        assert "Coq.Bool.Bool" in (forbidden_libraries(hammered) or ())
    with _checker() as checker:
        result = search(bool_task, ScriptedPolicy([FAIL] * 2), strategy=MCTS(), checker=checker,
                        budget=Budget(model_calls=2, wall_s=30))
    assert result.stats.get("hammer_left_out") == 1 and "hammer_solved" not in result.stats


@pytest.mark.slow
def test_hammer_proof_is_replaced_by_its_reconstruction_and_checks_without_atps(coq, tmp_path):
    if not hammer_libraries() or shutil.which("eprover") is None:
        pytest.skip("CoqHammer or its ATPs are not installed (apt-get install libcoq-hammer eprover z3 cvc4)")
    source = tmp_path / "rev.v"
    source.write_text("Require Import List.\nTheorem rev_app : forall (A : Type) (l1 l2 : list A), "
                      "rev (l1 ++ l2) = rev l2 ++ rev l1.\nProof. Admitted.\n")
    task = task_from_file(str(source), "rev_app")
    task = task.model_copy(update={"options": {**task.options, "hammer": True}})
    policy = ScriptedPolicy([FAIL] * 4)
    with _checker(retrieval=False) as checker:
        checker.automation = True
        result = search(task, policy, strategy=MCTS(), budget=Budget(model_calls=4), checker=checker)
    assert result.solved and result.candidate is not None
    assert "hammer" not in result.candidate.text  # the ATP call is gone, its reconstruction is the proof
    # it waited for the root's children and ran before the model's first request
    assert result.stats.get("hammer_deferred") == 1 and result.spend.model_calls == 0
    assert result.verdict is not None and result.verdict.manifest.options.get("hammer") is True
    # the found proof compiles with plain coqc and no ATP reachable (an empty PATH)
    import subprocess

    proof = tmp_path / "found.v"
    proof.write_text(f"{task.context}\nFrom Hammer Require Import Hammer.\n{task.statement}\nProof.\n"
                     f"{result.candidate.text}\nQed.\n")
    run = subprocess.run([shutil.which("coqc"), "-q", str(proof)], cwd=tmp_path, env={"PATH": ""},
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


FAMILY = """Require Import Arith.
Definition secret (n : nat) := n * 3 + 7.
Lemma secret_ge : forall n, 7 <= secret n.
Proof. intros n. unfold secret. rewrite Nat.add_comm. apply Nat.le_add_r. Qed.
Lemma unrelated : forall b : bool, negb (negb b) = b.
Proof. destruct b; reflexivity. Qed.
Lemma secret_ge_twin : forall m, 7 <= secret (m + 1).
Proof. Admitted.
"""


def test_similar_proofs_come_from_the_context_only_most_similar_first(tmp_path):
    source = tmp_path / "family.v"
    source.write_text(FAMILY)
    task = task_from_file(str(source), "secret_ge_twin")
    assert [e.statement.split()[1] for e in file_proofs(task)] == ["secret_ge", "unrelated"]
    similar = similar_proofs(task)
    assert similar[0].solution.startswith("intros n. unfold secret.")
    assert first_steps(similar) == ["intros n."]
    earlier = task_from_file(str(source), "secret_ge")
    assert file_proofs(earlier) == []  # its own proof and what follows it are not in its context


def test_name_differences_are_whole_parts_of_the_names():
    assert _name_difference("Z_of_nat_leb_iff", "Z_of_nat_ltb_iff") == ("leb", "ltb")
    assert _name_difference("Rlt_not_ge", "Rgt_not_ge") == ("Rlt", "Rgt")
    assert _name_difference("Zpower_pos_1_l", "Zpower_pos_0_l") == ("1", "0")
    assert _name_difference("plus_comm", "mult_assoc") is None  # nothing shared: no family
    assert _name_difference("add_0_l", "add_0_l_comm") is None  # a longer name is no renaming
    # a short part is renamed only inside a longer name, so a variable `l` stays
    assert _renamed("intros l; apply Nat.add_0_l.", "l", "r") == "intros l; apply Nat.add_0_r."
    assert _renamed("rewrite Nat.leb_compare, leb_iff.", "leb", "ltb") == "rewrite Nat.ltb_compare, ltb_iff."


def test_name_analogies_and_openings_come_from_the_file_before_the_lemma():
    from proofsmith.datasets.coq_library import find_task

    ltb = find_task("coq-stdlib-mini", "stdlib:Coq.micromega.ZifyBool.Z_of_nat_ltb_iff")
    # the proof of Z_of_nat_leb_iff, two lemmas earlier, with leb -> ltb: the library's own proof of it
    assert " ".join(name_analogies(ltb)[0].split()) == ("rewrite Nat.ltb_compare. rewrite Z.ltb_compare. "
                                                        "rewrite Nat2Z.inj_compare. reflexivity.")
    qc = find_task("coq-stdlib-mini", "stdlib:Coq.QArith.Qcanon.Qcinv_mult_distr")
    assert frequent_openings(qc)[0] == "intros; qc."  # Qcanon opens most proofs with it
    assert "intros." not in frequent_openings(qc)


def test_a_name_analogy_proves_a_family_member_without_the_model(coq):
    from proofsmith.datasets.coq_library import find_task

    task = find_task("coq-stdlib-mini", "stdlib:Coq.micromega.ZifyBool.Z_of_nat_ltb_iff")
    policy = ScriptedPolicy([FAIL] * 4)
    with _checker(hammer=False) as checker:
        result = search(task, policy, strategy=MCTS(), checker=checker, budget=Budget(model_calls=4, wall_s=60))
    assert result.solved and result.verdict is not None and result.verdict.status == "verified"
    assert result.candidate is not None and "Nat.ltb_compare" in result.candidate.text
    assert result.spend.model_calls == 0


def test_an_earlier_proof_in_the_file_proves_its_twin_where_the_portfolio_does_not(coq, tmp_path):
    source = tmp_path / "family.v"
    source.write_text(FAMILY)
    task = task_from_file(str(source), "secret_ge_twin")
    with _checker(retrieval=False) as checker:
        result = search(task, ScriptedPolicy([FAIL] * 4), strategy=MCTS(), checker=checker,
                        budget=Budget(model_calls=4, wall_s=60))
    assert result.solved and result.verdict is not None and result.verdict.status == "verified"
    assert result.candidate is not None and "apply Nat.le_add_r" in result.candidate.text
    assert result.spend.model_calls == 0


@pytest.mark.slow
def test_hammer_on_a_reals_lemma_runs_every_atp_and_keeps_its_session(coq):
    """A stdlib Reals lemma: CoqHammer forks coqtop per ATP (the 2 GB session died mid-hammer) and runs cvc4 and
    z3 through Debian's `htimeout` (not on the sandbox's PATH, every cvc4/z3 call failed)."""
    if not hammer_libraries() or shutil.which("eprover") is None:
        pytest.skip("CoqHammer or its ATPs are not installed (apt-get install libcoq-hammer eprover z3 cvc4)")
    from proofsmith.datasets.coq_library import find_task

    task = find_task("coq-stdlib-mini", "stdlib:Coq.Reals.Rpower.exp_neq_0")
    assert hammer_allowed(task)
    task = task.model_copy(update={"options": {**task.options, "hammer": True}})
    with _checker() as checker:
        state = checker.open(task)
        result = checker.step(state, "hammer.", timeout_s=60)
    assert result.status == "ok" and result.solved, result.error
    assert "htimeout: not found" not in result.messages
    assert "Replace the hammer tactic with" in result.messages


@pytest.mark.slow
def test_the_ten_user_lemmas_are_proved_with_the_defaults(coq, tmp_path):
    from proofsmith.models import load_policy

    names = [line.split()[1] for line in USER_TEN.read_text().splitlines() if line.startswith(("Lemma ", "Theorem "))]
    assert len(names) == 10
    with load_policy("default") as policy, SearchChecker() as checker:
        for name in names:
            task = task_from_file(str(USER_TEN), name)
            result = search(task, policy, budget=Budget(model_calls=32, wall_s=60), checker=checker,
                            strategy=MCTS())
            assert result.solved, name
            assert result.verdict is not None and result.verdict.status == "verified"
            assert result.spend.wall_s < 60


def test_lean_step_mode_tries_the_lean_portfolio_first(tmp_path, monkeypatch, bwrap_or_skip):
    """Lean automation (omega, simp, decide, ...) through the Lean REPL stand-in (NOT Lean: its tactic rules are
    textual), so this shows the wiring: the portfolio's tactics reach the REPL before the model is asked."""
    monkeypatch.setenv("PROOFSMITH_LEAN_REPL", "standin")
    task = Task(id="two", language="lean", kind="proof", context="import Mathlib\n",
                statement="theorem two : 1 + 1 = 2", limits=Limits(wall_s=5))
    policy = ScriptedPolicy(["exact wrong"] * 4)
    with SearchChecker(sandbox="bwrap") as checker:
        result = search(task, policy, strategy=MCTS(), budget=Budget(model_calls=4), checker=checker)
    assert result.solved and result.candidate is not None and result.candidate.steps == ["rfl"]
    assert result.spend.model_calls == 0 and result.stats["automation_steps"] == 1


def test_a_lazy_policy_loads_its_model_only_when_asked():
    from proofsmith.models import load_policy

    with load_policy("small", lazy=True) as policy:
        assert not policy.loaded and policy.name == "smollm2-135m"
        [proposal] = policy.propose("def add(a, b):", n=1, max_tokens=4, temperature=0.0)
        assert policy.loaded and policy.usage.calls == 1 and policy.usage.prompt_tokens > 0
        assert proposal.n_tokens >= 1


CHEAT = """Require Import List.
Axiom cheat : forall l : list nat, rev (rev l) = l.
Hint Resolve cheat : core.
Lemma rev_twice : forall l : list nat, rev (rev l) = l.
Proof. intros l. apply rev_involutive. Qed.
"""


def test_a_closing_tactic_whose_proof_is_refuted_is_a_failed_tactic_checked_once(coq, tmp_path):
    """`auto` closes the goal through a context axiom the reference does not use: Qed's assumption check refutes
    it. Before, that finished-but-refuted child was returned first at every restart and checked again and again,
    and the state's later tactics never ran."""
    source = tmp_path / "cheat.v"
    source.write_text(CHEAT)
    task = task_from_file(str(source), "rev_twice")
    trace = TraceWriter(None)
    with _checker() as checker:
        result = search(task, ScriptedPolicy([FAIL] * 4), strategy=MCTS(), checker=checker,
                        budget=Budget(model_calls=4, wall_s=60), on_event=trace.events.append)
    assert result.solved and result.verdict is not None and result.verdict.status == "verified"
    assert "cheat" not in (result.candidate.text if result.candidate else "")
    checks = [e for e in trace.events if e.event == "check"]
    assert any(e.reason == "axioms" for e in checks)
    # every finished proof is checked once: none is paid for again at a restart (it was, up to 32 times)
    per_node = Counter(e.node for e in checks)
    assert max(per_node.values()) == 1, per_node
