"""make bench: bulk-generate customers and posted invoices with SQL, then time
the one-off first night (first classification, points cron after an opt-in, a new
follow-up policy's first run), the churn model fit, the next night's nightly
pipeline (classification, points, follow-ups) as the weekly full run and as
an incremental run (medians of several runs), and a naive per-partner ORM
baseline on a sample, and print one BENCH line.

Run by scripts/bench.sh inside the project's virtualenv, against a database
where customer_tiering is installed: python scripts/bench.py CONFIG DATABASE
"""

import logging
import resource
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.tools import SQL

REPEATS = 5
SAMPLE = 2000
FOLLOWUP_CUSTOMERS = 50000
NOTIFIED = 1000
#: One customer in this many has a salesperson, and goes back to the public pool in ``time_pool``: 1%.
POOLED_EVERY = 100
#: Customers who changed tier in the run whose customer notifications are timed: 1% of them, at least this many.
TIER_MAILS = 1000
POINTS_DAYS = 90
_logger = logging.getLogger("customer_tiering.bench")
#: What the bulk load filled, which autovacuum would vacuum and analyse
#: before the first night; not the still empty tables the first night
#: fills, whose statistics would then say empty for the whole night.
LOADED_TABLES = ("res_partner", "account_move")
#: What the nights write, vacuumed and analysed between two nights, as
#: autovacuum would: every table, the history and chatter ones too.
NIGHT_TABLES = (
    *LOADED_TABLES,
    "customer_tiering_config",
    "customer_tiering_schedule",
    "customer_tier_history",
    "customer_lifecycle_history",
    "loyalty_card",
    "loyalty_history",
    "customer_care_log",
    "mail_activity",
    "mail_message",
    "mail_tracking_value",
    "mail_followers",
    "mail_followers_mail_message_subtype_rel",
)


def generate(env, customers, invoices):
    """Customers and posted invoices (5% credit notes) over two years, with a
    skewed spread so that a few customers carry most of the revenue."""
    company = env.company
    journal = env["account.journal"].search([("type", "=", "sale"), ("company_id", "=", company.id)], limit=1)
    cr = env.cr
    cr.execute("SELECT setseed(0.42)")
    cr.execute(
        SQL(
            """
            WITH ins AS (
                INSERT INTO res_partner (name, complete_name, is_company, active, type, autopost_bills, lang,
                                         create_date, write_date)
                SELECT 'Bench Customer ' || g, 'Bench Customer ' || g, true, true, 'contact', 'ask', 'en_US',
                       now(), now()
                  FROM generate_series(1, %(n)s) g
             RETURNING id)
            SELECT min(id), max(id) FROM ins
            """,
            n=customers,
        )
    )
    first_id, last_id = cr.fetchone()
    cr.execute(
        SQL(
            "UPDATE res_partner SET commercial_partner_id = id WHERE id BETWEEN %s AND %s",
            first_id,
            last_id,
        )
    )
    cr.execute(
        SQL(
            """
            INSERT INTO account_move (journal_id, company_id, currency_id, date, invoice_date, state, move_type,
                                      auto_post, partner_id, commercial_partner_id, amount_untaxed,
                                      amount_untaxed_signed, amount_total, amount_total_signed, name,
                                      create_date, write_date)
            SELECT %(journal)s, %(company)s, %(currency)s, s.d, s.d, 'posted', s.t, 'no', s.p, s.p, s.a,
                   CASE WHEN s.t = 'out_refund' THEN -s.a ELSE s.a END, s.a,
                   CASE WHEN s.t = 'out_refund' THEN -s.a ELSE s.a END, 'BENCH/' || s.g, now(), now()
              FROM (SELECT g,
                           %(first)s + floor(power(random(), 2) * %(n)s)::int AS p,
                           current_date - floor(random() * 730)::int AS d,
                           CASE WHEN random() < 0.05 THEN 'out_refund' ELSE 'out_invoice' END AS t,
                           round((20 + random() * 2000)::numeric, 2) AS a
                      FROM generate_series(1, %(m)s) g) s
            """,
            journal=journal.id,
            company=company.id,
            currency=company.currency_id.id,
            first=first_id,
            n=customers,
            m=invoices,
        )
    )
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE account_move")
    cr.commit()
    return list(range(first_id, last_id + 1))


