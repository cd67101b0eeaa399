# Shared setup for the make targets: finds Odoo, builds the virtualenv and
# makes sure a PostgreSQL server answers. Source it; it exports what it finds.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$REPO/.venv"
PYTHON=${PYTHON:-python3}
ODOO_CACHE="$HOME/.cache/odoo/18.0"
ODOO_TARBALL_URL=${ODOO_TARBALL_URL:-https://github.com/odoo/odoo/archive/refs/heads/18.0.tar.gz}

die() { echo "error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

is_odoo18() { [ -f "$1/odoo-bin" ] && grep -q "^version_info = (18, 0" "$1/odoo/release.py" 2>/dev/null; }

# $ODOO_SRC, else the cache, else the official 18.0 source downloaded into the cache.
find_odoo() {
  if [ -n "${ODOO_SRC:-}" ]; then
    is_odoo18 "$ODOO_SRC" || die "ODOO_SRC=$ODOO_SRC is not an Odoo 18.0 source tree (no odoo-bin or wrong version)."
    return
  fi
  if ! is_odoo18 "$ODOO_CACHE"; then
    log "Odoo 18.0 not found in $ODOO_CACHE: downloading the official source"
    mkdir -p "$ODOO_CACHE"
    if ! curl -fsSL "$ODOO_TARBALL_URL" | tar -xz --strip-components=1 -C "$ODOO_CACHE"; then
      die "could not get Odoo 18.0. Put an Odoo 18.0 Community source tree in $ODOO_CACHE or point ODOO_SRC at one."
    fi
    is_odoo18 "$ODOO_CACHE" || die "the download in $ODOO_CACHE is not Odoo 18.0. Set ODOO_SRC to an Odoo 18.0 source tree."
  fi
  ODOO_SRC=$ODOO_CACHE
}

# Odoo's requirements for the running Python, with the adjustments this add-on's
# supported platforms need (binary psycopg2, no LDAP, a cbor2 that builds).
odoo_requirements() {
  sed -e 's/^psycopg2==/psycopg2-binary==/' \
      -e '/^python-ldap/d' \
      -e 's/^cbor2==5\.4\.2 /cbor2==5.4.2.post1 /' \
      "$ODOO_SRC/requirements.txt"
}

ensure_venv() {
  local stamp="$VENV/.installed" wanted
  wanted=$( { odoo_requirements; cat "$REPO/requirements.txt" "$REPO/requirements-dev.txt"; } | sha1sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then return; fi
  log "building the virtualenv in $VENV"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  odoo_requirements > "$VENV/odoo-requirements.txt"
  PIP_CONSTRAINT="$REPO/scripts/pip-constraints.txt" "$VENV/bin/pip" install -q --disable-pip-version-check \
    -r "$VENV/odoo-requirements.txt" -r "$REPO/requirements.txt" -r "$REPO/requirements-dev.txt"
  echo "$wanted" > "$stamp"
}

pg_answers() { psql -X -q -d postgres -c 'select 1' >/dev/null 2>&1; }

# The server on the usual socket or PG* variables, else a private one in .pg/.
ensure_postgres() {
  command -v psql >/dev/null || die "psql not found: install the PostgreSQL client (e.g. apt-get install postgresql)."
  if pg_answers; then return; fi
  local bindir datadir="$REPO/.pg/data" sockdir="$REPO/.pg/run" runas=()
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -x "${bindir:-}/initdb" ] || die "no PostgreSQL server answers and no initdb was found to start a private one (install postgresql, or set PGHOST/PGPORT/PGUSER)."
  # PostgreSQL refuses to run as root: the private cluster belongs to 'nobody'.
  if [ "$(id -u)" = 0 ]; then runas=(runuser -u nobody --); fi
  mkdir -p "$REPO/.pg"
  [ "$(id -u)" = 0 ] && chown nobody "$REPO/.pg"
  if [ ! -f "$datadir/PG_VERSION" ]; then
    log "initialising a private PostgreSQL cluster in $datadir"
    "${runas[@]}" "$bindir/initdb" -D "$datadir" -U odoo -A trust >/dev/null
  fi
  "${runas[@]}" mkdir -p "$sockdir"
  export PGHOST=$sockdir PGPORT=${PGPORT:-54329} PGUSER=odoo
  if ! pg_answers; then
    log "starting the private PostgreSQL server (socket in $sockdir)"
    "${runas[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$REPO/.pg/server.log" -w \
      -o "-k $sockdir -p $PGPORT -c listen_addresses=''" start >/dev/null
  fi
  pg_answers || die "the private PostgreSQL server did not start: see $REPO/.pg/server.log"
}

has_chromium() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; }

# Install Debian package $1 when command test $2 fails, as root on Debian/Ubuntu.
install_package() {
  "$2" && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing $1"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1"; } </dev/null >/dev/null 2>&1 || true
  fi
}

