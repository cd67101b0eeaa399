#!/usr/bin/env bash
# make bench: a throw-away database with the add-on, bulk data, timings, one BENCH line.
source "$(dirname "$0")/common.sh"
setup_all
fresh_database bench

# BENCH_POS_SHARE (0 to 1): that share of the sales are point of sale orders,
# counted by customer_tiering_pos, which Odoo auto-installs with point_of_sale.
if [ "${BENCH_POS_SHARE:-0}" != 0 ]; then
  log "installing point_of_sale and customer_tiering_pos into $DB"
  "${ODOO_BIN[@]}" -c "$CONF" -i point_of_sale,customer_tiering_pos --stop-after-init --log-level=warn \
    >> "$RUN_DIR/install.log" 2>&1 || { tail -n 60 "$RUN_DIR/install.log" >&2; die "installing point_of_sale failed"; }
fi

log "benchmarking ${BENCH_CUSTOMERS:-100000} customers, ${BENCH_INVOICES:-1000000} sales (POS share ${BENCH_POS_SHARE:-0})"
"$VENV/bin/python" "$REPO/scripts/bench.py" "$CONF" "$DB" "${BENCH_CUSTOMERS:-100000}" "${BENCH_INVOICES:-1000000}"
