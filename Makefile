# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8080

# The newest Python >= 3.11 on PATH.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; \
	done)

.PHONY: run test install install-dev lint bench clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "shiptrack needs Python 3.11 or newer on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(VENV)/bin/shiptrack db upgrade
	$(VENV)/bin/shiptrack demo
	$(VENV)/bin/shiptrack serve --host $(HOST) --port $(PORT)

# Two worker processes, each test file whole on one of them (its module fixtures start once).
# `make test PYTEST_ARGS=` runs in one process.
PYTEST_ARGS ?= -n 2 --dist loadfile

test: lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Style, types, the layers (import-linter contracts in pyproject.toml) and dead code.
lint: install-dev
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/vulture src --min-confidence 80

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# The quick benchmark set (a few minutes; the machine should be otherwise idle). Each scenario also
# runs on its own: python -m bench.<api|engine|webhooks|scale|scaleout> --help
bench: install-dev
	@command -v wrk >/dev/null || { echo "make bench needs wrk (apt-get install wrk)" >&2; exit 1; }
	$(PY) -m bench.api --database sqlite --seconds 5 --runs 3
	$(PY) -m bench.engine --database sqlite --carrier usps --packages 5000 --runs 3
	$(PY) -m bench.webhooks --database sqlite --deliveries 5000 --runs 3 --seconds 3
	$(PY) -m bench.scale --database sqlite --sizes 10000 --worker-seconds 5
