"""The red-team corpus: known exploits against every checker, run for real, tabulated.

A case is one file under `proofsmith/redteam_corpus/<checker>/` (shipped as
package data, so an installed `proofsmith redteam` finds it). It starts with a
header of `key: value` lines in the file's comment syntax (`#` Python and SMT
cases with Python candidates, `;` SMT cases with SMT-LIB terms (`.smt2`),
`(* *)` Coq, `--` Lean, `//` F*), then the candidate text:

    # attack: sys.exit(0) while loading, so a naive harness sees exit status 0
    # checker: python
    # task: py_add                  (a name in redteam_corpus/tasks.json)
    # expect: refuted               (refuted or unknown: never verified)
    # reason: load_error            (optional: the verdict's reason must match)
    # rule: success is the judge's report of passed asserts, never an exit status
    # source: harbor-framework/terminal-bench#1127   (optional)
    # repeat: 2                     (optional: run it this many times in a row)
    # completion: true              (optional: a HumanEval-style completion)

SMT cases are `redteam_corpus/smt/*.py` with `# checker: smt` (the candidate
is Python) or `*.smt2` (an SMT-LIB term), against the `smt_*` tasks.

Every case goes through `proofsmith.provers.check` with the verdict cache off,
in the sandbox asked for; with `warm=True` the cases of the checkers that run
candidates in the warm pool, or must cope with being given it (`warm_checkers()`,
`LanguageSpec.warm`: Python and SMT), are run a second time under `--sandbox warm`, as rows of
their own (`python (warm)`).
A case is *accepted* when any run comes back `verified`: that is an exploit,
and the figure the table exists to show is 0. A case whose checker is not
installed (no module registered for its language, or its toolchain missing)
is reported as not run, with the reason.

Lean and F* cannot be installed on the build machines: where no real Lean
REPL or F* is configured, `use_standins()` points their checkers at the
scripted stand-ins (proofsmith/provers/standins/, NOT Lean or F*), and their
rows say so. A stand-in does not elaborate proofs: those rows show that the
checkers' audit layers and unknown paths stop each exploit, not that a real
Lean or F* would reject the proof text.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofsmith import languages
from proofsmith.schema import Candidate, Task

#: Where the corpus ships inside the package.
CORPUS_DIR = Path(__file__).with_name("redteam_corpus")


def _formats() -> dict[str, tuple[str, re.Pattern[str]]]:
    """File suffix -> (checker, how a header line looks), from the registered languages' `case_suffix`/`comment`."""
    formats = {}
    for spec in languages.specs():
        if spec.case_suffix is not None:
            opens, closes = (re.escape(part) for part in spec.comment)
            tail = rf"\s*{closes}\s*" if closes else r"\s*"
            formats[spec.case_suffix] = (spec.name, re.compile(rf"{opens}\s*(\w+):\s*(.*?){tail}"))
    return formats


def checkers() -> tuple[str, ...]:
    """Every checker with cases, in the table's order (the languages' registration order)."""
    return tuple(s.name for s in languages.specs() if s.case_suffix is not None)


def warm_checkers() -> tuple[str, ...]:
    """Checkers whose cases are also run under the warm pool."""
    return tuple(s.name for s in languages.specs() if s.warm)


def __getattr__(name: str) -> tuple[str, ...]:
    # CHECKERS and WARM_CHECKERS as names, read from the registry when asked for
    if name == "CHECKERS":
        return checkers()
    if name == "WARM_CHECKERS":
        return warm_checkers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_KEYS = {"attack", "checker", "task", "expect", "reason", "rule", "source", "repeat", "completion"}

Outcome = Literal["verified", "refuted", "unknown", "not run"]


class CorpusError(ValueError):
    """A corpus file or the task file is malformed; the message is one line naming the file."""


