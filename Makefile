# Two entry points that work on a fresh machine with only python3:
#   make run   - set up .venv and run the main job (`landscape explore`)
#   make test  - set up .venv and run lint, tests (float32, then float64) and doctests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest
DOCTEST_MODULES := landscape

.PHONY: run test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[plot,data]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.run-installed
	$(BIN)/landscape explore

lint: $(VENV)/.test-installed
	$(BIN)/ruff check landscape experiments tests
	$(BIN)/ruff format --check landscape experiments tests

test: lint
	$(PYTEST) -n 2 -m "not slow and not benchmark and not x64" tests
	LANDSCAPE_X64=1 $(PYTEST) -n 2 -m "x64 and not slow and not benchmark" tests
	$(PYTEST) --doctest-modules $(DOCTEST_MODULES) --doctest-glob=README.md README.md

format: $(VENV)/.test-installed
	$(BIN)/ruff format landscape experiments tests
	$(BIN)/ruff check --fix landscape experiments tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
