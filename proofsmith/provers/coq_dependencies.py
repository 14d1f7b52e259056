"""Which libraries a Coq proof may not lean on, and the check that it does not.

The `hammer` option adds `From Hammer Require Import Hammer.`, which loads
about 200 standard-library modules. For a lemma of one of those modules (a
`coq-stdlib` task), the compiled original of the very lemma under test is
then in scope, and so is every later lemma built on it:
`exact Coq.ZArith.Zeven.Zeven_plus_Zeven` would "prove" it. The task's
forbidden libraries are its own library and every library the import loads
that needs it (read from the installed sources with `coqdep`). A proof is
accepted only when none of the constants it depends on, transitively
(`Print All Dependencies`), lives in one of them: the names Coq prints are
resolved to full paths with `About`, in the scope they were printed in,
because a printed name is only the shortest one that is unambiguous there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

from proofsmith.schema import Task

#: Coq's own standard library and installed libraries (`coqc -where`).
COQLIB = Path("/usr/lib/ocaml/coq")
#: `Print Assumptions`' and `Print All Dependencies`' own headers and summary: exact texts of Coq's printer (8.16),
#: never an entry.
PRINTER_HEADERS = frozenset({"Axioms:", "Section Variables:", "Opaque constants:", "Transparent constants:",
                             "Closed under the global context"})
#: coqtop's note when it reads proofs from a .vo file, never an entry.
FETCHING_NOTE = re.compile(r"Fetching [a-z ]+ from disk for [\w.']+")
#: one dependency entry: a name at column 0, then ` : ` and its type
_ENTRY = re.compile(r"([\w'.]+) :(?: |$)")
_EXPANDS = re.compile(r"^Expands to: (?:Constant|Inductive|Constructor|Variable) ([\w'.]+)$", re.MULTILINE)
_DEP_MARKER = "ps_dependencies_"


#: The imports the `hammer` option adds after a task's context. Hammer loads `Coq.micromega.Lia` without importing
#: it; importing it makes `lia` usable. `hammer_libraries` lists what these lines load; a proof of a stdlib lemma
#: of one of those modules may not depend on it (`forbidden_libraries`).
HAMMER_IMPORT = "From Hammer Require Import Hammer.\nFrom Coq Require Import Lia."


@cache
def hammer_libraries() -> frozenset[str]:
    """The library modules the `hammer` option's imports load (empty where Hammer is not installed)."""
    if shutil.which("coqc") is None:
        return frozenset()
    with tempfile.TemporaryDirectory(prefix="proofsmith-hammer-") as tmp:
        path = Path(tmp) / "libs.v"
        path.write_text(f"{HAMMER_IMPORT}\nPrint Libraries.\n")
        try:
            out = subprocess.run(["coqc", "-q", str(path)], capture_output=True, text=True, timeout=120, cwd=tmp,
                                 check=False)
        except (OSError, subprocess.TimeoutExpired):
            return frozenset()
    if out.returncode != 0:
        return frozenset()
    return frozenset(line.strip() for line in out.stdout.splitlines() if line.startswith("  ") and "." in line)


def library_source(library: str) -> Path | None:
    """The installed `.v` file of a logical library name (`Coq.ZArith.Zeven`), or None."""
    parts = library.split(".")
    if parts[0] == "Coq":
        path = COQLIB / "theories" / Path(*parts[1:]).with_suffix(".v")
    else:
        path = COQLIB / "user-contrib" / Path(*parts).with_suffix(".v")
    return path if path.is_file() else None


def _library_of_file(path: str) -> str | None:
    file = Path(path)
    for root, prefix in ((COQLIB / "theories", ["Coq"]), (COQLIB / "user-contrib", [])):
        try:
            rel = file.with_suffix("").relative_to(root)
        except ValueError:
            continue
        return ".".join([*prefix, *rel.parts])
    return None