class Case(BaseModel):
    """One exploit: the candidate text, the task it attacks, and what must come back."""

    model_config = ConfigDict(extra="forbid")

    name: str
    checker: str
    task: str
    expect: Literal["refuted", "unknown"]
    reason: str | None = None
    rule: str
    attack: str
    source: str | None = None
    repeat: int = Field(1, ge=1, le=5)
    completion: bool = False
    text: str
    path: str


class CaseResult(BaseModel):
    """What the checker said about one case (the worst of its runs)."""

    name: str
    checker: str
    outcome: Outcome
    reason: str | None = None
    #: the outcome (and reason, where the case names one) is the one the case expects
    as_expected: bool
    expected: str
    #: first diagnostic, or why the case was not run
    detail: str = ""
    wall_s: float = 0.0
    rule: str = ""
    #: the checker ran against a scripted stand-in (Lean, F*), not the real prover
    standin: bool = False
    #: the sandbox asked for (`auto`, `bwrap`, `warm`)
    sandbox: str = "auto"

    @property
    def label(self) -> str:
        """The case's name, marked when it ran under the warm pool."""
        return f"{self.name} (warm)" if self.sandbox == "warm" else self.name


class Row(BaseModel):
    """One line of the table: a checker's totals."""

    checker: str
    cases: int = 0
    rejected: int = 0
    accepted: int = 0
    unknown: int = 0
    not_run: int = 0
    unexpected: int = 0


