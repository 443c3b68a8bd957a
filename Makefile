# Two entry points that work on a fresh machine with only python3:
#   make run   - set up .venv and run the main job (`landscape explore`)
#   make test  - set up .venv and run lint, tests (float32, then float64) and doctests;
#                then, where a Python >= 3.12 exists, the default library tests again
#                against the newest JAX/flax/optax in .venv-latest (JAX 0.11+ needs
#                Python >= 3.12)
#   make bench - every experiments/bench_*.py in its quick mode -> bench.json, bench.md
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest
DOCTEST_MODULES := landscape
DEFAULT_TESTS := -m "not slow and not benchmark and not x64" tests
VERSIONS := import sys, jax, flax, optax; print(f"versions: python {sys.version.split()[0]}, jax {jax.__version__}, flax {flax.__version__}, optax {optax.__version__}")
# The first interpreter >= 3.12 found on the machine: on PATH, or installed by pyenv.
LATEST_PYTHON ?= $(shell for p in python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3); do \
	$$p -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && { echo $$p; break; }; done)
LATEST := .venv-latest
# The newest-JAX run checks the library against new releases; the studies' plumbing
# (tests/test_experiment_*.py: configs, rows, resume, figures) runs once, in .venv.
LIBRARY_ONLY := --ignore-glob='tests/test_experiment_*'

.PHONY: run test test-latest lint format bench clean

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
	@$(BIN)/python -c '$(VERSIONS)'
	$(PYTEST) -n 2 $(DEFAULT_TESTS)
	LANDSCAPE_X64=1 $(PYTEST) -n 2 -m "x64 and not slow and not benchmark" tests
	$(PYTEST) --doctest-modules $(DOCTEST_MODULES) --doctest-glob=README.md README.md
	$(MAKE) test-latest

# The newest releases of JAX, flax and optax (its own venv and marker file).
$(LATEST)/.test-installed: pyproject.toml
	$(LATEST_PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q --upgrade pip
	$(LATEST)/bin/python -m pip install -q --upgrade -e '.[test]' jax jaxlib flax optax
	touch $@

test-latest:
	@if [ -z "$(LATEST_PYTHON)" ]; then \
		echo "newest-JAX run skipped: no Python >= 3.12 on this machine"; \
	else \
		$(MAKE) --no-print-directory $(LATEST)/.test-installed && \
		$(LATEST)/bin/python -c '$(VERSIONS)' && \
		$(LATEST)/bin/python -m pytest -n 2 $(DEFAULT_TESTS) $(LIBRARY_ONLY); \
	fi

bench: $(VENV)/.run-installed $(VENV)/.test-installed
	$(BIN)/python experiments/bench_all.py --quick --out bench.json --markdown bench.md

format: $(VENV)/.test-installed
	$(BIN)/ruff format landscape experiments tests
	$(BIN)/ruff check --fix landscape experiments tests

clean:
	rm -rf $(VENV) $(LATEST) runs .pytest_cache .ruff_cache bench.json bench.md
