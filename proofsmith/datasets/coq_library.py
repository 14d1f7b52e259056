"""Coq proof tasks cut from the installed `.v` files of Debian's Coq libraries.

Each task is one theorem of a library file whose proof ends in `Qed`: the
context is the file up to the theorem, the statement is its sentence, the
reference is its original proof, and the closers end the Sections and
Modules open at it (notes/datasets.md, section 3.4). Skipped, and counted:
theorems inside a Module with a signature (closing it early breaks the
signature), inside a functor or a Module Type (after its `End`, `Print
Assumptions` has no name to print), `Defined` proofs (later code may compute
with them), Admitted or Abort, direct terms (`Lemma x : T := t.`), `Program`
statements, proofs that never end, and theorems after the file names itself
(`QArith_base.Qnum` inside QArith_base.v: the task's text is compiled as
another module, in coqc and in coqtop, where that name resolves nowhere; the
failed proof then stays open and the next statement is a nested proof).
The loader reads the files where the packages installed them; nothing is
copied into proofsmith.

Splits: `coq-stdlib` and `coq-mathcomp` (every task), and `coq-stdlib-mini`,
a fixed sample of about 100 short top-level stdlib lemmas whose original
proof is a plain tactic script (seed 0), for tests and the demo.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from proofsmith.provers.coq_audit import audit_script
from proofsmith.provers.coq_dependencies import COQLIB
from proofsmith.provers.coq_text import Sentence, head_words, split_sentences, strip_comments
from proofsmith.schema import Limits, Source, Task

STATEMENT_KEYWORDS = frozenset({"Theorem", "Lemma", "Remark", "Fact", "Corollary", "Proposition", "Property",
                                "Example"})
_MODIFIERS = frozenset({"Local", "Global", "Polymorphic", "Monomorphic", "Private"})
_ENDINGS = frozenset({"Qed", "Defined", "Admitted", "Abort", "Save"})
#: Limits for a task: coqc takes 0.5-0.8 GB; cold prefixes of big files take minutes (notes 3.3).
TASK_LIMITS = Limits(wall_s=300, cpu_s=300, memory_mb=2048)
MINI_SIZE = 100
MINI_SEED = 0


class Library(BaseModel):
    """One installed Coq library: where its files are and how coqc must be called for them."""

    name: str
    #: Debian package that installs it
    package: str
    root: Path
    #: logical name of `root` (`Coq`, `mathcomp`, ...)
    logical: str
    #: sub-directories bound with their own `-R` (mathcomp's `ssreflect`, `algebra`, ...)
    bind_subdirs: bool = False
    flags: list[str] = Field(default_factory=list)
    licence: str | None = None
    #: directories (relative to root) that need other flags and are left out
    exclude: list[str] = Field(default_factory=list)

    def installed(self) -> bool:
        """Whether the library's files are on this machine."""
        return self.root.is_dir() and any(self.root.rglob("*.v"))

    def files(self) -> list[Path]:
        """Its `.v` files, sorted, exclusions removed."""
        out = []
        for path in sorted(self.root.rglob("*.v")):
            rel = path.relative_to(self.root).as_posix()
            if not any(rel == ex or rel.startswith(ex + "/") for ex in self.exclude):
                out.append(path)
        return out

    def load_paths(self, path: Path) -> list[tuple[str, str, str]]:
        """`-R` bindings that let the file's short imports resolve (notes 3.4 item 5)."""
        if self.name == "stdlib":
            return []  # coqc binds theories/ as Coq itself
        if self.bind_subdirs:
            sub = path.relative_to(self.root).parts[0]
            return [("-R", str(self.root / sub), f"{self.logical}.{sub}")]
        return [("-R", str(self.root), self.logical)]

    def module_of(self, path: Path) -> str:
        """The file's logical module name (`Coq.Arith.PeanoNat`)."""
        return ".".join([self.logical, *path.relative_to(self.root).with_suffix("").parts])


