"""The `proofsmith` command line.

`proofsmith check TASKS CANDIDATES` verifies every candidate in a sandbox and
prints a table (or, with `--json`, one Verdict per line); `proofsmith doctor`
says what this machine offers. User mistakes (a missing file, a bad line, an
unusable sandbox) are reported as one line each on stderr, never as a
traceback, and make the exit status 2.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import get_args

import click

from proofsmith import __version__
from proofsmith.sandbox import SandboxKind
from proofsmith.user_error import UserError

#: Exit statuses of `proofsmith check`.
EXIT_OK, EXIT_NOT_VERIFIED, EXIT_INPUT_ERROR = 0, 1, 2

_STATUS_STYLE = {"verified": "green", "refuted": "red", "unknown": "yellow"}


def _error(message: str) -> None:
    # one line whatever the message quotes (task ids, keys and paths are the user's text)
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    click.echo(f"error: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="proofsmith")
def cli() -> None:
    """Find and verify formal proofs and programs.

    Candidates run in a sandbox (bubblewrap by default: namespaces, seccomp,
    cgroup and rlimit limits) and come back as verdicts: verified, refuted,
    or unknown (the checker could not decide; never a pass).

    Start with `proofsmith doctor`, then `proofsmith check TASKS CANDIDATES`.
    """


@cli.command()
@click.argument("tasks", metavar="TASKS.jsonl", type=click.Path(dir_okay=True))
@click.argument("candidates", metavar="CANDIDATES.jsonl", type=click.Path(dir_okay=True))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
              help="Candidates checked at once.")
@click.option("--json", "as_json", is_flag=True, help="Print one Verdict JSON object per line instead of a table.")
@click.option("--sandbox", type=click.Choice(get_args(SandboxKind)), default="auto",
              show_default=True, help="Where candidates run; auto = bwrap when it works, else process.")
@click.option("--efficiency", type=click.Choice(["cpu", "exact"]), default=None,
              help="Also score speed against the task's reference: cpu time, or exact instruction counts (valgrind).")
@click.option("--no-cache", is_flag=True, help="Check again even when an identical check has a cached verdict.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the verdicts to this file, one JSON object per line.")
def check(tasks: str, candidates: str, jobs: int, as_json: bool, sandbox: str, efficiency: str | None,
          no_cache: bool, output: str | None) -> int:
    """Verify every candidate against its task.

    TASKS.jsonl holds one Task per line, CANDIDATES.jsonl one Candidate per
    line (`.jsonl.gz` works too). Each bad line, a candidate naming an
    unknown task, and a task that cannot be checked is reported as one line
    on stderr; everything else is still checked.

    Exit status: 0 when every candidate verified, 1 when any did not, 2 when
    any input was bad (after checking the rest).
    """
    from proofsmith.datasets.jsonl import InputError, read_candidates_numbered, read_tasks_numbered
    from proofsmith.provers import validate_task

    try:
        task_rows, task_errors = read_tasks_numbered(tasks)
        cand_rows, cand_errors = read_candidates_numbered(candidates)
    except InputError as exc:
        raise UserError(str(exc)) from None
    errors = list(task_errors)

    by_id = {task.id: task for _, task in task_rows}
    unusable: set[str] = set()
    for lineno, task in task_rows:
        problem = validate_task(task)
        if problem:
            unusable.add(task.id)
            errors.append(f"{tasks}:{lineno}: {problem}; its candidates are skipped")
    errors += cand_errors

    pairs = []
    labels = []
    for lineno, cand in cand_rows:
        if cand.task_id not in by_id:
            errors.append(f"{candidates}:{lineno}: task_id: no task {cand.task_id!r} in {tasks}")
        elif cand.task_id not in unusable:
            pairs.append((by_id[cand.task_id], cand))
            labels.append(cand.id or f"line {lineno}")
    for message in errors:
        _error(message)

    if pairs:
        sandbox = _open_sandbox(sandbox)
    verdicts = _run(pairs, jobs=jobs, sandbox=sandbox, efficiency=efficiency, use_cache=not no_cache)

    if as_json:
        for verdict in verdicts:
            click.echo(verdict.model_dump_json())
        click.echo(_totals(verdicts, len(errors)), err=True)
    else:
        _print_table(verdicts, labels, len(errors))
    if output is not None:
        _write_jsonl(output, verdicts)

    if errors:
        return EXIT_INPUT_ERROR
    return EXIT_OK if all(v.status == "verified" for v in verdicts) else EXIT_NOT_VERIFIED


def _write_jsonl(path: str, verdicts) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(verdict.model_dump_json() + "\n" for verdict in verdicts)
    except OSError as exc:
        raise UserError(f"{path}: cannot write the verdicts ({exc.strerror or exc})") from None


def _open_sandbox(kind: str) -> str:
    """Start the sandbox before any check, so a broken one is one error line, not N unknowns.

    Returns `auto` resolved to the kind it picked: get_sandbox caches a box under its
    concrete kind only, so passing `auto` on would build a new box for every check.
    """
    from proofsmith.sandbox import get_sandbox, probe

    if kind == "bwrap" and not probe.bwrap_works():
        raise UserError("bubblewrap is missing or cannot create namespaces here: run `make install` "
                        "(see `proofsmith doctor`) or pass --sandbox process")
    try:
        box = get_sandbox(kind)  # type: ignore[arg-type]  # click.Choice has checked the value
    except Exception as exc:  # noqa: BLE001 - whatever stops the sandbox, the user needs its message
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot start the {kind} sandbox: {detail}") from None
    return box.kind if kind == "auto" else kind


def _run(pairs, *, jobs: int, sandbox: str, efficiency: str | None, use_cache: bool):
    """check_many with a progress bar on stderr when stderr is a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from proofsmith.provers import check_many

    console = Console(stderr=True)
    progress = Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=True, disable=not console.is_terminal)
    with progress:
        bar = progress.add_task("check", total=len(pairs))
        return check_many(pairs, jobs=jobs, sandbox=sandbox, efficiency=efficiency, use_cache=use_cache,
                          on_verdict=lambda _i, _v: progress.advance(bar))


