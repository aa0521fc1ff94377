# Every target makes .venv if it is missing and installs what it needs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-min lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[$*]'
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/flask --app example_app seed
	$(BIN)/flask --app example_app run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# The oldest supported stack: SQLAlchemy 2.0 with Flask-SQLAlchemy 3.1.
.venv-min/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-min
	.venv-min/bin/pip install -q --upgrade pip
	.venv-min/bin/pip install -q -e '.[test]' 'sqlalchemy>=2.0,<2.1' 'flask-sqlalchemy>=3.1,<3.2' 'flask>=3.0,<3.1' 'prometheus-client>=0.20,<0.21'
	touch $@

test-min: .venv-min/.installed
	.venv-min/bin/python -m pytest -p no:cacheprovider

# Flask-Caching's and Flask-SQLAlchemy's own test suites, with PerfKit on every app they build
# (tests/upstream). SQLAlchemy 2.0, where Flask-SQLAlchemy 3.1's own suite passes.
.PHONY: test-upstream
.venv-upstream/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-upstream
	.venv-upstream/bin/pip install -q --upgrade pip
	.venv-upstream/bin/pip install -q -e '.[test]' 'sqlalchemy>=2.0,<2.1' pytest-xprocess pytest-asyncio asgiref
	touch $@

test-upstream: .venv-upstream/.installed
	.venv-upstream/bin/python -m tests.upstream

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

docs: $(VENV)/.installed-docs
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-min .venv-upstream .bench docs/_build .pytest_cache .mypy_cache .ruff_cache instance
	rm -rf flask_perfkit.egg-info .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
