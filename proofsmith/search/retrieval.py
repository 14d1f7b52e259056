"""Grounded lemma names: lemmas that fit a Coq goal, looked up in the live environment.

A small model invents lemma names (`Z.sub_0_minus_le`, `Z.lt_minus_le_cases`)
and tries them again and again. Two cures, both asked of the session the
search is already in (so what is found is exactly what the proof can use):

- `search_commands` turns the first goal into Coq `Search` queries: the
  conclusion as a pattern (local names replaced by `_`, so `n + 0 = n`
  finds `Nat.add_0_r`), then its constants; `parse_search` and `rank` turn
  the answers into a few lemmas with their types for the prompt, and
  `lemma_tactics` into tactics the portfolio tries (`apply L`, `rewrite L`).
- `lemma_names` finds the lemma-like names a proposed tactic uses; a name
  `Locate` does not know is rejected before any step is spent on it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from pydantic import BaseModel, ConfigDict

from proofsmith.steps import goal_list

#: Lemmas shown in a step prompt and tried by the portfolio.
SHOWN_LEMMAS = 4
_KEYWORDS = {"forall", "exists", "fun", "match", "with", "end", "if", "then", "else", "let", "in", "as", "return",
             "Type", "Prop", "Set", "True", "False", "S", "O"}
_OPERATORS = re.compile(r"[-+*/<>=~^&|]+|->")
_IDENT = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")


class Lemma(BaseModel):
    """A constant found by `Search`: its name and its type as Coq printed it."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str


def first_goal(goals: str) -> tuple[list[str], str]:
    """(hypothesis lines, conclusion) of the first goal of a Coq goal display; ([], "") for any other text."""
    parsed = goal_list(goals) if "============================" in goals else []
    return (list(parsed[0][0]), parsed[0][1]) if parsed else ([], "")


def local_names(goals: str) -> set[str]:
    """Hypothesis names and the conclusion's bound names: what `Locate` cannot know."""
    hyps, conclusion = first_goal(goals)
    names = {n.strip() for h in hyps for n in h.split(":", 1)[0].split(",")}
    for binder in re.findall(r"(?:forall|exists|fun)\s+(.*?)(?:,|=>)", conclusion):
        names |= set(re.findall(r"[A-Za-z_][\w']*", binder))
    return names


def search_commands(goals: str, outside: Collection[str] = ()) -> list[str]:
    """Coq `Search` commands for lemmas that fit the first goal (pattern first, then its constants).

    `outside`: libraries whose lemmas the proof may not use (`coq_dependencies.forbidden_libraries`), left
    out of every answer so they do not crowd out usable ones.
    """
    _, conclusion = first_goal(goals)
    if not conclusion:
        return []
    local = local_names(goals)
    whole = re.sub(r"^(?:forall\s+.*?,\s*)+", "", conclusion) if conclusion.startswith("forall") else conclusion
    # `a -> b -> c`: the lemma we want ends in `c`, and one with exactly these premises is better still
    arrows = _top_level_arrows(whole)
    body = arrows[-1]
    commands = []
    for text in ([whole] if len(arrows) > 1 else []) + [body]:
        text = _holes_for_functions(text)
        if len(text) >= 200 or re.search(r"\b(forall|exists|fun|match)\b", text):
            continue
        pattern = _IDENT.sub(lambda m: "_" if m.group(0) in local else m.group(0), text)
        # `_ <= _` alone matches hundreds of lemmas: a pattern must pin down a constant, a number or two
        # operators (`_ + _ <= _ + _`); `..` would make coqtop skip the next command, the session's nonce with it
        specific = re.search(r"[A-Za-z0-9]", pattern.replace("_", "")) or len(_OPERATORS.findall(pattern)) >= 2
        if specific and ".." not in pattern:
            commands.append(f"Search ({pattern}).")
    constants = []
    for name in _IDENT.findall(body):
        if name not in local and name not in _KEYWORDS and name not in constants and not name[0].isdigit():
            constants.append(name)
    if constants:
        commands.append("Search " + " ".join(constants[:3]) + ".")
    if outside:
        restriction = " outside " + " ".join(sorted(outside))
        commands = [c[:-1] + restriction + "." for c in commands]
    return commands


