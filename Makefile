# customer_tiering developer commands. See README.md.
SHELL := /bin/bash
BENCH_CUSTOMERS ?= 100000
BENCH_INVOICES ?= 1000000
export BENCH_CUSTOMERS BENCH_INVOICES

.PHONY: demo test test-pytest fuzz bench lint setup screenshots

demo:  ## serve Odoo 18 with the add-on and a demo customer base on http://localhost:8069
	@scripts/demo.sh

test:  ## the whole suite with Odoo's runner, in a fresh database; fails on any failure or skip, or if pytest-odoo sees other tests
	@scripts/test.sh

test-pytest:  ## the same suite run by pytest-odoo instead (TEST_RUNNER=pytest make test); PYTEST_ARGS go to pytest
	@TEST_RUNNER=pytest scripts/test.sh $(PYTEST_ARGS)

fuzz:  ## the points ledger's state machine, longer and with random seeds (LEDGER_FUZZ_EXAMPLES, LEDGER_FUZZ_STEPS)
	@scripts/fuzz.sh

bench:  ## bulk-generated data, full reclassification timed against a per-partner ORM baseline
	@scripts/bench.sh

screenshots:  ## retake the app page's screenshots from the demo database (after make demo)
	@scripts/screenshots.sh

lint:  ## ruff and pylint-odoo
	@scripts/lint.sh

setup:  ## only prepare Odoo, the virtualenv and PostgreSQL
	@scripts/setup.sh
