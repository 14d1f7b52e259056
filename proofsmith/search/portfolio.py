"""Automation as a proposer: decision procedures and automation tried at every new proof state.

Before (and beside) the model's proposals, a step-level search tries a fixed
portfolio at each state it reaches for the first time: decision procedures
(`lia`, `nia`, `lra`, `ring`, `field`, `congruence`, `tauto`, ...), general
automation (`auto`, `eauto`, `easy`, `firstorder`, `intuition`), induction and
case-analysis shapes over the goal's own variables, and CoqHammer's `sauto` /
`hauto` / `hammer` where the task's environment loads Hammer. These are the
tactics Tactician and CoqHammer win with; a 0.5B model rarely writes them in
the right place.

A member that needs a library (`lia` needs `Coq.micromega.Lia`) is left out
where the environment has not loaded it, so no step is spent on "the
reference lia was not found". Each member runs under its own short timeout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from proofsmith.search.retrieval import first_goal


class Automation(BaseModel):
    """One portfolio member: a tactic, the libraries it needs (any of them loaded), its timeout."""

    model_config = ConfigDict(frozen=True)

    tactic: str
    #: library modules of which one must be loaded for the tactic to exist; empty: built in
    needs: tuple[str, ...] = ()
    timeout_s: float = 2.0


_LIA = ("Coq.micromega.Lia",)
_LRA = ("Coq.micromega.Lra",)
_RING = ("Coq.setoid_ring.Ring_base", "Coq.setoid_ring.Ring")
_FIELD = ("Coq.setoid_ring.Field_tac", "Coq.setoid_ring.Field")
#: `sauto`, `hauto` (no ATPs needed) come with Hammer's tactics library
_HAMMER_TACTICS = ("Hammer.Tactics.Tactics",)
_HAMMER = ("Hammer.Plugin.Hammer",)

#: Tried at every new Coq state, cheapest and most often useful first.
COQ_AUTOMATION: tuple[Automation, ...] = (
    Automation(tactic="reflexivity.", timeout_s=1),
    Automation(tactic="easy.", timeout_s=1),
    Automation(tactic="auto.", timeout_s=1),
    Automation(tactic="intros; lia.", needs=_LIA),
    Automation(tactic="intros; ring.", needs=_RING),
    Automation(tactic="intros; congruence.", timeout_s=1),
    Automation(tactic="tauto.", timeout_s=1),
    Automation(tactic="intros; discriminate.", timeout_s=1),
    Automation(tactic="intros; subst; auto.", timeout_s=1),
    Automation(tactic="intros; nia.", needs=_LIA),
    Automation(tactic="intros; lra.", needs=_LRA),
    Automation(tactic="intros; field.", needs=_FIELD),
    Automation(tactic="auto with arith.", timeout_s=1),
    Automation(tactic="eauto.", timeout_s=1),
    Automation(tactic="intuition.", timeout_s=1),
    Automation(tactic="firstorder.", timeout_s=1),
    Automation(tactic="intros; simpl in *; auto.", timeout_s=1),
    Automation(tactic="sauto.", needs=_HAMMER_TACTICS),
    Automation(tactic="hauto.", needs=_HAMMER_TACTICS),
    Automation(tactic="sauto lia: on.", needs=_HAMMER_TACTICS),
)

#: Seconds the portfolio may spend at one state (the hammer aside): at the root, and at any later state.
ROOT_SECONDS = 10.0
STATE_SECONDS = 5.0

#: `hammer` asks the ATPs (eprover, z3, cvc4) and is slow: tried once, at the root only, last. On 2 cores a
#: success took 13-18 s and a failure 37-39 s (ATPLimit 20 s, then reconstruction tries).
COQ_HAMMER = Automation(tactic="hammer.", needs=_HAMMER, timeout_s=45)
#: Share of the search's wall-clock time left that the hammer may take: on the stdlib it proves far more than the
#: model does in the same seconds (benchmarks/prove.py), so it gets most of it.
HAMMER_SHARE = 0.75
#: A hammer call given less than this many seconds cannot finish and is not started.
HAMMER_MIN_SECONDS = 10.0

#: Lean 4 (Mathlib) automation, for Lean step mode.
LEAN_AUTOMATION: tuple[Automation, ...] = (
    Automation(tactic="rfl"),
    Automation(tactic="decide"),
    Automation(tactic="omega"),
    Automation(tactic="simp"),
    Automation(tactic="norm_num"),
    Automation(tactic="linarith"),
    Automation(tactic="aesop", timeout_s=3),
)

#: Types whose variables are worth an induction (or case analysis) shape.
_INDUCTIVE = {"nat": "induction", "list": "induction", "bool": "destruct", "positive": "induction", "N": "destruct"}
_BINDER = re.compile(r"(?:\(|^|\s)((?:[A-Za-z_][\w']*\s+)*[A-Za-z_][\w']*)\s*:\s*([A-Za-z_][\w.]*)")


def goal_variables(goals: str) -> list[tuple[str, str]]:
    """(name, type head) of the first goal's hypotheses and leading `forall` binders, in order."""
    hyps, concl = first_goal(goals)
    found: list[tuple[str, str]] = []
    for line in hyps:
        m = re.match(r"([A-Za-z_][\w', ]*?)\s*:\s*([A-Za-z_][\w.]*)", line)
        if m:
            found += [(n.strip(), m.group(2)) for n in m.group(1).split(",")]
    m = re.match(r"forall\s+(.*?),", concl)
    if m:
        for names, typ in _BINDER.findall(m.group(1)):
            found += [(n, typ) for n in names.split()]
        if not found and m.group(1).strip():  # `forall n m, ...` without types
            found += [(n, "") for n in re.findall(r"[A-Za-z_][\w']*", m.group(1))]
    seen: set[str] = set()
    return [(n, t) for n, t in found if not (n in seen or seen.add(n))]