def parse_case(path: Path) -> Case:
    """Read one corpus file (see the module docstring for its header)."""
    formats = _formats()
    fmt = formats.get(path.suffix)
    if fmt is None:
        known = ", ".join(formats)
        raise CorpusError(f"{path}: unknown case type {path.suffix!r} (use {known})")
    default_checker, pattern = fmt
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read the case ({exc})") from None
    header: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = pattern.fullmatch(lines[i])
        if m is None or m.group(1) not in _KEYS:
            break
        header[m.group(1)] = m.group(2)
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    text = "\n".join(lines[i:])
    for key in ("attack", "task", "expect", "rule"):
        if key not in header:
            raise CorpusError(f"{path}: the header has no '{key}:' line")
    try:
        return Case(name=f"{header.get('checker', default_checker)}/{path.stem}",
                    checker=header.get("checker", default_checker), task=header["task"], expect=header["expect"],
                    reason=header.get("reason"), rule=header["rule"], attack=header["attack"],
                    source=header.get("source"), repeat=int(header.get("repeat", "1")),
                    completion=header.get("completion", "false").lower() == "true", text=text, path=str(path))
    except (ValidationError, ValueError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"loc": ("repeat",), "msg": str(exc)}
        raise CorpusError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def load_tasks(root: Path = CORPUS_DIR) -> dict[str, Task]:
    """The corpus's tasks (`tasks.json`: name -> Task fields without the id), by name."""
    path = root / "tasks.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{path}: cannot read the corpus tasks ({exc})") from None
    tasks = {}
    for name, fields in raw.items():
        try:
            tasks[name] = Task.model_validate({"id": f"redteam-{name}", **fields})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise CorpusError(f"{path}: {name}.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    return tasks


def load_corpus(root: Path = CORPUS_DIR) -> tuple[list[Case], dict[str, Task]]:
    """Every case under `root` (sorted by name) and the tasks they attack; CorpusError on a bad file."""
    if not root.is_dir():
        raise CorpusError(f"{root}: no red-team corpus there (reinstall proofsmith, or pass --corpus DIR)")
    tasks = load_tasks(root)
    formats = _formats()
    cases = [parse_case(p) for p in sorted(root.glob("*/*")) if p.suffix in formats]
    for case in cases:
        if case.task not in tasks:
            raise CorpusError(f"{case.path}: task {case.task!r} is not in {root / 'tasks.json'}")
        if tasks[case.task].language != case.checker:
            raise CorpusError(f"{case.path}: task {case.task!r} is a {tasks[case.task].language} task, "
                              f"not {case.checker}")
    return cases, tasks


def select(cases: Iterable[Case], checkers: Sequence[str] = (), patterns: Sequence[str] = ()) -> list[Case]:
    """The cases of the given checkers whose names match any glob in `patterns` (all when empty)."""
    return [c for c in cases
            if (not checkers or c.checker in checkers)
            and (not patterns or any(fnmatch.fnmatch(c.name, p) or fnmatch.fnmatch(c.name.split("/", 1)[1], p)
                                     for p in patterns))]


#: checker -> (the variable naming its prover command, the variable naming its docker image)
_STANDIN_VARS = {"lean": ("PROOFSMITH_LEAN_REPL", "PROOFSMITH_LEAN_IMAGE"),
                 "fstar": ("PROOFSMITH_FSTAR", "PROOFSMITH_FSTAR_IMAGE")}


def use_standins(environ: dict[str, str] | os._Environ = os.environ) -> list[str]:
    """Point Lean and F* at their stand-ins where no real prover is configured; the checkers so pointed."""
    pointed = []
    for checker, (command, image) in _STANDIN_VARS.items():
        real_fstar = checker == "fstar" and shutil.which("fstar.exe") is not None
        if not environ.get(command) and not environ.get(image) and not real_fstar:
            environ[command] = "standin"
            pointed.append(checker)
    return pointed


def on_standin(checker: str) -> bool:
    """Whether `checker` runs against its stand-in now."""
    command = _STANDIN_VARS.get(checker, ("", ""))[0]
    return bool(command) and os.environ.get(command, "").split()[:1] == ["standin"]


def not_run_reason(task: Task) -> str | None:
    """Why this task's checker cannot run here (not registered, toolchain missing), or None."""
    from proofsmith.provers import validate_task

    if languages.get(task.language) is None:
        return "checker not installed"
    problem = validate_task(task)
    return f"checker not installed: {problem}" if problem else None


def _sandbox_kind(sandbox: str) -> str:
    from proofsmith.sandbox import get_sandbox

    try:
        return get_sandbox(sandbox).kind  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a sandbox that cannot start shows up in each check's verdict
        return sandbox


def _warm_problem() -> str | None:
    """Why the warm pool cannot start here, or None."""
    from proofsmith.sandbox import get_sandbox

    try:
        get_sandbox("warm")
    except Exception as exc:  # noqa: BLE001 - reported as the rows' reason
        return f"the warm pool cannot start here: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
    return None


def plan(cases: Sequence[Case], *, sandbox: str = "auto", warm: bool = False) -> list[tuple[Case, str]]:
    """The runs to make: every case under `sandbox`, then (with `warm`) the warm checkers' cases under `warm`."""
    runs = [(c, sandbox) for c in cases]
    if warm and sandbox != "warm":
        runs += [(c, "warm") for c in cases if c.checker in warm_checkers()]
    return runs


def run_case(case: Case, task: Task, *, sandbox: str = "auto") -> CaseResult:
    """Check one case `repeat` times in a row; the worst verdict is the case's outcome."""
    from proofsmith.provers import check

    started = time.monotonic()

    def result(outcome: Outcome, reason: str | None, detail: str) -> CaseResult:
        ok = outcome == case.expect and (case.reason is None or reason == case.reason)
        return CaseResult(name=case.name, checker=case.checker, outcome=outcome, reason=reason,
                          as_expected=ok or outcome == "not run",
                          expected=case.expect + (f" ({case.reason})" if case.reason else ""),
                          detail=detail, wall_s=time.monotonic() - started, rule=case.rule,
                          standin=on_standin(case.checker), sandbox=sandbox)

    skip = not_run_reason(task)
    if skip is None and sandbox == "warm":
        skip = _warm_problem()
    if skip is None and task.language == "python" and _sandbox_kind(sandbox) == "process":
        # the payloads fill /tmp, write world-writable dirs and signal processes: only a real sandbox may take them
        skip = "not run under the process sandbox, which does not isolate this host's file system from the payloads"
    if skip:
        return result("not run", None, skip)
    worst = None
    for run in range(case.repeat):
        candidate = Candidate(task_id=task.id, id=f"{case.name}#{run}", text=case.text, completion=case.completion)
        try:
            verdict = check(task, candidate, sandbox=sandbox, use_cache=False)  # type: ignore[arg-type]
        except ValueError as exc:  # an unusable task is the corpus's bug, reported like a not-run
            return result("not run", None, str(exc))
        detail = verdict.diagnostics[0].message.strip().splitlines()[0] if verdict.diagnostics and \
            verdict.diagnostics[0].message.strip() else ""
        current = result(verdict.status, verdict.reason, detail)
        # verified beats everything; else the first run that breaks the expectation
        if worst is None or current.outcome == "verified" or (worst.as_expected and not current.as_expected):
            worst = current
        if worst.outcome == "verified":
            break
    assert worst is not None
    return worst.model_copy(update={"wall_s": time.monotonic() - started})


def run_corpus(cases: Sequence[Case], tasks: dict[str, Task], *, jobs: int = 2, sandbox: str = "auto",
               warm: bool = False, on_result: Callable[[CaseResult], None] | None = None) -> list[CaseResult]:
    """Run every case of `plan(cases, sandbox=sandbox, warm=warm)` on `jobs` threads; results in the plan's order."""
    runs = plan(cases, sandbox=sandbox, warm=warm)
    results: list[CaseResult | None] = [None] * len(runs)

    def one(i: int) -> None:
        case, box = runs[i]
        results[i] = run_case(case, tasks[case.task], sandbox=box)
        if on_result is not None:
            on_result(results[i])

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(one, i) for i in range(len(runs))]:
            future.result()
    return [r for r in results if r is not None]


