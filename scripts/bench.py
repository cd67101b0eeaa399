"""make bench: bulk-generate customers and posted invoices with SQL, then time
the one-off first night (first classification, points cron after an opt-in, a new
follow-up policy's first run), the churn model fit, the next night's nightly
pipeline (classification, points, follow-ups) as the weekly full run and as
an incremental run (medians of several runs), the floor they are read
against (one GROUP BY of every sale), the read calls of the add-on's
screens as a tiering manager, what the add-on adds to posting an invoice,
and a naive per-partner ORM baseline on a sample, and print one BENCH line.

Run by scripts/bench.sh inside the project's virtualenv, against a database
where customer_tiering is installed: python scripts/bench.py CONFIG DATABASE
CUSTOMERS SALES. With BENCH_POS_SHARE in the environment (0 to 1, default
0), that share of the sales are point of sale orders without an invoice,
which needs customer_tiering_pos installed (bench.sh installs it then); the
rest are invoices.
"""

import importlib.util
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time

import odoo
from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tools import SQL, json_default

REPEATS = 5
SAMPLE = 2000
FOLLOWUP_CUSTOMERS = 50000
NOTIFIED = 1000
#: One customer in this many has a salesperson, and goes back to the public pool in ``time_pool``: 1%.
POOLED_EVERY = 100
#: Customers who changed tier in the run whose customer notifications are timed: 1% of them, at least this many.
TIER_MAILS = 1000
POINTS_DAYS = 90
#: Salespeople the customers are shared among for the care and digest timings.
SALESPEOPLE = 20
#: Runs of the floor query (``time_floor``), of which the median is taken.
FLOOR_REPEATS = 3
#: Draft invoices posted with and without the add-on's hooks (``time_post``), and the runs of each.
POSTED = 1000
POST_REPEATS = 3
#: Invoices posted at a time, with and without the hooks in turn.
POST_CHUNK = 100
#: The tiering manager who opens the screens (``time_screens``), and the groups given when the bench creates them.
MANAGER_LOGIN = "bench_tiering_manager"
MANAGER_GROUPS = (
    "base.group_user",
    "base.group_partner_manager",
    "sales_team.group_sale_manager",
    "customer_tiering.group_customer_tiering_manager",
)
#: The read calls the web client makes to open each screen, shared with
#: tests/test_replica.py and scripts/replica_check.py: plain Python, loaded
#: by path, so that the add-on's test package is not imported.
_SCREENS_SPEC = importlib.util.spec_from_file_location(
    "customer_tiering_screens", Path(__file__).resolve().parents[1] / "customer_tiering" / "tests" / "screens.py"
)
screens = importlib.util.module_from_spec(_SCREENS_SPEC)
_SCREENS_SPEC.loader.exec_module(screens)
_logger = logging.getLogger("customer_tiering.bench")
#: What the bulk load filled, which autovacuum would vacuum and analyse
#: before the first night; not the still empty tables the first night
#: fills, whose statistics would then say empty for the whole night.
LOADED_TABLES = ("res_partner", "account_move")
#: The share of the generated sales that are point of sale orders (BENCH_POS_SHARE).
POS_SHARE = float(os.environ.get("BENCH_POS_SHARE") or 0)
if POS_SHARE:
    LOADED_TABLES = (*LOADED_TABLES, "pos_order")
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
    skewed spread so that a few customers carry most of the revenue; of
    those sales, POS_SHARE are point of sale orders (``generate_pos``)."""
    pos_orders = round(invoices * POS_SHARE)
    invoices -= pos_orders
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
    if pos_orders:
        generate_pos(env, first_id, customers, pos_orders)
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE account_move")
    cr.commit()
    return list(range(first_id, last_id + 1))


def pos_session(env):
    """A shop and its session, where the generated orders are rung up."""
    session = env["pos.session"].search([("config_id.name", "=", "Bench shop")], limit=1)
    if not session:
        config = env["pos.config"].create({"name": "Bench shop"})
        session = env["pos.session"].create({"config_id": config.id, "user_id": env.uid})
    return session


def generate_pos(env, first_id, customers, orders):
    """``orders`` point of sale orders without an invoice, paid and posted,
    spread as the invoices are (5% refunds, negative), taxed 10%, in the
    company's currency, rung up at noon UTC by the admin (no time zone: the
    sale day is the UTC day), with the columns customer_tiering_pos adds."""
    session = pos_session(env)
    env.cr.execute(
        SQL(
            """
            INSERT INTO pos_order (name, session_id, config_id, company_id, user_id, partner_id,
                                   commercial_partner_id, date_order, customer_sale_date, state,
                                   amount_tax, amount_total, amount_paid, amount_return, currency_rate,
                                   create_date, write_date)
            SELECT 'BENCH/POS/' || s.g, %(session)s, %(config)s, %(company)s, %(uid)s, s.p, s.p,
                   s.d + time '12:00', s.d, 'done', s.a / 10, s.a * 1.1, s.a * 1.1, 0, 1, now(), now()
              FROM (SELECT g,
                           %(first)s + floor(power(random(), 2) * %(n)s)::int AS p,
                           current_date - floor(random() * 730)::int AS d,
                           round((20 + random() * 2000)::numeric, 2)
                           * CASE WHEN random() < 0.05 THEN -1 ELSE 1 END AS a
                      FROM generate_series(1, %(m)s) g) s
            """,
            session=session.id,
            config=session.config_id.id,
            company=env.company.id,
            uid=env.uid,
            first=first_id,
            n=customers,
            m=orders,
        )
    )
    env.cr.execute("ANALYZE pos_order")


def new_invoices(env, partner_ids, day):
    """A sale dated ``day`` for one customer in a hundred: POS_SHARE of them
    point of sale orders, the others invoices."""
    buyers = partner_ids[::100]
    at_till = round(len(buyers) * POS_SHARE)
    if at_till:
        session = pos_session(env)
        env.cr.execute(
            SQL(
                """
                INSERT INTO pos_order (name, session_id, config_id, company_id, user_id, partner_id,
                                       commercial_partner_id, date_order, customer_sale_date, state,
                                       amount_tax, amount_total, amount_paid, amount_return, currency_rate,
                                       create_date, write_date)
                SELECT 'BENCH/POS/NEW/' || p, %(session)s, %(config)s, %(company)s, %(uid)s, p, p,
                       %(day)s + time '12:00', %(day)s, 'paid', 50, 550, 550, 0, 1, now(), now()
                  FROM unnest(%(partners)s::int[]) AS p
                """,
                session=session.id,
                config=session.config_id.id,
                company=env.company.id,
                uid=env.uid,
                day=day,
                partners=buyers[:at_till],
            )
        )
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
            partners=buyers[at_till:],
        )
    )
    return len(buyers)


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


def seller_customers(env, partner_ids):
    """What the care and digest timings need of a real customer base,
    committed: every customer with an email address, and one of
    SALESPEOPLE salespeople (created once). Vacuumed and analysed, as
    autovacuum would after such an update."""
    Users = env["res.users"].with_context(no_reset_password=True)
    sellers = [
        Users.search([("login", "=", f"bench_seller_{index}")])
        or Users.create({"name": f"Bench Seller {index}", "login": f"bench_seller_{index}"})
        for index in range(SALESPEOPLE)
    ]
    env.cr.execute(
        SQL(
            """
            UPDATE res_partner
               SET email = 'bench' || id || '@example.com', email_normalized = 'bench' || id || '@example.com',
                   user_id = (%(sellers)s::int[])[mod(id, %(count)s) + 1]
             WHERE id = ANY(%(partners)s)
            """,
            sellers=[seller.id for seller in sellers],
            count=len(sellers),
            partners=partner_ids,
        )
    )
    env.invalidate_all()
    env.cr.commit()
    vacuum(env.cr.dbname, NIGHT_TABLES)


def time_care_holiday(env):
    """A care date for every customer (``care_holiday_s``), as Spring
    Festival is: the run on its lead day (an activity for each A and B
    customer, for their salesperson) and the run on the day (a queued
    greeting email for each C customer), committed batch by batch as the
    follow-up cron runs them, without the assignment notifications, as
    ``followup_s`` (``notify_s`` times them). Also the process's peak
    memory during the two runs (``care_holiday_rss_mb``): its high-water
    mark reset before them, where Linux allows it."""
    config = env["customer.tiering.config"]._for_companies(env.company)
    today = fields.Date.context_today(config)
    holiday = env["customer.care.date"].create(
        {"name": "Bench Festival", "date": today + timedelta(days=config.care_lead_days), "company_id": env.company.id}
    )
    env.cr.commit()
    care = env["customer.care.job"].with_context(mail_activity_quick_update=True).with_company(env.company)
    reset = reset_peak_rss()
    with committing_batches():
        care_s = timed(env, lambda: care._care_dates(config, today))
        care_s += timed(env, lambda: care._care_dates(config, holiday.date))
    rss_mb = peak_rss_mb() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    activities = env["mail.activity"].search_count([("summary", "like", "Bench Festival%")])
    mails = env["mail.mail"].search_count([("subject", "like", "Bench Festival%")])
    print(f"care date for everyone: {care_s:.2f} s, {activities} activities, {mails} emails queued, {rss_mb:.0f} MB")
    return care_s, rss_mb


def time_digest(env):
    """The weekly digest (``digest_s``), by email, for the SALESPEOPLE
    salespeople: their follow-ups and their ten most valuable customers
    among those at high churn risk; committed, as its cron does."""
    config = env["customer.tiering.config"]._for_companies(env.company)
    config.digest_mode = "email"
    env.cr.commit()
    with committing_batches():
        digest_s = timed(env, env["customer.followup.digest"]._cron_digest)
    at_risk = env["res.partner"].search_count([("churn_risk_level", "=", "high"), ("user_id", "!=", False)])
    print(f"weekly digest: {digest_s:.2f} s for {SALESPEOPLE} salespeople, {at_risk} customers at high risk")
    return digest_s


def reset_peak_rss():
    """Reset the process's peak resident memory (VmHWM) to its current
    resident memory; whether it could (Linux 4.0 and later)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_mb():
    """The process's peak resident memory since ``reset_peak_rss``, in MB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


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


def time_floor(env):
    """The physical floor (``floor_s``): one GROUP BY of every sale of the
    company (``customer.sale``, the add-on's one definition of a sale:
    posted customer invoices and credit notes, and the point of sale orders
    when customer_tiering_pos is installed) into its customer, its count,
    sum, first and last date, every row read to the client; median of
    FLOOR_REPEATS runs, on the database and in the run the nights are timed
    on, so that they can be read as ratios to it."""
    env["customer.sale"]._flush_sources()
    query = SQL(
        """
        SELECT commercial_partner_id, count(*), sum(amount), min(date), max(date)
          FROM %s
         WHERE company_id = %s
         GROUP BY commercial_partner_id
        """,
        SQL.identifier(env["customer.sale"]._table),
        env.company.id,
    )
    runs = []
    for _run in range(FLOOR_REPEATS):
        start = clock()
        env.cr.execute(query)
        customers = len(env.cr.fetchall())
        runs.append(clock() - start)
    print(f"floor (one GROUP BY of every sale into {customers} customers), runs (s): " + fmt(runs))
    return statistics.median(runs)


def fmt(runs):
    return ", ".join(f"{run:.2f}" for run in runs)


def tiering_manager(env):
    """The tiering manager who opens the screens: created, with
    MANAGER_GROUPS (those installed), in the bench's company if none."""
    Users = env["res.users"].with_context(no_reset_password=True)
    manager = Users.search([("login", "=", MANAGER_LOGIN)])
    if not manager:
        groups = [env.ref(xmlid, raise_if_not_found=False) for xmlid in MANAGER_GROUPS]
        manager = Users.create(
            {
                "name": "Bench Tiering Manager",
                "login": MANAGER_LOGIN,
                "company_id": env.company.id,
                "company_ids": [Command.set(env.company.ids)],
                "groups_id": [Command.set([group.id for group in groups if group])],
            }
        )
    return manager


