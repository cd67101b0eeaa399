from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import TieringInvoiceCommon

REPORT = "customer_tiering.report_customer_review"


@tagged("post_install", "-at_install")
class TestCustomerReview(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.points_start_date = fields.Date.today() - relativedelta(years=2)
        cls.customer = cls.env["res.partner"].create({"name": "Reviewed Customer", "is_company": True})
        cls.contact = cls.env["res.partner"].create({"name": "Buyer", "parent_id": cls.customer.id})
        this_month = fields.Date.today().replace(day=1)
        cls.post_invoice(cls.customer, 1234.0, this_month)
        cls.post_invoice(cls.customer, 34.0, this_month, move_type="out_refund")
        cls.post_invoice(cls.customer, 777.0, this_month - relativedelta(months=2))
        cls.post_invoice(cls.customer, 999.0, this_month - relativedelta(months=13))
        cls.cron.method_direct_trigger()
        cls.customer.activity_schedule("mail.mail_activity_data_call", summary="Discuss the spring order")

    def render(self, partners):
        html, _format = self.env["ir.actions.report"]._render_qweb_html(REPORT, partners.ids)
        return html.decode()

    def test_review_page(self):
        html = self.render(self.contact)
        self.assertIn("Customer Review", html)
        self.assertIn("Reviewed Customer", html, "a contact prints its commercial entity")
        self.assertIn(self.customer.tier_id.name, html)
        self.assertIn("1,200.00", html, "this month, net of the credit note")
        self.assertIn("777.00", html)
        self.assertNotIn("999.00", html, "older than 12 months")
        self.assertIn("Discuss the spring order", html)
        self.assertIn(f"{self.customer.loyalty_points:,.2f}", html)

    def test_one_page_per_customer(self):
        other = self.env["res.partner"].create({"name": "Second Customer", "is_company": True})
        html = self.render(self.customer | other)
        self.assertEqual(html.count('class="page"'), 2)


@tagged("post_install", "-at_install")
class TestCustomerReviewPdf(HttpCase):
    def test_pdf(self):
        partner = self.env["res.partner"].create({"name": "PDF Customer", "is_company": True})
        pdf, report_format = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, partner.ids)
        )
        self.assertEqual(report_format, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
