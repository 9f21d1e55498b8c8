# Two commands on a fresh machine:
#   make demo   the whole product on SQLite + the built-in Asterisk simulator
#   make test   the whole suite, on SQLite and on PostgreSQL
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test serve migrate bench lint clean

$(BIN)/python:
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "make: Python 3.11 or newer is needed as $(PY): apt-get install -y python3 (or make PY=python3.12 ...)" >&2; exit 1; }
	@$(PY) -m venv $(VENV) || { rm -rf $(VENV); echo "make: cannot create a venv: apt-get install -y python3-venv" >&2; exit 1; }

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.runtime

# Browser libraries (Apache ECharts for the report pages), pinned in
# package-lock.json and served from node_modules: never copied, never a CDN.
NODE_DEPS := node_modules/.package-lock.json
$(NODE_DEPS): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make: npm (Node.js 18 or newer) is needed for the report charts: apt-get install -y nodejs npm" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

demo: $(VENV)/.runtime $(NODE_DEPS)
	$(BIN)/callcenter demo

# PYTEST_ARGS="-k kpi -x" narrows a run.  The suite runs in PYTEST_WORKERS
# parallel workers (pytest-xdist; 0 runs it in one process): many tests
# wait on servers, browsers and simulated traffic, so 3 keep 2 cores busy.
PYTEST_WORKERS ?= 3
# Needs Chromium and PostgreSQL besides Python (see README "Running the
# tests"); a missing one stops here with the command that installs it.
test: $(VENV)/.dev $(NODE_DEPS)
	@./scripts/ensure-postgres
	@$(BIN)/python scripts/check-test-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

serve: $(VENV)/.runtime $(NODE_DEPS)
	$(BIN)/callcenter serve

migrate: $(VENV)/.runtime
	$(BIN)/callcenter migrate

bench: $(VENV)/.dev
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules .pytest_cache build src/*.egg-info demo.db* callcenter.db* callcenter-spool.db*