class ScreenClient:
    """screens.py's client, in process: each call dispatched as the web
    client's RPC is (``/web/action/load`` and ``/web/dataset/call_kw``'s
    ``odoo.api.call_kw``), on the user's environment with an empty cache, as
    a new request has, its result serialized as the JSON-RPC response is;
    the server time of each screen's calls summed in ``times``. What is not
    timed: the network and the HTTP layer (routing, session, cursor)."""

    def __init__(self, env):
        self.env = env
        self.times = defaultdict(float)

    def _timed(self, screen, call):
        self.env.invalidate_all()
        start = clock()
        result = call()
        json.dumps(result, ensure_ascii=False, default=json_default)
        self.times[screen] += clock() - start
        return result

    def action(self, screen, xmlid):
        return self._timed(screen, lambda: load_action(self.env, xmlid))

    def call(self, screen, model, method, args, kwargs):
        return self._timed(screen, lambda: api.call_kw(self.env[model], method, args, kwargs))


def load_action(env, xmlid):
    """What ``/web/action/load`` returns for the action ``xmlid`` (web's
    ``Action.load``, without its request)."""
    from odoo.addons.web.controllers.utils import clean_action  # noqa: PLC0415

    action_id = env.ref(xmlid).id
    action_type = env["ir.actions.actions"].browse([action_id]).sudo().read(["type"])[0]["type"]
    action = env[action_type].sudo().browse([action_id])
    if action_type == "ir.actions.act_window":
        return clean_action(action._get_action_dict(), env=env)
    return clean_action(action.read()[0], env=env)


