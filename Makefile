# Two commands run everything: `make up` (the system) and `make test` (the tests).
# Both provision what they need: a virtualenv with the pinned packages, Kafka
# from Maven Central (cached under ~/.cache/fulfil) and PostgreSQL from Debian.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: up down status demo bench bench-short test lint format unit venv clean schemas release-schemas screenshots

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is required ($(PYTHON))"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q python3-venv; \
		else echo "install python3-venv (Debian) first"; exit 1; fi; }
	rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

venv: $(STAMP)

up: venv
	$(BIN)/python -m deploy.local.stack up

down:
	@if [ -x $(BIN)/python ]; then \
		$(BIN)/python -m deploy.local.stack down; \
		if [ -d .local/demo ]; then $(BIN)/python -m deploy.local.stack down --dir .local/demo; fi; \
	else echo "nothing to stop (no virtualenv yet)"; fi

status: venv
	$(BIN)/python -m deploy.local.stack status

# The system with a simulated outside world: shop, payment provider, carrier, customers.
demo: venv
	$(BIN)/python -m deploy.demo $(DEMO_ARGS)

# Throughput and latency against the parts' own limits; reports under reports/.
bench: venv
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

bench-short: venv
	$(BIN)/python -m tests.bench --short $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The published event contract (docs/schemas/, docs/asyncapi.json), generated from the code;
# `make test` fails while the committed files differ. See docs/events.md for releasing.
schemas: venv
	$(BIN)/python -m shared.contracts.schemas

release-schemas: venv
	$(BIN)/python -m shared.contracts.schemas --release

# The order page at phone and desktop widths, in headless Chromium (docs/web.md).
screenshots: venv
	$(BIN)/python -m web.screenshots

unit: venv
	$(BIN)/python -m pytest tests/unit tests/contract $(PYTEST_ARGS)

# Also removes PostgreSQL's files kept outside the checkout (when the server's user
# could not enter it), so nothing of this checkout is left behind.
clean: down
	@if [ -x $(BIN)/python ] && [ -d .local ]; then $(BIN)/python -c 'from pathlib import Path; \
		from deploy.local.postgres import PostgresCluster; \
		found = [*Path(".local").glob("postgres"), *Path(".local").glob("*/postgres")]; \
		[PostgresCluster(p).remove() for p in found if (p / "cluster.json").exists()]'; fi
	rm -rf .local
