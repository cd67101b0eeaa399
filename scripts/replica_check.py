"""The replica check's driver, run by scripts/replica_check.sh once the
primary, its streaming replica and Odoo (with --db_replica_host) run.

It logs in as a tiering manager, starts the nightly job on the primary
(an ``odoo-bin shell`` looping over full reclassifications and the points
run), opens the add-on's screens over JSON-RPC as the web client does
(customer_tiering/tests/screens.py), then reads both servers' statement logs
and statistics. Each RPC is timed; the statements each server logged in its
time window from the Odoo server's connections (application name odoo-web)
say where it ran. Exits 1 unless every call Odoo routes read-only ran on the
replica with no statement on the primary, the job wrote on the primary, and
Odoo never fell back from the replica to the primary.
"""

import importlib.util
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import requests

REPO = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("screens", REPO / "customer_tiering" / "tests" / "screens.py")
screens = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(screens)

ENV = os.environ
WEB_APP, JOB_APP = "odoo-web", "odoo-nightly"
#: PostgreSQL's statistics reach pg_stat_database within this many seconds of an idle backend's last transaction.
STATS_DELAY = 11
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[\d+\] ([^:]*): LOG:  statement: (.*)")
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
FALLBACK = "retrying with a read/write cursor"

NIGHTLY = """
import os, time
companies = env["res.company"].search([])
runs = 0
open(os.environ["CHECK_STARTED"], "w").close()
while True:
    env["customer.tiering.job"]._reclassify(companies, full=True)
    env["customer.loyalty.ledger"]._cron_loyalty()
    env.cr.commit()
    runs += 1
    if os.path.exists(os.environ["CHECK_STOP"]):
        break
print("NIGHTLY_RUNS", runs)
"""


class Client:
    """The web client's JSON-RPC, each call timed."""

    def __init__(self, url, context):
        self.url = url
        self.session = requests.Session()
        self.context = context
        self.calls = []

    def rpc(self, route, params):
        response = self.session.post(self.url + route, json={"jsonrpc": "2.0", "method": "call", "params": params})
        response.raise_for_status()
        body = response.json()
        if "error" in body:
            raise RuntimeError(f"{route}: {body['error']['data']['message']}")
        return body["result"]

    def timed(self, screen, label, readonly, route, params):
        time.sleep(0.005)  # a gap between two calls' windows
        start = time.time()
        result = self.rpc(route, params)
        self.calls.append({"screen": screen, "call": label, "readonly": readonly, "start": start, "end": time.time()})
        return result

    def action(self, screen, xmlid):
        # /web/action/load is a read-only route.
        return self.timed(screen, "action", True, "/web/action/load", {"action_id": xmlid, "context": self.context})

    def call(self, screen, model, method, args, kwargs):
        kwargs = {**kwargs, "context": {**self.context, **kwargs.get("context", {})}}
        params = {"model": model, "method": method, "args": args, "kwargs": kwargs}
        readonly = screens.routed_to_replica(method)
        return self.timed(screen, f"{model}.{method}", readonly, f"/web/dataset/call_kw/{model}/{method}", params)


def connect(port):
    return psycopg2.connect(
        host=ENV["CHECK_SOCKET"], port=port, user="odoo", dbname=ENV["CHECK_DB"], application_name="replica-check"
    )


def query(port, sql, params=None):
    with connect(port) as conn, conn.cursor() as cr:
        cr.execute(sql, params)
        names = [column.name for column in cr.description]
        rows = [dict(zip(names, row, strict=True)) for row in cr.fetchall()]
    conn.close()
    return rows


DB_STATS = """SELECT xact_commit + xact_rollback AS transactions, tup_returned + tup_fetched AS rows_read,
                     tup_inserted + tup_updated + tup_deleted AS rows_written
                FROM pg_stat_database WHERE datname = current_database()"""


def statements(path):
    """[(time, application, statement)] of a server's log."""
    found = []
    for line in Path(path).read_text(errors="replace").splitlines():
        if match := LINE.match(line):
            at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
            found.append((at, match[2], match[3]))
    return found


def in_window(logged, start, end, app):
    # The log's times are truncated to the millisecond.
    return [sql for at, name, sql in logged if name == app and int(start * 1000) / 1000 <= at <= end]


