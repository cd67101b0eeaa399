from odoo.tests import freeze_time, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestReparenting(TieringInvoiceCommon):
    """Odoo's *Create company* on an individual buyer: the sales follow the
    buyer to the new company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.jane = cls.env["res.partner"].create({"name": "Jane Buyer", "company_name": "Jane Trading Ltd"})
        cls.post_invoice(cls.jane, 4000.0, "2026-03-01")
        cls.post_invoice(cls.jane, 2000.0, "2026-04-01")
        cls.other = cls.env["res.partner"].create({"name": "Other", "is_company": True})
        cls.post_invoice(cls.other, 500.0, "2026-04-01")
        cls.cron.method_direct_trigger()

    def test_sales_follow_the_new_company(self):
        self.assertEqual(self.jane.revenue_total, 6000.0)
        self.jane.create_company()
        company = self.jane.parent_id
        self.assertTrue(company.is_company)
        self.post_invoice(self.jane, 1000.0, "2026-06-01")
        self.run_full()
        self.assertEqual(company.revenue_total, 7000.0, "the old invoices count for the new company")
        self.assertEqual(company.purchase_count, 3)
        self.assertTrue(company.tier_id)
        self.assertEqual(self.jane.revenue_total, 7000.0, "the contact shows its company's values")
        rows = self.env["customer.tier.history"].search_count([("company_id", "=", self.company.id)])
        self.run_full()
        self.run_cron()
        self.assertEqual(
            self.env["customer.tier.history"].search_count([("company_id", "=", self.company.id)]),
            rows,
            "no run adds history rows again",
        )
        self.assertFalse(
            self.env["customer.tier.history"]
            .search([("partner_id", "=", self.jane.id)])
            .filtered(lambda row: row.create_date > company.create_date),
            "the former entity gets no new history",
        )

    def test_incremental_run_follows_too(self):
        self.jane.create_company()
        company = self.jane.parent_id
        self.run_full()
        self.post_invoice(self.jane, 1000.0, "2026-06-15")
        self.run_cron()
        self.assertEqual(company.revenue_total, 7000.0)