def new_invoices(env, partner_ids, day):
    """An invoice dated ``day`` for one customer in a hundred."""
    company = env.company
    journal = env["account.journal"].search([("type", "=", "sale"), ("company_id", "=", company.id)], limit=1)
    env.cr.execute(
        SQL(
            """
            INSERT INTO account_move (journal_id, company_id, currency_id, date, invoice_date, state, move_type,
                                      auto_post, partner_id, commercial_partner_id, amount_untaxed,
                                      amount_untaxed_signed, amount_total, amount_total_signed, name,
                                      create_date, write_date)
            SELECT %(journal)s, %(company)s, %(currency)s, %(day)s, %(day)s, 'posted', 'out_invoice', 'no', p, p,
                   500, 500, 500, 500, 'BENCH/NEW/' || p, now(), now()
              FROM unnest(%(partners)s::int[]) AS p
            """,
            journal=journal.id,
            company=company.id,
            currency=company.currency_id.id,
            day=day,
            partners=partner_ids[::100],
        )
    )
    return len(partner_ids[::100])


def time_first_night(env, partner_ids):
    """The one-off first night after the add-on is installed and set up:
    every customer's first classification, the points cron (catch-up and
    expiry) after an admin opted in to the last POINTS_DAYS days of
    invoices, and a new
    follow-up policy's first run. Each step is timed once, and the night is
    committed, batch by batch: the next nights start from it."""
    config = env["customer.tiering.config"]._for_companies(env.company)
    config.points_start_date = fields.Date.context_today(config) - timedelta(days=POINTS_DAYS)
    followup_policy(env, partner_ids)
    vacuum(env.cr.dbname, LOADED_TABLES)
    with committing_batches():
        first_s = timed(env, lambda: env["customer.tiering.job"]._reclassify(env.company))
        points_s = timed(env, env["customer.loyalty.ledger"]._cron_loyalty)
        entries = env["loyalty.history"].search_count([("points_kind", "!=", False)])
        followup_s = timed(env, followup_job(env)._cron_followup)
        activities = env["mail.activity"].search_count([("res_model", "=", "res.partner")])
    env.cr.commit()
    print(
        f"first night: classification {first_s:.2f} s, points cron {points_s:.2f} s ({entries} ledger "
        f"entries), follow-ups {followup_s:.2f} s ({activities} activities)"
    )
    return first_s, points_s, followup_s


@contextmanager
def committing_batches():
    """The jobs commit each batch, as in production: what a run wrote
    before a later step started is then behind that step's start, as the
    next nights expect."""
    thread = threading.current_thread()
    thread.testing = False
    try:
        yield
    finally:
        thread.testing = True


def followup_policy(env, partner_ids):
    """A policy calling each of the first FOLLOWUP_CUSTOMERS customers daily:
    its first run creates an activity for each, the next nights find them
    still open. The follow-up job runs without assignment notifications
    (``followup_job``): they are timed on their own (``time_notifications``)."""
    env["customer.service.policy"].create(
        {
            "name": "Bench follow-up",
            "domain": repr([("id", ">=", partner_ids[0]), ("id", "<", partner_ids[0] + FOLLOWUP_CUSTOMERS)]),
            "cadence_days": 1,
            "assignee_rule": "fixed",
            "user_id": env.ref("base.user_admin").id,
        }
    )


def followup_job(env):
    """The follow-up job without Odoo's assignment notifications, through
    Odoo's own switch for them (``mail_activity_quick_update``): one
    ``action_notify`` per activity, they would dwarf the rest of the job, and
    ``time_notifications`` times them apart."""
    return env["customer.followup.job"].with_context(mail_activity_quick_update=True)


