from collections import Counter
from datetime import date

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import SQL

from .common import TieringInvoiceCommon

REPORT = "customer_tiering.report_tier_summary"


@tagged("post_install", "-at_install")
# The invoices are of fixed days of 2025 and 2026, the period runs to today: a
# fixed today keeps the figures the tests expect on whatever day they run.
@freeze_time("2026-06-30")
class TestTierSummary(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        customers = cls.classified_customers(
            {
                "Loyal Buyer": [(800.0, "2025-12-01"), (900.0, "2026-02-01")],
                "Lapsed Buyer": [(100.0, "2025-12-15")],
                "Newcomer": [(300.0, "2026-03-01")],
            }
        )
        cls.loyal, cls.lapsed, cls.newcomer = customers.values()
        cls.lapsed.tier_id = cls.tier_a  # a manual move inside the period
        # The period ends today, to hold the manual move.
        cls.today = fields.Date.today()
        cls.wizard = cls.env["customer.tier.summary.wizard"].create(
            {"date_from": date(2026, 1, 1), "date_to": cls.today}
        )
        cls.company.external_report_layout_id = cls.env.ref("web.external_layout_standard")

    def values(self):
        data = {"company_id": self.company.id, "date_from": "2026-01-01", "date_to": str(self.today)}
        return self.env["report.customer_tiering.report_tier_summary"]._get_report_values(self.wizard.ids, data)

    def test_kpis(self):
        values = self.values()
        self.assertEqual(values["total_revenue"], 1200.0, "only the period's invoices")
        self.assertEqual(
            values["revenue_without_tier"], 1200.0, "bought before the nightly job first gave them a tier, today"
        )
        self.assertEqual(sum(row["revenue"] for row in values["revenue_rows"]), 0.0)
        self.assertEqual((values["previous_buyers"], values["retained"]), (2, 1), "the lapsed buyer did not come back")
        self.assertEqual(values["retention_rate"], 0.5)
        self.assertEqual(self.lapsed.tier_id, self.tier_a)
        self.assertEqual(
            values["migration"],
            dict(Counter((None, partner.tier_id.id) for partner in (self.loyal, self.lapsed, self.newcomer))),
            "no tier at the start; at the end, their tiers of today, the lapsed buyer's manual move included",
        )
        self.assertEqual(sum(values["customers_end"].values()), 3)
        self.assertEqual(sum(values["customers_start"].values()), 0)

    def test_buyers_and_revenue_are_the_nightly_job_s(self):
        """Revenue is net of credit notes; a buyer is a customer with a
        purchase, as the nightly job counts them: a credit note is none, and
        a document without a commercial entity is nobody's."""
        self.post_invoice(self.newcomer, 40.0, "2025-11-20", move_type="out_refund")
        self.post_invoice(self.lapsed, 100.0, "2026-04-01", move_type="out_refund")
        orphan = self.post_invoice(self.env["res.partner"].create({"name": "Orphan"}), 70.0, "2025-11-10")
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE account_move SET commercial_partner_id = NULL WHERE id = %s", orphan.id))
        self.env.invalidate_all()
        values = self.values()
        self.assertEqual(values["total_revenue"], 1100.0, "net of the period's credit note")
        self.assertEqual((values["previous_buyers"], values["retained"]), (2, 1))

    def test_printed_summary(self):
        action = self.wizard.action_print()
        self.assertEqual(action["report_name"], REPORT)
        html, _format = self.env["ir.actions.report"]._render_qweb_html(REPORT, self.wizard.ids, data=action["data"])
        html = html.decode()
        self.assertIn("Tier Summary", html)
        self.assertIn("1,200.00", html)
        self.assertIn("Retention Rate", html)
        self.assertIn("<span>50.0</span>%", html)

    def test_period_must_be_ordered(self):
        with self.assertRaises(ValidationError):
            self.wizard.date_from = fields.Date.add(self.today, days=1)

    def test_no_summary_of_a_company_the_user_is_not_in(self):
        other = self.setup_other_company(name="Not Yours")["company"]
        user = new_test_user(
            self.env,
            login="summary_reader",
            groups="base.group_user,customer_tiering.group_customer_tiering_user",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        data = {"company_id": other.id, "date_from": "2026-01-01", "date_to": str(self.today)}
        wizard = self.wizard.with_user(user)
        with self.assertRaises(AccessError):
            self.env["ir.actions.report"].with_user(user)._render_qweb_html(REPORT, wizard.ids, data=data)
        data["company_id"] = self.company.id
        html, _format = self.env["ir.actions.report"].with_user(user)._render_qweb_html(REPORT, wizard.ids, data=data)
        self.assertIn("Tier Summary", html.decode())
