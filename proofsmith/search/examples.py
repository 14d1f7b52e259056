"""Solved examples for few-shot prompts: for Coq, short proofs from the installed standard library.

The pool is every `coq-stdlib` theorem with a short, plain tactic proof,
minus the `coq-stdlib-mini` benchmark tasks; `examples_for` picks the ones
whose statements share the most identifiers with the task (word-overlap
vectors: the pool has thousands of statements, and this needs no model and
takes well under a second per task once the pool is loaded). A statement
identical to the task's is never shown. Languages without a pool get none.
"""

from __future__ import annotations

from functools import cache

from proofsmith.models.prompts import Example, ExampleSelector, WordEmbedder
from proofsmith.schema import Task

#: Longest reference proof (characters) put in the pool: small models copy style, not long scripts.
MAX_PROOF_CHARS = 300


@cache
def _coq_selector() -> ExampleSelector | None:
    from proofsmith.datasets.coq_library import LibraryError, load_split
    from proofsmith.provers.coq_audit import audit_script

    try:
        library = load_split("coq-stdlib")
        held_out = {t.id for t in load_split("coq-stdlib-mini")}
    except LibraryError:
        return None
    pool = [Example(statement=t.statement, solution=t.reference) for t in library
            if t.id not in held_out and t.reference and len(t.reference) <= MAX_PROOF_CHARS
            and len(t.statement) <= 300 and not t.options.get("closers") and audit_script(t.reference).ok]
    return ExampleSelector(pool, embedder=WordEmbedder()) if pool else None


def examples_for(task: Task, k: int = 2) -> list[Example]:
    """Up to `k` solved examples similar to `task` (none where its language has no pool here)."""
    if k <= 0 or task.language != "coq":
        return []
    selector = _coq_selector()
    return selector.select(task, k) if selector is not None else []
