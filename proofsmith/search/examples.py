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
    pool, seen = [], set()
    for t in library:
        if (t.id in held_out or not t.reference or len(t.reference) > MAX_PROOF_CHARS or len(t.statement) > 300
                or t.options.get("closers") or not audit_script(t.reference).ok):
            continue
        # the same lemma stated in two modules would fill both example slots with one proof
        key = (" ".join(t.statement.split()[2:]), " ".join(t.reference.split()))
        if key not in seen:
            seen.add(key)
            pool.append(Example(statement=t.statement, solution=t.reference))
    return ExampleSelector(pool, embedder=WordEmbedder()) if pool else None


def examples_for(task: Task, k: int = 2) -> list[Example]:
    """Up to `k` solved examples similar to `task` (none where its language has no pool here)."""
    if k <= 0 or task.language != "coq":
        return []
    selector = _coq_selector()
    return selector.select(task, k) if selector is not None else []