def _totals(verdicts, n_errors: int) -> str:
    counts = Counter(v.status for v in verdicts)
    text = f"{counts['verified']} verified, {counts['refuted']} refuted, {counts['unknown']} unknown"
    if n_errors:
        text += f"; {n_errors} input error{'s' if n_errors != 1 else ''} (see above)"
    return text


def _print_table(verdicts, labels: list[str], n_errors: int) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="proofsmith check")
    for name, justify in (("task", "left"), ("candidate", "left"), ("status", "left"), ("reason", "left"),
                          ("tests", "right"), ("wall s", "right")):
        table.add_column(name, justify=justify)
    for verdict, label in zip(verdicts, labels, strict=True):
        style = _STATUS_STYLE[verdict.status]
        tests = f"{verdict.partial.passed}/{verdict.partial.total}" if verdict.partial else "-"
        wall = "cached" if verdict.cached else f"{verdict.wall_s:.2f}"
        table.add_row(escape(verdict.task_id), escape(label), f"[{style}]{verdict.status}[/]", _reason(verdict), tests,
                      wall)
    # Piped into a file or CI log there is no terminal width to fit: keep rows readable.
    console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 120)
    if verdicts:
        console.print(table)
    console.print(_totals(verdicts, n_errors), highlight=False)


def _reason(verdict) -> str:
    """The reason code, with the first diagnostic when there is one (shortened to fit a cell)."""
    from rich.markup import escape

    text = verdict.reason or ""
    if verdict.diagnostics:
        message = verdict.diagnostics[0].message.strip().splitlines()
        first = message[0] if message else ""
        if len(first) > 80:
            first = first[:77] + "..."
        text = f"{text}: {first}" if text else first
    return escape(text)


@cli.command()
def doctor() -> int:
    """Show which isolation layers and toolchains this machine has.

    One line per component: `ok` with what was found, or `missing` with the
    command that fixes it. Always exits 0.
    """
    from proofsmith.doctor import findings

    for finding in findings():
        click.echo(finding.line())
    return EXIT_OK


def _add_models_group() -> None:
    # the group lives with the models package; it imports nothing heavy until a subcommand runs
    from proofsmith.models.cli import models

    cli.add_command(models)


_add_models_group()


def _add_datasets_group() -> None:
    # like models: the group lives with its package and loads a dataset only when a subcommand runs
    from proofsmith.datasets.cli import datasets

    cli.add_command(datasets)


_add_datasets_group()


def _add_search_commands() -> None:
    # prove, synth and trace live with the search package; models load only when a search runs
    from proofsmith.search.cli import prove, synth, trace

    for command in (prove, synth, trace):
        cli.add_command(command)


_add_search_commands()


def _add_serve_command() -> None:
    # like models: the command lives with its package; FastAPI and uvicorn load only when it runs
    from proofsmith.serve.cli import serve

    cli.add_command(serve)


_add_serve_command()


def _add_prm_group() -> None:
    # like models: torch and the encoder load only when a prm subcommand runs
    from proofsmith.prm.cli import prm

    cli.add_command(prm)


_add_prm_group()


def _add_redteam_command() -> None:
    # the exploit corpus runner lives in proofsmith/redteam.py with its corpus
    from proofsmith.redteam import redteam_command

    cli.add_command(redteam_command)


_add_redteam_command()


def _add_bench_group() -> None:
    # like models: the group lives with its package; models, Ray and matplotlib load only when a subcommand runs
    from proofsmith.bench.cli import bench

    cli.add_command(bench)


_add_bench_group()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `proofsmith` script: run the CLI, map errors to one line and an exit status."""
    try:
        status = cli.main(args=argv, prog_name="proofsmith", standalone_mode=False)
    except click.UsageError as exc:
        # click's own usage errors span three lines; one line with the way out is enough.
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        _error(exc.format_message() + hint)
        sys.exit(EXIT_INPUT_ERROR)
    except click.ClickException as exc:
        _error(exc.format_message())
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        _error("interrupted")
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else EXIT_OK)


if __name__ == "__main__":
    main()
