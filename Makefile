# MuscleMap Study. `make reproduce` runs the whole study; `make test` runs the test suite.
# Both create .venv on first use (and again whenever pyproject.toml changes), then go on.
SHELL := /bin/bash
PYTHON ?= python3.11
PROFILE ?= cpu
DATA ?=
SEED ?= 0
JOBS ?=
EXPERIMENTS ?=
VENV := .venv
BIN := $(VENV)/bin
# The venv is keyed on the dependency lists only (runtime and dev), so editing tool settings in
# pyproject.toml does not reinstall anything.
DEPS_HASH := $(shell sed -n '/^dependencies = \[/,/^\]/p;/^dev = \[/,/^\]/p' pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(DEPS_HASH)


.PHONY: setup data runs results book reproduce test lint format clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP):
	@echo ">> setting up $(VENV) (dependencies changed or missing)"
	@rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (musclemap)" >/dev/null
	@$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/installed.txt
	@echo ">> installed $$(wc -l < $(VENV)/installed.txt) packages into $(VENV) ($$(du -sh $(VENV) | cut -f1)); list in $(VENV)/installed.txt"
	@touch $@

setup: $(STAMP)  ## create or refresh .venv
	@echo ">> using $(VENV): $$(wc -l < $(VENV)/installed.txt) packages pinned in pyproject.toml (list: $(VENV)/installed.txt)"

data: setup  ## generate MuscleMap-Synth for PROFILE (or check DATA)
	$(BIN)/musclemap data --profile $(PROFILE) $(if $(DATA),--data $(DATA),)

runs: data  ## train and evaluate every experiment of PROFILE (up-to-date runs are skipped)
	$(BIN)/musclemap run-all --profile $(PROFILE) $(if $(DATA),--data $(DATA),)

results: setup  ## rebuild results/PROFILE/summary.csv from the run folders
	$(BIN)/musclemap summary --profile $(PROFILE)

book: setup  ## render the book from results/PROFILE (no training; jupyter-book build book --all -n -W --keep-going)
	$(BIN)/musclemap book --profile $(PROFILE)

reproduce: setup  ## the whole study: data -> notebooks (papermill, per experiment) -> results -> book (JOBS=N: trainings at once; EXPERIMENTS=a,b: only those and their dependencies)
	$(BIN)/musclemap reproduce --profile $(PROFILE) $(if $(DATA),--data $(DATA),) $(if $(JOBS),--jobs $(JOBS),) $(if $(EXPERIMENTS),--experiments $(EXPERIMENTS),)

test: setup  ## the test suite (CPU, includes the smoke study)
	$(BIN)/python -m pytest

lint: setup  ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:  ## build outputs only; committed results are never touched
	rm -rf book/_build book/runs .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
