import os
import random
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.tests import BaseCase, tagged
from odoo.tools import SQL

from odoo.addons.customer_tiering.models.res_partner import TIERING_FIELDS

JOB_PROCESS = Path(__file__).with_name("job_process.py")
CUSTOMERS = 20
BATCH = 5
KEY = "1"  # the main company's key in the company-dependent columns


@tagged("post_install", "-at_install")
class TestKillSafety(BaseCase):
    """Real job processes, killed at several points of a run, on data they
    see committed: the data stays consistent and the next run completes the
    work. Everything the tests commit is deleted afterwards."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = odoo.modules.registry.Registry(odoo.tests.common.get_db_name())
        cls.database = cls.registry.db_name

    def setUp(self):
        super().setUp()
        with self.cursor() as env:
            company = env.ref("base.main_company")
            config = env["customer.tiering.config"]._for_companies(company)
            saved = config.read(["last_run", "points_start_date"])[0]
            self.last_fit = env["customer.churn.model"].search([], order="id desc", limit=1).id or 0
            config.points_start_date = "2020-01-01"
            self.partner_ids = self._customers_with_invoices(env, company)
        self.addCleanup(self._delete_committed, saved)

    def cursor(self):
        """An environment on a transaction of its own, committed on exit."""
        return _committed_env(self.registry)

    def _customers_with_invoices(self, env, company):
        """CUSTOMERS companies with three posted invoices each, of rising amounts."""
        journal = env["account.journal"].search([("type", "=", "sale"), ("company_id", "=", company.id)], limit=1)
        partners = env["res.partner"].create(
            [{"name": f"Kill Safety {index:02d}", "is_company": True} for index in range(CUSTOMERS)]
        )
        env.cr.execute(
            SQL(
                """
                INSERT INTO account_move (journal_id, company_id, currency_id, date, invoice_date, state, move_type,
                                          auto_post, partner_id, commercial_partner_id, amount_untaxed,
                                          amount_untaxed_signed, amount_total, amount_total_signed, name)
                SELECT %(journal)s, %(company)s, %(currency)s, d, d, 'posted', 'out_invoice', 'no', p, p,
                       a, a, a, a, 'KILL/' || p || '/' || n
                  FROM unnest(%(partners)s::int[]) WITH ORDINALITY AS c(p, i),
                       generate_series(1, 3) AS n,
                       LATERAL (SELECT current_date - 30 * n AS d, (100 * i + n)::numeric AS a) v
                """,
                journal=journal.id,
                company=company.id,
                currency=company.currency_id.id,
                partners=partners.ids,
            )
        )
        return partners.ids

    def _delete_committed(self, saved):
        with self.cursor() as env:
            ids = self.partner_ids
            env.cr.execute(
                SQL(
                    """
                    DELETE FROM loyalty_history
                     WHERE card_id IN (SELECT id FROM loyalty_card WHERE partner_id = ANY(%(ids)s));
                    DELETE FROM loyalty_card WHERE partner_id = ANY(%(ids)s);
                    DELETE FROM customer_tier_history WHERE partner_id = ANY(%(ids)s);
                    DELETE FROM customer_lifecycle_history WHERE partner_id = ANY(%(ids)s);
                    DELETE FROM mail_message WHERE model = 'res.partner' AND res_id = ANY(%(ids)s);
                    DELETE FROM account_move WHERE commercial_partner_id = ANY(%(ids)s);
                    DELETE FROM res_partner WHERE id = ANY(%(ids)s);
                    """,
                    ids=ids,
                )
            )
            company = env.ref("base.main_company")
            env["customer.tiering.config"]._for_companies(company).write(
                {"last_run": saved["last_run"], "points_start_date": saved["points_start_date"]}
            )
            env.cr.execute(SQL("DELETE FROM customer_churn_model WHERE id > %s", self.last_fit))

    # ------------------------------------------------------------ running

    def run_job(self, job, kill_point=None, blocked_by=None):
        """Run ``job`` in a new process; returns its exit code and output."""
        command = [sys.executable, str(JOB_PROCESS), odoo.tools.config.rcfile, self.database, job, str(BATCH)]
        environ = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(odoo.__file__)))
        process = subprocess.Popen(
            [*command, *([kill_point] if kill_point else [])],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if blocked_by:
            blocked_by(process)
        output, _ = process.communicate(timeout=300)
        return process.returncode, output

    def assert_killed(self, job, kill_point):
        returncode, output = self.run_job(job, kill_point)
        self.assertEqual(returncode, -9, f"{job} was not killed at {kill_point}:\n{output[-3000:]}")

    def assert_completes(self, job):
        returncode, output = self.run_job(job)
        self.assertEqual(returncode, 0, f"{job} failed:\n{output[-3000:]}")
        return output

    # ------------------------------------------------------------ reading

    def tiers(self):
        """{partner: (stored tier, new tier of its latest history row, history rows)}."""
        with self.cursor() as env:
            return {
                partner: (tier, latest, count)
                for partner, tier, latest, count in env.execute_query(
                    SQL(
                        """
                        SELECT p.id, (p.tier_id->%(key)s->>0)::int,
                               (SELECT h.new_tier_id FROM customer_tier_history h
                                 WHERE h.partner_id = p.id ORDER BY h.id DESC LIMIT 1),
                               (SELECT count(*) FROM customer_tier_history h WHERE h.partner_id = p.id)
                          FROM res_partner p WHERE p.id = ANY(%(ids)s)
                        """,
                        key=KEY,
                        ids=self.partner_ids,
                    )
                )
            }

    def assert_tiers_consistent(self):
        for partner, (tier, latest, _count) in self.tiers().items():
            self.assertEqual(tier, latest, f"partner {partner}: tier {tier} but its history says {latest}")

    def points(self):
        """(entries per document, {card: (balance, sum of its entries)})."""
        with self.cursor() as env:
            per_document = dict(
                env.execute_query(
                    SQL(
                        """
                        SELECT m.id, count(h.id)
                          FROM account_move m
                          LEFT JOIN loyalty_history h ON h.order_model = 'account.move' AND h.order_id = m.id
                         WHERE m.commercial_partner_id = ANY(%(ids)s)
                         GROUP BY m.id
                        """,
                        ids=self.partner_ids,
                    )
                )
            )
            cards = {
                card: (balance, total)
                for card, balance, total in env.execute_query(
                    SQL(
                        """
                        SELECT c.id, c.points, COALESCE(sum(h.issued - h.used), 0)
                          FROM loyalty_card c LEFT JOIN loyalty_history h ON h.card_id = c.id
                         WHERE c.partner_id = ANY(%(ids)s)
                         GROUP BY c.id
                        """,
                        ids=self.partner_ids,
                    )
                )
            }
        return per_document, cards

    def assert_points_consistent(self):
        per_document, cards = self.points()
        self.assertLessEqual(max(per_document.values()), 1, "a document earned twice")
        for card, (balance, total) in cards.items():
            self.assertAlmostEqual(balance, total, msg=f"card {card}: balance {balance}, entries {total}")
        return per_document, cards

    # ------------------------------------------------------------ tests

    def test_reclassification_killed_mid_batch_and_after_commits(self):
        """Batches of five: killed inside the second batch (partners updated,
        history not yet written), then right after the next run's second
        commit. Each time every stored tier has its history row,
        and the next run tiers everyone with exactly one history row each."""
        self.assert_killed("reclassify", "write:2")
        tiers = self.tiers()
        self.assertEqual(sum(tier is not None for tier, _latest, _count in tiers.values()), BATCH)
        self.assert_tiers_consistent()

        self.assert_killed("reclassify", "commit:2")
        self.assertEqual(sum(tier is not None for tier, _latest, _count in self.tiers().values()), 3 * BATCH)
        self.assert_tiers_consistent()

        self.assert_completes("reclassify")
        tiers = self.tiers()
        self.assertTrue(all(tier for tier, _latest, _count in tiers.values()), tiers)
        self.assertEqual({count for _tier, _latest, count in tiers.values()}, {1})
        self.assert_tiers_consistent()

    def test_points_catch_up_killed_mid_batch_and_after_commits(self):
        """Sixty invoices in batches of five: killed after inserting the
        second batch's points, then after the third batch's commit of the
        next run. No
        document ever earns twice, every balance equals its entries, and the
        next run awards every document exactly once."""
        self.assert_killed("loyalty", "write:2")
        per_document, _cards = self.assert_points_consistent()
        self.assertEqual(sum(per_document.values()), BATCH)

        self.assert_killed("loyalty", "commit:3")
        per_document, _cards = self.assert_points_consistent()
        self.assertEqual(sum(per_document.values()), 4 * BATCH)

        self.assert_completes("loyalty")
        per_document, cards = self.assert_points_consistent()
        self.assertEqual(set(per_document.values()), {1})
        self.assertEqual(len(cards), CUSTOMERS)
        self.assert_completes("loyalty")
        self.assertEqual(self.points(), (per_document, cards), "a second run changed nothing")

    def test_every_cron_killed_at_random_commits_ends_as_an_uninterrupted_run(self):
        """Each nightly cron, in the order of a night, runs once uninterrupted;
        what it did is undone, and it runs again, killed at a random commit
        boundary several times, then to its end. The final state is the
        uninterrupted run's: partner values, history rows, ledger,
        activities, care log, digests (timestamps and ids aside)."""
        rng = random.Random(20)
        with self.cursor() as env:
            self._seed_followups(env)
        for job in ("reclassify", "loyalty", "followup", "digest"):
            with self.subTest(job=job):
                self.assert_completes(job)
                reference = self.state(job)
                self.assertTrue(all(reference), f"{job} did nothing to compare: {reference}")
                self.undo(job)
                for _kill in range(3):
                    returncode, output = self.run_job(job, f"commit:{rng.randint(1, 4)}")
                    self.assertIn(returncode, (0, -9), output[-3000:])
                self.assert_completes(job)
                self.assertEqual(self.state(job), reference)

    def _seed_followups(self, env):
        """A salesperson for the customers, a daily policy calling them, and
        their birthdays: today (emails to C customers) and within the care
        lead days (activities for A and B)."""
        config = env["customer.tiering.config"]._for_companies(env.ref("base.main_company"))
        Users = env["res.users"].with_context(active_test=False)
        user = Users.search([("login", "=", "chaos_seller")]) or Users.create(
            {"name": "Chaos Seller", "login": "chaos_seller", "email": "chaos@example.com"}
        )
        user.active = True  # deactivated at the end, not deleted
        self.chaos_user = user.id
        self.addCleanup(self._delete_seeded)
        today = fields.Date.context_today(env["res.partner"])
        partners = env["res.partner"].browse(self.partner_ids)
        for index, partner in enumerate(partners):
            day = today if index % 2 else today + timedelta(days=config.care_lead_days)
            partner.write(
                {
                    "user_id": self.chaos_user,
                    "email": f"chaos{index}@example.com",
                    "birthday": day.replace(year=1990) if (day.month, day.day) != (2, 29) else day,
                }
            )
        self.chaos_policy = (
            env["customer.service.policy"]
            .create(
                {
                    "name": "Chaos calls",
                    "domain": repr([("id", "in", self.partner_ids)]),
                    "cadence_days": 1,
                    "assignee_rule": "fixed",
                    "user_id": self.chaos_user,
                }
            )
            .id
        )

    def _delete_seeded(self):
        with self.cursor() as env:
            user = env["res.users"].browse(self.chaos_user)
            env.cr.execute(
                SQL(
                    """
                    DELETE FROM mail_activity WHERE user_id = %(user)s;
                    DELETE FROM customer_care_log WHERE partner_id = ANY(%(ids)s) OR partner_id = %(partner)s;
                    DELETE FROM mail_mail WHERE email_to = %(email)s
                        OR id IN (SELECT mail_mail_id FROM mail_mail_res_partner_rel
                                   WHERE res_partner_id = ANY(%(ids)s));
                    DELETE FROM customer_service_policy WHERE id = %(policy)s;
                    """,
                    user=user.id,
                    partner=user.partner_id.id,
                    ids=self.partner_ids,
                    email=user.email_formatted,
                    policy=self.chaos_policy,
                )
            )
            user.active = False

    def state(self, job):
        """What ``job`` leaves, in terms that a second, identical run would
        repeat: by customer position, without ids or timestamps."""
        position = {partner_id: index for index, partner_id in enumerate(self.partner_ids)}
        with self.cursor() as env:
            rows = env.execute_query(self._state_query(job, env))
        return tuple(sorted(((position.get(row[0], row[0]), *row[1:]) for row in rows), key=repr)), len(rows)

    def _state_query(self, job, env):
        ids = self.partner_ids
        if job == "reclassify":
            return SQL(
                """
                SELECT p.id, p.tier_id->%(key)s, p.revenue_total->%(key)s, p.lifecycle_stage->%(key)s,
                       p.churn_risk_level->%(key)s, 'partner'
                  FROM res_partner p WHERE p.id = ANY(%(ids)s)
                 UNION ALL
                SELECT h.partner_id, to_jsonb(h.old_tier_id), to_jsonb(h.new_tier_id), to_jsonb(h.reason), NULL, 'tier'
                  FROM customer_tier_history h WHERE h.partner_id = ANY(%(ids)s)
                 UNION ALL
                SELECT h.partner_id, to_jsonb(h.old_stage), to_jsonb(h.new_stage), NULL, NULL, 'stage'
                  FROM customer_lifecycle_history h WHERE h.partner_id = ANY(%(ids)s)
                 UNION ALL
                SELECT s.partner_id, to_jsonb(s.review_date), to_jsonb(s.dormancy_date), NULL, NULL, 'schedule'
                  FROM customer_tiering_schedule s WHERE s.partner_id = ANY(%(ids)s)
                """,
                key=KEY,
                ids=ids,
            )
        if job == "loyalty":
            return SQL(
                """
                SELECT c.partner_id, h.points_kind, h.points_key, h.issued, h.used, h.points_date, c.points
                  FROM loyalty_history h JOIN loyalty_card c ON c.id = h.card_id
                 WHERE c.partner_id = ANY(%(ids)s)
                """,
                ids=ids,
            )
        user = env["res.users"].browse(self.chaos_user)
        if job == "followup":
            return SQL(
                """
                SELECT a.res_id, a.summary, a.date_deadline, a.service_policy_id IS NOT NULL, 'activity'
                  FROM mail_activity a WHERE a.res_model = 'res.partner' AND a.res_id = ANY(%(ids)s)
                 UNION ALL
                SELECT l.partner_id, l.occasion, l.date, NULL, l.channel
                  FROM customer_care_log l WHERE l.partner_id = ANY(%(ids)s)
                 UNION ALL
                SELECT r.res_partner_id, msg.subject, NULL, NULL, 'mail'
                  FROM mail_mail m JOIN mail_mail_res_partner_rel r ON r.mail_mail_id = m.id
                  JOIN mail_message msg ON msg.id = m.mail_message_id
                 WHERE r.res_partner_id = ANY(%(ids)s)
                """,
                ids=ids,
            )
        return SQL(
            """
            SELECT l.partner_id, l.occasion, l.channel FROM customer_care_log l WHERE l.partner_id = %(partner)s
             UNION ALL
            SELECT NULL, msg.subject, 'mail'
              FROM mail_mail m JOIN mail_message msg ON msg.id = m.mail_message_id
             WHERE m.email_to = %(email)s
            """,
            partner=user.partner_id.id,
            email=user.email_formatted,
        )

    def undo(self, job):
        """Take back what ``job`` did, as if it never ran."""
        with self.cursor() as env:
            ids = self.partner_ids
            config = env["customer.tiering.config"]._for_companies(env.ref("base.main_company"))
            if job == "reclassify":
                columns = [
                    name
                    for name in TIERING_FIELDS
                    if name not in ("tier_locked", "tier_lock_reason", "tier_lock_until")
                ]
                env.cr.execute(
                    SQL(
                        """
                        UPDATE res_partner SET %(reset)s WHERE id = ANY(%(ids)s);
                        DELETE FROM customer_tier_history WHERE partner_id = ANY(%(ids)s);
                        DELETE FROM customer_lifecycle_history WHERE partner_id = ANY(%(ids)s);
                        DELETE FROM customer_tiering_schedule WHERE partner_id = ANY(%(ids)s);
                        DELETE FROM mail_message WHERE model = 'res.partner' AND res_id = ANY(%(ids)s);
                        """,
                        reset=SQL(", ").join(
                            SQL("%s = %s - %s", SQL.identifier(name), SQL.identifier(name), KEY) for name in columns
                        ),
                        ids=ids,
                    )
                )
                config.write({"last_run": False, "last_full_run": False, "incremental_reference": False})
            elif job == "loyalty":
                env.cr.execute(
                    SQL(
                        """
                        DELETE FROM loyalty_history
                         WHERE card_id IN (SELECT id FROM loyalty_card WHERE partner_id = ANY(%(ids)s));
                        DELETE FROM loyalty_card WHERE partner_id = ANY(%(ids)s);
                        """,
                        ids=ids,
                    )
                )
                config.write(
                    {
                        "points_checked_since": False,
                        "points_full_check": False,
                        "points_expired_until": False,
                        "points_cards_checked_since": False,
                    }
                )
            else:
                self._delete_seeded_outputs(env, job)

    def _delete_seeded_outputs(self, env, job):
        user = env["res.users"].browse(self.chaos_user)
        if job == "followup":
            env.cr.execute(
                SQL(
                    """
                    DELETE FROM mail_activity WHERE res_model = 'res.partner' AND res_id = ANY(%(ids)s);
                    DELETE FROM customer_care_log WHERE partner_id = ANY(%(ids)s);
                    -- the emails' messages too, with their emails: the policies count them as touches
                    DELETE FROM mail_message WHERE id IN (
                        SELECT m.mail_message_id FROM mail_mail m
                          JOIN mail_mail_res_partner_rel r ON r.mail_mail_id = m.id
                         WHERE r.res_partner_id = ANY(%(ids)s));
                    """,
                    ids=self.partner_ids,
                )
            )
        else:
            env.cr.execute(
                SQL(
                    """
                    DELETE FROM customer_care_log WHERE partner_id = %(partner)s;
                    DELETE FROM mail_message WHERE id IN (SELECT mail_message_id FROM mail_mail
                                                           WHERE email_to = %(email)s);
                    """,
                    partner=user.partner_id.id,
                    email=user.email_formatted,
                )
            )

    def test_busy_partner_is_retried_not_fatal(self):
        """A salesperson saves a customer while the run updates it: the
        batch fails to serialize, is retried in a fresh transaction, and the
        run ends with every customer tiered and the salesperson's edit kept."""
        busy = self.partner_ids[7]

        def salesperson_saves_during_the_run(process):
            with self.cursor() as env:
                env.cr.execute(SQL("UPDATE res_partner SET phone = '+86 10 1234 5678' WHERE id = %s", busy))
                _wait_for_lock_wait(env.registry, process)
            # leaving the block commits the edit under the waiting job

        returncode, output = self.run_job("reclassify", blocked_by=salesperson_saves_during_the_run)
        self.assertEqual(returncode, 0, output[-3000:])
        self.assertIn("batch retried", output)
        tiers = self.tiers()
        self.assertTrue(all(tier for tier, _latest, _count in tiers.values()), tiers)
        self.assertEqual({count for _tier, _latest, count in tiers.values()}, {1})
        with self.cursor() as env:
            self.assertEqual(env["res.partner"].browse(busy).phone, "+86 10 1234 5678")


@contextmanager
def _committed_env(registry):
    with registry.cursor() as cr:  # commits on a clean exit
        yield api.Environment(cr, SUPERUSER_ID, {})


def _wait_for_lock_wait(registry, process, timeout=120):
    """Until another backend waits on a row lock (the job's UPDATE), or the job ends."""
    deadline = time.monotonic() + timeout
    with registry.cursor() as cr:
        while time.monotonic() < deadline and process.poll() is None:
            cr.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                ["%UPDATE res_partner%"],
            )
            if cr.fetchone()[0]:
                return
            cr.rollback()
            time.sleep(0.2)
    raise AssertionError("the job never waited on the busy customer")
