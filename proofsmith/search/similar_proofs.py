"""Proofs of similar lemmas earlier in the task's own file: tried whole at the root, shown to the model first.

Library files come in families (`Rlt_not_ge`, then `Rgt_not_ge`; a `_l`
lemma, then its `_r` twin) whose proofs differ in a name or two. Tactician
wins on the stdlib mostly by reusing what was done a few lemmas earlier;
Rango's retrieval of similar proofs adds 47 % over none. Everything here is
read from `task.context` alone, the text the checker compiles before the
statement, so nothing comes from the lemma's own proof or from later in its
file.
"""

from __future__ import annotations

import re
from functools import lru_cache

from proofsmith.models.prompts import Example, ExampleSelector, WordEmbedder
from proofsmith.provers.coq_audit import audit_script
from proofsmith.provers.coq_text import split_sentences
from proofsmith.schema import Task

#: Earlier proofs tried whole at the root of a search.
TRIED_AT_ROOT = 4
#: Longer proofs are rarely reusable as they stand and cost a long step to fail.
MAX_PROOF_CHARS = 600
#: Seconds each earlier proof may take as a step.
STEP_SECONDS = 3.0


@lru_cache(maxsize=64)
def _named_proofs(context: str) -> tuple[tuple[str, Example], ...]:
    """(short name, example) of every short Qed-ended proof in `context`, in file order."""
    from proofsmith.datasets.coq_library import scan_file

    found_proofs = []
    for found in scan_file(context):
        proof = found.reference.strip()
        if proof and len(proof) <= MAX_PROOF_CHARS and audit_script(proof).ok:
            example = Example(statement=found.statement.text.strip(), solution=proof)
            found_proofs.append((found.name.rsplit(".", 1)[-1], example))
    return tuple(found_proofs)


@lru_cache(maxsize=64)
def _selector(context: str) -> ExampleSelector | None:
    examples = [example for _, example in _named_proofs(context)]
    return ExampleSelector(examples, embedder=WordEmbedder()) if examples else None


def _task_selector(task: Task) -> ExampleSelector | None:
    return _selector(task.context) if task.language == "coq" and task.context else None


def file_proofs(task: Task) -> list[Example]:
    """The short Qed-ended proofs of the theorems in the task's own context, in file order (Coq only)."""
    selector = _task_selector(task)
    return list(selector.examples) if selector is not None else []


def similar_proofs(task: Task, k: int = TRIED_AT_ROOT) -> list[Example]:
    """The `k` earlier proofs in the task's own file whose statements share the most words with its statement."""
    selector = _task_selector(task)
    return selector.select(task, k) if selector is not None else []


def first_steps(examples: list[Example]) -> list[str]:
    """The first sentence of each multi-sentence proof: `rewrite !Z.leb_le.` opens a family's proofs even where
    the rest differs (the state it reaches gets the portfolio and retrieval of its own)."""
    steps = []
    for example in examples:
        sentences = split_sentences(example.solution).sentences
        if len(sentences) > 1 and sentences[0].text.strip() not in steps:
            steps.append(sentences[0].text.strip())
    return steps


#: Sentences of earlier proofs tried at a later state, at most.
MAX_SENTENCES = 12


def proof_sentences(examples: list[Example], limit: int = MAX_SENTENCES) -> list[str]:
    """The distinct sentences of these proofs past their first, in order, bullets left out."""
    steps: list[str] = []
    for example in examples:
        for sentence in split_sentences(example.solution).sentences[1:]:
            text = sentence.text.strip()
            if text and text not in steps and not re.fullmatch(r"[-+*{}]+", text):
                steps.append(text)
    return steps[:limit]


#: Earlier proofs rewritten by name analogy, tried whole at the root, at most.
MAX_ANALOGIES = 4
_NAME_PART = re.compile(r"[^_]+|_")


def _name_difference(theirs: str, ours: str) -> tuple[str, str] | None:
    """The differing middle of two lemma names, split at `_`: (`leb`, `ltb`) for `Z_of_nat_leb_iff` and
    `Z_of_nat_ltb_iff`; None unless both sides of it are non-empty and the names share a part."""
    a, b = _NAME_PART.findall(theirs), _NAME_PART.findall(ours)
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    old, new = "".join(a[head:len(a) - tail]).strip("_"), "".join(b[head:len(b) - tail]).strip("_")
    if not old or not new or head + tail == 0:
        return None
    return old, new


def _renamed(proof: str, old: str, new: str) -> str:
    """`proof` with `old` replaced where it is a whole part of a name (parts end at `_`, `.` and non-name
    characters); a part shorter than 3 characters only inside a longer name, so `l` is not a variable."""
    edge = r"[A-Za-z0-9']"
    pattern = rf"(?<!{edge}){re.escape(old)}(?!{edge})"
    if len(old) < 3:
        pattern = rf"(?:(?<=_){re.escape(old)}(?!{edge})|(?<!{edge}){re.escape(old)}(?=_))"
    return re.sub(pattern, lambda _: new, proof)


def name_analogies(task: Task, limit: int = MAX_ANALOGIES) -> list[str]:
    """Earlier proofs of the task's file rewritten by the difference of the names: the stdlib states families
    (`_l`/`_r`, `leb`/`ltb`, `Rlt`/`Rgt`) lemma after lemma, and their proofs differ the same way. The
    closest earlier lemmas first; only rewrites that changed the proof."""
    if task.language != "coq" or not task.context:
        return []
    ours = str(task.options.get("name") or "").rsplit(".", 1)[-1]
    if not ours:
        return []
    proofs: list[str] = []
    for name, example in reversed(_named_proofs(task.context)):
        difference = _name_difference(name, ours)
        if difference is None:
            continue
        rewritten = _renamed(example.solution, *difference)
        if rewritten != example.solution and rewritten not in proofs:
            proofs.append(rewritten)
            if len(proofs) >= limit:
                break
    return proofs


#: How many of the file's most used openings are tried at the root.
MAX_OPENINGS = 3


def frequent_openings(task: Task, limit: int = MAX_OPENINGS) -> list[str]:
    """The openings the task's file uses most (at least twice): a first sentence, or the first links of a
    `;` chain (`intros; qc.` from `intros; qc; apply Qmult_assoc.`). Tactician's lesson: a file proves its
    lemmas the same few ways. Plain `intros.` is left to the portfolio."""
    if task.language != "coq" or not task.context:
        return []
    counts: dict[str, int] = {}
    for _, example in _named_proofs(task.context):
        sentences = split_sentences(example.solution).sentences
        if not sentences:
            continue
        first = sentences[0].text.strip().rstrip(".").strip()
        links = _chain_links(first)
        openings = {"; ".join(links[:n]) + "." for n in range(1, len(links) + 1)}
        if len(sentences) > 1:
            openings.add(first + ".")
        for opening in openings:
            if opening not in ("intros.", "intro."):
                counts[opening] = counts.get(opening, 0) + 1
    ranked = sorted((c, -len(o), o) for o, c in counts.items() if c >= 2)
    return [o for _, _, o in reversed(ranked)][:limit]


def _chain_links(sentence: str) -> list[str]:
    """The top-level `;` links of a tactic sentence (none split inside brackets)."""
    links, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ";" and depth == 0:
            links.append(sentence[start:i].strip())
            start = i + 1
    links.append(sentence[start:].strip())
    return [link for link in links if link]
