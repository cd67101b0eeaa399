from datetime import date

from odoo.tests import tagged
from odoo.tools import SQL

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestAnalysis(TieringInvoiceCommon):
    """The SQL-view reports read what the job and the ledger wrote."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.points_start_date = date(2020, 1, 1)
        customers = cls.classified_customers(
            {
                "Alpha": [(1000.0, "2026-01-10"), (500.0, "2026-03-05")],
                "Beta": [(200.0, "2026-01-20")],
                "Gamma": [(300.0, "2026-02-14")],
            }
        )
        cls.alpha, cls.beta, cls.gamma = customers.values()

    def test_customer_analysis_by_tier_and_stage(self):
        Analysis = self.env["customer.tiering.analysis"]
        rows = Analysis.search([("company_id", "=", self.company.id)])
        self.assertEqual(rows.partner_id, self.alpha | self.beta | self.gamma)
        alpha = rows.filtered(lambda r: r.partner_id == self.alpha)
        self.assertRecordValues(
            alpha,
            [
                {
                    "tier_id": self.alpha.tier_id.id,
                    "lifecycle_stage": self.alpha.lifecycle_stage,
                    "revenue_total": 1500.0,
                    "loyalty_points": 1500.0,
                    "customer_count": 1,
                }
            ],
        )
        by_tier = dict(Analysis._read_group([("company_id", "=", self.company.id)], ["tier_id"], ["revenue_total:sum"]))
        self.assertEqual(sum(by_tier.values()), 2000.0)
        customers = self.alpha | self.beta | self.gamma
        for tier, revenue in by_tier.items():
            self.assertEqual(revenue, sum(customers.filtered(lambda p, t=tier: p.tier_id == t).mapped("revenue_total")))

    def test_retention_by_cohort(self):
        """Every month of every cohort up to the latest purchase month, those without a purchase too."""
        rows = self.env["customer.cohort.analysis"].search([("company_id", "=", self.company.id)])
        self.assertRecordValues(
            rows,
            [
                {
                    "cohort": date(2026, 1, 1),
                    "month": date(2026, 1, 1),
                    "months_since": 0,
                    "cohort_customers": 2,
                    "active_customers": 2,
                    "retention_rate": 1.0,
                    "churn_rate": 0.0,
                },
                {
                    "cohort": date(2026, 1, 1),
                    "month": date(2026, 2, 1),
                    "months_since": 1,
                    "cohort_customers": 2,
                    "active_customers": 0,
                    "retention_rate": 0.0,
                    "churn_rate": 1.0,
                },
                {
                    "cohort": date(2026, 1, 1),
                    "month": date(2026, 3, 1),
                    "months_since": 2,
                    "cohort_customers": 2,
                    "active_customers": 1,
                    "retention_rate": 0.5,
                    "churn_rate": 0.5,
                },
                {
                    "cohort": date(2026, 2, 1),
                    "month": date(2026, 2, 1),
                    "months_since": 0,
                    "cohort_customers": 1,
                    "active_customers": 1,
                    "retention_rate": 1.0,
                    "churn_rate": 0.0,
                },
                {
                    "cohort": date(2026, 2, 1),
                    "month": date(2026, 3, 1),
                    "months_since": 1,
                    "cohort_customers": 1,
                    "active_customers": 0,
                    "retention_rate": 0.0,
                    "churn_rate": 1.0,
                },
            ],
        )

    def test_cohorts_count_the_nightly_job_s_purchases(self):
        """A customer bought in a month when the nightly job counts a
        purchase day in it: a credit note is none, and a document without a
        commercial entity is nobody's purchase."""
        self.post_invoice(self.gamma, 50.0, "2026-01-25", move_type="out_refund")
        orphan = self.post_invoice(self.env["res.partner"].create({"name": "Orphan"}), 70.0, "2026-04-02")
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE account_move SET commercial_partner_id = NULL WHERE id = %s", orphan.id))
        self.env.invalidate_all()
        self.run_cron()
        self.assertEqual(self.gamma.first_purchase_date, date(2026, 2, 14), "the job's first purchase")
        rows = self.env["customer.cohort.analysis"].search([("company_id", "=", self.company.id)])
        self.assertEqual(
            [(row.cohort, row.month, row.cohort_customers, row.active_customers) for row in rows],
            [
                (date(2026, 1, 1), date(2026, 1, 1), 2, 2),
                (date(2026, 1, 1), date(2026, 2, 1), 2, 0),
                (date(2026, 1, 1), date(2026, 3, 1), 2, 1),
                (date(2026, 2, 1), date(2026, 2, 1), 1, 1),
                (date(2026, 2, 1), date(2026, 3, 1), 1, 0),
            ],
        )
