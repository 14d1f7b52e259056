"""`bench report`: the leaderboard of one or more runs, as a rich table, report.md and report.html with PNG plots.

Plots (matplotlib, the `bench` extra): solved rate vs budget per strategy
(one panel per suite, 95 % bootstrap intervals as error bars), coverage vs
samples (model calls) for each strategy's largest budget and for collected
samples, and a per-task matrix (tasks x configurations, the fraction of seeds
solved; unknown-only cells marked).
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from pathlib import Path

from proofsmith.bench.metrics import Summary, summarise
from proofsmith.bench.store import Store, iter_rows

HEADER = ["run", "suite", "configuration", "tasks", "jobs", "solved", "solved rate [95% CI]", "pass@k",
          "eff@k", "unknown", "calls/solve", "tokens/solve", "checker s/solve", "mean wall s"]

#: what the numbers mean, under the table of report.md and report.html
NOTE = ("Solved rate: fraction of (task, seed) jobs whose candidate the full checker verified (unknown counts as "
        "not solved), with a 95 % bootstrap interval over tasks (2000 resamples, seed 0). pass@k: unbiased "
        "estimator over collected samples, else over seeds. Spend per solve: all of the configuration's spend "
        "divided by its solves.")


def load_summaries(run_dirs: list[str | Path]) -> list[Summary]:
    """Summaries of every (suite, configuration) of each run, in run order; StoreError for a bad directory."""
    out: list[Summary] = []
    names = _run_names(run_dirs)
    for run_dir, name in zip(run_dirs, names, strict=True):
        with Store(run_dir, create=False) as store:
            spec = store.spec()
            rows = list(iter_rows(store))
        out += summarise(name, rows, spec.pass_k if spec else (1,))
    return out


def _run_names(run_dirs: list[str | Path]) -> list[str]:
    names = [Path(d).resolve().name for d in run_dirs]
    if len(set(names)) < len(names):
        names = [str(d) for d in run_dirs]
    return names


def _fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table_rows(summaries: list[Summary]) -> list[list[str]]:
    """The leaderboard's cells, one list per summary (columns of HEADER)."""
    rows = []
    for s in summaries:
        pass_at = ", ".join(f"@{k} {100 * e.value:.1f} %" for k, e in s.pass_at.items()) or "-"
        eff_at = ", ".join(f"@{k} {e.value:.3f}" for k, e in s.eff_at.items()) or "-"
        rows.append([s.run, s.suite, s.config.label, str(s.tasks), str(s.jobs), str(s.solved),
                     s.solved_rate.percent(), pass_at, eff_at, str(s.unknown), _fmt(s.calls_per_solve),
                     _fmt(s.tokens_per_solve, 0), _fmt(s.checker_s_per_solve, 2), _fmt(s.mean_wall_s)])
    return rows


