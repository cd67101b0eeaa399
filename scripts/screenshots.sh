#!/usr/bin/env bash
# make screenshots: the app page's screenshots, taken from the demo database.
source "$(dirname "$0")/common.sh"
setup_all
ensure_package chromium has_chromium "no Chromium found: the screenshots need it (e.g. apt-get install chromium)."
has_cjk_font() { fc-list :lang=zh 2>/dev/null | grep -q .; }
ensure_package fonts-noto-cjk has_cjk_font "no Chinese font found: the screenshots show Chinese names (e.g. apt-get install fonts-noto-cjk)."

DB=${DEMO_DB:-customer_tiering_demo}
PORT=${SCREENSHOT_PORT:-8170}
psql -X -Atqc "select 1" -d "$DB" >/dev/null 2>&1 || die "no demo database $DB: run make demo first"
CONF="$REPO/.run/screenshots.conf"
write_odoo_conf "$DB" "$CONF"

log "serving $DB on port $PORT for the screenshots"
"${ODOO_BIN[@]}" -c "$CONF" --http-port="$PORT" --log-level=warn > "$REPO/.run/screenshots-server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null' EXIT
for _ in $(seq 90); do
  curl -fs -o /dev/null "http://localhost:$PORT/web/login" && break
  sleep 1
done

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
"$VENV/bin/python" "$REPO/scripts/screenshots.py" "http://localhost:$PORT" "$DB" \
  "$REPO/customer_tiering/static/description" "$CHROMIUM"
