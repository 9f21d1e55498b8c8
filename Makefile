# Two commands on a fresh machine:
#   make demo   the whole product on SQLite + the built-in Asterisk simulator
#   make test   the whole suite, on SQLite and on PostgreSQL
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test serve migrate bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/callcenter demo

# PYTEST_ARGS="-k kpi -x" narrows a run.
test: $(VENV)/.dev
	@./scripts/ensure-postgres
	$(BIN)/python -m pytest $(PYTEST_ARGS)

serve: $(VENV)/.runtime
	$(BIN)/callcenter serve

migrate: $(VENV)/.runtime
	$(BIN)/callcenter migrate

bench: $(VENV)/.dev
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info demo.db* callcenter.db* callcenter-spool.db*