def wait_for_odoo(url):
    """Until Odoo answers: while it loads the database's registry, a request
    waits for it, longer than a probe's timeout on a busy machine."""
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if requests.get(url + "/web/health", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    sys.exit("Odoo did not start: see odoo-web.log")


def start_job(work):
    """The nightly job on the primary, looping until told to stop; returns
    once its first run has begun."""
    started, stop = work / "nightly.started", work / "nightly.stop"
    job_env = dict(ENV, ODOO_PGAPPNAME=JOB_APP, CHECK_STARTED=str(started), CHECK_STOP=str(stop))
    job = subprocess.Popen(
        [*ENV["CHECK_ODOO_BIN"].split(), "shell", "-c", ENV["CHECK_CONF"], "--no-http", "--log-level=warn"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=job_env,
    )
    job.stdin.write(NIGHTLY)
    job.stdin.close()
    while not started.exists():
        if job.poll() is not None:
            sys.exit("the nightly job stopped before it started:\n" + job.stdout.read()[-2000:])
        time.sleep(0.2)
    return job, stop


def stats(primary, replica):
    return {"primary": query(primary, DB_STATS)[0], "replica": query(replica, DB_STATS)[0]}


ACTIVE = """SELECT application_name FROM pg_stat_activity
             WHERE datname = current_database() AND state = 'active' AND application_name IN %s"""


class ActivitySampler(threading.Thread):
    """Samples both servers' pg_stat_activity while the screens open: in how
    many samples each of Odoo's processes had a query running on each."""

    def __init__(self, ports):
        super().__init__(daemon=True)
        self.ports = ports
        self.stop = threading.Event()
        self.samples = 0
        self.active = Counter()

    def run(self):
        conns = {server: connect(port) for server, port in self.ports.items()}
        try:
            for conn in conns.values():
                conn.autocommit = True  # a fresh snapshot of pg_stat_activity per query
            while not self.stop.is_set():
                for server, conn in conns.items():
                    with conn.cursor() as cr:
                        cr.execute(ACTIVE, [(WEB_APP, JOB_APP)])
                        for app in {row[0] for row in cr.fetchall()}:
                            self.active[server, app] += 1
                self.samples += 1
                time.sleep(0.02)
        finally:
            for conn in conns.values():
                conn.close()


def report_calls(calls, on_primary, on_replica):
    """Print each call's statements on either server; return the failures."""
    failures = []
    print(f"\n{'screen':30} {'call':50} {'route':9} {'replica':>7} {'primary':>7}")
    per_screen = Counter()
    for call in calls:
        on_r = len(in_window(on_replica, call["start"], call["end"], WEB_APP))
        on_p = len(in_window(on_primary, call["start"], call["end"], WEB_APP))
        route = "read-only" if call["readonly"] else "rw (core)"
        print(f"{call['screen']:30} {call['call']:50} {route:9} {on_r:7} {on_p:7}")
        if call["readonly"]:
            per_screen[call["screen"]] += on_r
            if on_p or not on_r:
                failures.append(
                    f"{call['screen']}: {call['call']}: {on_r} statements on the replica, {on_p} on the primary"
                )
    print("\nstatements of the read-only calls, on the replica, per screen:")
    for screen, count in per_screen.items():
        print(f"  {screen:30} {count:6}")
    return failures


def screens_during_job(client, primary, replica):
    """Open the screens while the nightly job runs on the primary, sampling
    both servers' pg_stat_activity; then stop the job and read both servers'
    pg_stat_database deltas once their statistics are flushed."""
    job, stop = start_job(Path(ENV["CHECK_WORK"]))
    try:
        time.sleep(STATS_DELAY)
        before = stats(primary, replica)
        client.calls.clear()
        sampler = ActivitySampler({"primary": primary, "replica": replica})
        sampler.start()
        start = time.time()
        screens.open_screens(client)
        end = time.time()
        sampler.stop.set()
        sampler.join()
    except BaseException:
        job.kill()  # else it loops until its server stops
        raise
    overlapped = job.poll() is None
    stop.touch()
    output = job.stdout.read()  # until the job's last run is done
    job.wait(timeout=60)
    runs = re.search(r"NIGHTLY_RUNS (\d+)", output)
    time.sleep(STATS_DELAY)
    after = stats(primary, replica)
    activity = query(
        replica,
        """SELECT application_name, state, count(*) AS connections FROM pg_stat_activity
            WHERE datname = current_database() AND application_name <> 'replica-check' GROUP BY 1, 2 ORDER BY 1, 2""",
    )
    lsn = query(primary, "SELECT pg_current_wal_lsn()::text AS lsn")[0]["lsn"]
    time.sleep(2)
    caught_up = query(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn AS done", [lsn])[0]["done"]
    return {
        "sampler": sampler,
        "start": start,
        "end": end,
        "overlapped": overlapped,
        "runs": runs[1] if runs else "?",
        "delta": {server: {key: after[server][key] - before[server][key] for key in after[server]} for server in after},
        "activity": activity,
        "caught_up": caught_up,
    }


def report_servers(run):
    print("pg_stat_database deltas over the screens and the job (after the statistics flush):")
    for server, values in run["delta"].items():
        print(f"  {server:8} " + ", ".join(f"{key} +{value}" for key, value in values.items()))
    sampler = run["sampler"]
    print(f"pg_stat_activity while the screens opened, {sampler.samples} samples of each server: a query running in")
    for server in ("primary", "replica"):
        print(f"  {server:8} " + ", ".join(f"{app} {sampler.active[server, app]}" for app in (WEB_APP, JOB_APP)))
    print("pg_stat_activity on the replica (this database) afterwards:")
    for row in run["activity"]:
        print(f"  {row['application_name'] or '-':14} {row['state'] or '-':8} {row['connections']} connection(s)")
    print(f"replica replayed the job's last writes: {run['caught_up']}")


def main():
    primary, replica = ENV["CHECK_PRIMARY_PORT"], ENV["CHECK_REPLICA_PORT"]
    wait_for_odoo(ENV["CHECK_URL"])
    recovery = query(replica, "SELECT pg_is_in_recovery() AS standby")[0]["standby"]
    streaming = query(primary, "SELECT application_name, state, sync_state FROM pg_stat_replication")
    print(f"replica in recovery (hot standby): {recovery}; primary's WAL senders: {streaming}")

    client = Client(ENV["CHECK_URL"], {})
    login = {"db": ENV["CHECK_DB"], "login": ENV["CHECK_LOGIN"], "password": ENV["CHECK_PASSWORD"]}
    info = client.rpc("/web/session/authenticate", login)
    client.context = dict(info["user_context"], allowed_company_ids=[info["user_companies"]["current_company"]])
    client.call("warm-up", "res.partner", "search_count", [[]], {})  # the registry loads outside the windows

    run = screens_during_job(client, primary, replica)
    sampler, delta = run["sampler"], run["delta"]
    on_primary, on_replica = statements(ENV["CHECK_PRIMARY_LOG"]), statements(ENV["CHECK_REPLICA_LOG"])
    failures = report_calls(client.calls, on_primary, on_replica)

    job_primary = [(at, sql) for at, name, sql in on_primary if name == JOB_APP]
    job_writes = [at for at, sql in job_primary if WRITE.match(sql)]
    during = [at for at in job_writes if run["start"] <= at <= run["end"]]
    job_replica = [sql for _at, name, sql in on_replica if name == JOB_APP]
    print(
        f"\nnightly job ({JOB_APP}): {run['runs']} full runs, running from before the screens opened "
        f"to after: {run['overlapped']}; on the primary {len(job_primary)} statements, {len(job_writes)} writes "
        f"({len(during)} while the screens opened); on the replica {len(job_replica)} statements"
    )
    report_servers(run)

    fallbacks = Path(ENV["CHECK_ODOO_LOG"]).read_text(errors="replace").count(FALLBACK)
    checks = {
        f"Odoo fell back from the replica to the primary {fallbacks} time(s) (odoo-web.log)": fallbacks,
        "the replica is not a streaming hot standby of the primary": not (recovery and streaming),
        "the nightly job wrote nothing on the primary": not (job_writes and delta["primary"]["rows_written"]),
        "the nightly job did not run while the screens opened": not run["overlapped"],
        "the nightly job ran statements on the replica": job_replica,
        "pg_stat_activity showed the nightly job on the replica": sampler.active["replica", JOB_APP],
        "pg_stat_activity never showed the nightly job at work on the primary": not sampler.active["primary", JOB_APP],
        "pg_stat_activity never showed Odoo's web process on the replica": not sampler.active["replica", WEB_APP],
        "pg_stat_database shows no rows read on the replica": delta["replica"]["rows_read"] <= 0,
        "the replica did not replay the job's writes": not run["caught_up"],
    }
    failures += [message for message, failed in checks.items() if failed]
    if failures:
        print("\nREPLICA CHECK FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    readonly_calls = sum(call["readonly"] for call in client.calls)
    opened = len({call["screen"] for call in client.calls})
    print(
        f"\nREPLICA CHECK OK: {readonly_calls} of the {len(client.calls)} calls of {opened} screens ran on the "
        "replica only (the others are Odoo's own read/write methods); the nightly job wrote on the primary meanwhile."
    )


if __name__ == "__main__":
    main()
