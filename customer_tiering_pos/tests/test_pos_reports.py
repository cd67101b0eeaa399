from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import tagged

from .common import PosTieringCommon


@tagged("post_install", "-at_install")
class TestPosReports(PosTieringCommon):
    """The reports count the orders rung up at the till as the nightly job
    does: the cohorts, the dashboard's retention, the Tier Summary and the
    Customer Review. Dates are relative to today: the dashboard's figures
    are a view on the database's own date."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env.user)
        months = cls.months
        Partner = cls.env["res.partner"]
        cls.regular = Partner.create({"name": "Regular Co", "is_company": True})
        cls.newcomer = Partner.create({"name": "Newcomer Co", "is_company": True})
        # Regular: at the till 14 months ago and 2 months ago, invoiced once 2 months ago.
        cls.ring_up(cls.regular, 1000.0, months(14))
        cls.ring_up(cls.regular, 1000.0, months(2))
        cls.post_invoice(cls.regular, 300.0, months(2) + relativedelta(days=5))
        # Newcomer: first bought 2 months ago, then returned some of it last month.
        first = cls.ring_up(cls.newcomer, 500.0, months(2))
        cls.ring_up(cls.newcomer, 100.0, months(1), refund_of=first)
        cls.env.flush_all()

    @classmethod
    def months(cls, count):
        """The first day of the month ``count`` months ago."""
        return cls.today.replace(day=1) - relativedelta(months=count)

    def test_cohorts(self):
        rows = self.env["customer.cohort.analysis"].search([("company_id", "=", self.company.id)])
        cohorts = {(row.cohort, row.months_since): (row.cohort_customers, row.active_customers) for row in rows}
        self.assertEqual(cohorts[(self.months(14), 0)], (1, 1), "Regular's first order at the till")
        self.assertEqual(cohorts[(self.months(14), 12)], (1, 1), "and its return, at the till and invoiced")
        self.assertEqual(cohorts[(self.months(14), 1)], (1, 0))
        self.assertEqual(cohorts[(self.months(2), 0)], (1, 1), "Newcomer")
        self.assertEqual(max(month for _cohort, month in cohorts), 12, "a refund is no purchase: no month after")

    def test_dashboard_retention(self):
        self.env.invalidate_all()
        kpis = self.env["customer.tiering.kpi"].search(
            [("partner_id", "in", (self.regular | self.newcomer).ids), ("company_id", "=", self.company.id)]
        )
        self.assertEqual(
            {row.partner_id: (row.retention_base, row.retained) for row in kpis},
            {self.regular: (1, 1), self.newcomer: (0, 0)},
        )

    def test_tier_summary(self):
        date_from, date_to = self.months(3), self.today
        summary = self.env["report.customer_tiering.report_tier_summary"]._summary(self.company, date_from, date_to)
        self.assertEqual(summary["total_revenue"], 1000.0 + 300.0 + 500.0 - 100.0, "net of the refund at the till")
        self.assertEqual(summary["buyers"], 2)
        self.assertEqual(summary["new_customers"], 1, "Newcomer")

    def test_customer_review(self):
        Review = self.env["report.customer_tiering.report_customer_review"]
        revenue = Review._monthly_revenue(self.regular | self.newcomer, self.company, self.months(11))
        self.assertEqual(
            revenue,
            {
                (self.regular.id, self.months(2)): 1300.0,
                (self.newcomer.id, self.months(2)): 500.0,
                (self.newcomer.id, self.months(1)): -100.0,
            },
        )
