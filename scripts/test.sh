#!/usr/bin/env bash
# make test: install the add-on into a fresh database, run the whole suite with
# pytest-odoo (browser tours included), then drop the database, even on failure.
source "$(dirname "$0")/common.sh"
setup_all
ensure_chromium

DB="ct_test_$(date +%Y%m%d%H%M%S)_$$"
RUN_DIR=$(mktemp -d "$REPO/.run/test.XXXXXX")
CONF="$RUN_DIR/odoo.conf"
cleanup() {
  dropdb --if-exists "$DB" >/dev/null 2>&1 || true
  rm -rf "$RUN_DIR" "$REPO/.run/data/filestore/$DB"
}
trap cleanup EXIT
write_odoo_conf "$DB" "$CONF"

log "installing customer_tiering into $DB"
"${ODOO_BIN[@]}" -c "$CONF" -i customer_tiering --stop-after-init --log-level=warn \
  > "$RUN_DIR/install.log" 2>&1 || { tail -n 60 "$RUN_DIR/install.log" >&2; die "installing customer_tiering failed"; }

log "running the test suite"
cd "$REPO"
"$VENV/bin/python" -m pytest -p no:cacheprovider --odoo-config="$CONF" --odoo-database="$DB" --odoo-http \
  --odoo-log-level=warn "$@" customer_tiering/tests
