"""`proofsmith bench run|report|compare`: leaderboard runs over suites, and their reports.

Mistakes (an invalid spec, a directory that already holds another run, a
store of another version) are one `error:` line and exit status 2, before any
job starts.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from proofsmith.user_error import UserError


class _Interrupted(click.ClickException):
    """Ctrl-C during a run: one line saying what was kept and how to resume, exit status 130."""

    exit_code = 130


@click.group("bench")
def bench() -> None:
    """Leaderboard runs: score (model, strategy, budget) configurations over suites, compare them, report."""


@bench.command("run")
@click.argument("spec", required=False)
@click.option("--out", "-o", "out", type=click.Path(file_okay=False), default=None,
              help="Run directory (the store, traces, report). Default: bench-runs/<spec name>.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out (SPEC may be left out: the stored one is used).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each loads the model once).")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS|local",
              help="Run the jobs on Ray: `local` starts an instance here, else the address of a running cluster.")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write report.md, report.html and the plots into the run directory when done.")
def run_command(spec: str | None, out: str | None, resume: bool, jobs: int, ray_address: str | None,
                report: bool) -> int:
    """Run SPEC (a YAML/TOML file, or a shipped spec's name such as `cpu-smoke`) and store every result.

    \b
    proofsmith bench run cpu-smoke --jobs 2
    proofsmith bench run my-spec.yaml --out runs/a --ray local
    proofsmith bench run --resume --out runs/a        # after a stop or a crash

    Every job (task, configuration, seed) is stored as it finishes; a rerun
    with --resume runs only the jobs that have no result.
    """
    from proofsmith.bench import runner
    from proofsmith.bench.spec import SpecError, load
    from proofsmith.bench.store import StoreError

    if spec is None and not (resume and out):
        raise UserError("give a SPEC (a file or a shipped name such as cpu-smoke), or --resume --out RUN_DIR")
    from proofsmith.bench.jobs import expand

    expanded = None
    try:
        parsed = load(spec) if spec is not None else None
        if parsed is not None:
            # every suite and task is found before the run directory is touched
            try:
                expanded = expand(parsed)
            except SpecError as exc:
                raise SpecError(f"{spec}: {exc}") from None
        run_dir = Path(out) if out else Path("bench-runs") / parsed.name
        store, parsed = runner.open_run(run_dir, parsed, resume=resume)
    except (SpecError, StoreError) as exc:
        raise UserError(str(exc)) from None
    started = time.monotonic()

    progress = {"finished": 0, "total": 0}

    def line(job, result, finished: int, total: int) -> None:
        progress.update(finished=finished, total=total)
        what = {"solved": f"solved at {result.solved_at_calls} calls", "unsolved": "unsolved",
                "unknown": f"unknown ({result.reason})"}[result.outcome]
        click.echo(f"[{finished}/{total}] {job.task_id} {job.config.label} seed {job.seed}: {what} "
                   f"({result.wall_s:.1f} s)", err=True)

    try:
        with store:
            ran, total = runner.run(store, parsed, workers=jobs, ray=ray_address, on_result=line, expanded=expanded)
    except KeyboardInterrupt:
        # every finished job is already in the store; the jobs cut short run again on resume
        kept = f"{progress['finished']} of {progress['total']} jobs are" if progress["total"] else "the finished jobs are"
        raise _Interrupted(f"interrupted: {kept} stored in {run_dir}; continue with "
                           f"`proofsmith bench run --resume --out {run_dir}`") from None
    except SpecError as exc:
        raise UserError(str(exc)) from None
    except RuntimeError as exc:  # a worker that cannot load its model, Ray missing or unreachable
        raise UserError(str(exc).splitlines()[0]) from None
    click.echo(f"{ran} job(s) run in {time.monotonic() - started:.0f} s; {total} in the spec; store: "
               f"{run_dir / 'bench.sqlite'}", err=True)
    _report([str(run_dir)], str(run_dir) if report else None)
    return 0


@bench.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Where report.md, report.html and plots/ go. Default: the first RUN_DIR.")
def report_command(run_dirs: tuple[str, ...], out: str | None) -> int:
    """Print the leaderboard of one or more runs and write report.md, report.html and PNG plots."""
    _report(list(run_dirs), out or run_dirs[0])
    return 0


def _report(run_dirs: list[str], out: str | None) -> None:
    from proofsmith.bench.report import load_summaries, print_table, write_report
    from proofsmith.bench.store import StoreError

    try:
        summaries = load_summaries(run_dirs)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    if not summaries:
        click.echo("no results yet", err=True)
        return
    print_table(summaries)
    if out is not None:
        written = write_report(summaries, out, run_dirs)
        if not any(p.suffix == ".png" for p in written):
            click.echo("no plots: matplotlib is missing (pip install 'proofsmith[bench]')", err=True)
        click.echo("wrote " + ", ".join(str(p) for p in written), err=True)
        lead = next((p for p in written if p.name == "solved_vs_budget.png"), None)
        if lead is not None:
            click.echo(f"solved vs budget: {lead} (it opens {written[0]} and {written[1]})", err=True)


@bench.command("compare")
@click.argument("run_a", type=click.Path(file_okay=False))
@click.argument("run_b", type=click.Path(file_okay=False))
@click.option("--config-a", default=None, help="A's configuration label (model/strategy@budget).")
@click.option("--config-b", default=None, help="B's configuration label.")
def compare_command(run_a: str, run_b: str, config_a: str | None, config_b: str | None) -> int:
    """Paired per-task differences between runs A and B: exact McNemar test on solved, paired bootstrap on rates.

    Configurations with the same label are paired; name them with
    --config-a/--config-b to compare different ones (also within one run: A = B).
    """
    from proofsmith.bench.compare import CompareError, compare, print_comparisons
    from proofsmith.bench.store import StoreError

    try:
        comparisons = compare(run_a, run_b, config_a=config_a, config_b=config_b)
    except (CompareError, StoreError) as exc:
        raise UserError(str(exc)) from None
    print_comparisons(comparisons, run_a, run_b)
    return 0