def _holes_for_functions(text: str) -> str:
    """`text` with each parenthesised `(fun ... => ...)` replaced by `_`, so it can be a `Search` pattern.

    `map g (map f l) = map (fun x : A => g (f x)) l` becomes `map g (map f l) = map _ l`, which finds
    `map_map`; a `Search` pattern cannot bind names, so without this the goal had no pattern query at all.
    """
    out, i = [], 0
    for m in re.finditer(r"\(\s*fun\b", text):
        if m.start() < i:
            continue  # inside a function already replaced
        depth, j = 0, m.start()
        while j < len(text):
            depth += text[j] == "("
            depth -= text[j] == ")"
            j += 1
            if depth == 0:
                break
        if depth:
            return text  # unbalanced: leave it to the caller's check
        out += [text[i:m.start()], "_"]
        i = j
    return "".join(out) + text[i:]


def _top_level_arrows(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and text.startswith(" -> ", i):
            parts.append(text[start:i])
            start = i + 4
    return [*parts, text[start:]]


def parse_search(text: str) -> list[Lemma]:
    """The `name: type` entries of Coq's `Search` output (types may run over several lines)."""
    lemmas: list[Lemma] = []
    name, lines = None, []
    for line in text.splitlines():
        m = re.match(r"([A-Za-z_][\w'.]*):\s?(.*)$", line)
        if m and not line.startswith(" "):
            if name is not None:
                lemmas.append(Lemma(name=name, type=" ".join(" ".join(lines).split())))
            name, lines = m.group(1), [m.group(2)]
        elif name is not None:
            lines.append(line)
    if name is not None:
        lemmas.append(Lemma(name=name, type=" ".join(" ".join(lines).split())))
    return lemmas


def rank(found: Sequence[Sequence[Lemma]], goals: str, k: int = SHOWN_LEMMAS) -> list[Lemma]:
    """The best `k` lemmas: earlier queries first (the pattern match), then shorter types; hypotheses left out."""
    local = local_names(goals)
    seen: set[str] = set()
    out: list[Lemma] = []
    for group in found:
        for lemma in sorted(group, key=lambda lem: len(lem.type)):
            if lemma.name in local or lemma.name in seen:
                continue
            seen.add(lemma.name)
            out.append(lemma)
    return out[:k]


def lemma_tactics(lemmas: Sequence[Lemma], closers: Sequence[str] = ("auto",)) -> list[str]:
    """Tactics that use each lemma the plain ways: apply it (its side goals left to each closer), rewrite with it.

    `apply Z.div_le_compat_l` leaves `0 < q <= r` where the hypothesis says `0 < q < r`: `lia` closes it,
    `auto` does not, so every closer the environment has gets its try.
    """
    tactics = []
    for lemma in lemmas:
        tactics += [f"intros; apply {lemma.name}.",
                    *(f"intros; apply {lemma.name}; {closer}." for closer in closers),
                    f"intros; eapply {lemma.name}; eauto.",
                    f"intros; rewrite {lemma.name}; auto.", f"intros; rewrite <- {lemma.name}; auto."]
    return tactics


_USES = re.compile(r"\b(?:e?apply|e?rewrite|exact|unfold|pose\s+proof|specialize|now\s+rewrite)\s+"
                   r"(?:<-\s*|->\s*|\(\s*)*@?([A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*)")
_BINDS = re.compile(r"\b(?:intros?|as|fun|forall|set|pose|remember|assert|destruct|induction|case)\s+([^.;]*)")


def lemma_names(tactic: str, goals: str) -> list[str]:
    """Lemma-like names (with `_` or `.`) a tactic applies or rewrites with that are not local to the proof."""
    local = local_names(goals)
    for segment in _BINDS.findall(tactic):
        local |= set(re.findall(r"[A-Za-z_][\w']*", segment))
    names = []
    for name in _USES.findall(tactic):
        if name not in local and ("_" in name or "." in name) and name not in names:
            names.append(name)
    return names


def unknown_name(located: str) -> bool:
    """Whether a `Locate` answer says the name does not exist here."""
    return located.startswith("No object of")
