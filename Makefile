# The two commands of the README: `make demo` and `make test`. The rest are helpers.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
TOX := $(VENV)/bin/tox

.PHONY: demo test bootstrap lint typing docs bench

demo: bootstrap  ## set up, then convert the sample files in examples/ (results in out/)
	bash scripts/demo.sh

test: bootstrap  ## set up, then run every tox env (tests of core, each plugin, integration, lint, typing, docs)
	$(TOX) run

bootstrap:
	bash scripts/bootstrap.sh

lint: bootstrap
	$(TOX) run -e lint

typing: bootstrap
	$(TOX) run -e typing

docs: bootstrap
	$(TOX) run -e docs

bench:  ## set up with the tools bench/ compares with, then every benchmark (results in bench/results/)
	bash scripts/bootstrap.sh --bench
	$(VENV)/bin/python -m bench