def time_screens(env):
    """The server time of the calls the web client makes to open each of
    the add-on's screens (tests/screens.py), for a tiering manager in the
    bench's company: after one run that warms Odoo's caches (views,
    access rules), as a server that serves these screens all day has them,
    each screen's median of REPEATS runs in ms; ``screens_ms`` is the
    slowest of them."""
    manager = tiering_manager(env)
    env.flush_all()
    user_env = api.Environment(
        env.cr, manager.id, {**manager.with_user(manager).context_get(), "allowed_company_ids": env.company.ids}
    )
    runs = defaultdict(list)
    for run in range(REPEATS + 1):
        client = ScreenClient(user_env)
        screens.open_screens(client)
        if run:
            for screen, elapsed in client.times.items():
                runs[screen].append(elapsed * 1000)
    env.invalidate_all()
    opened = {*screens.ACTIONS, screens.PARTNER_FORM}
    assert set(runs) == opened, f"screens not opened: {opened - set(runs)}"
    medians = {screen: statistics.median(times) for screen, times in runs.items()}
    for screen, median in medians.items():
        print(f"screen {screen}: {median:.0f} ms (runs, ms: {', '.join(f'{t:.0f}' for t in runs[screen])})")
    return max(medians.values()), medians


def time_post(env, partner_ids):
    """What the add-on adds to posting an invoice (``post_ms``): POSTED
    draft invoices of as many customers (one line each, created once),
    posted as the accountant's *Confirm* does (``action_post``) with the
    add-on's hooks and without them, each post rolled back. A run posts
    every invoice both ways, POST_CHUNK invoices at a time, the two ways
    one after the other on the same chunk, in turn first: the machine's
    drift and the load of other processes fall on both alike. ``post_ms``
    is the median over POST_REPEATS runs of (with - without) / POSTED, in
    ms. The run checks that the posts with the hooks wrote points ledger
    entries and those without wrote none.

    Each timed post is what its transaction costs: the ORM's writes flushed
    and the callbacks run before a commit (``precommit``: Odoo's tracking,
    the add-on's payment check). *Without* is the same Odoo minus every
    cost the add-on puts on posting: its two overrides (``_post``, which
    awards points, and ``_compute_payment_state``, which queues the payment
    check) replaced by their parent's method for the post, and its two
    partial indexes on account_move dropped for the post (rolled back with
    it), since every posting writes their entries. A context key that the
    hooks would check would leave the indexes' cost, and the checks, in
    both; posting through Odoo's own ``_post`` would leave the
    payment-state hook."""
    from odoo.addons.customer_tiering.models.account_move import AccountMove  # noqa: PLC0415

    def without_hooks(stack):
        def post(self, soft=True):
            return super(AccountMove, self)._post(soft=soft)

        def compute_payment_state(self):
            return super(AccountMove, self)._compute_payment_state()

        stack.enter_context(patch.object(AccountMove, "_post", post))
        stack.enter_context(patch.object(AccountMove, "_compute_payment_state", compute_payment_state))
        env.cr.execute(SQL("DROP INDEX account_move_customer_write_date_idx, account_move_customer_sales_idx"))

    def post_once(move_ids, hooks):
        """Seconds to post the drafts ``move_ids``, and the ledger entries it wrote; rolled back."""
        with env.cr.savepoint(flush=False) as savepoint, ExitStack() as stack:
            if not hooks:
                without_hooks(stack)
            env.invalidate_all()
            start = clock()
            env["account.move"].browse(move_ids).action_post()
            env.flush_all()
            env.cr.precommit.run()
            env.flush_all()
            elapsed = clock() - start
            posted, entries = env.execute_query(
                SQL(
                    """
                    SELECT (SELECT count(*) FROM account_move WHERE id = ANY(%(moves)s) AND state = 'posted'),
                           (SELECT count(*) FROM loyalty_history
                             WHERE order_model = 'account.move' AND order_id = ANY(%(moves)s))
                    """,
                    moves=move_ids,
                )
            )[0]
            assert posted == len(move_ids), f"{posted} of {len(move_ids)} invoices posted"
            savepoint.rollback()
        env.invalidate_all()
        return elapsed, entries

    journal = env["account.journal"].search([("type", "=", "sale"), ("company_id", "=", env.company.id)], limit=1)
    today = fields.Date.context_today(journal)
    customers = partner_ids[:: max(1, len(partner_ids) // POSTED)][:POSTED]
    runs = {True: [], False: []}
    entries = {True: 0, False: 0}
    with env.cr.savepoint(flush=False) as drafts:
        moves = env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partner_id,
                    "journal_id": journal.id,
                    "invoice_date": today,
                    "invoice_line_ids": [Command.create({"name": "Bench", "quantity": 1, "price_unit": 100 + n % 50})],
                }
                for n, partner_id in enumerate(customers)
            ]
        )
        env.flush_all()
        env.cr.precommit.run()
        chunks = [moves.ids[at : at + POST_CHUNK] for at in range(0, len(moves), POST_CHUNK)]
        for _run in range(POST_REPEATS):
            total = {True: 0.0, False: 0.0}
            for number, chunk in enumerate(chunks):
                for hooks in (True, False) if number % 2 else (False, True):
                    elapsed, written = post_once(chunk, hooks)
                    total[hooks] += elapsed
                    entries[hooks] += written
            for hooks, elapsed in total.items():
                runs[hooks].append(elapsed)
        drafts.rollback()
    env.invalidate_all()
    # What the rolled-back posts left for a commit that is not theirs.
    env.cr.precommit.clear()
    env.cr.postcommit.clear()
    assert entries[True] and not entries[False], f"ledger entries written with, without the hooks: {entries}"
    post_ms = statistics.median(
        (with_s - without_s) * 1000 / len(moves) for with_s, without_s in zip(runs[True], runs[False], strict=True)
    )
    print(
        f"posting {len(moves)} invoices, {POST_CHUNK} at a time: with the add-on {fmt(runs[True])} s, without "
        f"{fmt(runs[False])} s ({entries[True] // POST_REPEATS} ledger entries with); "
        f"{post_ms:.2f} ms added per invoice"
    )
    return post_ms


