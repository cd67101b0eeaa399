from datetime import date
from unittest.mock import patch

import pandas as pd

from odoo import api
from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from ..models.customer_tiering_job import SALES_SLICES
from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
@freeze_time("2024-07-01")
class TestTieringJob(TieringInvoiceCommon):
    """Real posted invoices in two currencies, a credit note and a child
    contact, then the cron: tiers, metrics, history and chatter."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.setup_other_currency("EUR", rates=[("2016-01-01", 2.0)])
        Partner = cls.env["res.partner"]
        cls.big = Partner.create({"name": "Big Co", "is_company": True})
        cls.buyer = Partner.create({"name": "Big Co Buyer", "parent_id": cls.big.id})
        cls.mid = Partner.create({"name": "Mid Co", "is_company": True})
        cls.small = Partner.create({"name": "Small Co", "is_company": True})
        cls.prospect = Partner.create({"name": "Prospect"})
        # Big: 6000 through its contact + 4000 EUR (= 2000 at 2 EUR per unit) -> 8000
        cls.post_invoice(cls.buyer, 6000.0, "2024-05-01")
        cls.post_invoice(cls.big, 4000.0, "2024-06-01", currency=cls.eur)
        # Mid: 2000 invoiced, 500 credited -> 1500
        cls.post_invoice(cls.mid, 2000.0, "2024-04-01")
        cls.post_invoice(cls.mid, 500.0, "2024-04-15", move_type="out_refund")
        # Small: 500 in the window, 10000 long before it
        cls.post_invoice(cls.small, 500.0, "2024-03-01")
        cls.post_invoice(cls.small, 10000.0, "2022-01-01")
        # neither a draft invoice nor a vendor bill counts
        cls.post_invoice(cls.prospect, 100.0, "2024-06-01").button_draft()
        cls.post_invoice(cls.prospect, 900.0, "2024-06-01", move_type="in_invoice")

    def test_tiers_metrics_and_roll_up(self):
        self.run_cron()
        # window 10000: Big 0% before -> A, Mid 80% before -> B, Small 95% before -> C
        self.assertEqual(self.big.tier_id, self.tier_a)
        self.assertEqual(self.mid.tier_id, self.tier_b)
        self.assertEqual(self.small.tier_id, self.tier_c)
        self.assertFalse(self.prospect.tier_id)
        self.assertEqual(self.buyer.tier_id, self.tier_a, "a child contact shows its entity's tier")

        self.assertEqual(self.big.revenue_window, 8000.0)
        self.assertEqual(self.big.purchase_count, 2)
        self.assertEqual(self.buyer.revenue_total, 8000.0)
        self.assertEqual(self.mid.revenue_total, 1500.0)
        self.assertEqual(self.mid.purchase_count, 1)
        self.assertEqual(self.mid.avg_order_value, 1500.0)
        self.assertEqual(self.small.revenue_total, 10500.0)
        self.assertEqual(self.small.revenue_window, 500.0)
        self.assertEqual(self.small.first_purchase_date, date(2022, 1, 1))
        self.assertEqual(self.small.last_purchase_date, date(2024, 3, 1))
        self.assertEqual(self.small.rfm_recency_days, 122)
        self.assertEqual(self.big.tier_since, date(2024, 7, 1))
        self.assertTrue(self.big.tiering_date)
        for partner in (self.big, self.mid, self.small):
            self.assertTrue(1 <= partner.rfm_r <= 5 and 1 <= partner.rfm_f <= 5 and 1 <= partner.rfm_m <= 5)
        self.assertGreater(self.big.rfm_m, self.mid.rfm_m)
        self.assertEqual(self.prospect.purchase_count, 0)

    def test_sales_read_in_slices(self):
        """The sales are read in partner id slices: together they hold
        every partner once (every given one only, for an incremental run),
        whether their bounds come from even id ranges or from statistics
        that may be stale, and read what a read per customer reads."""
        job = self.env["customer.tiering.job"]
        all_ids = self.env["res.partner"].with_context(active_test=False).search([]).ids
        some_ids = all_ids[::2]
        stale = [0, self.small.id, self.small.id + 1, 10**9]

        def read(slices):
            ids = []
            for only in slices:
                ids += [row[0] for row in self.env.execute_query(SQL("SELECT id FROM res_partner WHERE TRUE %s", only))]
            return sorted(ids)

        for count, quantiles in ((SALES_SLICES, []), (7, []), (5, stale)):
            with patch.object(type(job), "_invoice_quantiles", return_value=quantiles):
                slices = job._id_slices(SQL("id"), count)
                some = job._id_slices(SQL("id"), count, some_ids)
                none = job._id_slices(SQL("id"), count, [])
            self.assertEqual(len(slices), count)
            self.assertEqual(read(slices), sorted(all_ids))
            self.assertLessEqual(len(some), count, "no empty slice")
            self.assertEqual(read(some), sorted(some_ids))
            self.assertEqual(read(none), [])
        whole = job._read_sales(self.company, date(2023, 7, 1), date(2024, 7, 1))
        self.assertEqual(set(whole.index), {self.big.id, self.mid.id, self.small.id})
        per_customer = job._read_sales(self.company, date(2023, 7, 1), date(2024, 7, 1), whole.index.tolist())
        pd.testing.assert_frame_equal(whole, per_customer)

    def test_slices_split_the_invoice_histogram_evenly(self):
        """Bounds at the quantiles of the planner's equal-frequency
        histogram; none from a histogram too short to split."""
        job = self.env["customer.tiering.job"]
        with patch.object(api.Environment, "execute_query", return_value=[[list(range(100, 200))]]):
            self.assertEqual(job._invoice_quantiles(4), [125, 150, 175])
        with patch.object(api.Environment, "execute_query", return_value=[[list(range(7))]]):
            self.assertEqual(job._invoice_quantiles(4), [])
        self.env.cr.execute("ANALYZE account_move")
        self.assertEqual(job._invoice_quantiles(SALES_SLICES), [], "a handful of invoices is no histogram to split")

    def test_sales_read_is_an_index_only_scan(self):
        """Every customer's sales, and a few customers' sales, can be read
        from the covering sales index alone: the shared sales condition
        implies the index's predicate, and the index holds every column the
        query reads, in its grouping order for a full read."""
        job = self.env["customer.tiering.job"]
        settings = ("enable_seqscan", "enable_bitmapscan", "enable_indexscan")
        self.env.cr.execute("; ".join(f"SET LOCAL {setting} = off" for setting in settings))
        self.addCleanup(self.env.cr.execute, "; ".join(f"SET LOCAL {setting} = on" for setting in settings))
        some = job._id_slices(SQL("s.commercial_partner_id"), 1, [self.mid.id, self.small.id])[0]
        for only in (SQL(), some):
            query = job._sales_query(self.company, date(2023, 7, 1), date(2024, 7, 1), only)
            plan = "\n".join(row[0] for row in self.env.execute_query(SQL("EXPLAIN %s", query)))
            self.assertIn("Index Only Scan using account_move_customer_sales_idx", plan)
            self.assertNotIn("move_type", plan, "the index's predicate is implied, not filtered again")
            if only is not some:
                self.assertNotIn("Sort", plan, "read in the index's order")

    def test_history_and_chatter(self):
        self.run_cron()
        history = self.history(self.big)
        self.assertEqual(len(history), 1)
        self.assertEqual(
            (history.old_tier_id, history.new_tier_id, history.reason), (self.tier_a.browse(), self.tier_a, "computed")
        )
        self.assertFalse(self.history(self.buyer), "history belongs to the commercial entity")
        action = self.buyer.action_view_tier_history()
        self.assertEqual(self.env["customer.tier.history"].search(action["domain"]), history)
        self.assertFalse(self.tier_tracking(self.big), "a first classification is not posted in the chatter")
        self.post_invoice(self.small, 50000.0, "2024-06-30")
        self.run_full()
        tracking = self.tier_tracking(self.big)
        self.assertEqual(len(tracking), 1)
        self.assertEqual((tracking.old_value_integer, tracking.new_value_integer), (self.tier_a.id, self.tier_b.id))
        self.assertEqual(
            (tracking.old_value_char, tracking.new_value_char), ("A - Key customers", "B - Growth customers")
        )
        self.assertEqual(tracking.mail_message_id.author_id, self.env.ref("base.partner_root"))

    def tier_tracking(self, partner):
        partner.invalidate_recordset(["message_ids"])
        return partner.message_ids.tracking_value_ids.filtered(lambda t: t.field_id.name == "tier_id")

    def test_second_run_writes_nothing(self):
        self.run_cron()
        self.env.cr.execute(
            "SELECT id, write_date FROM res_partner WHERE id IN %s ORDER BY id",
            [tuple((self.big | self.buyer | self.mid | self.small).ids)],
        )
        before = self.env.cr.fetchall()
        history = self.env["customer.tier.history"].search_count([])
        self.run_cron()
        self.env.cr.execute(
            "SELECT id, write_date FROM res_partner WHERE id IN %s ORDER BY id",
            [tuple((self.big | self.buyer | self.mid | self.small).ids)],
        )
        self.assertEqual(self.env.cr.fetchall(), before)
        self.assertEqual(self.env["customer.tier.history"].search_count([]), history)

    def test_new_invoice_moves_a_customer_up(self):
        self.run_cron()
        self.post_invoice(self.small, 50000.0, "2024-06-30")
        self.run_full()
        self.assertEqual(self.small.tier_id, self.tier_a)
        self.assertEqual(self.history(self.small).mapped("new_tier_id"), self.tier_c | self.tier_a)
        self.assertEqual(self.big.tier_id, self.tier_b, "Big is now behind Small's 50500")

    def test_manual_lock_survives_the_job_and_expires(self):
        self.run_cron()
        with freeze_time("2024-07-05"):
            self.mid.write(
                {
                    "tier_locked": True,
                    "tier_lock_reason": "Strategic account",
                    "tier_lock_until": "2024-07-10",
                    "tier_id": self.tier_a.id,
                }
            )
        manual = self.history(self.mid)[-1]
        self.assertEqual((manual.old_tier_id, manual.new_tier_id, manual.reason), (self.tier_b, self.tier_a, "manual"))
        self.assertEqual(self.mid.tier_since, date(2024, 7, 5))
        self.run_cron()
        self.assertEqual(self.mid.tier_id, self.tier_a)
        with freeze_time("2024-07-11"):
            self.run_cron()
            self.assertEqual(self.mid.tier_id, self.tier_b)
            self.assertFalse(self.mid.tier_locked)
            self.assertEqual(self.history(self.mid)[-1].reason, "lock_expired")

    def test_grace_period(self):
        self.run_cron()
        self.config.demotion_grace_days = 10
        self.post_invoice(self.small, 50000.0, "2024-06-30")
        self.run_cron()
        self.assertEqual(self.big.tier_id, self.tier_a, "the demotion waits for the grace period")
        self.assertEqual(self.big.tier_demotion_since, date(2024, 7, 1))
        with freeze_time("2024-07-11"):
            self.run_cron()
            self.assertEqual(self.big.tier_id, self.tier_b)
            self.assertFalse(self.big.tier_demotion_since)

    def test_other_company_invoices_do_not_count(self):
        other = self.setup_other_company(name="Other Co")
        self.post_invoice(self.mid, 99999.0, "2024-06-01", company=other)
        self.run_cron()
        self.assertEqual(self.mid.tier_id, self.tier_b)
        self.assertEqual(self.mid.revenue_total, 1500.0)
        mid_other = self.mid.with_company(other["company"])
        self.assertEqual(mid_other.revenue_total, 99999.0)
        self.assertEqual(mid_other.tier_id.company_id, other["company"])

    def test_new_company_gets_default_tiers(self):
        company = self.env["res.company"].create({"name": "Fresh Co"})
        tiers = self.env["customer.tier"].search([("company_id", "=", company.id)])
        self.assertEqual(tiers.mapped("code"), ["A", "B", "C"])
        self.assertTrue(self.env["customer.tiering.config"].search([("company_id", "=", company.id)]))