_UC = COQLIB / "user-contrib"
#: Libraries this loader knows; `stdlib` and `mathcomp` are the ones `make install` fetches.
LIBRARIES: dict[str, Library] = {
    lib.name: lib
    for lib in [
        # theories/Init needs -noinit and is loaded by every other file: left out (notes 3.4 item 5).
        Library(name="stdlib", package="libcoq-stdlib", root=COQLIB / "theories", logical="Coq",
                licence="LGPL-2.1", exclude=["Init"]),
        Library(name="mathcomp", package="libcoq-mathcomp-ssreflect", root=_UC / "mathcomp", logical="mathcomp",
                bind_subdirs=True, licence="CeCILL-B"),
        Library(name="flocq", package="libcoq-flocq", root=_UC / "Flocq", logical="Flocq", licence="LGPL-3"),
        Library(name="coquelicot", package="libcoq-coquelicot", root=_UC / "Coquelicot", logical="Coquelicot",
                licence="LGPL-3"),
        Library(name="stdpp", package="libcoq-stdpp", root=_UC / "stdpp", logical="stdpp", licence="BSD-3"),
        Library(name="iris", package="libcoq-iris", root=_UC / "iris", logical="iris", licence="BSD-3"),
        Library(name="hott", package="libcoq-hott", root=_UC / "HoTT", logical="HoTT",
                flags=["-noinit", "-indices-matter"], licence="BSD-2"),
        Library(name="unimath", package="libcoq-unimath", root=_UC / "UniMath", logical="UniMath",
                flags=["-noinit", "-indices-matter", "-type-in-type"], licence="UniMath-License"),
        Library(name="corn", package="libcoq-corn", root=_UC / "CoRN", logical="CoRN", licence="GPL-2"),
        Library(name="coqeal", package="libcoq-coqeal", root=_UC / "CoqEAL", logical="CoqEAL", licence="MIT"),
    ]
}
#: Named splits: split name -> (library, mini?)
SPLITS: dict[str, tuple[str, bool]] = {
    "coq-stdlib-mini": ("stdlib", True),
    "coq-stdlib": ("stdlib", False),
    "coq-mathcomp": ("mathcomp", False),
    **{f"coq-{name}": (name, False) for name in LIBRARIES if name not in ("stdlib", "mathcomp")},
}


class LibraryError(ValueError):
    """A split or library that cannot be loaded here; the message names the fix."""


class ScanStats(BaseModel):
    """What a scan found: tasks made, and statements skipped by reason."""

    files: int = 0
    tasks: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)


class _Open(BaseModel):
    kind: str  # "section" | "module"
    name: str
    signature: bool = False
    #: a functor (a module with parameters) or a Module Type: its theorems have no name after its End
    functor: bool = False


def _core(sentence: str) -> tuple[list[str], str]:
    """Head words with locality/polymorphism modifiers dropped, and the comment-free text."""
    code = " ".join(strip_comments(sentence).split())
    words = head_words(code, 6)
    while words and words[0] in _MODIFIERS:
        words = words[1:]
    return words, code


def _module_opening(code: str) -> _Open | None:
    """The Module (or Module Type) a sentence opens, or None when it defines one outright."""
    m = re.match(r"(?:(?:Local|Global)\s+)?Module\s+(Type\s+)?(?:(?:Import|Export)\s+)?([\w']+)\s*(.*)\.\Z", code, re.DOTALL)
    if not m:
        return None
    rest = m.group(3)
    functor = bool(m.group(1)) or rest.startswith("(")
    while rest.startswith("("):  # functor parameters
        depth = 0
        for i, ch in enumerate(rest):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                rest = rest[i + 1:].lstrip()
                break
        else:
            return None
    # `with Module E := F` is part of a signature, not a definition of the module.
    plain = re.sub(r"with\s+(Module|Definition)\s+[\w'.]+\s*:=\s*[\w'.]+", "", rest)
    if ":=" in plain:
        return None
    return _Open(kind="module", name=m.group(2), signature=not m.group(1) and rest.startswith((":", "<:")),
                 functor=functor)


class Found(BaseModel):
    """A theorem found in a file, before it becomes a Task."""

    name: str
    qualified: str
    statement: Sentence
    proof_command: str
    reference: str
    closers: list[str]
    in_section: bool


def scan_file(text: str, stats: Counter[str] | None = None, *, unfinished: bool = False,
              module: str | None = None) -> Iterator[Found]:
    """Every Qed-ended theorem of one file, in order; skipped statements are counted in `stats`.

    With `unfinished`, theorems still to be proved (ending in `Admitted.` or
    `Abort.`, or with no proof at all) come too, with an empty `reference`.
    `module` is the file's own short module name (its stem): theorems from
    the first sentence that names it on are skipped (`self_qualified`).
    """
    stats = stats if stats is not None else Counter()
    sentences = split_sentences(text).sentences
    names_itself = _first_self_reference(sentences, module) if module else None
    stack: list[_Open] = []
    i = 0
    while i < len(sentences):
        words, code = _core(sentences[i].text)
        head = words[0] if words else ""
        if head == "Section" and len(words) > 1:
            stack.append(_Open(kind="section", name=words[1]))
        elif head == "Module":
            opened = _module_opening(code)
            if opened is not None:
                stack.append(opened)
        elif head == "End" and len(words) > 1:
            names = [o.name for o in stack]
            if words[1] in names:
                del stack[len(names) - 1 - names[::-1].index(words[1]):]
        elif head == "Program":
            if len(words) > 1 and words[1] in STATEMENT_KEYWORDS:
                stats["program"] += 1
        elif head in STATEMENT_KEYWORDS and len(words) > 1:
            found, i = _theorem(sentences, i, text, stack, stats, unfinished)
            if found is not None and names_itself is not None and names_itself < sentences[i - 1].end:
                stats["self_qualified"] += 1
            elif found is not None:
                yield found
            continue
        i += 1


