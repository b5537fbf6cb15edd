# MemberPulse. `make demo` and `make test` do all the set-up they need on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MS_VENV := .local/ministack-venv
PORT ?= 4566
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv ministack chromium lock up down demo test lint typecheck cfn-lint unit integration browser e2e bench console-screenshots clean

help:
	@echo "make demo   - set up, bring the local stack up, run the demo scenario"
	@echo "make test   - lint, type-check, cfn-lint, unit, integration (moto), end to end (local stack)"
	@echo "make up / make down - start / stop the local stack (PORT=$(PORT))"
	@echo "make bench  - benchmarks (figures as ratios)"
	@echo "make browser - the console's browser tests (headless Chromium; installs Debian's chromium)"
	@echo "make lock   - compile requirements.lock (the Lambda zip's packages, with hashes) from requirements.txt"

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip<26.3"  # chalice pins pip<26.3
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

venv: $(BIN)/.installed

$(MS_VENV)/.installed: requirements-ministack.txt
	mkdir -p .local
	test -x $(MS_VENV)/bin/python || $(PYTHON) -m venv $(MS_VENV)
	$(MS_VENV)/bin/pip install -q --upgrade "pip<26.3"  # chalice pins pip<26.3
	$(MS_VENV)/bin/pip install -q -r requirements-ministack.txt
	touch $@

ministack: $(MS_VENV)/.installed

# Headless Chromium for the console's browser tests and benchmark: Debian's package (Playwright's
# own browser download is not used). Idempotent; installing needs root, as `make test` runs in CI.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# requirements.txt -> requirements.lock (pip-compile --generate-hashes); UPGRADE=1 moves every pin.
lock: venv
	$(BIN)/python -m memberpulse_cli.lockfile $(if $(UPGRADE),--upgrade)

up: venv ministack
	$(BIN)/memberpulse up --port $(PORT)

down: venv
	$(BIN)/memberpulse down --port $(PORT)

demo: up
	$(BIN)/memberpulse demo --stack-file .local/stack.json

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || (echo "run: $(BIN)/ruff format ." && false)

typecheck: venv
	$(BIN)/mypy app.py chalicelib memberpulse_cli

cfn-lint: venv
	$(BIN)/memberpulse package --stage dev --out .local/build/cfn-lint
	$(BIN)/cfn-lint .local/build/cfn-lint/sam.json

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv
	$(BIN)/pytest -q tests/integration

browser: venv chromium
	$(BIN)/pytest -q tests/browser

# The console's screenshots in docs/console/ (README), from the browser tests' fake API; CJK fonts
# so the Chinese pages render as a person sees them.
console-screenshots: venv chromium
	@fc-list 2>/dev/null | grep -q "Noto Sans CJK" || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk)
	CONSOLE_SCREENSHOTS=docs/console $(BIN)/pytest -q tests/browser -k every_page

e2e: venv ministack
	$(BIN)/pytest -q tests/e2e

test: venv ministack chromium
	$(MAKE) lint typecheck cfn-lint
	$(BIN)/pytest -q tests

bench: venv ministack chromium
	$(BIN)/python -m bench

clean:
	rm -rf .local/build .local/vendor .mypy_cache .ruff_cache .pytest_cache