def main(config_path, database, customers, invoices):
    odoo.tools.config.parse_config(["-c", config_path, "-d", database, "--log-level=warn"])
    # No commit between chunks: every timed run is rolled back to the same state.
    threading.current_thread().testing = True
    registry = odoo.modules.registry.Registry(database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        start = time.perf_counter()
        partner_ids = generate(env, customers, invoices)
        print(
            f"generated {customers} customers and {invoices} sales ({POS_SHARE:.0%} at the till) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        first_s, points_s, followup_s = time_first_night(env, partner_ids)
        fit_s = statistics.median(time_fit(env) for _ in range(REPEATS))
        full_s, incremental_s = time_next_nights(env, partner_ids)
        floor_s = time_floor(env)
        screens_ms, _screen_medians = time_screens(env)
        post_ms = time_post(env, partner_ids)
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
        # last: they commit what they do (mails, activities) as the crons do
        seller_customers(env, partner_ids)
        care_holiday_s, care_holiday_rss_mb = time_care_holiday(env)
        digest_s = time_digest(env)
        cr.rollback()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"BENCH customers={customers} invoices={invoices} full_s={full_s:.2f} "
        f"peak_rss_mb={peak_rss_mb:.0f} speedup_vs_orm={estimate / first_s:.1f} fit_s={fit_s:.2f} "
        f"incremental_s={incremental_s:.2f} first_s={first_s:.2f} points_s={points_s:.2f} followup_s={followup_s:.2f} "
        f"notify_s={notify_s:.2f} mail_queue_s={mail_queue_s:.2f} pool_s={pool_s:.2f} "
        f"care_holiday_s={care_holiday_s:.2f} care_holiday_rss_mb={care_holiday_rss_mb:.0f} digest_s={digest_s:.2f} "
        f"floor_s={floor_s:.2f} screens_ms={screens_ms:.0f} post_ms={post_ms:.2f} pos_share={POS_SHARE:g}"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
