# Two commands do all set-up on a fresh machine with Python 3.11 and pip:
#   make demo   -- checks the original U-Net (specs/unet-original.yaml)
#   make test   -- runs the whole test suite (installs torch==2.13.0, a test-only dependency)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/archsolve check specs/unet-original.yaml

test: $(VENV)/.test
	$(BIN)/ruff check archsolve tests benchmarks
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check archsolve tests benchmarks

bench: $(VENV)/.test
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/solve_bench.py
	$(BIN)/python benchmarks/inputs_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache *.egg-info
