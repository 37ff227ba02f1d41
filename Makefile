# dsr: `make run` to try it, `make test` to test it. `make help` lists the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip -qq --disable-pip-version-check
MANAGE := $(BIN)/python manage.py

PORT ?= 8000
export PORT

# Printed step headers, so a newcomer can follow what is happening.
step = @printf '\n==> %s\n' "$(1)"

.PHONY: help venv run test system-packages lint format migrations-check lock clean

help:
	@echo "dsr — self-hosted handler for GDPR data subject rights requests"
	@echo
	@echo "  make run               set up, seed a demo, start web + worker + beat on http://127.0.0.1:$(PORT)/"
	@echo "  make test              run the whole test suite (CI=true: PostgreSQL, Redis and Chromium required)"
	@echo "  make lint              ruff check, ruff format --check and the import layers (lint-imports)"
	@echo "  make format            apply ruff's formatting and safe fixes"
	@echo "  make migrations-check  fail if a model change has no migration"
	@echo "  make lock              compile requirements*.txt (pins and hashes) from pyproject.toml"
	@echo "  make clean             remove test databases, broker folders and test artifacts (keeps .venv and the demo)"
	@echo
	@echo "  Variables: PORT (default 8000), PYTEST_ARGS (extra pytest arguments), PYTEST_WORKERS (test processes;"
	@echo "             0 = one), CI=true."
	@echo "  Docs: docs/running.md"

# --- virtualenv -----------------------------------------------------------------

$(BIN)/python:
	$(call step,Creating the virtualenv in $(VENV))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "dsr needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
		        "Run with PYTHON=/path/to/python3.11." >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV)

# Re-installs only when a lock file changed since the last install. The lock files pin every package
# with its hashes; pip refuses anything else.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(call step,Installing dependencies into $(VENV) (the first time takes a few minutes))
	@$(PIP) install --require-hashes -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

# --- run ----------------------------------------------------------------------

# The local demo runs with Django's debug pages unless DEBUG is set otherwise.
# With DEBUG off it serves collected static files and, as dsr_seed_demo insists, seeds nothing.
debug_on = case "$$(printf '%s' "$$DEBUG" | tr A-Z a-z)" in true|on|ok|y|yes|1) true ;; *) false ;; esac

run: export DEBUG ?= true
run: export DSR_BASE_URL ?= http://127.0.0.1:$(PORT)
run: venv
	@bash .ci/system-packages run
	$(call step,Migrating the database)
	@$(MANAGE) migrate --noinput -v 0
	@if $(debug_on); then \
		printf '\n==> %s\n' "Seeding the demo"; \
		$(MANAGE) dsr_seed_demo; \
	else \
		printf '\n==> %s\n' "Collecting static files (DEBUG is off)"; \
		$(MANAGE) collectstatic --noinput -v 0 || exit 1; \
		echo "DEBUG is off, so the demo is not seeded (manage.py dsr_seed_demo --force would)."; \
	fi
	$(call step,Starting web + worker + beat (Ctrl-C stops all three))
	@echo "   Portal      http://127.0.0.1:$(PORT)/"
	@echo "   Dashboard   http://127.0.0.1:$(PORT)/dashboard/"
	@echo "   Admin       http://127.0.0.1:$(PORT)/admin/"
	@echo "   API docs    http://127.0.0.1:$(PORT)/api/docs/"
	@echo "   Outbox      $${DSR_OUTBOX_DIR:-$${DSR_VAR_DIR:-var}/outbox}/  (every email sent, as .eml files)"
	@echo
	@exec $(BIN)/honcho start -f Procfile

# --- checks -------------------------------------------------------------------

# Browser tests drive Debian's Chromium, the translation check runs gettext, WeasyPrint subsets fonts with
# HarfBuzz and the letters are set in DejaVu Sans: .ci/system-packages installs what is missing (as root), or
# says the command to run.
system-packages:
	@bash .ci/system-packages test

# The suite runs in several processes (pytest-xdist): one more than the cores, since the end-to-end and browser
# tests spend much of their time waiting for a worker or a page; at most six (each needs its own Redis cache
# database, config/settings_test.py). PYTEST_WORKERS=0 runs it in this one process.
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); n=$$((n + 1)); [ $$n -gt 6 ] && n=6; echo $$n)
ifeq ($(PYTEST_WORKERS),0)
PYTEST_PARALLEL :=
else
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist worksteal
endif

# pytest's exit code is make's; "no tests collected" (5) is a failure too.
test: venv system-packages
	@$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; that counts as a failure." >&2; exit 1; fi; \
	exit $$status

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports --no-cache

format: venv
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

migrations-check: venv
	@$(MANAGE) makemigrations --check --dry-run

# Compile the lock files from pyproject.toml's pinned dependencies: every transitive package, its hashes,
# and markers for any platform. Run after changing a dependency there; commit all three files.
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--no-strip-extras --custom-compile-command "make lock" --quiet
lock: venv
	@$(LOCK) -o requirements.txt
	@$(LOCK) --extra dev -o requirements-dev.txt

# Test databases, broker folders and test output; the demo database and the venv stay.
clean:
	rm -rf var/test-*.sqlite3* var/broker var/test-broker-* test-artifacts .pytest_cache .ruff_cache .coverage htmlcov
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