def summarise(results: Iterable[CaseResult]) -> list[Row]:
    """Per-checker totals (the warm pool's runs apart), then an `all` row."""
    rows: dict[str, Row] = {}
    total = Row(checker="all")
    for r in results:
        label = f"{r.checker} (stand-in)" if r.standin else f"{r.checker} (warm)" if r.sandbox == "warm" else r.checker
        for row in (rows.setdefault(label, Row(checker=label)), total):
            row.cases += 1
            if r.outcome == "verified":
                row.accepted += 1
            elif r.outcome == "refuted":
                row.rejected += 1
            elif r.outcome == "unknown":
                row.unknown += 1
            else:
                row.not_run += 1
            if not r.as_expected:
                row.unexpected += 1
    order = checkers()

    def rank(row: Row) -> tuple[int, str]:
        base = row.checker.split()[0]
        return (order.index(base) if base in order else 9, row.checker)

    return sorted(rows.values(), key=rank) + [total]


# --------------------------------------------------------------------------- command


def _table(rows: Sequence[Row], title: str):
    from rich.table import Table

    table = Table(title=title)
    for name in ("checker", "cases", "rejected", "accepted", "unknown", "not run", "unexpected"):
        table.add_column(name, justify="left" if name == "checker" else "right", no_wrap=True)
    for row in rows:
        accepted = f"[bold red]{row.accepted}[/]" if row.accepted else "0"
        table.add_row(row.checker, str(row.cases), str(row.rejected), accepted, str(row.unknown), str(row.not_run),
                      str(row.unexpected))
    return table


