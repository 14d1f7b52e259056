"""Solved examples for few-shot prompts: for Coq, short proofs from the installed standard library.

The pool is every `coq-stdlib` theorem with a short, plain tactic proof,
minus the `coq-stdlib-mini` benchmark tasks. `examples_for` first keeps the
examples over the task's own types (a nat goal gets proofs from
`Coq.Arith`, not rational-number lemmas; `task_domains` reads the types off
the statement), then picks the ones whose statements share the most
identifiers with the task (word-overlap
vectors: the pool has thousands of statements, and this needs no model and
takes well under a second per task once the pool is loaded). A statement
identical to the task's is never shown. Languages without a pool get none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from functools import cache
from pathlib import Path

from proofsmith.models.prompts import Example, ExampleSelector, WordEmbedder
from proofsmith.schema import Task

#: Longest reference proof (characters) put in the pool: small models copy style, not long scripts.
MAX_PROOF_CHARS = 300


#: A domain per stdlib directory: examples from it are shown for goals over the same types.
_MODULE_DOMAINS = (("Coq.ZArith", "Z"), ("Coq.QArith", "Q"), ("Coq.Reals", "R"), ("Coq.NArith", "N"),
                   ("Coq.PArith", "positive"), ("Coq.Lists", "list"), ("Coq.Bool", "bool"), ("Coq.Arith", "nat"),
                   ("Coq.Init", "nat"), ("Coq.Logic", "logic"))
#: What a statement over each domain looks like (nat is what is left: Coq's default for numerals).
_TEXT_DOMAINS = (("Z", r"%Z|\bZ\.\w|:\s*Z\b|\bZ\)"), ("Q", r"%Q|\bQ[a-z]\w*|:\s*Q\b|==\s"),
                 ("R", r"%R|\bR[a-z]\w*|:\s*R\b|\bIZR\b|\bINR\b"), ("N", r"%N|\bN\.\w|:\s*N\b"),
                 ("positive", r"%positive|\bPos\.\w|:\s*positive\b"),
                 ("list", r"\blist\b|\blength\b|\+\+|\brev\b|\bmap\b|\bIn\b"),
                 ("bool", r"\bbool\b|\bnegb\b|\bandb\b|\borb\b|&&|\|\||\btrue\b|\bfalse\b"),
                 ("logic", r"/\\|\\/|<->|~|\bexists\b|\bProp\b"))


def module_domain(task_id: str) -> str | None:
    """The domain of a stdlib task by its module (`stdlib:Coq.ZArith...` is Z), or None."""
    module = task_id.removeprefix("stdlib:")
    return next((domain for prefix, domain in _MODULE_DOMAINS if module.startswith(prefix + ".")), None)


def task_domains(task: Task) -> frozenset[str]:
    """The types a task's statement is about (nat when no other shows), for choosing few-shot examples."""
    found = {domain for domain, pattern in _TEXT_DOMAINS if re.search(pattern, task.statement)}
    own = module_domain(task.id)
    if own:
        found.add(own)
    if not found - {"list", "bool", "logic"}:
        found.add("nat")
    return frozenset(found)


def _pool_file() -> Path | None:
    """Where the pool is kept between runs: keyed by the installed Coq and the code that builds the pool."""
    from proofsmith.datasets import coq_library
    from proofsmith.provers.coq import coq_version
    from proofsmith.verdict_cache import cache_dir

    version = coq_version()
    if not version:
        return None
    code = b"".join(Path(m.__file__).read_bytes() for m in (coq_library, sys.modules[__name__]) if m.__file__)
    key = hashlib.sha256(version.encode() + code).hexdigest()[:16]
    return cache_dir() / f"coq-examples-{key}.json"


@cache
def _coq_pool() -> list[tuple[str | None, Example]]:
    # reading every library file takes tens of seconds: a prover process should pay that once per install
    path = _pool_file()
    if path is not None and path.is_file():
        try:
            return [(d, Example(statement=s, solution=r)) for d, s, r in json.loads(path.read_text())]
        except (OSError, ValueError, TypeError):
            pass
    pool = _read_pool()
    if path is not None and pool:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps([[d, e.statement, e.solution] for d, e in pool]))
            tmp.replace(path)
        except OSError:
            pass  # a read-only cache directory costs the next run the same read, nothing else
    return pool


def _read_pool() -> list[tuple[str | None, Example]]:
    from proofsmith.datasets.coq_library import LibraryError, load_split
    from proofsmith.provers.coq_audit import audit_script

    try:
        library = load_split("coq-stdlib")
        held_out = {t.id for t in load_split("coq-stdlib-mini")}
    except LibraryError:
        return []
    pool, seen = [], set()
    for t in library:
        if (t.id in held_out or not t.reference or len(t.reference) > MAX_PROOF_CHARS or len(t.statement) > 300
                or t.options.get("closers") or not audit_script(t.reference).ok):
            continue
        # the same lemma stated in two modules would fill both example slots with one proof
        key = (" ".join(t.statement.split()[2:]), " ".join(t.reference.split()))
        if key not in seen:
            seen.add(key)
            pool.append((module_domain(t.id), Example(statement=t.statement, solution=t.reference)))
    return pool


@cache
def _coq_selector(domains: frozenset[str]) -> ExampleSelector | None:
    pool = _coq_pool()
    mine = [example for domain, example in pool if domain in domains]
    # too few of the task's own kind: the whole pool, as before domains were known
    chosen = mine if len(mine) >= 8 else [example for _, example in pool]
    return ExampleSelector(chosen, embedder=WordEmbedder()) if chosen else None


def examples_for(task: Task, k: int = 2) -> list[Example]:
    """Up to `k` solved examples similar to `task`: the most similar proof earlier in its own file first, then the
    pool's over the same types (none where its language has no pool)."""
    if k <= 0 or task.language != "coq":
        return []
    from proofsmith.search.similar_proofs import similar_proofs

    own = similar_proofs(task, 1)
    selector = _coq_selector(task_domains(task))
    pooled = selector.select(task, k + 1) if selector is not None else []
    shown = {example.solution for example in own}
    return (own + [e for e in pooled if e.solution not in shown])[:k]
