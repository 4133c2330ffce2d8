# The two commands: `make run` starts everything, `make test` runs the whole suite.
# Both create .venv with a Python 3.12-3.14 interpreter (Django 6 needs one) and install into it.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
PYTHON_CANDIDATES := python3.14 python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[234]*/bin/python3 /root/.pyenv/versions/3.1[234]*/bin/python3 /usr/local/bin/python3.1[234] /usr/bin/python3.1[234]) python3
PYTHON := $(shell for c in $(PYTHON_CANDIDATES); do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(not (3, 12) <= sys.version_info[:2] < (3, 15))' 2>/dev/null; then \
	echo $$c; break; fi; done)

.PHONY: run test install bench clean-data manage

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON)" ]; then echo "Readiness needs Python 3.12, 3.13 or 3.14 (Django 6). Install one, or put it on PATH as python3.12." >&2; exit 1; fi
	@if [ ! -x $(VENV)/bin/python ]; then echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: install
	$(VENV)/bin/python -m readiness.stack run

# Any manage.py command on the data and secrets of `make run` (while it runs, or on its own):
#   make manage ARGS='verify_report var/report.pdf'
manage: install
	$(VENV)/bin/python -m readiness.stack manage -- $(ARGS)

test: install
	$(VENV)/bin/python -m readiness.stack test

bench: install
	for script in bench/[!_]*.py; do $(VENV)/bin/python -m readiness.stack exec -- $(VENV)/bin/python $$script || exit 1; done

clean-data:
	rm -rf var
