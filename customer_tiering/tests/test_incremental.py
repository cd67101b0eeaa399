from datetime import date

from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
@freeze_time("2024-07-01")
class TestIncrementalRun(TieringInvoiceCommon):
    """Between two full runs, the nightly run recomputes only the customers
    whose documents changed and those that time alone moves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.big = Partner.create({"name": "Big Co", "is_company": True})
        cls.mid = Partner.create({"name": "Mid Co", "is_company": True})
        cls.small = Partner.create({"name": "Small Co", "is_company": True})
        cls.newcomer = Partner.create({"name": "Newcomer Co", "is_company": True})
        cls.post_invoice(cls.big, 8000.0, "2024-01-01")  # 152 days apart: the usual interval
        cls.post_invoice(cls.big, 2000.0, "2024-06-01")
        cls.post_invoice(cls.mid, 1500.0, "2024-04-01")
        cls.post_invoice(cls.small, 500.0, "2024-03-01")
        # 89 days a one-time buyer on the first night, 90 on the second: new no more.
        cls.post_invoice(cls.newcomer, 100.0, "2024-04-03")
        cls.job = cls.env["customer.tiering.job"]

    def age_documents(self):
        """The documents so far were written before the last run (all of a
        test's writes otherwise share its transaction's timestamp)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET write_date = write_date - interval '2 days' WHERE company_id = %s",
                self.company.id,
            )
        )

    def next_night(self):
        with freeze_time("2024-07-02"):
            self.run_cron()
        self.env.invalidate_all()

    def test_new_invoice_recomputes_its_customer_only(self):
        self.run_cron()
        first_full = self.config.last_full_run
        self.assertTrue(first_full and self.config.incremental_reference, "the first run is a full one")
        self.assertEqual((self.big.tier_id, self.small.tier_id), (self.tier_a, self.tier_c))
        self.age_documents()
        self.post_invoice(self.small, 50000.0, "2024-07-01")

        affected = set(self.job._affected(self.company, self.config, date(2024, 7, 2)))
        due = {p.id for p in self.big | self.mid | self.newcomer if p.tiering_review_date <= date(2024, 7, 2)}
        self.assertEqual(affected, {self.small.id} | due)
        self.assertIn(self.newcomer.id, due, "time alone ends the newcomer's first 90 days")
        self.assertNotIn(self.mid.id, due)

        self.next_night()
        self.assertEqual(self.config.last_full_run, first_full, "the second night is incremental")
        self.assertEqual(self.small.tier_id, self.tier_a, "Small is A against the last full run's revenues")
        self.assertEqual(self.big.tier_id, self.tier_a, "Big keeps its tier until the next full run")
        self.assertEqual(self.small.revenue_window, 50500.0)
        self.run_full()
        self.assertEqual(self.big.tier_id, self.tier_b, "the full run places Big behind Small's 50,500")

    def test_time_alone_moves_a_customer(self):
        self.run_cron()
        self.assertEqual(self.newcomer.lifecycle_stage, "new")
        self.assertEqual(self.newcomer.tiering_review_date, date(2024, 7, 2))
        self.age_documents()
        self.next_night()
        self.assertNotEqual(self.newcomer.lifecycle_stage, "new")
        history = self.env["customer.lifecycle.history"].search([("partner_id", "=", self.newcomer.id)])
        self.assertEqual(history[:1].old_stage, "new")
        self.assertGreater(self.newcomer.tiering_review_date, date(2024, 7, 2))

    def test_lifting_a_lock_is_reviewed_the_next_night(self):
        self.run_cron()
        self.small.write({"tier_id": self.tier_a.id, "tier_locked": True, "tier_lock_reason": "Strategic"})
        self.assertEqual(self.small.tiering_review_date, date(2024, 7, 1))
        self.age_documents()
        self.next_night()
        self.assertEqual(self.small.tier_id, self.tier_a, "locked")
        self.small.tier_locked = False
        self.next_night()
        self.assertEqual(self.small.tier_id, self.tier_c, "unlocked, back to what it earns")

    def test_changed_settings_or_tiers_make_the_next_run_full(self):
        self.run_cron()
        self.config.write({"cutoff_a": 0.7})
        self.assertFalse(self.config.last_full_run)
        self.next_night()
        self.assertEqual(self.config.last_full_run.date(), date(2024, 7, 2))
        self.tier_b.min_revenue = 10.0
        self.assertFalse(self.config.last_full_run)

    def test_a_full_run_every_n_days(self):
        self.run_cron()
        self.assertEqual(self.config.full_run_days, 7)
        self.assertFalse(self.config._full_run_due(date(2024, 7, 7)))
        self.assertTrue(self.config._full_run_due(date(2024, 7, 8)))
        self.config.full_run_days = 1
        self.assertTrue(self.config._full_run_due(date(2024, 7, 2)))
