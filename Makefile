# Two entry points for a fresh clone: `make repro` (install + run the pipeline), `make test` (install + tests).
# The venv is rebuilt only when pyproject.toml changes, so running either twice does not reinstall.
VENV   ?= .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed-stamp
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup repro quick test bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

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