def _first_self_reference(sentences: list[Sentence], module: str) -> int | None:
    """Offset of the first sentence that names the file's own module (`QArith_base.Qnum`), or None.

    Strings and `Register ... as` names are not references to it.
    """
    pattern = re.compile(rf"(?<![\w']){re.escape(module)}\.[A-Za-z_]")
    for sentence in sentences:
        # blanking comments and strings never joins text, so a sentence without `module.` cannot name it
        if module + "." not in sentence.text:
            continue
        code = re.sub(r'"(?:[^"]|"")*"', '""', strip_comments(sentence.text))
        if head_words(code, 1) != ["Register"] and pattern.search(code):
            return sentence.start
    return None


def _theorem(sentences: list[Sentence], i: int, text: str, stack: list[_Open],
             stats: Counter[str], unfinished: bool = False) -> tuple[Found | None, int]:
    """Read the theorem at sentence `i` and its proof; the Found (or None, counted) and the next index."""

    def todo(next_index: int) -> tuple[Found | None, int]:
        # a theorem still to prove: no reference, and nothing of the abandoned proof is kept
        if not unfinished or any(o.signature or o.functor for o in stack):
            return None, next_index
        return _found(sentences[i], name, proof_command, "", stack), next_index

    words, code = _core(sentences[i].text)
    name = words[1]
    if ":=" in code:
        stats["direct_term"] += 1
        return None, i + 1
    j = i + 1
    proof_command = "Proof."
    body_start = sentences[i].end
    if j < len(sentences):
        first, first_code = _core(sentences[j].text)
        if first[:1] == ["Proof"]:
            if not re.fullmatch(r"Proof(\s+(using|with)\b[^.]*)?\.", first_code):
                stats["proof_term"] += 1
                return None, j + 1
            proof_command = first_code
            body_start = sentences[j].end
            j += 1
    while j < len(sentences):
        head = _core(sentences[j].text)[0][:1]
        if head and head[0] in _ENDINGS:
            break
        if head and (head[0] in STATEMENT_KEYWORDS or head[0] in ("Section", "Module", "End", "Definition")):
            stats["unterminated"] += 1
            return todo(j)
        j += 1
    if j >= len(sentences):
        stats["unterminated"] += 1
        return todo(j)
    ending = _core(sentences[j].text)[0][0]
    if ending != "Qed":
        stats[ending.lower()] += 1
        return todo(j + 1) if ending in ("Admitted", "Abort") else (None, j + 1)
    if any(o.signature for o in stack):
        stats["module_signature"] += 1
        return None, j + 1
    if any(o.functor for o in stack):
        stats["functor"] += 1
        return None, j + 1
    return _found(sentences[i], name, proof_command, text[body_start:sentences[j].start].strip("\n"), stack), j + 1


def _found(statement: Sentence, name: str, proof_command: str, reference: str, stack: list[_Open]) -> Found:
    modules = [o.name for o in stack if o.kind == "module"]
    return Found(name=name, qualified=".".join([*modules, name]), statement=statement, proof_command=proof_command,
                 reference=reference, closers=[f"End {o.name}." for o in reversed(stack)],
                 in_section=any(o.kind == "section" for o in stack))


def library(name: str) -> Library:
    """The installed library `name`, or LibraryError naming the package to install."""
    lib = LIBRARIES.get(name)
    if lib is None:
        raise LibraryError(f"unknown Coq library {name!r} (known: {', '.join(sorted(LIBRARIES))})")
    if not lib.installed():
        raise LibraryError(f"the Coq library {name} is not installed: apt-get install {lib.package}")
    return lib