@cache
def library_needs() -> Mapping[str, frozenset[str]]:
    """For each library the hammer import loads, every library it needs, transitively (empty when unknown).

    Read with `coqdep` from the installed sources; a library whose source is
    missing makes the whole map empty, so nothing is guessed.
    """
    libraries = sorted(hammer_libraries())
    sources = {lib: library_source(lib) for lib in libraries}
    coqdep = shutil.which("coqdep")
    if not libraries or coqdep is None or any(src is None for src in sources.values()):
        return {}
    contribs = sorted({lib.split(".")[0] for lib in libraries if not lib.startswith("Coq.")})
    argv = [coqdep, "-boot", "-R", str(COQLIB / "theories"), "Coq",
            *(a for top in contribs for a in ("-R", str(COQLIB / "user-contrib" / top), top)),
            *(str(src) for src in sources.values())]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    direct: dict[str, set[str]] = {}
    for line in out.stdout.splitlines():
        target, _, deps = line.partition(":")
        first = target.split()[0] if target.split() else ""
        lib = _library_of_file(first) if first.endswith(".vo") else None
        if lib not in sources:
            continue
        direct[lib] = {name for dep in deps.split() if dep.endswith(".vo") and (name := _library_of_file(dep))}
        if not lib.startswith("Coq.Init."):
            direct[lib].add("Coq.Init.Prelude")  # loaded without a Require (coqc's default), so coqdep omits it
    if out.returncode != 0 or set(direct) != set(libraries):
        return {}
    closure: dict[str, frozenset[str]] = {}

    def needs(lib: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        if lib in closure:
            return closure[lib]
        found: set[str] = set()
        for dep in direct.get(lib, ()):
            if dep not in seen:
                found |= {dep, *needs(dep, seen | {lib})}
        closure[lib] = frozenset(found)
        return closure[lib]

    return {lib: needs(lib) for lib in libraries}


def task_library(task: Task) -> str | None:
    """The library a task's theorem comes from (`options.library`; older stdlib task ids name it), or None."""
    library = str(task.options.get("library") or "")
    if library:
        return library
    if task.id.startswith("stdlib:"):
        return task.id.removeprefix("stdlib:").rsplit(".", 1)[0]
    return None


def _loaded_as(library: str, loaded: Iterable[str]) -> str | None:
    """The loaded library `library` is, or is inside (a task id's module may carry a Module's name)."""
    for lib in loaded:
        if library == lib or library.startswith(lib + "."):
            return lib
    return None


def forbidden_libraries(task: Task) -> frozenset[str] | None:
    """The libraries the hammer import loads that a proof of `task` may not use; None when that cannot be known.

    Empty when the task has no hammer option or its library is not among the
    loaded ones; else its library and every loaded library that needs it.
    """
    if task.language != "coq" or not task.options.get("hammer"):
        return frozenset()
    library = task_library(task)
    own = _loaded_as(library, hammer_libraries()) if library else None
    if own is None:
        return frozenset()
    needs = library_needs()
    if not needs:
        return None
    return frozenset({own} | {lib for lib, deps in needs.items() if own in deps})


def dependency_commands(name: str, marker: str) -> list[str]:
    """The commands that print the constants `name` depends on, after `marker` (put after the assumptions')."""
    # one line per entry: at the default width a long name's type starts on a line of its own, at column 0
    return ["Set Printing Width 100000.", f"Locate {marker}.", f"Print All Dependencies {name}."]


def dependency_marker() -> str:
    """A fresh marker for `dependency_commands` (a candidate cannot know it)."""
    import secrets

    return _DEP_MARKER + secrets.token_hex(8)


def parse_dependencies(text: str) -> list[str] | None:
    """The names `Print All Dependencies` printed (`text` starts right after its marker); None if unreadable.

    Entries start at column 0 as `name : type`; indented lines continue the
    type. A column-0 line that is neither an entry nor one of Coq's fixed
    lines makes the whole output unreadable: nothing is guessed.
    """
    names: list[str] = []
    for line in re.sub(r"</?infomsg>", "", text).splitlines():
        stripped = line.strip()
        if not stripped or line[:1].isspace():
            continue
        if stripped in PRINTER_HEADERS or FETCHING_NOTE.fullmatch(stripped):
            continue
        entry = _ENTRY.match(line)
        if entry is None:
            return None
        names.append(entry.group(1))
    return names


def about_commands(names: Sequence[str], marker: str) -> list[str]:
    """`About` of each printed name, each after its own marker `marker_i`."""
    return [c for i, name in enumerate(names) for c in (f"Locate {marker}_{i}.", f"About {name}.")]


def parse_paths(stdout: str, names: Sequence[str], marker: str) -> list[str] | None:
    """The full path each name of `about_commands` expands to, in order; None if any one is unreadable."""
    paths: list[str] = []
    for i in range(len(names)):
        start = stdout.find(f"{marker}_{i}\n")
        if start < 0:
            start = stdout.find(f"{marker}_{i}<")
        if start < 0:
            return None
        end = stdout.find(f"{marker}_{i + 1}", start) if i + 1 < len(names) else len(stdout)
        found = _EXPANDS.findall(re.sub(r"</?infomsg>", "", stdout[start:end]))
        if len(found) != 1:
            return None
        paths.append(found[0])
    return paths


def forbidden_uses(paths: Iterable[str], forbidden: Iterable[str]) -> list[str]:
    """The full paths that live in one of the forbidden libraries."""
    libs = tuple(forbidden)
    return sorted({p for p in paths if any(p.startswith(lib + ".") for lib in libs)})
