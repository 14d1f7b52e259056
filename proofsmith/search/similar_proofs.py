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
def _selector(context: str) -> ExampleSelector | None:
    from proofsmith.datasets.coq_library import scan_file

    examples = []
    for found in scan_file(context):
        proof = found.reference.strip()
        if proof and len(proof) <= MAX_PROOF_CHARS and audit_script(proof).ok:
            examples.append(Example(statement=found.statement.text.strip(), solution=proof))
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
