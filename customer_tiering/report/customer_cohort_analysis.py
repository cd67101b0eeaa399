from odoo import fields, models, tools
from odoo.tools import SQL

from ..sql import customer_sales, purchase


class CustomerCohortAnalysis(models.Model):
    """Monthly retention and churn per cohort of first purchase: of the
    customers who first bought in a month, the share who bought again in
    each later month. A customer bought in a month when it has a purchase
    day in it, as the nightly job counts them: a posted invoice of its
    commercial entity."""

    _name = "customer.cohort.analysis"
    _description = "Customer Retention by Cohort"
    _auto = False
    _order = "company_id, cohort, month"

    company_id = fields.Many2one("res.company", readonly=True)
    cohort = fields.Date(string="First Purchase Month", readonly=True)
    month = fields.Date(readonly=True)
    months_since = fields.Integer(string="Months Since First Purchase", readonly=True, aggregator="max")
    cohort_customers = fields.Integer(readonly=True, aggregator="max")
    active_customers = fields.Integer(string="Buying Customers", readonly=True)
    retention_rate = fields.Float(readonly=True, aggregator="avg")
    churn_rate = fields.Float(readonly=True, aggregator="avg")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %s AS (
                    WITH purchases AS (
                        SELECT m.company_id, m.commercial_partner_id AS partner_id,
                               date_trunc('month', m.invoice_date)::date AS month
                          FROM account_move m
                         WHERE %s AND %s
                         GROUP BY 1, 2, 3
                    ), cohorts AS (
                        SELECT company_id, partner_id, min(month) AS cohort FROM purchases GROUP BY 1, 2
                    ), sizes AS (
                        SELECT company_id, cohort, count(*) AS size FROM cohorts GROUP BY 1, 2
                    ), activity AS (
                        SELECT c.company_id, c.cohort, p.month, count(*) AS active
                          FROM purchases p JOIN cohorts c USING (company_id, partner_id)
                         GROUP BY 1, 2, 3
                    )
                    SELECT row_number() OVER (ORDER BY a.company_id, a.cohort, a.month) AS id,
                           a.company_id, a.cohort, a.month,
                           ((extract(year FROM a.month) - extract(year FROM a.cohort)) * 12
                            + extract(month FROM a.month) - extract(month FROM a.cohort))::int AS months_since,
                           s.size AS cohort_customers, a.active AS active_customers,
                           a.active::float / s.size AS retention_rate,
                           1 - a.active::float / s.size AS churn_rate
                      FROM activity a JOIN sizes s USING (company_id, cohort)
                )
                """,
                SQL.identifier(self._table),
                customer_sales("m"),
                purchase("m"),
            )
        )
