from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..sql import customer_sales

MONTHS = 12


class CustomerReviewReport(models.AbstractModel):
    """Values of the *Customer Review* PDF: one commercial entity per page,
    in the current company."""

    _name = "report.customer_tiering.report_customer_review"
    _description = "Customer Review Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        partners = self.env["res.partner"].browse(docids).commercial_partner_id
        # Its figures are read in SQL: each customer must be one the user may read, in this company.
        partners.check_access("read")
        company = self.env.company
        first_month = fields.Date.context_today(self).replace(day=1) - relativedelta(months=MONTHS - 1)
        months = [first_month + relativedelta(months=offset) for offset in range(MONTHS)]
        revenue = self._monthly_revenue(partners, company, first_month)
        return {
            "doc_ids": partners.ids,
            "doc_model": "res.partner",
            "docs": partners.with_company(company),
            "company": company,
            "currency": company.currency_id,
            "months": months,
            "revenue": {
                partner.id: [revenue.get((partner.id, month), 0.0) for month in months] for partner in partners
            },
            "tier_history": self._history("customer.tier.history", partners, company),
            "stage_history": self._history("customer.lifecycle.history", partners, company),
            "followups": {partner.id: partner.activity_ids.sorted("date_deadline") for partner in partners},
        }

    def _monthly_revenue(self, partners, company, first_month):
        """{(entity, month): untaxed revenue net of credit notes}, from one grouped query."""
        self.env["account.move"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT m.commercial_partner_id, date_trunc('month', m.invoice_date)::date,
                       sum(m.amount_untaxed_signed)
                  FROM account_move m
                 WHERE m.commercial_partner_id = ANY(%s) AND m.company_id = %s AND %s AND m.invoice_date >= %s
                 GROUP BY 1, 2
                """,
                partners.ids,
                company.id,
                customer_sales("m"),
                first_month,
            )
        )
        return {(partner_id, month): amount for partner_id, month, amount in rows}

    def _history(self, model, partners, company):
        records = self.env[model].search(
            [("partner_id", "in", partners.ids), ("company_id", "=", company.id)], order="date desc, id desc"
        )
        return {partner.id: records.filtered(lambda r, p=partner: r.partner_id == p)[:10] for partner in partners}