def tasks_of_file(lib: Library, path: Path, stats: Counter[str] | None = None) -> list[Task]:
    """The tasks of one library file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    module = lib.module_of(path)
    seen: Counter[str] = Counter()
    out = []
    for found in scan_file(text, stats, module=path.stem):
        seen[found.qualified] += 1
        suffix = f"#{seen[found.qualified]}" if seen[found.qualified] > 1 else ""
        out.append(Task(
            id=f"{lib.name}:{module}.{found.qualified}{suffix}",
            language="coq",
            kind="proof",
            statement=found.statement.text,
            context=text[:found.statement.start],
            reference=found.reference,
            limits=TASK_LIMITS,
            options={
                "load_paths": [list(lp) for lp in lib.load_paths(path)],
                "flags": list(lib.flags),
                "name": found.qualified,
                "closers": "\n".join(found.closers),
                "proof_command": found.proof_command,
                "file": str(path),
                "in_section": found.in_section,
                "library": module,
            },
            source=Source(benchmark=f"coq-{lib.name}", version=_package_version(lib.package), licence=lib.licence),
        ))
    return out


def task_from_file(path: str | os.PathLike[str], theorem: str) -> Task:
    """The task of proving `theorem` of a `.v` file, with the file's text before it as context.

    The theorem may be proved already (its proof becomes the reference, whose
    axioms a new proof may use) or not (`Admitted.`, `Abort.` or no proof: then
    a new proof may use no axioms). The file may `Require` the Coq standard
    library and installed libraries; LibraryError when the file or theorem is
    not there.
    """
    file = Path(path)
    if not file.is_file():
        raise LibraryError(f"{file}: no such file")
    text = file.read_text(encoding="utf-8", errors="replace")
    found = [f for f in scan_file(text, unfinished=True, module=file.stem) if theorem in (f.name, f.qualified)]
    if not found:
        names = [f.qualified for f in scan_file(text, unfinished=True, module=file.stem)]
        listed = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "") if names else "none found"
        raise LibraryError(f"{file}: no theorem {theorem!r} (theorems: {listed})")
    item = found[0]
    return Task(
        id=f"{file.stem}:{item.qualified}",
        language="coq",
        kind="proof",
        statement=item.statement.text,
        context=text[:item.statement.start],
        reference=item.reference or None,
        limits=TASK_LIMITS,
        options={"name": item.qualified, "closers": "\n".join(item.closers), "proof_command": item.proof_command,
                 "file": str(file), "in_section": item.in_section},
        source=Source(benchmark="file", url=file.resolve().as_uri()),
    )


@cache
def _package_version(package: str) -> str | None:
    try:
        with open("/var/lib/dpkg/status", encoding="utf-8", errors="replace") as fh:
            blocks = fh.read().split("\n\n")
    except OSError:
        return None
    for block in blocks:
        if f"Package: {package}\n" in block + "\n":
            m = re.search(r"^Version: (.+)$", block, re.MULTILINE)
            return m.group(1) if m else None
    return None


def library_tasks(name: str, stats: ScanStats | None = None) -> list[Task]:
    """Every task of an installed library, in file order."""
    lib = library(name)
    counter: Counter[str] = Counter()
    tasks: list[Task] = []
    files = lib.files()
    for path in files:
        tasks += tasks_of_file(lib, path, counter)
    if stats is not None:
        stats.files, stats.tasks, stats.skipped = len(files), len(tasks), dict(sorted(counter.items()))
    return tasks


def _mini_eligible(task: Task) -> bool:
    """Short, top-level, cheap to compile, and the original proof is a plain tactic script."""
    opts = task.options
    return (not opts["closers"] and len(task.context) < 12_000 and len(task.reference or "") < 600
            and len(task.statement) < 300 and task.context.count("Qed.") < 40
            and audit_script(task.reference or "").ok)


@cache
def _split(name: str) -> tuple[Task, ...]:
    if name not in SPLITS:
        raise LibraryError(f"unknown split {name!r} (known: {', '.join(SPLITS)})")
    lib_name, mini = SPLITS[name]
    tasks = library_tasks(lib_name)
    if mini:
        pool = [t for t in tasks if _mini_eligible(t)]
        tasks = sorted(random.Random(MINI_SEED).sample(pool, min(MINI_SIZE, len(pool))), key=lambda t: t.id)
        tasks = [t.model_copy(update={"source": t.source.model_copy(update={"benchmark": name})}) for t in tasks]
    return tuple(tasks)


def load_split(name: str) -> list[Task]:
    """The tasks of a named split (see SPLITS); LibraryError when it cannot be loaded here."""
    return list(_split(name))


def find_task(split: str, key: str) -> Task:
    """One task of a split by id or by theorem name; LibraryError naming close matches otherwise."""
    tasks = load_split(split)
    for task in tasks:
        if task.id == key or task.options.get("name") == key or task.id.endswith("." + key):
            return task
    close = [t.id for t in tasks if key.lower() in t.id.lower()][:3]
    hint = f" (did you mean {', '.join(close)}?)" if close else f" (`proofsmith datasets show {split}` lists them)"
    raise LibraryError(f"no theorem {key!r} in {split}{hint}")
