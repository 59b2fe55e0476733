# Two entry points for a fresh clone: `make repro` (install + run the pipeline), `make test` (install + tests).
# The venv is rebuilt only when pyproject.toml changes, so running either twice does not reinstall.
VENV   ?= .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed-stamp
ZPAQ_TRIED := $(VENV)/.zpaq-tried
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup repro quick test bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

# Optional: the zpaq program, for the compressor anchor (stage zpaq, docs/evaluation.md). apt-get installs it
# when we are root or sudo needs no password; `apt-get update` runs only if the first try fails (each at most
# 5 minutes, so a stuck package lock cannot hang setup). Tried once per venv, and fails setup only under
# CI=true, whose tests must run zpaq: elsewhere the stage writes a `skipped` note and the pipeline still runs.
$(ZPAQ_TRIED): $(STAMP)
	@if ! command -v zpaq >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then as=""; elif sudo -n true 2>/dev/null; then as="sudo -n"; else as=no; fi; \
	  if [ "$$as" != no ]; then \
	    apt="$$as timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get -qq"; \
	    $$apt install -y zpaq >/dev/null 2>&1 || { $$apt update >/dev/null 2>&1; $$apt install -y zpaq >/dev/null 2>&1; }; \
	  fi; \
	fi; \
	if ! command -v zpaq >/dev/null 2>&1; then \
	  if [ "$$CI" = true ]; then echo "error: zpaq is not installed and CI=true: install it (apt-get install zpaq)" >&2; exit 1; fi; \
	  echo "note: zpaq is not installed (apt-get install zpaq); the zpaq anchor will be skipped"; \
	fi
	@touch $@

setup: $(STAMP) $(ZPAQ_TRIED)

repro: setup
	dvc repro

# The first thing to try: the whole pipeline with small budgets, as a DVC experiment (`dvc exp show`).
quick: setup
	charlm profile quick | xargs -r dvc exp run

test: setup
	pytest

bench: setup
	python benchmarks/data_stages.py

clean-venv:
	rm -rf $(VENV)