def print_table(summaries: list[Summary], console=None) -> None:
    """The leaderboard as a rich table on stdout."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(width=None if os.isatty(1) or "COLUMNS" in os.environ else 200)
    multi = len({s.run for s in summaries}) > 1
    table = Table(title="proofsmith bench leaderboard")
    columns = HEADER if multi else HEADER[1:]
    for col in columns:
        table.add_column(col, justify="left" if col in ("run", "suite", "configuration") else "right")
    for row in table_rows(summaries):
        table.add_row(*(escape(cell) for cell in (row if multi else row[1:])))
    console.print(table)


def write_report(summaries: list[Summary], out_dir: str | Path, run_dirs: list[str | Path]) -> list[Path]:
    """Write report.md, report.html and the PNG plots into `out_dir`; the files written.

    Both reports open with the solved-vs-budget plot (the figure a reader
    looks for first), then the leaderboard table, then the other plots.
    """
    out = Path(out_dir)
    plots_dir = out / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(summaries, plots_dir)
    lead, rest = plots[:1], plots[1:]
    rows = table_rows(summaries)
    sources = ", ".join(f"`{d}`" for d in run_dirs)
    md = ["# proofsmith bench report\n"]
    md += [f"![{title}](plots/{path.name})\n" for title, path in lead]
    md += [f"Runs: {sources}. {NOTE}\n",
           "| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|",
           *("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows), ""]
    for title, path in rest:
        md += [f"## {title}\n", f"![{title}](plots/{path.name})\n"]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>\n" for r in rows)
    opening = "".join(f"<img src=\"plots/{p.name}\" alt=\"{html.escape(t)}\">\n" for t, p in lead)
    figures = "".join(f"<h2>{html.escape(t)}</h2>\n<img src=\"plots/{p.name}\" alt=\"{html.escape(t)}\">\n"
                      for t, p in rest)
    page = (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>proofsmith bench report</title>\n"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:nth-child(-n+3){text-align:left}"
        "img{max-width:100%}</style></head><body>\n<h1>proofsmith bench report</h1>\n" + opening
        + f"<p>Runs: {html.escape(', '.join(str(d) for d in run_dirs))}. {html.escape(NOTE)}</p>\n"
        "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in HEADER) + "</tr>\n" + cells + "</table>\n"
        + figures + "</body></html>\n")
    (out / "report.html").write_text(page, encoding="utf-8")
    return [out / "report.md", out / "report.html", *(p for _, p in plots)]


def _series_label(s: Summary, multi_run: bool) -> str:
    base = f"{s.config.model}/{s.config.strategy}" + ("+collect" if s.config.collect else "")
    return f"{s.run}: {base}" if multi_run else base


def write_plots(summaries: list[Summary], plots_dir: Path) -> list[tuple[str, Path]]:
    """The three plots as PNGs; [] (with nothing written) when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    suites = list(dict.fromkeys(s.suite for s in summaries))
    multi_run = len({s.run for s in summaries}) > 1
    styles = ["o-", "s--", "^-.", "D:", "v-", "P--", "X-.", "*:"]
    written = []

    # 1. solved rate vs budget, one line per (run, model, strategy)
    fig, axes = plt.subplots(1, len(suites), figsize=(6 * len(suites), 4.5), squeeze=False)
    for ax, suite in zip(axes[0], suites, strict=True):
        lines: dict[str, list[Summary]] = defaultdict(list)
        for s in summaries:
            if s.suite == suite and not s.config.collect:
                lines[_series_label(s, multi_run)].append(s)
        for i, (label, members) in enumerate(lines.items()):
            members.sort(key=lambda s: s.config.budget)
            xs = [s.config.budget for s in members]
            ys = [100 * s.solved_rate.value for s in members]
            err = [[100 * (s.solved_rate.value - s.solved_rate.low) for s in members],
                   [100 * (s.solved_rate.high - s.solved_rate.value) for s in members]]
            # a small sideways shift per line keeps equal points and their intervals apart
            shift = [x * (1 + 0.04 * (i - (len(lines) - 1) / 2)) for x in xs]
            ax.errorbar(shift, ys, yerr=err, fmt=styles[i % len(styles)], capsize=4, label=label)
        budgets = sorted({s.config.budget for s in summaries if s.suite == suite and not s.config.collect})
        ax.set_xscale("log", base=2)
        if budgets:
            ax.set_xticks(budgets, [str(b) for b in budgets])
            ax.set_xlim(budgets[0] / 1.5, budgets[-1] * 1.5)
        ax.set_ylim(-5, 105)
        ax.set_xlabel("budget (model calls per search)")
        ax.set_ylabel("solved (% of jobs)")
        tasks = max((s.tasks for s in summaries if s.suite == suite), default=0)
        ax.set_title(f"{suite} ({tasks} tasks)")
        ax.grid(True, alpha=0.3)
        if lines:
            # below the axes: inside, it hides error bars that span the whole range
            ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    fig.suptitle("Solved vs budget (95% bootstrap intervals over tasks)")
    fig.tight_layout()
    path = plots_dir / "solved_vs_budget.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(("Solved vs budget per strategy", path))

    # 2. coverage vs samples: each (run, model, strategy) at its largest budget, and collected samples
    fig, axes = plt.subplots(1, len(suites), figsize=(6 * len(suites), 4.5), squeeze=False)
    for ax, suite in zip(axes[0], suites, strict=True):
        largest: dict[str, Summary] = {}
        for s in summaries:
            if s.suite != suite:
                continue
            label = _series_label(s, multi_run)
            if label not in largest or s.config.budget > largest[label].config.budget:
                largest[label] = s
        for i, (label, s) in enumerate(largest.items()):
            # from 0 calls (nothing solved) to half a step past the budget, so the last level shows
            ks = [0, *(k for k, _ in s.coverage), s.config.budget + 0.5]
            ys = [0.0, *(100 * v for _, v in s.coverage), 100 * s.coverage[-1][1]]
            style = styles[i % len(styles)]
            ax.step(ks, ys, where="post", linestyle=style[1:], linewidth=2.5 - 0.3 * (i % 4),
                    label=f"{label} (budget {s.config.budget})")
            ax.plot(ks[1:-1], ys[1:-1], linestyle="none", marker=style[0], markersize=6 - (i % 3),
                    color=ax.lines[-1].get_color())
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlim(left=0)
        ax.set_ylim(-5, 105)
        ax.set_xlabel("model calls (samples)")
        ax.set_ylabel("coverage (% of tasks solved)")
        ax.set_title(suite)
        ax.grid(True, alpha=0.3)
        if largest:
            ax.legend(fontsize="small", loc="best")
    fig.suptitle("Coverage vs samples")
    fig.tight_layout()
    path = plots_dir / "coverage_vs_samples.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(("Coverage vs samples", path))

    # 3. per-task matrix
    configs = list(dict.fromkeys((s.run, s.config.label) for s in summaries))
    task_keys = list(dict.fromkeys((s.suite, t) for s in summaries for t in s.per_task))
    cell: dict[tuple, float | None] = {}
    for s in summaries:
        for t, v in s.per_task.items():
            cell[(s.suite, t, s.run, s.config.label)] = v
    import numpy as np

    grid = np.full((len(task_keys), len(configs)), np.nan)
    unknown = []
    for r, (suite, t) in enumerate(task_keys):
        for c, (run, label) in enumerate(configs):
            key = (suite, t, run, label)
            if key in cell and cell[key] is not None:
                grid[r, c] = cell[key]
            elif key in cell:
                unknown.append((r, c))
    height = max(3.0, 0.35 * len(task_keys) + 2.5)
    width = max(6.0, 0.9 * len(configs) + 4.5)
    fig, ax = plt.subplots(figsize=(width, height))
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for r in range(len(task_keys)):
        for c in range(len(configs)):
            if not np.isnan(grid[r, c]):
                value = grid[r, c]
                ax.text(c, r, f"{value:.0%}" if 0 < value < 1 else ("solved" if value else "unsolved"),
                        ha="center", va="center", fontsize=7, color="white" if abs(value - 0.5) > 0.3 else "black")
    for r, c in unknown:
        ax.text(c, r, "unknown", ha="center", va="center", fontsize=6, color="#555555")
    ax.set_xticks(range(len(configs)),
                  [f"{run}\n{label}" if multi_run else label for run, label in configs], rotation=35, ha="right",
                  fontsize=7)
    ax.set_yticks(range(len(task_keys)), [_short(t) for _, t in task_keys], fontsize=7)
    # a line between suites, and the suite named at the right of its block
    for r in range(1, len(task_keys)):
        if task_keys[r][0] != task_keys[r - 1][0]:
            ax.axhline(r - 0.5, color="black", linewidth=2)
    for suite in dict.fromkeys(k[0] for k in task_keys):
        rows_of = [r for r, k in enumerate(task_keys) if k[0] == suite]
        ax.text(len(configs) - 0.45, (rows_of[0] + rows_of[-1]) / 2, suite, rotation=270, va="center",
                ha="left", fontsize=7)
    fig.colorbar(image, ax=ax, label="fraction of seeds solved", shrink=0.8, pad=0.08)
    ax.set_title("Per-task results (grey: not run or no decision)")
    fig.tight_layout()
    path = plots_dir / "task_matrix.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(("Per-task matrix", path))
    return written


def _short(task_id: str) -> str:
    """A task id short enough for an axis label (`stdlib:Coq.Bool.Bool.orb_negb_r` -> `Bool.orb_negb_r`)."""
    if task_id.startswith("stdlib:") and task_id.count(".") >= 2:
        return ".".join(task_id.split(".")[-2:])
    return task_id if len(task_id) <= 32 else task_id[:29] + "..."
