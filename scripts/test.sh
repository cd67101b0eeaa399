#!/usr/bin/env bash
# make test: install the add-on into a fresh database, run the whole suite with
# pytest-odoo (browser tours included), then drop the database, even on failure.
source "$(dirname "$0")/common.sh"
setup_all
ensure_test_tools
fresh_database test

log "running the test suite"
cd "$REPO"
"$VENV/bin/python" -m pytest -p no:cacheprovider --odoo-config="$CONF" --odoo-database="$DB" --odoo-http \
  --odoo-log-level=warn "$@" customer_tiering/tests
