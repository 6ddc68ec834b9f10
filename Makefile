# Every target builds what it needs from nothing: a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: test demo lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp re-installs whenever the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(VENV)/.installed
	$(BIN)/python -m pytest examples -p no:cacheprovider $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check pytest_resources tests examples bench
	$(BIN)/ruff format --check pytest_resources tests examples bench
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .tox .pytest_cache .hypothesis *.egg-info
