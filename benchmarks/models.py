"""Model benchmarks: speed and memory of each backend/model, and HumanEval pass@k of the default model.

1. Speed, one fresh process per backend/model so peak memory (VmHWM) is its own:
   prompt processing and generation tokens/s measured separately, through the
   public `Policy.propose` (a ~500-token prompt with max_tokens=1 for the
   prompt rate; a short prompt and 128 sampled tokens for the generation rate,
   less the short prompt's own processing time). Rows: llama.cpp GGUF for each
   installed registry model; llama.cpp's own OpenAI-compatible server through
   `OpenAIPolicy` (loopback HTTP); transformers fp32 and int8-dynamic on
   SmolLM2-135M dequantized from its GGUF (needs the models-torch extra;
   skipped otherwise).
2. HumanEval pass@1 and pass@10 of the default model: n=10 samples per task at
   temperature 0.8, scored with the unbiased estimator
   1 - C(n-c, k) / C(n, k). `proofsmith synth` does not exist yet (issue 4), so
   this drives the pipeline itself: prompt -> `Policy.propose` ->
   `extract.python_candidate` -> `proofsmith.provers.check_many` (bwrap sandbox);
   generation stops at the closing code fence. `--every N` takes every Nth
   task when the full 164 x 10 is too slow (about 50 s per task on 2 cores).

Run: `.venv/bin/python benchmarks/models.py [--threads 2] [--every 4] [--samples 10] [--skip-speed] [--skip-humaneval]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

LONG_PROMPT_WORDS = 100  # about 550 tokens with these tokenizers
GEN_TOKENS = 128


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _long_prompt(salt: int) -> str:
    # a fresh prefix each time: llama.cpp would otherwise reuse the cached prompt and measure nothing
    words = " ".join(f"w{(salt * 7919 + i * 104729) % 100000}" for i in range(LONG_PROMPT_WORDS))
    return f"Run {salt}. Summarise these tokens: {words}\n"


def _measure(policy, repeats: int) -> dict[str, float]:
    prompt_rates, gen_rates = [], []
    short = "Write a long story about a lighthouse keeper."
    for r in range(repeats):
        before = policy.usage.prompt_tokens
        start = time.perf_counter()
        policy.propose(_long_prompt(r), n=1, max_tokens=1, temperature=0.0)
        elapsed = time.perf_counter() - start
        prompt_rates.append((policy.usage.prompt_tokens - before) / elapsed)
    prompt_rate = max(prompt_rates)
    for r in range(repeats):
        before = policy.usage.prompt_tokens
        start = time.perf_counter()
        [p] = policy.propose(f"{short} ({r})", n=1, max_tokens=GEN_TOKENS, temperature=0.8, seed=r)
        elapsed = time.perf_counter() - start - (policy.usage.prompt_tokens - before) / prompt_rate
        gen_rates.append(p.n_tokens / elapsed)
    return {"prompt_tps": prompt_rate, "gen_tps": max(gen_rates)}


def _hf_smollm2(threads: int) -> Path:
    """SmolLM2-135M as a Hugging Face folder, dequantized from the registry GGUF once and cached."""
    import torch
    import transformers

    from proofsmith.models.registry import get_spec, model_dir, model_path

    folder = model_dir() / "hf-smollm2-135m-from-gguf"
    if (folder / "config.json").is_file():
        return folder
    torch.set_num_threads(threads)
    gguf = model_path(get_spec("smollm2-135m"))
    tok = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # a GGUF-loaded model refuses save_pretrained; a fresh one with the same weights does not
    fresh = type(loaded)(loaded.config)
    fresh.load_state_dict(loaded.state_dict())
    fresh.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def one_config(config: str, threads: int, repeats: int) -> dict:
    """Measure one backend/model in this process; returns a result row."""
    backend, model = config.split(":", 1)
    start = time.perf_counter()
    if backend == "llamacpp":
        from proofsmith.models import load_policy

        policy = load_policy(model, n_threads=threads, n_parallel=1, n_ctx=2048)
    elif backend == "openai":
        from proofsmith.models import load_policy
        from proofsmith.models.openai_backend import OpenAIPolicy

        server = load_policy(model, n_threads=threads, n_parallel=1, n_ctx=2048)
        policy = OpenAIPolicy(server.endpoint, model)
    elif backend.startswith("transformers"):
        from proofsmith.models.transformers_backend import TransformersPolicy

        quantize = backend.split("-", 1)[1]
        policy = TransformersPolicy(_hf_smollm2(threads), quantize=quantize, device="cpu", n_threads=threads)
    else:
        raise SystemExit(f"unknown backend {backend}")
    load_s = time.perf_counter() - start
    rates = _measure(policy, repeats)
    return {"backend": backend, "model": model, "load_s": load_s, **rates, "peak_mb": _peak_rss_mb()}


def speed(threads: int, repeats: int, console: Console) -> None:
    from proofsmith.models.registry import MODELS, is_installed

    configs = [f"llamacpp:{name}" for name, spec in MODELS.items() if is_installed(spec)]
    configs.append("openai:smollm2-135m")
    try:
        import accelerate  # noqa: F401
        import gguf  # noqa: F401
        import torch  # noqa: F401

        configs += ["transformers-none:smollm2-135m", "transformers-int8:smollm2-135m"]
        # converted once beforehand, so the rows' load time and memory are the backend's own
        subprocess.run([sys.executable, __file__, "--prepare-hf", "--threads", str(threads)], check=True,
                       capture_output=True, timeout=1800)
    except ImportError:
        console.print("transformers rows skipped: they need `pip install 'proofsmith[models-torch]'`")
    table = Table(title=f"Policy speed, {threads} thread(s), best of {repeats} (measured on a 2-core CPU)")
    for col in ("backend", "model", "load s", "prompt tok/s", "gen tok/s", "peak RSS MB"):
        table.add_column(col, justify="left" if col in ("backend", "model") else "right")
    for config in configs:
        out = subprocess.run([sys.executable, __file__, "--one", config, "--threads", str(threads),
                              "--repeats", str(repeats)], capture_output=True, text=True, timeout=1800, check=False)
        if out.returncode != 0:
            table.add_row(*config.split(":", 1), "failed", (out.stderr.strip().splitlines() or ["?"])[-1][:60], "", "")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        table.add_row(row["backend"], row["model"], f"{row['load_s']:.1f}", f"{row['prompt_tps']:.0f}",
                      f"{row['gen_tps']:.1f}", f"{row['peak_mb']:.0f}")
    console.print(table)


def humaneval(threads: int, every: int, samples: int, out_path: Path, console: Console) -> None:
    from proofsmith.datasets.humaneval import load_tasks
    from proofsmith.models import get_spec, load_policy
    from proofsmith.models.extract import ExtractionError, python_candidate
    from proofsmith.models.prompts import STOP, build_messages, render
    from proofsmith.provers import check_many
    from proofsmith.search.metrics import pass_at_k

    spec = get_spec("default")
    tasks = load_tasks()[::every]
    policy = load_policy("default", n_threads=threads, n_parallel=samples, n_ctx=2048)
    # a closing fence ends the answer: what Qwen writes after its code block is prose, half the tokens
    stop = [*STOP[spec.chat_template], "\n```\n"]
    rows = []
    started = time.perf_counter()
    gen_s = check_s = 0.0
    with out_path.open("w", encoding="utf-8") as log:
        for index, task in enumerate(tasks):
            prompt = render(build_messages(task), spec.chat_template, system_prompt=spec.system_prompt)
            t0 = time.perf_counter()
            proposals = policy.propose(prompt, n=samples, max_tokens=512, temperature=0.8, stop=stop, seed=index)
            t1 = time.perf_counter()
            pairs, statuses = [], ["refuted"] * samples
            slots = []
            for i, p in enumerate(proposals):
                try:
                    pairs.append((task, python_candidate(task, p.text, f"s{i}")))
                    slots.append(i)
                except ExtractionError:
                    statuses[i] = "extract-failed"
            for i, verdict in zip(slots, check_many(pairs, jobs=2, use_cache=False), strict=True):
                statuses[i] = verdict.status
            t2 = time.perf_counter()
            gen_s += t1 - t0
            check_s += t2 - t1
            correct = statuses.count("verified")
            rows.append((task.id, correct, statuses))
            log.write(json.dumps({"task": task.id, "correct": correct, "statuses": statuses,
                                  "tokens": [p.n_tokens for p in proposals]}) + "\n")
            log.flush()
            console.print(f"{task.id}: {correct}/{samples} verified ({t1 - t0:.0f}s generate, {t2 - t1:.0f}s check)",
                          highlight=False)
    usage = policy.usage
    n = samples
    table = Table(title=f"HumanEval, {spec.name}, {len(tasks)} of 164 tasks (every {every}th), n={n}, T=0.8 "
                        "(measured on a 2-core CPU)")
    for col in ("metric", "value"):
        table.add_column(col)
    table.add_row("pass@1", f"{100 * sum(pass_at_k(n, c, 1) for _, c, _ in rows) / len(rows):.1f} %")
    if n >= 10:
        table.add_row("pass@10", f"{100 * sum(pass_at_k(n, c, 10) for _, c, _ in rows) / len(rows):.1f} %")
    extract_failed = sum(s.count("extract-failed") for _, _, s in rows)
    unknown = sum(s.count("unknown") for _, _, s in rows)
    table.add_row("samples", f"{len(rows) * n} ({extract_failed} no extractable function, {unknown} unknown)")
    table.add_row("generated tokens", f"{usage.completion_tokens} ({usage.completion_tokens / gen_s:.1f} tok/s "
                                      f"aggregate over {n} parallel slots)")
    table.add_row("wall", f"{time.perf_counter() - started:.0f} s ({gen_s:.0f} s generating, {check_s:.0f} s checking)")
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--every", type=int, default=1, help="HumanEval: take every Nth task (1 = all 164)")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-humaneval", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("humaneval_samples.jsonl"),
                        help="HumanEval: per-task results, one JSON line each")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--prepare-hf", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_hf:
        print(_hf_smollm2(args.threads))
        return 0
    if args.one:
        print(json.dumps(one_config(args.one, args.threads, args.repeats)))
        return 0
    console = Console(width=120)
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if not args.skip_speed:
        speed(args.threads, args.repeats, console)
    if not args.skip_humaneval:
        humaneval(args.threads, args.every, args.samples, args.out, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
