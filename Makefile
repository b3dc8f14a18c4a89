# Two commands do all set-up on a fresh machine with Python 3.11 and pip:
#   make demo       -- checks the original U-Net (specs/unet-original.yaml)
#   make test       -- runs the whole test suite (installs torch==2.13.0, a test-only dependency)
# and for the edit-and-test loop, about a minute on two cores:
#   make test-fast  -- every test file, with a tenth of the hypothesis examples and without the
#                      few slowest cases (tests/conftest.py names them and marks them `slow`)
# ARCHSOLVE_EXAMPLES is the one knob for example counts (tests/conftest.py): a factor on every
# hypothesis test's own count, 1 unless set; `ARCHSOLVE_EXAMPLES=10 make test` is a long soak.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test test-fast lint bench bench-scale clean lsp

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

test: $(VENV)/.test lsp
	$(BIN)/ruff check archsolve tests benchmarks
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

# the YAML language server that tests/test_editor_lsp.py drives, in .lsp/; optional: where node,
# npm or the network is missing, that test is skipped
lsp:
	-@test -x .lsp/node_modules/.bin/yaml-language-server || ! command -v npm >/dev/null || \
		npm install --silent --no-audit --no-fund --prefix .lsp yaml-language-server@1.25.0

test-fast: $(VENV)/.test
	$(BIN)/ruff check archsolve tests benchmarks
	ARCHSOLVE_EXAMPLES=0.1 $(BIN)/python -m pytest -n 2 -q -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check archsolve tests benchmarks

bench: $(VENV)/.test
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/solve_bench.py
	$(BIN)/python benchmarks/inputs_bench.py
	$(BIN)/python benchmarks/plan_bench.py

bench-scale: $(VENV)/.runtime
	$(BIN)/python benchmarks/scale_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache *.egg-info