def time_notifications(env, partner_ids):
    """Odoo's assignment notification for NOTIFIED automated activities
    assigned to another user (the admin, notified by email), as the
    follow-up and care jobs send them after each committed batch: created by
    the bulk writer, notified, rolled back."""
    followup = env["customer.followup.job"]
    admin = env.ref("base.user_admin")
    partners = env["res.partner"].browse(partner_ids[:NOTIFIED])
    values = [followup._partner_activity(p, admin, "Bench", "", fields.Date.today()) for p in partners]
    with env.cr.savepoint(flush=False) as savepoint:
        activities = env["mail.activity"].browse(env["mail.activity"]._bulk_create_automated(values))
        notify_s = timed(env, activities._notify_automated)
        savepoint.rollback()
    env.invalidate_all()
    print(f"assignment notifications: {notify_s:.2f} s for {len(values)} activities")
    return notify_s


def time_tier_mails(env, partner_ids):
    """Queueing the tier notifications (``mail_queue_s``) of a run in which
    1% of the customers, at least TIER_MAILS, moved up a tier, with the
    tiers shown to customers: the care log's keys and a rendered
    ``mail.mail`` per customer, batch by batch, as the reclassification
    sends them at its end; rolled back."""
    count = min(len(partner_ids), max(TIER_MAILS, len(partner_ids) // 100))
    moved = partner_ids[:: max(1, len(partner_ids) // count)][:count]
    config = env["customer.tiering.config"]._for_companies(env.company)
    tiers = config._active_tiers()
    now = fields.Datetime.now()
    with env.cr.savepoint(flush=False) as savepoint:
        env.cr.execute(SQL("UPDATE res_partner SET email = 'bench' || id || '@example.com' WHERE id = ANY(%s)", moved))
        env.cr.execute(
            SQL(
                """
                INSERT INTO customer_tier_history (partner_id, company_id, old_tier_id, new_tier_id, date, reason,
                                                   create_uid, create_date)
                SELECT p, %(company)s, %(old)s, %(new)s, %(now)s, 'computed', %(uid)s, %(now)s
                  FROM unnest(%(partners)s::int[]) AS p
                """,
                company=env.company.id,
                old=tiers[-1].id,
                new=tiers[0].id,
                now=now,
                uid=env.uid,
                partners=moved,
            )
        )
        config.write({"show_tier_to_customers": True, "tier_emails_since": now - timedelta(hours=1)})
        env.invalidate_all()
        mail_queue_s = timed(env, lambda: env["customer.notification.job"]._notify_tier_changes(config))
        queued = env["mail.mail"].search_count([("model", "=", "res.partner"), ("res_id", "in", moved)])
        savepoint.rollback()
    env.invalidate_all()
    print(f"tier notifications: {mail_queue_s:.2f} s to queue {queued} mails for {len(moved)} customers")
    return mail_queue_s


def time_pool(env, partner_ids):
    """The public pool job (``pool_s``) recalling 1% of the customers: one
    in POOLED_EVERY given a salesperson who never touched them, under a rule
    of one day without a touch and no warning, run two days after the last
    invoice, so that each of them is due: the grouped queries that find
    them, then the recall's batches (salesperson cleared, pool flags,
    history rows, chatter notes); rolled back."""
    owned = partner_ids[::POOLED_EVERY]
    admin = env.ref("base.user_admin")
    with env.cr.savepoint(flush=False) as savepoint:
        env.cr.execute(SQL("UPDATE res_partner SET user_id = %s WHERE id = ANY(%s)", admin.id, owned))
        env.invalidate_all()
        rule = env["customer.pool.rule"].create(
            {"name": "Bench pool", "untouched_days": 1, "warning_days": 0, "exempt_best_tier": False}
        )
        day = fields.Date.context_today(rule) + timedelta(days=2)
        job = env["customer.pool.job"].with_company(env.company)
        pool_s = timed(env, lambda: job._run_rules(rule, day))
        recalled = env["customer.pool.history"].search_count([("rule_id", "=", rule.id)])
        savepoint.rollback()
    env.invalidate_all()
    print(f"customer pool: {pool_s:.2f} s to recall {recalled} of {len(owned)} customers")
    return pool_s


def clock():
    """Seconds of a clock that freezegun does not stop (it stops perf_counter)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def timed(env, step):
    start = clock()
    step()
    env.flush_all()
    return clock() - start


def time_next_nights(env, partner_ids):
    """The nightly pipeline of the next night, once 1% of the customers
    bought and the clock moved one day: the weekly full run and an
    incremental one, medians of runs each rolled back."""
    tomorrow = fields.Date.context_today(env["res.partner"]) + timedelta(days=1)
    for full in (True, False):
        runs = [time_night(env, partner_ids, tomorrow, full) for _ in range(REPEATS)]
        print(f"next night, {'full' if full else 'incremental'} runs (s): " + ", ".join(f"{run:.2f}" for run in runs))
        yield statistics.median(runs)


def nightly_steps(env, full):
    """The three nightly crons, the reclassification and the points check
    forced full, as on the weekly full night, or left to their incremental
    default."""
    config = env["customer.tiering.config"]._for_companies(env.company)

    def points():
        if full:
            config.points_full_check = False
        env["customer.loyalty.ledger"]._cron_loyalty()

    return {
        "classification": lambda: env["customer.tiering.job"]._reclassify(env.company, full=full),
        "points": points,
        "follow-ups": followup_job(env)._cron_followup,
    }


def time_night(env, partner_ids, day, full):
    vacuum(env.cr.dbname, NIGHT_TABLES)
    # One frozen day around the whole night: freezegun's start, which
    # patches every loaded module, is the harness's time, not the jobs'.
    with env.cr.savepoint(flush=False) as savepoint, freeze_time(day):
        new_invoices(env, partner_ids, day)
        times = {name: timed(env, step) for name, step in nightly_steps(env, full).items()}
        savepoint.rollback()
    env.invalidate_all()
    print(f"  {'full' if full else 'incremental'} night: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
    return sum(times.values())


def vacuum(database, tables):
    """What autovacuum does after the bulk load and between two nightly runs
    (the add-on has it vacuum res_partner once 1% of it changed): without
    it, hint bits and the dead rows of rolled-back runs would slow the next
    run down, and fill the room the partners' pages keep for the next
    night's heap-only updates; and the planner would not know the tables
    the first night filled (autovacuum is off on some servers). Then a
    checkpoint, as a server that was idle for a few minutes has had: the
    vacuum's own gigabyte of WAL would otherwise be checkpointed during
    the timed night, a cost of rolling the nights back, not of a night."""
    subprocess.run(["psql", "-X", "-q", "-d", database, "-c", f"VACUUM ANALYZE {', '.join(tables)}"], check=True)
    subprocess.run(["psql", "-X", "-q", "-d", database, "-c", "CHECKPOINT"], check=True)


def time_fit(env):
    """Fitting the churn and spend models and scoring every customer."""
    # The add-on is importable once the registry has set up the addons path.
    from odoo.addons.customer_tiering.engine import btyd  # noqa: PLC0415
    from odoo.addons.customer_tiering.models.customer_tiering_job import _btyd_summary  # noqa: PLC0415

    config = env["customer.tiering.config"]._for_companies(env.company)
    today = fields.Date.context_today(env["res.partner"])
    sales = env["customer.tiering.job"]._read_sales(env.company, today - relativedelta(months=12), today)
    summary = _btyd_summary(sales[sales["purchase_days"] > 0], today)
    start = time.perf_counter()
    prediction = btyd.predict(summary, config._churn_settings())
    elapsed = time.perf_counter() - start
    print(f"fit and scoring: {elapsed:.2f} s, method {prediction.method}, {prediction.n_repeaters} repeat customers")
    return elapsed


def orm_baseline(env, partner_ids):
    """The naive way: one search, one read and one write per partner, then
    ABC tiers from the sorted revenues, one write per partner again."""
    config = env["customer.tiering.config"]._for_companies(env.company)
    today = fields.Date.context_today(env["res.partner"])
    window_start = today - relativedelta(months=config.window_months)
    tiers = config._active_tiers()
    revenues = {}
    with env.cr.savepoint(flush=False) as savepoint:
        start = time.perf_counter()
        for partner in env["res.partner"].browse(partner_ids):
            moves = env["account.move"].search(
                [
                    ("commercial_partner_id", "=", partner.id),
                    ("company_id", "=", env.company.id),
                    ("state", "=", "posted"),
                    ("move_type", "in", ("out_invoice", "out_refund")),
                    ("invoice_date", "<=", today),
                ]
            )
            invoices = moves.filtered(lambda move: move.move_type == "out_invoice")
            total = sum(moves.mapped("amount_untaxed_signed"))
            window = sum(move.amount_untaxed_signed for move in moves if move.invoice_date > window_start)
            dates = invoices.mapped("invoice_date")
            partner.write(
                {
                    "purchase_count": len(invoices),
                    "first_purchase_date": min(dates) if dates else False,
                    "last_purchase_date": max(dates) if dates else False,
                    "revenue_total": total,
                    "revenue_window": window,
                }
            )
            revenues[partner.id] = window
        ranked = sorted(revenues, key=lambda pid: (-revenues[pid], pid))
        grand_total = sum(value for value in revenues.values() if value > 0) or 1.0
        before = 0.0
        for pid in ranked:
            share = before / grand_total
            tier = tiers[0] if share < config.cutoff_a else tiers[1] if share < config.cutoff_b else tiers[2]
            env["res.partner"].browse(pid).write({"tier_id": tier.id})
            before += max(revenues[pid], 0.0)
        env.flush_all()
        elapsed = time.perf_counter() - start
        savepoint.rollback()
    env.invalidate_all()
    return elapsed


def main(config_path, database, customers, invoices):
    odoo.tools.config.parse_config(["-c", config_path, "-d", database, "--log-level=warn"])
    # No commit between chunks: every timed run is rolled back to the same state.
    threading.current_thread().testing = True
    registry = odoo.modules.registry.Registry(database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        start = time.perf_counter()
        partner_ids = generate(env, customers, invoices)
        print(f"generated {customers} customers and {invoices} invoices in {time.perf_counter() - start:.1f} s")
        first_s, points_s, followup_s = time_first_night(env, partner_ids)
        fit_s = statistics.median(time_fit(env) for _ in range(REPEATS))
        full_s, incremental_s = time_next_nights(env, partner_ids)
        notify_s = time_notifications(env, partner_ids)
        mail_queue_s = time_tier_mails(env, partner_ids)
        pool_s = time_pool(env, partner_ids)
        sample = partner_ids[:: max(1, len(partner_ids) // SAMPLE)][:SAMPLE]
        baseline_s = orm_baseline(env, sample)
        per_partner = baseline_s / len(sample)
        estimate = per_partner * customers
        print(
            f"ORM baseline: {baseline_s:.2f} s for {len(sample)} customers "
            f"({per_partner * 1000:.2f} ms each, {estimate:.0f} s extrapolated to {customers})"
        )
        cr.rollback()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"BENCH customers={customers} invoices={invoices} full_s={full_s:.2f} "
        f"peak_rss_mb={peak_rss_mb:.0f} speedup_vs_orm={estimate / first_s:.1f} fit_s={fit_s:.2f} "
        f"incremental_s={incremental_s:.2f} first_s={first_s:.2f} points_s={points_s:.2f} followup_s={followup_s:.2f} "
        f"notify_s={notify_s:.2f} mail_queue_s={mail_queue_s:.2f} pool_s={pool_s:.2f}"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
