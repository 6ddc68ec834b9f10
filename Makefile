# Every target builds what it needs from nothing: a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The suite runs on two xdist workers (CI has two cores), its slow tests first and handed out one
# at a time; TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
SUITE_ARGS = -n $(TEST_WORKERS) --maxschedchunk 1

# The oldest versions we support, on the oldest Python: pyenv provides it on these machines.
OLDEST_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python) python3.10)
OLDEST_VENV := .venv-oldest
OLDEST_PINS := "dagster==1.8.*" "pydantic==2.5.*" "pytest==8.0.*"

.PHONY: test test-oldest ci demo lint docs bench bench-profile bench-multiprocess clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp re-installs whenever the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint,docs]'
	touch $@

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(SUITE_ARGS) $(PYTEST_ARGS)

$(OLDEST_VENV)/.installed: pyproject.toml
	$(OLDEST_PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install --quiet -e '.[test]' $(OLDEST_PINS)
	touch $@

test-oldest: $(OLDEST_VENV)/.installed
	$(OLDEST_VENV)/bin/python -m pytest $(SUITE_ARGS) $(PYTEST_ARGS)

# What CI runs: the newest versions, the examples, the oldest supported ones, the linters and
# the docs.
ci: test demo test-oldest lint docs

# The examples, and the example code location audited with no test written.
demo: $(VENV)/.installed
	$(BIN)/python -m pytest examples -p no:cacheprovider $(PYTEST_ARGS)
	$(BIN)/python -m pytest examples/code_location -p no:cacheprovider \
		--dagster-definitions=examples.code_location.definitions \
		--dagster-definitions-env=examples/code_location/demo.env --dagster-definitions-audit=5

lint: $(VENV)/.installed
	$(BIN)/ruff check pytest_resources tests examples bench
	$(BIN)/ruff format --check pytest_resources tests examples bench
	$(BIN)/mypy

# The targets of docs/performance.md, each measured interleaved, with a verdict per target.
bench: $(VENV)/.installed
	$(BIN)/python -m bench

# Where a default open's time goes (cProfile of 300 opens; --raw for Dagster alone).
bench-profile: $(VENV)/.installed
	$(BIN)/python -m bench.profile

# A few minutes: real multiprocess runs under the plugin against plain dagster.execute_job.
bench-multiprocess: $(VENV)/.installed
	$(BIN)/python -m bench.multiprocess

clean:
	rm -rf $(VENV) $(OLDEST_VENV) .tox .pytest_cache .hypothesis *.egg-info

# The documentation site (mkdocs-material), strict: a broken link or include fails the build.
# Every Python block on it is included from the tested files in examples/.
docs: $(VENV)/.installed
	$(BIN)/mkdocs build --strict --site-dir site
