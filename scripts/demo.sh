#!/usr/bin/env bash
# make demo: a database with the add-on and a demo customer base (created once),
# then Odoo on http://localhost:8069 (login admin, password admin).
source "$(dirname "$0")/common.sh"
setup_all
# The demo runs without PDFs, so a missing PDF tool is only a warning.
pdf_tools recommend_package

DB=${DEMO_DB:-customer_tiering_demo}
PORT=${DEMO_PORT:-8069}
CONF="$REPO/.run/demo.conf"
write_odoo_conf "$DB" "$CONF"

if ! psql -X -Atqc "select 1" -d "$DB" >/dev/null 2>&1; then
  log "creating the demo database $DB"
  if ! "${ODOO_BIN[@]}" -c "$CONF" -i customer_tiering --stop-after-init --log-level=warn \
       > "$REPO/.run/demo-install.log" 2>&1 \
     || ! "$VENV/bin/python" "$REPO/scripts/demo_data.py" "$CONF" "$DB"; then
    tail -n 40 "$REPO/.run/demo-install.log" >&2
    dropdb --if-exists "$DB"
    die "creating the demo database failed"
  fi
fi

log "serving $DB on http://localhost:$PORT (login admin / password admin)"
exec "${ODOO_BIN[@]}" -c "$CONF" --http-port="$PORT"
