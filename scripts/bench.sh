#!/usr/bin/env bash
# make bench: a throw-away database with the add-on, bulk data, timings, one BENCH line.
source "$(dirname "$0")/common.sh"
setup_all
fresh_database bench

log "benchmarking ${BENCH_CUSTOMERS:-100000} customers, ${BENCH_INVOICES:-1000000} invoices"
"$VENV/bin/python" "$REPO/scripts/bench.py" "$CONF" "$DB" "${BENCH_CUSTOMERS:-100000}" "${BENCH_INVOICES:-1000000}"
