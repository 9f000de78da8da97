# Two commands do everything on a fresh clone:
#   make repro   set up .venv and run the whole pipeline (dvc repro) on the default dataset
#   make test    set up .venv (with test tools) and run the test suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# Stage commands in dvc.yaml call `python`: make it the project's.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup setup-dev peers repro test lint bench bench-train bench-scale bench-server audit browser plots-template clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

# The peers (SDV, smartnoise-synth) live in their own environment (docs/peers-and-sweeps.md);
# about a minute from the package registry. `make test` builds it so the peers' real fits are
# tested; without a registry their tests skip, saying so.
PEERS := .venv-peers
$(PEERS)/.installed: peers/requirements.txt
	@{ $(PYTHON) -m venv $(PEERS) && $(PEERS)/bin/pip install --quiet -r peers/requirements.txt && touch $@; } \
	  || echo "could not build $(PEERS): the peers' tests will be skipped"

peers: $(PEERS)/.installed

repro: setup
	dvc repro

# The review page's tests drive Debian's headless Chromium; install it when we can (root, apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot install it: the browser tests will be skipped"; fi; }

test: setup-dev browser peers
	$(BIN)/pytest

lint: setup-dev
	$(BIN)/ruff check traumasynth stages tests benchmarks tools
	$(BIN)/ruff format --check traumasynth stages tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/pylint --disable=all --enable=duplicate-code traumasynth stages

bench: setup-dev
	$(BIN)/python benchmarks/run_all.py

bench-train: setup-dev
	$(BIN)/python benchmarks/bench_train.py

# Every stage at 20,000, 200,000 and 1,000,000 rows (narration off): metrics/scaling.csv, a verdict
# per stage (time per row 1M/200k <= 1.3, peak memory <= 6 GB). About 2 hours on 2 cores (the full
# training at 200,000 rows that checks the DP-SGD extrapolation is half an hour of it).
bench-scale: setup-dev
	$(BIN)/python benchmarks/bench_scale.py --full-train-at 200000

# GPU in one command (docs/narratives.md): build llama-server (CUDA when nvcc and a GPU are found,
# else CPU; cached in ~/.cache/traumasynth) and narrate through it at 1, 4 and 16 parallel slots.
#   make bench-server MODEL=/models/medgemma-27b-it-Q4_K_M.gguf ARGS="--prompt-format chat"
MODEL ?=
ARGS  ?=
bench-server: setup-dev
	$(BIN)/python benchmarks/bench_server.py --model "$(MODEL)" $(ARGS)

# .dvc/plots/offline.html: DVC's plot page with vega, vega-lite and vega-embed inlined (from npm,
# pinned versions, sha512 checked), so `dvc plots show` draws without network. Needs network.
plots-template: | $(BIN)/python
	$(BIN)/python tools/plots_template.py

# Empirical privacy audit (docs/privacy.md): a lower bound on ε for vae and ddpm on the simulator at
# train_dp_tabular.epsilon, 1000 canaries; not a dvc stage. About 1 + 4 minutes on one CPU thread.
audit: setup
	$(BIN)/python benchmarks/privacy_audit.py ed_trauma_sim vae --canaries 1000 --out metrics/audit_vae.json
	$(BIN)/python benchmarks/privacy_audit.py ed_trauma_sim ddpm --canaries 1000 --out metrics/audit_ddpm.json

clean:
	rm -rf $(VENV)
