"""A search trace drawn as a tree: in the terminal, or as an HTML page (`proofsmith trace show [--html]`)."""

from __future__ import annotations

import html
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


# ------------------------------------------------------------------------------------------ HTML page

#: the page's whole style: no external CSS, fonts, images or scripts, so the file opens offline anywhere
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em 2em;color:#1f2328;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
.sub{color:#59636e;margin:0 0 .6em}
pre,code{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #d1d9e0;border-radius:6px;padding:.5em .7em;margin:.3em 0;
white-space:pre-wrap;word-break:break-word}
pre.error{background:#fff1f0;border-color:#f4b4ae}
.result{display:inline-block;font-weight:600;border-radius:6px;padding:.3em .8em;margin:.3em 0}
.result.solved{background:#dafbe1;color:#116329}.result.unsolved{background:#ffebe9;color:#a40e26}
.result.unfinished{background:#fff8c5;color:#7d4e00}
.legend span{margin-right:.8em}
.badge{display:inline-block;min-width:3.6em;text-align:center;border-radius:999px;padding:0 .55em;font-size:12px;
font-weight:600;color:#fff;background:#6e7781}
.st-ok{background:#2da44e}.st-solved{background:#116329}.st-open{background:#0969da}.st-error{background:#cf222e}
.st-unknown{background:#bf8700}
.v-verified{color:#116329}.v-refuted{color:#cf222e}.v-unknown{color:#9a6700}
.tree details{margin:.15em 0 .15em 1.1em;border-left:2px solid #d1d9e0;padding-left:.6em}
.tree>details{margin-left:0}
.tree details.path{border-left-color:#2da44e}
summary{cursor:pointer;padding:.1em 0}
summary code{background:#eff2f5;border-radius:4px;padding:0 .3em}
.path>summary code{background:#dafbe1}
.num{color:#59636e;margin-left:.6em;font-variant-numeric:tabular-nums}
.check{margin-left:.6em;font-weight:600}
.nid{color:#8c959f;margin-left:.6em;font-size:12px}
.meta{color:#59636e;font-size:12px;margin:.1em 0 .3em}
table.stats{border-collapse:collapse}table.stats td{border:1px solid #d1d9e0;padding:2px 8px}
"""

#: above this many nodes only the root and the path to the answer start open (the rest one click away)
_OPEN_ALL_UP_TO = 60


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_html(events: Sequence[TraceEvent], *, errors: bool = True) -> str:
    """The trace as one self-contained HTML page: the search tree as nested, collapsible `<details>`.

    Each node shows its step, status, score and log-probability, the goals
    after it or the checker's error, and the full checks of the candidate it
    stands for; the header names the task, strategy, model and budget, and
    the result with the spend and the answer. Every text from the trace
    (model output included) is escaped: the page runs no script at all.
    """
    start = next((e for e in events if e.event == "start"), None)
    end = next((e for e in events if e.event == "end"), None)
    info = start.info if start and start.info else {}
    children: dict[int, list[TraceEvent]] = defaultdict(list)
    checks: dict[int, list[TraceEvent]] = defaultdict(list)
    parent_of: dict[int, int] = {}
    for event in events:
        if event.event == "node" and event.parent is not None and event.node is not None:
            children[event.parent].append(event)
            parent_of[event.node] = event.parent
        elif event.event == "check" and event.node is not None:
            checks[event.node].append(event)
    nodes = sum(len(kids) for kids in children.values())
    # the path from the root to every verified candidate (and to the best node the end event names)
    on_path: set[int] = set()
    ends = [n for n, cs in checks.items() if any(c.verdict == "verified" for c in cs)]
    if end is not None and end.node is not None:
        ends.append(end.node)
    for node in ends:
        while node not in on_path:
            on_path.add(node)
            if node not in parent_of:
                break
            node = parent_of[node]
    open_all = nodes <= _OPEN_ALL_UP_TO
    hidden = 0

    def node_html(event: TraceEvent) -> str:
        status = event.status or "unknown"
        step = event.step or ""
        first = _one_line(step, 100)
        parts = [f'<span class="badge st-{_esc(status)}">{_esc(status)}</span> <code>{_esc(first)}</code>']
        if event.score is not None:
            parts.append(f'<span class="num">score {event.score:.3f}</span>')
        if event.logprob is not None:
            parts.append(f'<span class="num">logp {event.logprob:.2f}</span>')
        for check in checks.get(event.node if event.node is not None else -1, []):
            verdict = check.verdict or "?"
            reward = f" (reward {check.reward:.2f})" if check.reward is not None else ""
            parts.append(f'<span class="check v-{_esc(verdict)}">&rarr; {_esc(verdict)}{_esc(reward)}</span>')
        parts.append(f'<span class="nid">#{event.node}</span>')
        body = []
        if "\n" in step.strip() or first != " ".join(step.split()):
            body.append(f'<pre class="step">{_esc(step.rstrip())}</pre>')
        if event.goals:
            body.append(f'<pre class="goals">{_esc(event.goals)}</pre>')
        if event.error:
            body.append(f'<pre class="error">{_esc(event.error)}</pre>')
        for check in checks.get(event.node if event.node is not None else -1, []):
            if check.reason:
                body.append(f'<div class="meta">check: {_esc(check.verdict)}: {_esc(check.reason)}</div>')
        if event.spend is not None:
            s = event.spend
            body.append(f'<div class="meta">after {s.model_calls} model calls, {s.tokens} tokens, '
                        f'{s.checker_calls} checker calls, {s.wall_s:.1f} s</div>')
        body.append(grow(event.node if event.node is not None else -1))
        path = " path" if event.node in on_path else ""
        opened = " open" if open_all or event.node in on_path else ""
        return (f'<details class="node{path}"{opened} id="n{event.node}"><summary>{" ".join(parts)}</summary>'
                + "".join(body) + "</details>\n")

    def grow(node: int) -> str:
        nonlocal hidden
        out = []
        for event in children.get(node, []):
            if not errors and event.status in ("error", "unknown"):
                hidden += 1
                continue
            out.append(node_html(event))
        return "".join(out)

    task_id = str(info.get("task_id", "?"))
    budget = info.get("budget") or {}
    facts = [f"strategy <b>{_esc(info.get('strategy', '?'))}</b>", f"model {_esc(info.get('policy', '?'))}"]
    if info.get("prm"):
        facts.append(f"PRM {_esc(info['prm'])}")
    if budget.get("model_calls"):
        facts.append(f"budget {_esc(budget['model_calls'])} model calls")
    for key in ("seed", "language"):
        if info.get(key) is not None:
            facts.append(f"{key} {_esc(info[key])}")
    tree = grow(0)
    root = (f'<details class="node{" path" if on_path else ""}" open id="n0"><summary><b>start</b>'
            f'<span class="nid">{nodes} nodes</span></summary>{tree}')
    if hidden:
        root += f'<div class="meta">({hidden} rejected steps hidden)</div>'
    root += "</details>\n"

    if end is not None and end.info is not None:
        solved = bool(end.info.get("solved"))
        spend = end.spend
        used = (f"{spend.model_calls} model calls, {spend.tokens} tokens, {spend.checker_calls} checker calls, "
                f"{spend.wall_s:.1f} s") if spend else ""
        result = (f'<div class="result {"solved" if solved else "unsolved"}">'
                  f'{"solved" if solved else "not solved"}{" &middot; " + used if used else ""}</div>')
        tail = ["<h2>Result</h2>", result]
        candidate = end.info.get("candidate")
        if candidate:
            tail.append(f'<pre class="answer">{_esc(str(candidate).rstrip())}</pre>')
        stats = {"checked": end.info.get("checked"), "verified": end.info.get("verified"),
                 **(end.info.get("stats") or {})}
        rows = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in stats.items() if v is not None)
        if rows:
            tail.append(f'<table class="stats">{rows}</table>')
    else:
        result = '<div class="result unfinished">no end event: the search stopped before it finished</div>'
        tail = []
    statement = info.get("statement")
    legend = "".join(f'<span><span class="badge st-{s}">{s}</span></span>' for s in _STYLE)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
        f"<title>proofsmith trace: {_esc(task_id)}</title>\n<style>{_CSS}</style></head><body>\n"
        f"<h1>{_esc(task_id)}</h1>\n<p class=\"sub\">{' &middot; '.join(facts)}</p>\n"
        + (f'<pre class="statement">{_esc(statement)}</pre>\n' if statement else "")
        + result + "\n<h2>Search tree</h2>\n"
        f'<p class="legend">{legend}<span class="num">click a step to fold or unfold it; the path to the answer '
        "is marked green</span></p>\n"
        f'<div class="tree">{root}</div>\n' + "\n".join(tail) + "\n</body></html>\n")