# install_package, else stop with message $3.
ensure_package() {
  install_package "$1" "$2"
  "$2" || die "$3"
}

# install_package, else warn with message $3 and go on.
recommend_package() {
  install_package "$1" "$2"
  "$2" || log "warning: $3"
}

has_wkhtmltopdf() { command -v wkhtmltopdf >/dev/null; }
has_fc_list() { command -v fc-list >/dev/null; }
has_cjk_font() { has_fc_list && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }
has_pdftotext() { command -v pdftotext >/dev/null && command -v pdfinfo >/dev/null; }

# What the PDF reports need: wkhtmltopdf, and a Chinese font, without which
# wkhtmltopdf prints every Chinese character blank. $1 is ensure_package (stop
# when missing) or recommend_package (warn).
pdf_tools() {
  "$1" wkhtmltopdf has_wkhtmltopdf "no wkhtmltopdf found: PDF reports need it (e.g. apt-get install wkhtmltopdf)."
  "$1" fontconfig has_fc_list "no fc-list found: the Chinese font check needs it (e.g. apt-get install fontconfig)."
  "$1" fonts-noto-cjk has_cjk_font \
    "no Chinese font found: PDF reports print Chinese text blank without one (e.g. apt-get install fonts-noto-cjk)."
}

# The first start of a freshly installed Chromium builds its caches and can
# outlast the 10 s Odoo waits for a browser, which then skips the tour: start
# it once before the tests.
warm_chromium() {
  local browser
  browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1 || true
}

# The browser tours need Chromium; the PDF reports wkhtmltopdf and a Chinese
# font; the PDF tests read the PDFs back with poppler's pdftotext and pdfinfo.
ensure_test_tools() {
  ensure_package chromium has_chromium "no Chromium found: the browser tours need it (e.g. apt-get install chromium)."
  warm_chromium
  pdf_tools ensure_package
  ensure_package poppler-utils has_pdftotext \
    "no pdftotext found: the PDF report tests read the PDFs with it (e.g. apt-get install poppler-utils)."
}

# Write an Odoo configuration for database $1 into file $2.
write_odoo_conf() {
  cat > "$2" <<CONF
[options]
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$REPO
data_dir = $REPO/.run/data
db_name = $1
dbfilter = ^$1\$
admin_passwd = admin
without_demo = all
CONF
}

# A uniquely named database for $1 (test, bench...), not created yet, and its
# configuration: both dropped (with its filestore and run folder) when the
# calling script exits, even on failure. Sets DB, RUN_DIR and CONF.
new_database() {
  DB="ct_$1_$(date +%Y%m%d%H%M%S)_$$"
  RUN_DIR=$(mktemp -d "$REPO/.run/$1.XXXXXX")
  CONF="$RUN_DIR/odoo.conf"
  trap 'dropdb --if-exists "$DB" >/dev/null 2>&1 || true; rm -rf "$RUN_DIR" "$REPO/.run/data/filestore/$DB"' EXIT
  write_odoo_conf "$DB" "$CONF"
}

# A free TCP port, for an Odoo HTTP server that must not clash with another
# one on the machine (make demo's, a developer's).
free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A fresh database (see new_database) with the add-on installed.
fresh_database() {
  new_database "$1"
  log "installing customer_tiering into $DB"
  "${ODOO_BIN[@]}" -c "$CONF" -i customer_tiering --stop-after-init --log-level=warn \
    > "$RUN_DIR/install.log" 2>&1 || { tail -n 60 "$RUN_DIR/install.log" >&2; die "installing customer_tiering failed"; }
}

setup_all() {
  find_odoo
  ensure_venv
  ensure_postgres
  export PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}"
  ODOO_BIN=("$VENV/bin/python" "$ODOO_SRC/odoo-bin")
  mkdir -p "$REPO/.run"
}
