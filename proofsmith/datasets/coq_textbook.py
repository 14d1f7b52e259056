"""The `coq-textbook` split: 100 hand-written, user-style Coq lemmas over nat, lists, bool and logic.

The lemmas live in `data/coq_textbook.v`, a file proofsmith ships
(Apache-2.0, written for proofsmith): it starts with
`Require Import Arith Lia List Bool.` and `Import ListNotations.`, as a
newcomer's file would, and every lemma carries the proof a newcomer would
write (checked by `tests/test_coq_textbook.py` with the real checker). They
range from one decision procedure (`lia`, `ring`, `congruence`, `tauto`)
through one stdlib lemma (`app_length`, `Nat.max_le_iff`, ...) and case
analysis on booleans to induction and first-order logic.

A task's context is the file's header (its imports, the text before the
first lemma), not the lemmas above it: each lemma stands alone, so a search
cannot lean on a neighbour that restates it. The exception is a lemma whose
proof is meant to build on earlier ones (`BUILDS_ON`, e.g. commutativity of
`+` by induction over the two helper lemmas before it): its context is the
header followed by those lemmas, proofs included, in file order.

`data/user_ten.v` holds the ten lemmas of issue 19's acceptance test alone,
as a user's own file for `proofsmith prove FILE.v --theorem T`; the same ten
are in the split under the same names and statements.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from proofsmith.datasets.coq_library import Found, LibraryError, scan_file, task_from_file
from proofsmith.provers.coq_text import split_sentences
from proofsmith.schema import Source, Task

SPLIT = "coq-textbook"
#: bump when a statement or proof in the suite file changes
VERSION = "1"
LICENCE = "Apache-2.0"
DATA = Path(__file__).parent / "data"
SUITE_FILE = DATA / "coq_textbook.v"
#: the issue-19 ten, as a user's file: `proofsmith prove USER_TEN_FILE --theorem add_zero_right`
USER_TEN_FILE = DATA / "user_ten.v"
#: the data file as the package names it: a task's options (and so its hash) do not depend on the install path
_PACKAGE_PATH = "proofsmith/datasets/data/coq_textbook.v"
#: lemma -> the earlier lemmas its reference proof uses by name; they go into its context
BUILDS_ON: dict[str, tuple[str, ...]] = {
    "add_comm_by_induction": ("add_zero_right", "add_succ_right"),
    "rev_twice_by_hand": ("rev_snoc",),
}


def _lemma_text(found: Found) -> str:
    """The lemma as Coq source: statement, proof command, proof, Qed."""
    return f"{found.statement.text}\n{found.proof_command}\n{found.reference}\nQed.\n\n"


def _needed(name: str, order: dict[str, int]) -> list[str]:
    """The lemmas `name` builds on, transitively, in file order; LibraryError when one is missing or later."""
    seen: set[str] = set()
    todo = list(BUILDS_ON.get(name, ()))
    while todo:
        dep = todo.pop()
        if dep not in order or order[dep] >= order[name]:
            raise LibraryError(f"{SUITE_FILE.name}: {name} builds on {dep!r}, which is not an earlier lemma there")
        if dep not in seen:
            seen.add(dep)
            todo += BUILDS_ON.get(dep, ())
    return sorted(seen, key=order.__getitem__)


@cache
def _tasks() -> tuple[Task, ...]:
    text = SUITE_FILE.read_text(encoding="utf-8")
    found = list(scan_file(text))
    if not found:
        raise LibraryError(f"{SUITE_FILE}: no lemmas found; reinstall proofsmith")
    # the imports only: the licence and section comments after them say nothing to a prover
    first = found[0].statement.start
    header = text[:max(s.end for s in split_sentences(text[:first]).sentences)] + "\n\n"
    order = {f.name: i for i, f in enumerate(found)}
    by_name = {f.name: f for f in found}
    source = Source(benchmark=SPLIT, version=VERSION, licence=LICENCE)
    out = []
    for item in found:
        task = task_from_file(SUITE_FILE, item.name)
        context = header + "".join(_lemma_text(by_name[dep]) for dep in _needed(item.name, order))
        out.append(task.model_copy(update={
            "id": f"textbook:{item.name}",
            "context": context,
            "options": {**task.options, "file": _PACKAGE_PATH},
            "source": source,
        }))
    return tuple(out)


def load_tasks() -> list[Task]:
    """The split's tasks, in file order, with ids `textbook:<lemma>`."""
    return list(_tasks())
