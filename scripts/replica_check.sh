#!/usr/bin/env bash
# The replica check: a real PostgreSQL streaming replica on this machine, Odoo
# sending its read-only work to it (--db_replica_host/--db_replica_port), the
# add-on's screens opened over JSON-RPC while the nightly job writes, and the
# proof from the servers' own logs and statistics that the screens read from
# the replica and the job wrote to the primary. Exits non-zero when not.
#
# It never touches the PostgreSQL server the other make targets use: it
# initdb's its own primary in a temporary directory, installs the add-on with
# the demo customer base there (or, with REPLICA_SOURCE_DB=<name>, copies that
# database from the usual server with pg_dump, e.g. a bench or demo
# database), clones it with pg_basebackup -R and starts the clone as a hot
# standby on another port. Both servers listen on a Unix socket only and are
# removed on exit, also on failure. Needs the PostgreSQL server binaries
# (initdb, pg_ctl, pg_basebackup: Debian's postgresql package); as root, the
# two servers run as 'nobody', as the private cluster of common.sh does.
source "$(dirname "$0")/common.sh"
find_odoo
ensure_venv
export PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}"
ODOO_BIN=("$VENV/bin/python" "$ODOO_SRC/odoo-bin")
mkdir -p "$REPO/.run"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bindir" ] || bindir=$(pg_config --bindir 2>/dev/null || true)
for tool in initdb pg_ctl pg_basebackup; do
  [ -x "$bindir/$tool" ] || die "no $tool found: the replica check starts its own PostgreSQL servers (install postgresql)."
done
runas=()
if [ "$(id -u)" = 0 ]; then runas=(runuser -u nobody --); fi

