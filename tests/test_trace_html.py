"""`proofsmith trace show --html`: a self-contained page of the search tree, rendered by a real browser.

The traces are real ones (tests/data/prm_traces/: beam searches of the
default model on Coq stdlib lemmas, checked by Coq) plus one written here
whose steps carry markup, as a model's output may. The page is opened by
headless Chromium (Debian `chromium`), which takes a screenshot.
"""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from proofsmith.cli import cli
from proofsmith.search.budget import Spend
from proofsmith.search.trace import TraceEvent, read_trace
from proofsmith.search.trace_view import render_html

DATA = Path(__file__).parent / "data" / "prm_traces"
#: solved: intros, eqb2eq, a rejected step (syntax error), then `now subst.` verified
SOLVED = DATA / "stdlib_Coq.NArith.Ndec.Ndiv2_eq.beam.s0.jsonl"
#: not solved: one accepted step, rejected ones with Coq's errors
UNSOLVED = DATA / "stdlib_Coq.QArith.QArith_base.Qle_alt.beam.s0.jsonl"
CHROMIUM = Path("/usr/bin/chromium")
#: the badge colours of the page's style: solved and error
SOLVED_GREEN, ERROR_RED = (0x11, 0x63, 0x29), (0xCF, 0x22, 0x2E)


class _Details(HTMLParser):
    """Which <details> each <details> sits in, by id."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parent: dict[str | None, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details":
            node = dict(attrs).get("id")
            self.parent[node] = self.stack[-1] if self.stack else None
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self.stack.pop()


def _nesting(page: str) -> dict[str | None, str | None]:
    parser = _Details()
    parser.feed(page)
    assert parser.stack == [], "a <details> is left open"
    return parser.parent


def _show_html(trace: Path, out: Path, *extra: str):
    result = CliRunner().invoke(cli, ["trace", "show", str(trace), "--html", str(out), *extra], standalone_mode=False)
    assert result.exception is None, result.output
    return result


def test_the_page_holds_the_tree_goals_errors_scores_checks_and_result(tmp_path):
    out = tmp_path / "solved.html"
    result = _show_html(SOLVED, out)
    assert f"open {out.resolve().as_uri()} in a browser" in result.stderr
    page = out.read_text()
    assert page.count("<details") == 5  # the start and its 4 nodes
    # nested as in the trace (as a browser's parser reads it)
    assert _nesting(page) == {"n0": None, "n1": "n0", "n2": "n1", "n3": "n2", "n4": "n2"}
    for text in ("intros.", "eqb2eq.", "now subst.", "H : a = a&#x27;", "Syntax error: [ltac_use_default]",
                 "score 0.851", "logp -9.86", "&rarr; verified (reward 1.00)", "solved &middot; 9 model calls",
                 "qwen2.5-coder-0.5b-q4", "budget 16 model calls", "Lemma Ndiv2_eq a a&#x27;"):
        assert text in page, text
    answer = re.search(r'<pre class="answer">(.*?)</pre>', page, re.DOTALL)
    assert answer and answer.group(1) == "intros.\neqb2eq.\nnow subst."
    # the path to the verified node is marked; the rejected step is not on it
    assert re.search(r'<details class="node path"[^>]*id="n4"', page)
    assert re.search(r'<details class="node"[^>]*id="n3"', page)


def test_the_page_is_self_contained(tmp_path):
    out = tmp_path / "unsolved.html"
    _show_html(UNSOLVED, out)
    page = out.read_text()
    assert "not solved &middot; 16 model calls" in page and "Z.le_lt_iff was not found" in page
    lowered = page.lower()
    for outside in ("http:", "https:", "//cdn", "<script", "<link", "src=", "url(", "@import"):
        assert outside not in lowered, outside


def test_model_output_in_the_trace_is_shown_as_text_not_markup(tmp_path):
    evil = '</code></summary></details><script>alert("x")</script><img src=x onerror=alert(1)>'
    events = [
        TraceEvent(event="start", node=0, info={"task_id": "<b>t</b>", "strategy": "beam", "statement": evil}),
        TraceEvent(event="node", node=1, parent=0, step=evil, status="error", error=evil, logprob=-1.0,
                   spend=Spend(model_calls=1)),
        TraceEvent(event="node", node=2, parent=0, step="exact I.", status="solved", goals=evil, score=1.0),
        TraceEvent(event="check", node=2, verdict="refuted", reason=evil),
        TraceEvent(event="end", spend=Spend(model_calls=1), info={"solved": False, "candidate": evil}),
    ]
    trace = tmp_path / "evil.jsonl"
    trace.write_text("".join(e.model_dump_json(exclude_none=True) + "\n" for e in events))
    page = render_html(read_trace(trace))
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 6  # statement, step, error, goals, reason, answer
    assert _nesting(page) == {"n0": None, "n1": "n0", "n2": "n0"}  # the injected closing tags closed nothing


def test_no_errors_hides_rejected_steps_and_says_how_many(tmp_path):
    out = tmp_path / "ok-only.html"
    _show_html(UNSOLVED, out, "--no-errors")
    page = out.read_text()
    assert "Z.le_lt_iff" not in page and "(8 rejected steps hidden)" in page
    assert page.count("<details") == 4  # the start and the three accepted `symmetry.` nodes


def test_a_large_tree_starts_folded_except_the_path_to_the_answer():
    events = [TraceEvent(event="start", node=0, info={"task_id": "big", "strategy": "mcts"})]
    # a chain 1 -> 2 -> 3 that solves, and 100 rejected siblings
    events += [TraceEvent(event="node", node=n, parent=n - 1, step=f"s{n}.", status="ok") for n in (1, 2)]
    events += [TraceEvent(event="node", node=3, parent=2, step="done.", status="solved")]
    events += [TraceEvent(event="node", node=n, parent=0, step=f"bad{n}.", status="error", error="no")
               for n in range(4, 104)]
    events += [TraceEvent(event="check", node=3, verdict="verified", reward=1.0),
               TraceEvent(event="end", info={"solved": True})]
    page = render_html(events)
    opened = re.findall(r'<details class="node[^"]*" open id="n(\d+)"', page)
    assert opened == ["0", "1", "2", "3"]
    assert page.count("<details") == 104


def _screenshot(page: Path, png: Path, profile: Path) -> subprocess.CompletedProcess:
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               f"--screenshot={png}", "--window-size=1200,900", page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not CHROMIUM.is_file(), reason="headless Chromium is not installed (apt-get install chromium)")
def test_chromium_renders_the_page(tmp_path):
    image_lib = pytest.importorskip("PIL.Image", reason="reading the screenshot needs Pillow (a matplotlib dependency)")
    page = tmp_path / "solved.html"
    _show_html(SOLVED, page)
    png = tmp_path / "solved.png"
    done = _screenshot(page, png, tmp_path / "profile")
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    with image_lib.open(png) as shot:
        assert shot.size == (1200, 900)
        pixels = list(shot.convert("RGB").get_flattened_data())
    white = sum(p == (255, 255, 255) for p in pixels)
    assert white < 0.9 * len(pixels), "the screenshot is (nearly) blank"
    # the page's own style was applied: the solved badge and the error badge are drawn in their colours
    assert sum(p == SOLVED_GREEN for p in pixels) > 500
    assert sum(p == ERROR_RED for p in pixels) > 300
