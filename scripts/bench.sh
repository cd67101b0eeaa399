#!/usr/bin/env bash
# make bench: a throw-away database with the add-on, bulk data, timings, one BENCH line.
source "$(dirname "$0")/common.sh"
setup_all

DB="ct_bench_$(date +%Y%m%d%H%M%S)_$$"
RUN_DIR=$(mktemp -d "$REPO/.run/bench.XXXXXX")
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

log "benchmarking ${BENCH_CUSTOMERS:-100000} customers, ${BENCH_INVOICES:-1000000} invoices"
"$VENV/bin/python" "$REPO/scripts/bench.py" "$CONF" "$DB" "${BENCH_CUSTOMERS:-100000}" "${BENCH_INVOICES:-1000000}"
