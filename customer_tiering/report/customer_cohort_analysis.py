from odoo import api, fields, models, tools
from odoo.tools import SQL


class CustomerCohortAnalysis(models.Model):
    """Monthly retention and churn per cohort of first purchase: of the
    customers who first bought in a month, the share who bought again in
    each later month. A customer bought in a month when it has a purchase
    day in it, as the nightly job counts them: a purchase of its commercial
    entity (``customer.sale``). Read from ``customer.cohort.month``, which
    the nightly run keeps: as of the last run (a company's sales live until
    its first run built that table).

    Each cohort has a row for every month up to the company's latest
    purchase month, those without a purchase too: a rate summed over
    several rows is then the share of the customer-months with a purchase
    (``_read_group_select``), so the pivot's totals mean something: the
    total of a month over the cohorts is their retention that month,
    weighted by their sizes."""

    _name = "customer.cohort.analysis"
    _description = "Customer Retention by Cohort"
    _auto = False
    _order = "company_id, cohort, month"

    company_id = fields.Many2one("res.company", readonly=True)
    cohort = fields.Date(string="First Purchase Month", readonly=True)
    month = fields.Date(readonly=True)
    months_since = fields.Integer(string="Months Since First Purchase", readonly=True, aggregator="max")
    month_number = fields.Selection(
        selection="_month_numbers",
        string="Month After First Purchase",
        readonly=True,
        help="Month 0 is the first purchase month.",
    )
    cohort_customers = fields.Integer(readonly=True, aggregator="max")
    active_customers = fields.Integer(string="Buying Customers", readonly=True)
    retention_rate = fields.Float(readonly=True, aggregator="avg")
    churn_rate = fields.Float(readonly=True, aggregator="avg")

    @api.model
    def _month_numbers(self):
        """ "Month 0" (the first purchase month), "Month 1" ...: labels for
        the pivot's columns, over twenty years of cohorts."""
        return [(str(number), self.env._("Month %(number)s", number=number)) for number in range(241)]

    def _read_group_select(self, aggregate_spec, query):
        """A rate over several rows is the buying customers over the cohort
        customers of those rows: the average of rates would weigh a cohort
        of one like a cohort of a thousand."""
        fname, _sep, _func = aggregate_spec.partition(":")
        if fname not in ("retention_rate", "churn_rate"):
            return super()._read_group_select(aggregate_spec, query)
        retention = SQL(
            "(sum(%s)::float8 / NULLIF(sum(%s), 0))",
            self._field_to_sql(self._table, "active_customers", query),
            self._field_to_sql(self._table, "cohort_customers", query),
        )
        return retention if fname == "retention_rate" else SQL("(1 - %s)", retention)

    def _read_group_orderby(self, order, groupby_terms, query):
        """Months in their order, not as text ("Month 10" after "Month 1")."""
        if "month_number" not in groupby_terms:
            return super()._read_group_orderby(order, groupby_terms, query)
        numeric = SQL("(%s)::int", groupby_terms["month_number"])
        return super()._read_group_orderby(order, {**groupby_terms, "month_number": numeric}, query)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %s AS (
                    WITH live_companies AS (
                        -- the companies no nightly run built customer_cohort_month for yet
                        SELECT c.id FROM res_company c
                         WHERE NOT EXISTS (SELECT 1 FROM customer_tiering_config t
                                            WHERE t.company_id = c.id AND t.cohort_months_built)
                    ), purchases AS (
                        SELECT s.company_id, s.commercial_partner_id AS partner_id,
                               date_trunc('month', s.date)::date AS month
                          FROM customer_sale s
                         WHERE s.is_purchase
                           -- a one-time filter: no sale is read once every company had a run
                           AND (SELECT EXISTS (SELECT 1 FROM live_companies))
                           AND s.company_id IN (SELECT id FROM live_companies)
                         GROUP BY 1, 2, 3
                    ), cohorts AS (
                        SELECT company_id, partner_id, min(month) AS cohort FROM purchases GROUP BY 1, 2
                    ), activity AS (
                        SELECT c.company_id, c.cohort, p.month, count(*) AS active
                          FROM purchases p JOIN cohorts c USING (company_id, partner_id)
                         GROUP BY 1, 2, 3
                         UNION ALL
                        -- as of the last nightly run
                        SELECT m.company_id, m.cohort, m.month, m.active_customers
                          FROM customer_cohort_month m
                         WHERE m.company_id NOT IN (SELECT id FROM live_companies)
                    ), sizes AS (
                        -- a cohort's customers all bought in its first month
                        SELECT company_id, cohort, active AS size FROM activity WHERE month = cohort
                    ), months AS (
                        -- every month of every cohort, up to the company's latest purchase month
                        SELECT s.company_id, s.cohort, s.size,
                               generate_series(s.cohort, latest.month, interval '1 month')::date AS month
                          FROM sizes s
                          JOIN (SELECT company_id, max(month) AS month FROM activity GROUP BY 1) latest
                               USING (company_id)
                    ), numbered AS (
                        SELECT m.*, COALESCE(a.active, 0) AS active,
                               ((extract(year FROM m.month) - extract(year FROM m.cohort)) * 12
                                + extract(month FROM m.month) - extract(month FROM m.cohort))::int AS months_since
                          FROM months m LEFT JOIN activity a USING (company_id, cohort, month)
                    )
                    SELECT row_number() OVER (ORDER BY company_id, cohort, month) AS id,
                           company_id, cohort, month, months_since, months_since::text AS month_number,
                           size AS cohort_customers, active AS active_customers,
                           active::float / size AS retention_rate,
                           1 - active::float / size AS churn_rate
                      FROM numbered
                )
                """,
                SQL.identifier(self._table),
            )
        )
