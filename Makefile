# Two commands: `make run` (the whole product locally) and `make test` (the suite).
# Both create the virtual environment and install what they need.

# The first of these that is Python 3.11 or 3.12 (pyproject's requires-python),
# so a machine whose `python3` is 3.11 works without a `python3.11`.
# `make PYTHON=/path/to/python3.11 ...` overrides it.
ifndef PYTHON
PYTHON := $(shell for candidate in python3.11 python3.12 python3 python; do \
	$$candidate -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' >/dev/null 2>&1 \
	&& { echo $$candidate; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install bench chaos clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || test -n "$(PYTHON)" || { \
	  echo "make: no Python 3.11 found (tried python3.11, python3.12, python3, python)."; \
	  echo "      Install Python 3.11, or run: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "make: '$(PYTHON) -m venv' failed; on Debian/Ubuntu install the venv module (apt-get install python3.11-venv)."; \
	  exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py runlocal

# DATABASE_URL / REDIS_URL default to the local PostgreSQL and Redis.
test: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/9} \
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint and import order (ruff, configured in pyproject.toml), and the layer rules (docs/architecture.md).
lint: $(STAMP)
	$(BIN)/ruff check .

# The chaos suite's core scenarios (docs/chaos.md) on a stack of their own: a fresh database on DATABASE_URL's
# PostgreSQL, a private redis-server, runlocal's processes. CHAOS_ARGS: scenarios and options (e.g. --all).
chaos: $(STAMP)
	DEBUG=1 DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	$(BIN)/python manage.py chaos run --json var/chaos/report.json $(CHAOS_ARGS)

# Every benchmark in bench/, one after the other (they print figures; nothing is asserted).
bench: $(STAMP)
	for script in bench/bench_*.py; do \
	  DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	  REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/10} \
	  $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) staticfiles var