def _available(member: Automation, libraries: frozenset[str] | None) -> bool:
    return not member.needs or libraries is None or any(lib in libraries for lib in member.needs)


#: Tactics that close nothing but open the way: their states get the portfolio and retrieval of their own.
_PROGRESS = ("intros.", "split.", "simpl in *.", "subst.", "constructor.", "intros; f_equal.")
#: Words of a conclusion that are never a constant to unfold.
_NOT_UNFOLDABLE = frozenset({"forall", "exists", "fun", "match", "with", "end", "if", "then", "else", "let", "in",
                             "Type", "Prop", "Set", "True", "False", "not", "and", "or", "iff", "eq", "S", "O",
                             "true", "false", "nat", "bool", "list", "Z", "N", "Q", "R", "positive"})


def progress_tactics(goals: str) -> list[Automation]:
    """Steps that make progress without closing: `intros`, `split`, `unfold` of the conclusion's constants (Qed
    proofs in the stdlib often open with `unfold Nleb`), `destruct` of its hypotheses and variables."""
    _, conclusion = first_goal(goals)
    members = [Automation(tactic=t, timeout_s=1) for t in _PROGRESS]
    local = {n for n, _ in goal_variables(goals)}
    constants = []
    for name in re.findall(r"(?<![\w'.])([A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*)", conclusion):
        if name not in local and name not in _NOT_UNFOLDABLE and name not in constants and not name[0].isdigit():
            constants.append(name)
    members += [Automation(tactic=f"unfold {name}.", timeout_s=1) for name in constants[:3]]
    members += [Automation(tactic=f"intros; destruct {name}.", timeout_s=1) for name, _ in goal_variables(goals)[:4]]
    return members


def coq_closers(libraries: frozenset[str] | None) -> list[str]:
    """Tactics that finish the goals another tactic leaves (after an induction, after `apply L`), where loaded."""
    closers = ["auto", "congruence"] + (["lia"] if _available(Automation(tactic="", needs=_LIA), libraries) else [])
    if _available(Automation(tactic="", needs=_HAMMER_TACTICS), libraries):
        closers.append("sauto")
    return closers


def coq_portfolio(goals: str, libraries: frozenset[str] | None, *, root: bool = False,
                  hammer: bool = True) -> list[Automation]:
    """The Coq automation to try at a state with these goals, in this environment.

    `libraries` are the modules loaded (None: unknown, try everything);
    `hammer` False leaves CoqHammer's ATP call out (for a stdlib task it
    could reach the lemma under test through the modules Hammer loads).
    """
    members = [m for m in COQ_AUTOMATION if _available(m, libraries)]
    shapes = []
    closers = coq_closers(libraries)
    for name, typ in goal_variables(goals)[:3]:
        how = _INDUCTIVE.get(typ.split(".")[-1])
        if how is None:
            continue
        shapes += [Automation(tactic=f"{how} {name}; simpl; {closer}.", timeout_s=1) for closer in closers]
    members += shapes + progress_tactics(goals)
    if root and hammer and _available(COQ_HAMMER, libraries):
        members.append(COQ_HAMMER)
    return members


def portfolio(language: str, goals: str, libraries: frozenset[str] | None, *, root: bool = False,
              hammer: bool = True) -> list[Automation]:
    """The automation for a state of `language` (empty where there is none)."""
    if language == "coq":
        return coq_portfolio(goals, libraries, root=root, hammer=hammer)
    if language == "lean":
        return list(LEAN_AUTOMATION)
    return []


_REPLACE = "Replace the hammer tactic with:"
_DEPENDENCIES = re.compile(r"- dependencies:\s*(.+?)\s*(?:</infomsg>|$)", re.MULTILINE)


def hammer_reconstructions(output: str) -> list[str]:
    """Tactics that redo a successful `hammer` without the ATPs, best first, from what CoqHammer printed.

    CoqHammer 1.3.2 prints `srun eauto use: L.`, which its own grammar does
    not parse (`srun` wants its tactic in parentheses): the printed tactic is
    repaired, and `hauto`/`sauto` with the same dependencies follow it.
    """
    tactics = []
    at = output.rfind(_REPLACE)
    tail = output[at + len(_REPLACE):].split("</infomsg>", 1)[0].split("\n\n", 1)[0] if at >= 0 else ""
    printed = " ".join(tail.split()).rstrip(".")
    if printed:
        fixed = re.sub(r"^srun\s+(.+?)\s+use:", r"srun (\1) use:", printed)
        tactics += [f"{fixed}.", f"{printed}."]
    deps = _DEPENDENCIES.search(output)
    if deps:
        names = [d.strip().rsplit(".", 1)[-1] for d in deps.group(1).split(",") if d.strip()]
        uses = ", ".join(names)
        tactics += [f"hauto use: {uses}.", f"sauto use: {uses}."]
    return distinct(tactics)


def tactic_key(tactic: str) -> str:
    """A tactic with its layout normalised: two tactics with one key are one tactic."""
    return " ".join(tactic.split())


def distinct(tactics: Iterable[str]) -> list[str]:
    """Tactics in order, each once (compared by `tactic_key`)."""
    seen: set[str] = set()
    out = []
    for tactic in tactics:
        key = tactic_key(tactic)
        if key not in seen:
            seen.add(key)
            out.append(tactic)
    return out
