"""`proofsmith prove`, `proofsmith synth` and `proofsmith trace show`.

`prove` and `synth` pick tasks (a `.v` file and a theorem, a task file, or a
named suite), load the policy once, and run one search per task with a live
display of the spend and the best score. One task: the proof or program
found, its verdict (from the full checker) and the trace path are printed.
Several tasks: a table, and with `--output` one SearchResult per line,
written as each task finishes, so an interrupted run resumes where it
stopped. Mistakes (a wrong path, an unknown task or model) are one `error:`
line and exit status 2; exit status 1 means some task was not solved. A task
that cannot be searched at all (its context does not load in the prover) is
one `error:` line too, and the batch goes on with the next task.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import click

from proofsmith.schema import Task
from proofsmith.search.visibility import TestsMode
from proofsmith.user_error import UserError

if TYPE_CHECKING:
    from rich.progress import TaskID

EXIT_OK, EXIT_UNSOLVED, EXIT_INPUT_ERROR = 0, 1, 2



def _search_options(default_strategy: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    from proofsmith.search import STRATEGIES

    def wrap(command: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option("--task-file", type=click.Path(dir_okay=False), default=None,
                         help="Tasks to search, one Task JSON object per line."),
            click.option("--suite", default=None,
                         help="A named suite instead (see `proofsmith datasets list`)."),
            click.option("--task", "task_keys", multiple=True,
                         help="Only this task of the file or suite (id or name); repeatable. Default: all."),
            click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N tasks."),
            click.option("--strategy", type=click.Choice(list(STRATEGIES)), default=default_strategy,
                         show_default=True, help="How to search."),
            click.option("--budget", type=click.IntRange(min=1), default=32, show_default=True,
                         help="Model calls per task (one call = one sampled proposal)."),
            click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
                         help="Also stop a task's search after this many seconds."),
            click.option("--max-tokens", type=click.IntRange(min=1), default=None,
                         help="Also stop a task's search after this many generated tokens."),
            click.option("--model", default="default", show_default=True,
                         help="A registry model (`proofsmith models list`) or a path to a .gguf file."),
            click.option("--seed", type=int, default=0, show_default=True,
                         help="Same seed, model and budget: same search."),
            click.option("--prm", "prm_dir", type=click.Path(file_okay=False), default=None,
                         help="A trained PRM checkpoint (`proofsmith prm train`) to rank steps with; "
                              "default: the checker's feedback and the policy's probabilities."),
            click.option("--traces", "trace_dir", type=click.Path(file_okay=False), default="proofsmith-traces",
                         show_default=True, help="Directory for the search traces (one JSONL file per task)."),
            click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                         help="Append one SearchResult JSON line per task here; tasks already in it are skipped."),
            click.option("--json", "as_json", is_flag=True, help="Print each SearchResult as JSON instead."),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return wrap


@click.command()
@click.argument("file", metavar="[FILE.v]", required=False, type=click.Path(dir_okay=False))
@click.option("--theorem", default=None, help="With FILE.v: the theorem to prove.")
@click.option("--automation/--no-automation", default=True, show_default=True,
              help="Try decision procedures and automation (lia, ring, congruence, induction shapes, "
                   "CoqHammer's sauto where loaded) at every new proof state.")
@click.option("--retrieval/--no-retrieval", default=True, show_default=True,
              help="Look up lemmas that fit each goal (Coq Search), show them to the model, and reject tactics "
                   "that name lemmas that do not exist.")
@click.option("--hammer", is_flag=True,
              help="Allow CoqHammer: add `From Hammer Require Import Hammer.` after the task's context "
                   "(recorded in the verdict's manifest) and try `hammer` at the root; a proof it finds is "
                   "kept as its reconstruction, which needs no ATPs. Not for a stdlib lemma whose own "
                   "module Hammer loads.")
@_search_options("mcts")
def prove(file: str | None, theorem: str | None, automation: bool, retrieval: bool, hammer: bool,
          **options: Any) -> int:
    """Search for a proof: of THEOREM in FILE.v, or of tasks from --task-file / --suite.

    \b
    proofsmith prove lemmas.v --theorem add_0_r
    proofsmith prove --suite coq-stdlib-mini --task Nat.add_0_r --strategy mcts --budget 32
    proofsmith prove --suite coq-stdlib-mini --limit 10 -o results.jsonl
    proofsmith prove lemmas.v --theorem add_0_r --model none     (automation only, no model)

    At every new proof state the search first tries automation and lemmas
    that fit the goal, then asks the model; no tactic is checked twice at
    one state. A proof found during search (warm Coq sessions) is checked
    again by coqc from scratch before it is reported.
    """
    if file is not None:
        if options["task_file"] or options["suite"]:
            raise UserError("give FILE.v --theorem NAME, or --task-file, or --suite: not several")
        if theorem is None:
            raise UserError(f"which theorem of {file}? add --theorem NAME")
        from proofsmith.datasets.coq_library import LibraryError, task_from_file

        try:
            tasks = [task_from_file(file, theorem)]
        except LibraryError as exc:
            raise UserError(str(exc)) from None
    else:
        if theorem is not None:
            raise UserError("--theorem goes with a FILE.v argument")
        tasks = _select(options, kind="proof")
    if hammer:
        from proofsmith.provers.coq_dependencies import hammer_libraries
        from proofsmith.search.checker import hammer_allowed

        if not hammer_libraries():
            raise UserError("--hammer needs CoqHammer and its provers: apt-get install libcoq-hammer eprover z3 cvc4")
        allowed = {t.id: hammer_allowed(t) for t in tasks}
        left_out = [t.id for t in tasks if not allowed[t.id]]
        if left_out:
            click.echo(f"CoqHammer left out of {len(left_out)} task(s) ({', '.join(left_out[:3])}"
                       f"{', ...' if len(left_out) > 3 else ''}): its imports load the lemma's own library, where "
                       "its provers would cite the original", err=True)
        tasks = [t.model_copy(update={"options": {**t.options, "hammer": True}}) if allowed[t.id] else t
                 for t in tasks]
    aids = {"automation": automation, "retrieval": retrieval, "hammer": None if hammer else False}
    return _run(tasks, collect=False, aids=aids, **options)


#: the strategies `synth --collect` can run: best-of-N, whole programs or bodies after the statement
COLLECTING = ("best_of_n", "best_of_n_head")


@click.command()
@_search_options("best_of_n_head")
@click.option("--collect", is_flag=True,
              help="best_of_n or best_of_n_head only: keep sampling after a verified program, to report pass@1 "
                   "and pass@k.")
@click.option("--oracle", is_flag=True,
              help="Check candidates against the hidden tests during the search (how pass@k is measured; "
                   "not what a user gets). Default: the visible tests only.")
def synth(collect: bool, oracle: bool, **options: Any) -> int:
    """Search for programs that pass their tests: tasks from --task-file or --suite.

    \b
    proofsmith synth --suite humaneval --task HumanEval/4
    proofsmith synth --task-file tasks.jsonl --strategy refine --budget 8
    proofsmith synth --suite humaneval --strategy best_of_n --budget 10 --collect --oracle -o he.jsonl

    The default strategy, best_of_n_head, samples whole function bodies after
    the task's signature and docstring: at equal generated tokens its solve
    rate was the highest or level with the highest at every budget on
    HumanEval and bitvec (README, "Search scaling").

    The search checks candidates against the task's visible tests only
    (HumanEval: its docstring's examples; a task file: `visible_tests`),
    in the sandbox; the program it returns is graded once, at the end, by
    the hidden tests, and both results are reported. A task without visible
    tests is left out with one line (all of them: an error) unless --oracle
    lets the search use the hidden tests.
    """
    if collect and options["strategy"] not in COLLECTING:
        raise UserError(f"--collect goes with --strategy {' or '.join(COLLECTING)}, not {options['strategy']}")
    tests: TestsMode = "oracle" if oracle else "visible"
    tasks, left_out = _with_visible_tests(_select(options, kind="program"), tests)
    status = _run(tasks, collect=collect, tests=tests, **options)
    return max(status, EXIT_UNSOLVED) if left_out else status


def _with_visible_tests(tasks: list[Task], tests: TestsMode) -> tuple[list[Task], int]:
    """The tasks a search in mode `tests` can run, and how many were left out (one line says which)."""
    from proofsmith.search.visibility import has_hidden_tests, has_visible_tests

    if tests == "oracle":
        return tasks, 0
    blind = [t.id for t in tasks if has_hidden_tests(t) and not has_visible_tests(t)]
    if len(blind) == len(tasks):
        what = f"task {blind[0]} has no" if len(blind) == 1 else f"none of the {len(blind)} tasks has"
        raise UserError(f"{what} visible tests to search with: give visible_tests in the task file, "
                         "or pass --oracle to search with the hidden tests")
    if blind:
        shown = ", ".join(blind[:5]) + (", ..." if len(blind) > 5 else "")
        click.echo(f"{len(blind)} of {len(tasks)} tasks have no visible tests and are left out ({shown}); "
                   "--oracle searches them with the hidden tests", err=True)
    left_out = set(blind)
    kept = [t for t in tasks if t.id not in left_out]
    from proofsmith.provers import validate_task
    from proofsmith.search.visibility import search_view

    for task in kept:
        problem = validate_task(search_view(task, tests))
        if problem:  # e.g. visible_test_code that does not parse
            raise UserError(f"visible tests: {problem}")
    return kept, len(blind)


def _select(options: dict[str, Any], *, kind: str) -> list[Task]:
    """The tasks named by --task-file / --suite, --task and --limit."""
    task_file, suite, keys, limit = options["task_file"], options["suite"], options["task_keys"], options["limit"]
    if bool(task_file) == bool(suite):
        what = "FILE.v --theorem NAME, --task-file or --suite" if kind == "proof" else "--task-file or --suite"
        raise UserError(f"say which tasks: {what}")
    if task_file:
        from proofsmith.datasets.jsonl import InputError, read_tasks

        try:
            tasks, problems = read_tasks(task_file)
        except InputError as exc:
            raise UserError(str(exc)) from None
        if problems:
            raise UserError(problems[0] + (f" (and {len(problems) - 1} more bad lines)" if len(problems) > 1 else ""))
        source = task_file
    else:
        from proofsmith.datasets.cli import load_split_tasks

        tasks, source = load_split_tasks(suite), suite
    if keys:
        from proofsmith.datasets.cli import find_task

        tasks = [find_task(tasks, source, key) for key in keys]
    tasks = tasks[:limit]
    wrong = [t for t in tasks if t.kind != kind]
    if wrong:
        command = "synth" if kind == "proof" else "prove"
        raise UserError(f"task {wrong[0].id} is a {wrong[0].kind} task: use `proofsmith {command}`")
    if not tasks:
        raise UserError(f"no tasks in {source}")
    from proofsmith.provers import validate_task

    for task in tasks:
        problem = validate_task(task)
        if problem:
            raise UserError(problem)
    return tasks


def _run(tasks: list[Task], *, collect: bool, strategy: str, budget: int, max_seconds: float | None,
         max_tokens: int | None, model: str, seed: int, trace_dir: str, output: str | None, as_json: bool,
         prm_dir: str | None = None, aids: dict[str, Any] | None = None, tests: TestsMode | None = None,
         **_selection: Any) -> int:
    """Search each task; `tests` is synth's mode (None for proofs, which have no hidden tests)."""
    from rich.console import Console

    from proofsmith.models import ModelError, load_policy
    from proofsmith.search import Budget, SearchChecker, get_strategy, search
    from proofsmith.search.best_of_n import BestOfN

    console = Console(stderr=True)
    done = _done_ids(output, tests)
    todo = [t for t in tasks if t.id not in done]
    if done and len(todo) < len(tasks):
        console.print(f"{len(tasks) - len(todo)} tasks already in {output}: skipped", highlight=False)
    if not todo:
        return EXIT_OK
    chosen = get_strategy(strategy)
    if collect and isinstance(chosen, BestOfN):  # synth refused --collect with any other strategy
        chosen = dataclasses.replace(chosen, collect=True)
    limits = Budget(model_calls=budget, tokens=max_tokens, wall_s=max_seconds)
    prm = None
    try:
        if prm_dir is not None:
            from proofsmith.prm import load_prm

            prm = load_prm(prm_dir)
        policy = load_policy(model, lazy=True)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    tag = f".{prm.name}" if prm is not None else ""
    results = []
    failed = 0
    bars = _LiveSpend(console, budget, tasks=len(todo))
    with policy, SearchChecker(**(aids or {})) as checker:
        for task in todo:
            trace = Path(trace_dir) / f"{_slug(task.id)}.{chosen.name}{tag}.s{seed}.jsonl"
            with bars.search(task.id, chosen.name) as live:
                try:
                    result = search(task, policy, strategy=chosen, budget=limits, checker=checker, seed=seed,
                                    trace=trace, on_event=live.update, prm=prm, tests=tests or "visible")
                except ModelError as exc:
                    raise UserError(str(exc)) from None
                except Exception as exc:  # noqa: BLE001  # one task's failure never ends a batch
                    result, problem = None, _one_line(exc).removeprefix(f"task {task.id}: ")
            bars.finished(None if result is None else result.solved)
            if result is None:
                # not written to --output, so a later run tries the task again
                failed += 1
                console.print(f"error: {task.id}: {problem}", highlight=False, markup=False, soft_wrap=True)
                continue
            results.append(result)
            if output is not None:
                _append(output, result)
            if as_json:
                click.echo(result.model_dump_json())
            elif len(todo) == 1:
                _print_one(result, task)
                _print_tests(Console(), result, tests)
            else:
                _print_line(console, result)
                _print_tests(console, result, tests, short=True)
    if not as_json and len(todo) > 1 and results:
        _print_summary(results, collect, failed, tests)
    return EXIT_OK if not failed and all(r.solved for r in results) else EXIT_UNSOLVED


def _one_line(exc: BaseException) -> str:
    """An exception as one line: its type when it has no message, whitespace folded, at most 300 characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _slug(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", task_id).strip("_") or "task"


def _done_ids(output: str | None, tests: TestsMode | None = None) -> set[str]:
    """Task ids already in `output`; with synth's mode `tests`, a line of the other mode refuses the resume."""
    if output is None or not Path(output).is_file():
        return set()
    done = set()
    with open(output, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                record = json.loads(line)
                done.add(record["task_id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UserError(f"{output}:{number}: not a search result; move the file away to start over") from None
            # results written before the modes existed searched with the hidden tests
            found = record.get("tests", "oracle")
            if tests is not None and found != tests:
                raise UserError(f"{output}:{number}: a result of a search with {found} tests, this one uses "
                                 f"{tests} tests: write to another --output file")
    return done


def _append(output: str, result) -> None:
    try:
        with open(output, "a", encoding="utf-8") as fh:
            fh.write(result.model_dump_json() + "\n")
    except OSError as exc:
        raise UserError(f"{output}: cannot write the results ({exc.strerror or exc})") from None


class _LiveSpend:
    """Progress bars on the console while searches run; off when it is not a terminal.

    One bar per search: model calls spent, with nodes, checker calls and the
    best score. Over a batch (several tasks) a second bar above it: tasks
    done, with how many were solved (and failed) so far.
    """

    def __init__(self, console, budget: int, *, tasks: int = 1) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[unit]}  {task.fields[info]}"), TimeElapsedColumn(),
                                 console=console, transient=True, disable=not console.is_terminal)
        self.budget = budget
        self.solved = self.failed = 0
        self.batch = self.progress.add_task("batch", total=tasks, unit="tasks", info="solved 0") if tasks > 1 else None
        self.bar: TaskID | None = None
        self.nodes = 0
        self.best: float | None = None

    @contextmanager
    def search(self, task_id: str, strategy: str) -> Iterator[Self]:
        """Show the bars while one task's search runs (the batch bar's clock keeps running between tasks)."""
        self.nodes, self.best = 0, None
        self.bar = self.progress.add_task(f"{task_id} [{strategy}]", total=self.budget, unit="model calls", info="")
        self.progress.start()
        try:
            yield self
        finally:
            # stopped between tasks, so result lines print below each other, not through the bars
            self.progress.stop()
            self.progress.remove_task(self.bar)

    def finished(self, solved: bool | None) -> None:
        """Count one task of the batch: solved or not, None when its search failed (an `error:` line)."""
        if self.batch is None:
            return
        self.solved += bool(solved)
        self.failed += solved is None
        failed = f"  failed {self.failed}" if self.failed else ""
        self.progress.update(self.batch, advance=1, info=f"solved {self.solved}{failed}")

    def update(self, event) -> None:
        if event.event == "node":
            self.nodes += 1
            if event.score is not None:
                self.best = event.score if self.best is None else max(self.best, event.score)
        if event.spend is not None:
            best = f"{self.best:.2f}" if self.best is not None else "-"
            self.progress.update(self.bar, completed=event.spend.model_calls,
                                 info=f"nodes {self.nodes}  checks {event.spend.checker_calls}  best {best}")


def _print_one(result, task: Task) -> None:
    from rich.console import Console
    from rich.syntax import Syntax

    console = Console()
    status = result.verdict.status if result.verdict else "nothing checked"
    if result.solved and result.candidate is not None:
        console.print(Syntax(result.candidate.text.rstrip(), task.language, theme="ansi_dark"))
        console.print(f"[green]verified[/] {result.task_id} by {result.strategy} after "
                      f"{result.solved_at.model_calls if result.solved_at else '?'} model calls")
    else:
        console.print(f"[red]not solved[/] {result.task_id} by {result.strategy} (best candidate: {status})")
        if result.candidate is not None:
            console.print(result.candidate.text.rstrip(), markup=False, highlight=False)
    spend = result.spend
    console.print(f"spent {spend.model_calls} model calls, {spend.tokens} tokens, {spend.checker_calls} checker "
                  f"calls, {spend.wall_s:.1f} s; trace: {result.trace_path}", highlight=False, soft_wrap=True)


def _print_line(console, result) -> None:
    mark = "[green]solved[/]" if result.solved else "[red]unsolved[/]"
    at = f" at {result.solved_at.model_calls} calls" if result.solved and result.solved_at else ""
    console.print(f"{mark} {result.task_id}{at} ({result.spend.model_calls} calls, {result.spend.wall_s:.1f} s)",
                  highlight=False)


def _print_tests(console, result, tests: TestsMode | None, *, short: bool = False) -> None:
    """For a program search: the mode, and whether the answer passed the visible tests and the hidden ones."""
    if tests is None:
        return
    seen = _tally(result.search_verdict or (result.verdict if tests == "oracle" else None))
    graded = _tally(result.verdict)
    visible = "passed" if result.solved_visible else "failed"
    hidden = "passed" if result.solved_hidden else "failed"
    if short:
        line = (f"hidden tests {hidden}{graded} [oracle: the search ran them]" if tests == "oracle"
                else f"visible tests {visible}{seen}, hidden tests {hidden}{graded}")
        console.print(f"    {line}", highlight=False, markup=False)
        return
    from proofsmith.search.visibility import describe

    console.print(f"tests: {describe(tests)}; the answer {visible} the search's tests{seen} and {hidden} the "
                  f"hidden tests{graded}", highlight=False, markup=False, soft_wrap=True)


def _tally(verdict) -> str:
    """` (3/4)`: the tests a verdict counted, where it counted them."""
    if verdict is None or verdict.partial is None or not verdict.partial.total:
        return ""
    return f" ({verdict.partial.passed}/{verdict.partial.total})"


def _print_summary(results, collect: bool, failed: int = 0, tests: TestsMode | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from proofsmith.search.metrics import pass_at_k
    from proofsmith.search.visibility import describe

    solved = sum(r.solved for r in results)
    mode = f" ({describe(tests)})" if tests is not None else ""
    table = Table(title=f"proofsmith {results[0].strategy}{mode}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("solved" if tests is None else "solved (hidden tests)",
                  f"{solved}/{len(results)} ({100 * solved / len(results):.1f} %)")
    if tests is not None:
        seen = sum(r.solved_visible for r in results)
        table.add_row("passed the search's tests" + (" (hidden: oracle)" if tests == "oracle" else " (visible)"),
                      f"{seen}/{len(results)} ({100 * seen / len(results):.1f} %)")
    if failed:
        table.add_row("tasks that failed (error: lines)", str(failed))
    if collect:
        n = min(r.checked for r in results)
        for k in sorted({1, 10, n} - {0}):
            if k <= n:
                score = sum(pass_at_k(r.checked, r.verified, k) for r in results) / len(results)
                # the samples were checked against the search's tests: visible ones unless --oracle
                on = "" if tests is None else f", {'hidden' if tests == 'oracle' else 'visible'} tests"
                table.add_row(f"pass@{k} (n={n}{on})", f"{100 * score:.1f} %")
    table.add_row("model calls", str(sum(r.spend.model_calls for r in results)))
    table.add_row("checker calls", str(sum(r.spend.checker_calls for r in results)))
    table.add_row("wall seconds", f"{sum(r.spend.wall_s for r in results):.0f}")
    Console().print(table)


@click.group("trace")
def trace() -> None:
    """Read search traces (the JSONL files `prove` and `synth` write)."""


@trace.command("show")
@click.argument("path", metavar="TRACE.jsonl", type=click.Path(dir_okay=False))
@click.option("--errors/--no-errors", default=True, show_default=True, help="Show the steps the checker rejected.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), default=None, metavar="OUT.html",
              help="Write the tree as a self-contained web page (foldable nodes, goals, errors) instead.")
def show(path: str, errors: bool, html_out: str | None) -> None:
    """Draw a trace as a tree: each step with its status, score and log-probability; checks and the result.

    \b
    proofsmith trace show proofsmith-traces/add_0_r.mcts.s0.jsonl
    proofsmith trace show proofsmith-traces/add_0_r.mcts.s0.jsonl --html add_0_r.html
    """
    from rich.console import Console

    from proofsmith.search.trace import TraceError, read_trace
    from proofsmith.search.trace_view import render_html, render_tree

    try:
        events = read_trace(path)
    except TraceError as exc:
        raise UserError(str(exc)) from None
    if html_out is None:
        Console().print(render_tree(events, errors=errors))
        return
    out = Path(html_out)
    try:
        out.write_text(render_html(events, errors=errors), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{out}: cannot write the page ({exc.strerror or exc})") from None
    nodes = sum(e.event == "node" for e in events)
    click.echo(f"wrote {out} ({nodes} nodes); open {out.resolve().as_uri()} in a browser", err=True)