def _command():
    import click

    @click.command(name="redteam")
    @click.option("--checker", "checkers", multiple=True, type=click.Choice(list(checkers())),
                  help="Only this checker's cases (repeatable).")
    @click.option("--case", "patterns", multiple=True, metavar="GLOB",
                  help="Only cases whose name matches (e.g. 'coq/admit*' or 'sbx_*'; repeatable).")
    @click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
                  help="Cases checked at once.")
    @click.option("--sandbox", type=click.Choice(["auto", "bwrap", "warm"]), default="auto", show_default=True,
                  help="Where candidates run (Python cases never run under the process fallback: its payloads "
                       "would reach this host).")
    @click.option("--warm/--no-warm", default=True, show_default=True,
                  help="Also run the Python and SMT cases under the warm pool (rows of their own, e.g. "
                       "'python (warm)'); not run where the pool cannot start.")
    @click.option("--corpus", type=click.Path(file_okay=False), default=None,
                  help="Another corpus directory (default: the one shipped with proofsmith).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON result per case instead of the case list.")
    @click.option("--list", "list_only", is_flag=True, help="List the cases and exit without running them.")
    @click.option("--standins/--no-standins", default=True, show_default=True,
                  help="Run Lean and F* cases against their scripted stand-ins (NOT Lean or F*) where no real "
                       "prover is configured; with --no-standins they are not run.")
    def redteam(checkers: tuple[str, ...], patterns: tuple[str, ...], jobs: int, sandbox: str, warm: bool,
                corpus: str | None, as_json: bool, list_only: bool, standins: bool) -> int:
        """Run the exploit corpus against the installed checkers and print the table.

        Every case is a known way to earn a pass without solving the task
        (sandbox escapes, judge tampering, SMT programs that do not load or
        compute otherwise than translated, Coq/Lean/F* escape hatches). Each
        must come back refuted or unknown as its file says; accepted (verified)
        must be 0. Cases whose checker is not installed are counted as not run.
        Exit status: 0 when nothing was accepted and every verdict was the
        expected one, 1 otherwise, 2 for a bad corpus or option.
        """
        from rich.console import Console
        from rich.markup import escape

        from proofsmith.user_error import UserError

        try:
            cases, tasks = load_corpus(Path(corpus) if corpus else CORPUS_DIR)
        except CorpusError as exc:
            raise UserError(str(exc)) from None
        cases = select(cases, checkers, patterns)
        if not cases:
            raise UserError("no red-team case matches the --checker/--case filters (see `proofsmith redteam --list`)")
        console = Console(soft_wrap=True)
        if list_only:
            for case in cases:
                console.print(f"{case.name}  [dim]{escape(case.attack)}[/]", highlight=False)
            return 0
        pointed = use_standins() if standins else []
        started = time.monotonic()

        def show(r: CaseResult) -> None:
            if as_json:
                click.echo(r.model_dump_json())
                return
            style = {"verified": "bold red", "refuted": "green", "unknown": "yellow"}.get(r.outcome, "dim")
            mark = "" if r.as_expected else f"  [bold red]UNEXPECTED (wanted {r.expected})[/]"
            why = f" ({r.reason})" if r.reason else ""
            console.print(f"{r.label:<48} [{style}]{r.outcome}{why}[/]{mark}  [dim]{escape(r.detail[:70])}[/]",
                          highlight=False)

        results = run_corpus(cases, tasks, jobs=jobs, sandbox=sandbox, warm=warm, on_result=show)
        rows = summarise(results)
        out = Console(stderr=as_json, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120)
        runs = f", {len(results)} runs" if len(results) != len(cases) else ""
        out.print(_table(rows, f"proofsmith redteam: {len(cases)} cases{runs}, {time.monotonic() - started:.0f} s"))
        total = rows[-1]
        pointed = [c for c in pointed if any(r.checker == c for r in results)]
        if pointed:
            out.print(f"{' and '.join(pointed)}: scripted stand-ins, not the real provers (no toolchain here): "
                      "these rows test the checkers' audit layers and unknown paths", highlight=False)
        for r in results:
            if r.outcome == "verified":
                out.print(f"[bold red]ACCEPTED EXPLOIT[/] {r.label}: {escape(r.detail)}", highlight=False)
        return 0 if total.accepted == 0 and total.unexpected == 0 else 1

    return redteam


redteam_command = _command()
