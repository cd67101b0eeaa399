from datetime import date
from unittest.mock import patch

from odoo.tests import freeze_time, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestExtremeDates(TieringInvoiceCommon):
    """Dates at the ends of Odoo's range: the night completes, and means what
    the user meant."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.classified_customers(
            {"Strategic": [(5000.0, "2026-05-01")], "Steady": [(3000.0, "2026-04-01")]}
        )

    def test_lock_until_the_end_of_time_is_a_lock_forever(self):
        strategic = self.customers["Strategic"]
        strategic.write({"tier_locked": True, "tier_lock_until": "9999-12-31", "tier_id": self.tier_c.id})
        newcomer = self.env["res.partner"].create({"name": "Newcomer", "is_company": True})
        self.post_invoice(newcomer, 800.0, "2026-07-01")
        self.run_cron()
        self.assertTrue(newcomer.tier_id, "the newcomer who bought today gets a tier")
        self.run_full()
        self.assertEqual(strategic.tier_id, self.tier_c, "a lock until 9999-12-31 holds")
        self.assertTrue(strategic.tier_locked)
        self.assertEqual(strategic.tier_lock_until, date(9999, 12, 31))

    def test_invoices_dated_by_mistake_in_far_years(self):
        ancient = self.env["res.partner"].create({"name": "Typo 0025", "is_company": True})
        self.post_invoice(ancient, 700.0, "0025-03-01")
        self.post_invoice(ancient, 900.0, "2026-06-01")
        future = self.env["res.partner"].create({"name": "Typo 9000", "is_company": True})
        self.post_invoice(future, 600.0, "9000-01-01")
        self.run_full()
        self.assertEqual(ancient.revenue_total, 1600.0)
        self.assertTrue(ancient.tier_id)
        self.assertEqual(ancient.last_purchase_date, date(2026, 6, 1))
        self.assertFalse(future.tier_id, "a sale dated in the future is not a sale yet")
        self.run_cron()


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestCompanyIsolation(TieringInvoiceCommon):
    """One company's failing run is rolled back, shown to its managers and
    stops no other company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company(name="Second Co")
        cls.company_2 = cls.company_data_2["company"]
        cls.env.user.company_ids |= cls.company_2
        cls.config_2 = cls.env["customer.tiering.config"]._for_companies(cls.company_2).sudo()
        cls.buyer = cls.env["res.partner"].create({"name": "Buyer", "is_company": True})
        cls.buyer_2 = cls.env["res.partner"].create({"name": "Second Buyer", "is_company": True})
        cls.post_invoice(cls.buyer, 1000.0, "2026-06-01")
        cls.post_invoice(cls.buyer_2, 1000.0, "2026-06-01", company=cls.company_data_2)
        cls.manager = cls.env["res.users"].create(
            {
                "name": "Tiering Manager",
                "login": "isolation_manager",
                "company_id": cls.company.id,
                "company_ids": [(6, 0, cls.company.ids)],
                "groups_id": [(6, 0, cls.env.ref("customer_tiering.group_customer_tiering_manager").ids)],
            }
        )

    def _failing_for(self, company):
        Job = self.env.registry["customer.tiering.job"]
        original = Job._reclassify_company

        def reclassify(job, config, full=False):
            if config.company_id == company:
                job.env["res.partner"].browse(self.buyer.id).with_company(company).sudo().write(
                    {"tier_lock_reason": "written before the failure"}
                )
                raise ValueError("boom")
            return original(job, config, full)

        return patch.object(Job, "_reclassify_company", reclassify)

    def test_a_failing_company_stops_no_other(self):
        with self._failing_for(self.company), self.assertLogs("odoo.addons.customer_tiering", "ERROR"):
            self.run_cron()
        self.assertFalse(self.buyer.with_company(self.company).tier_id)
        self.assertFalse(self.buyer.with_company(self.company).tier_lock_reason, "the failed run is rolled back")
        self.assertTrue(self.buyer_2.with_company(self.company_2).tier_id, "the next company still ran")
        self.assertEqual(self.config.last_run_status, "failed")
        self.assertEqual(self.config.last_run_failed_job, "reclassify")
        self.assertIn("boom", self.config.last_run_error)
        self.assertEqual(self.config_2.last_run_status, "done")
        notified = self.env["mail.message"].search(
            [("model", "=", "customer.tiering.config"), ("res_id", "=", self.config.id)]
        )
        self.assertEqual(len(notified), 1)
        self.assertIn(self.manager.partner_id, notified.partner_ids)
        self.assertIn("boom", notified.body)

        with self._failing_for(self.company), self.assertLogs("odoo.addons.customer_tiering", "ERROR"):
            self.run_cron()
        self.assertEqual(
            self.env["mail.message"].search_count(
                [("model", "=", "customer.tiering.config"), ("res_id", "=", self.config.id)]
            ),
            1,
            "the same failure again notifies nobody again",
        )
        self.run_cron()
        self.assertTrue(self.buyer.with_company(self.company).tier_id)
        self.assertEqual(self.config.last_run_status, "done")
        self.assertFalse(self.config.last_run_error)

    def test_reclassify_now_says_why_it_failed(self):
        with self._failing_for(self.company), self.assertLogs("odoo.addons.customer_tiering", "ERROR"):
            action = self.config.with_company(self.company).action_reclassify()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("boom", action["params"]["message"])