WORK=$(mktemp -d /tmp/ct_replica.XXXXXX)
[ "$(id -u)" = 0 ] && chown nobody "$WORK"
SOCK="$WORK/run" PRIMARY="$WORK/primary" REPLICA="$WORK/replica"
ODOO_PID=""
cleanup() {
  local status=$?
  # Every step runs, whatever the one before it returned (set -e would end
  # the trap at the first, leaving the servers running).
  set +e
  if [ -n "$ODOO_PID" ]; then
    kill "$ODOO_PID" 2>/dev/null
    wait "$ODOO_PID" 2>/dev/null
  fi
  for data in "$REPLICA" "$PRIMARY"; do
    if [ -f "$data/postmaster.pid" ]; then
      "${runas[@]}" "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
    fi
  done
  if [ "$status" != 0 ] && [ -z "${REPLICA_KEEP:-}" ]; then
    for f in odoo-web.log install.log; do [ -f "$WORK/$f" ] && { echo "--- $f (tail)"; tail -n 20 "$WORK/$f"; } >&2; done
  fi
  if [ -n "${REPLICA_KEEP:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT

PRIMARY_PORT=$(free_port)
REPLICA_PORT=$(free_port)
HTTP_PORT=$(free_port)
DB=${REPLICA_DB_NAME:-ct_replica_check}

# The source database is dumped before PG* point at the private primary.
if [ -n "${REPLICA_SOURCE_DB:-}" ]; then
  ensure_postgres
  log "dumping $REPLICA_SOURCE_DB from the usual server"
  pg_dump -Fc -d "$REPLICA_SOURCE_DB" -f "$WORK/source.dump"
  chmod 644 "$WORK/source.dump"
fi

log "initialising the primary in $PRIMARY (port $PRIMARY_PORT)"
"${runas[@]}" mkdir -p "$SOCK"
"${runas[@]}" "$bindir/initdb" -D "$PRIMARY" -U odoo -A trust >/dev/null
# initdb's pg_hba.conf lets local connections replicate ("local replication
# all trust"); wal_level is 'replica' by default. Statements are logged with
# their application name: Odoo's connections say which process they are.
"${runas[@]}" tee -a "$PRIMARY/postgresql.conf" >/dev/null <<CONF
listen_addresses = ''
unix_socket_directories = '$SOCK'
port = $PRIMARY_PORT
fsync = off
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %a: '
CONF
"${runas[@]}" "$bindir/pg_ctl" -D "$PRIMARY" -l "$WORK/primary.log" -w start >/dev/null
export PGHOST=$SOCK PGPORT=$PRIMARY_PORT PGUSER=odoo

CONF="$WORK/odoo.conf"
cat > "$CONF" <<CONF
[options]
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$REPO
data_dir = $WORK/data
db_host = $SOCK
db_port = $PRIMARY_PORT
db_user = odoo
db_name = $DB
dbfilter = ^$DB\$
list_db = False
without_demo = all
max_cron_threads = 0
http_interface = 127.0.0.1
CONF

if [ -n "${REPLICA_SOURCE_DB:-}" ]; then
  createdb "$DB"
  pg_restore -d "$DB" --no-owner "$WORK/source.dump" || die "restoring $REPLICA_SOURCE_DB failed"
else
  log "installing customer_tiering and the demo customer base into $DB"
  { "${ODOO_BIN[@]}" -c "$CONF" -i customer_tiering --stop-after-init --log-level=warn \
      && "$VENV/bin/python" "$REPO/scripts/demo_data.py" "$CONF" "$DB"; } > "$WORK/install.log" 2>&1 \
    || die "installing customer_tiering failed"
fi

log "creating the tiering manager the check logs in as"
CHECK_PASSWORD=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(16))')
export CHECK_LOGIN=replica_check CHECK_PASSWORD
"${ODOO_BIN[@]}" shell -c "$CONF" --no-http --log-level=warn > "$WORK/user.log" 2>&1 <<'PY' || die "creating the check user failed: $(tail -n 5 "$WORK/user.log")"
import os
Users = env["res.users"].with_context(no_reset_password=True)
groups = [env.ref(xmlid).id for xmlid in (
    "base.group_user", "base.group_partner_manager", "sales_team.group_sale_manager",
    "customer_tiering.group_customer_tiering_manager")]
companies = env["res.company"].search([])
values = {"name": "Replica Check", "login": os.environ["CHECK_LOGIN"], "password": os.environ["CHECK_PASSWORD"],
          "groups_id": [(6, 0, groups)], "company_ids": [(6, 0, companies.ids)], "company_id": companies[0].id}
user = Users.search([("login", "=", values["login"])])
user.write(values) if user else Users.create(values)
env.cr.commit()
PY

log "cloning the primary with pg_basebackup -R and starting the replica (port $REPLICA_PORT)"
"${runas[@]}" "$bindir/pg_basebackup" -h "$SOCK" -p "$PRIMARY_PORT" -U odoo -D "$REPLICA" -R -X stream -c fast
"${runas[@]}" tee -a "$REPLICA/postgresql.conf" >/dev/null <<CONF
port = $REPLICA_PORT
hot_standby = on
log_statement = 'all'
CONF
"${runas[@]}" "$bindir/pg_ctl" -D "$REPLICA" -l "$WORK/replica.log" -w start >/dev/null
psql -X -q -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" -d postgres >/dev/null

log "starting Odoo on port $HTTP_PORT with --db_replica_host/--db_replica_port"
ODOO_PGAPPNAME=odoo-web "${ODOO_BIN[@]}" -c "$CONF" --http-port="$HTTP_PORT" \
  --db_replica_host="$SOCK" --db_replica_port="$REPLICA_PORT" --log-level=warn --logfile="$WORK/odoo-web.log" &
ODOO_PID=$!

CHECK_URL="http://127.0.0.1:$HTTP_PORT" CHECK_DB=$DB CHECK_SOCKET=$SOCK \
  CHECK_PRIMARY_PORT=$PRIMARY_PORT CHECK_REPLICA_PORT=$REPLICA_PORT \
  CHECK_PRIMARY_LOG="$WORK/primary.log" CHECK_REPLICA_LOG="$WORK/replica.log" CHECK_ODOO_LOG="$WORK/odoo-web.log" \
  CHECK_CONF=$CONF CHECK_ODOO_BIN="${ODOO_BIN[*]}" CHECK_WORK=$WORK \
  "$VENV/bin/python" "$REPO/scripts/replica_check.py"
