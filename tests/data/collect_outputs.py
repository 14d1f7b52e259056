"""Regenerate `model_outputs.jsonl`: real, unedited outputs of the default model, for the extractor tests.

Run from the repository root: `.venv/bin/python tests/data/collect_outputs.py [--only ID_PREFIX]`
(`--only` regenerates just the matching lines and keeps the others).
Each line keeps the rendered prompt, the sampling settings and the model's
sha256, so any output can be traced to what produced it. The outputs are
sampled at temperature 0.8 on purpose: the messier, the better the test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proofsmith.datasets.humaneval import load_tasks
from proofsmith.models import get_spec, load_policy
from proofsmith.models.prompts import build_messages, render, stop_for
from proofsmith.schema import Task

OUT = Path(__file__).with_name("model_outputs.jsonl")
MODEL = "qwen2.5-coder-0.5b-q4"

#: Coq theorems for whole-proof prompts (the model is weak at Coq; its chatter is the point).
COQ_THEOREMS = [
    "Theorem add_0_r : forall n : nat, n + 0 = n.",
    "Theorem andb_comm : forall a b : bool, andb a b = andb b a.",
    "Theorem app_nil_r : forall (A : Type) (l : list A), l ++ nil = l.",
    "Theorem plus_n_Sm' : forall n m : nat, S (n + m) = n + S m.",
    "Lemma negb_involutive : forall b : bool, negb (negb b) = b.",
    "Theorem mult_0_l : forall n : nat, 0 * n = 0.",
]
#: (theorem, goals) pairs for next-tactic prompts.
COQ_GOALS = [
    ("Theorem add_0_r : forall n : nat, n + 0 = n.", "============================\nforall n : nat, n + 0 = n"),
    ("Lemma negb_involutive : forall b : bool, negb (negb b) = b.",
     "b : bool\n============================\nnegb (negb b) = b"),
    ("Theorem andb_true : andb true true = true.", "============================\nandb true true = true"),
    ("Theorem le_refl' : forall n : nat, n <= n.", "n : nat\n============================\nn <= n"),
]


def main() -> int:
    only = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--only" else None
    kept = {}
    if only is not None and OUT.exists():
        kept = {json.loads(line)["id"]: line for line in OUT.read_text().splitlines() if line.strip()}
    spec = get_spec(MODEL)
    policy = load_policy(MODEL, n_threads=2, n_parallel=1)
    jobs: list[tuple[str, Task, bool, str | None]] = []
    for task in load_tasks()[::5][:30]:
        jobs.append((task.id, task, False, None))
    for i, theorem in enumerate(COQ_THEOREMS):
        jobs.append((f"coq-proof-{i}", Task(id=f"coq-proof-{i}", language="coq", kind="proof", statement=theorem),
                     False, None))
    for i, (theorem, goals) in enumerate(COQ_GOALS):
        jobs.append((f"coq-tactic-{i}", Task(id=f"coq-tactic-{i}", language="coq", kind="proof", statement=theorem),
                     True, goals))
    lines = []
    for seed, (ident, task, step, goals) in enumerate(jobs):
        if only is not None and not ident.startswith(only) and ident in kept:
            lines.append(kept[ident])
            continue
        prompt = render(build_messages(task, step=step, goals=goals), spec.chat_template,
                        system_prompt=spec.system_prompt)
        max_tokens = 48 if step else 384
        [out] = policy.propose(prompt, n=1, max_tokens=max_tokens, temperature=0.8,
                               stop=stop_for(spec.chat_template, step=step), seed=seed)
        record = {"id": ident, "language": task.language, "step": step, "entry_point": task.entry_point,
                  "model": MODEL, "sha256": spec.sha256, "temperature": 0.8, "seed": seed, "max_tokens": max_tokens,
                  "prompt": prompt, "output": out.text, "finish_reason": out.finish_reason}
        lines.append(json.dumps(record))
        print(ident, out.n_tokens, out.finish_reason, file=sys.stderr, flush=True)
    OUT.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
