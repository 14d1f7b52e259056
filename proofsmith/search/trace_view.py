"""A search trace drawn as a tree in the terminal (`proofsmith trace show`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from rich.markup import escape
from rich.tree import Tree

from proofsmith.search.trace import TraceEvent

_STYLE = {"ok": "green", "solved": "bold green", "open": "cyan", "error": "red", "unknown": "yellow"}
_VERDICT = {"verified": "bold green", "refuted": "red", "unknown": "yellow"}


def _one_line(text: str | None, limit: int = 90) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def render_tree(events: Sequence[TraceEvent], *, errors: bool = True) -> Tree:
    """The trace as a rich Tree: node 0 is the task; children in the order they were made."""
    start = next((e for e in events if e.event == "start"), None)
    end = next((e for e in events if e.event == "end"), None)
    info = start.info if start and start.info else {}
    title = f"[bold]{escape(str(info.get('task_id', '?')))}[/] by {escape(str(info.get('strategy', '?')))}"
    budget = info.get("budget") or {}
    if budget.get("model_calls"):
        title += f", budget {budget['model_calls']} model calls"
    root = Tree(title)
    children: dict[int, list[TraceEvent]] = defaultdict(list)
    checks: dict[int, list[TraceEvent]] = defaultdict(list)
    for event in events:
        if event.event == "node" and event.parent is not None:
            children[event.parent].append(event)
        elif event.event == "check" and event.node is not None:
            checks[event.node].append(event)

    def label(event: TraceEvent) -> str:
        style = _STYLE.get(event.status or "", "white")
        parts = [f"[{style}]{escape(_one_line(event.step))}[/]", f"[dim]{event.status}[/]"]
        if event.score is not None:
            parts.append(f"score {event.score:.2f}")
        if event.logprob is not None:
            parts.append(f"logp {event.logprob:.1f}")
        if event.status in ("error", "unknown") and event.error:
            parts.append(f"[dim]{escape(_one_line(event.error, 70))}[/]")
        for check in checks.get(event.node or -1, []):
            verdict = check.verdict or "?"
            why = f" {check.reason}" if check.reason else ""
            parts.append(f"[{_VERDICT.get(verdict, 'white')}]-> {verdict}{escape(why)}[/]")
        return "  ".join(parts)

    hidden = 0

    def grow(branch: Tree, node: int) -> None:
        nonlocal hidden
        for event in children.get(node, []):
            if not errors and event.status in ("error", "unknown"):
                hidden += 1
                continue
            grow(branch.add(label(event)), event.node or 0)

    grow(root, 0)
    if hidden:
        root.add(f"[dim]({hidden} rejected steps hidden)[/]")
    if end is not None and end.info is not None:
        spend = end.spend
        verdict = "[bold green]solved[/]" if end.info.get("solved") else "[red]not solved[/]"
        used = f"{spend.model_calls} model calls, {spend.checker_calls} checker calls, {spend.wall_s:.1f} s" \
            if spend else ""
        root.add(f"{verdict}; {used}")
    else:
        root.add("[yellow]no end event: the search stopped before it finished[/]")
    return root
