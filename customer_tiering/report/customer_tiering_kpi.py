from odoo import fields, models, tools
from odoo.tools import SQL

#: The retention rate compares the last 12 months with the 12 before them.
RETENTION_MONTHS = 12
#: The dashboard warns of the points that expire within this many days.
EXPIRY_NOTICE_DAYS = 30


class CustomerTieringKpi(models.Model):
    """One row per company and customer, with the dashboard's figures that
    the customer analysis does not hold: whether the customer counts in the
    retention rate of the last 12 months, and its tier card's points, of
    which those that expire within 30 days.

    Retention rate: of the customers who bought in the 12 months before the
    last 12, the share who bought again in the last 12 months; the churn
    rate is the rest. A customer bought when it has a purchase, as the
    nightly job and the cohorts count them (``customer.sale.is_purchase``).

    Points expiring: what the nightly expiry would take from the card if it
    ran in 30 days, with no new points or spending until then: the balance
    beyond the points earned after that day's cutoff, as the ledger's own
    expiry computes it (``customer.loyalty.ledger._valid_points``)."""

    _name = "customer.tiering.kpi"
    _description = "Customer Tiering KPIs"
    _auto = False
    _rec_name = "partner_id"
    _order = "company_id, partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    retention_base = fields.Integer(
        string="Prior-Year Buyers",
        readonly=True,
        help="1 when the customer bought in the 12 months before the last 12: the base of the retention rate.",
    )
    retained = fields.Integer(
        string="Prior-Year Buyers Who Bought Again",
        readonly=True,
        help="1 when a prior-year buyer bought again in the last 12 months: retained, not churned.",
    )
    points = fields.Float(string="Points Balance", readonly=True, help="Balance of the customer's points card.")
    points_expiring = fields.Float(
        string="Points Expiring in 30 Days",
        readonly=True,
        help="Points of the card that expire within 30 days unless they are spent first.",
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %(view)s AS (
                    WITH purchases AS (
                        SELECT s.company_id, s.commercial_partner_id AS partner_id,
                               bool_or(s.date <= %(year_start)s) AS prior_year,
                               bool_or(s.date > %(year_start)s) AS last_year
                          FROM customer_sale s
                         WHERE s.is_purchase
                           AND s.date > %(prior_year_start)s AND s.date <= CURRENT_DATE
                         GROUP BY 1, 2
                    ), cards AS (
                        SELECT config.company_id, card.partner_id, card.points,
                               CASE WHEN config.points_expiry_months > 0
                                    THEN GREATEST(round((card.points - %(valid)s)::numeric, 2), 0)
                                    ELSE 0 END AS points_expiring
                          FROM loyalty_card card
                          JOIN customer_tiering_config config ON config.loyalty_program_id = card.program_id
                          LEFT JOIN loyalty_history h
                                 ON h.card_id = card.id
                                AND COALESCE(h.points_date, h.create_date::date) > (
                                        CURRENT_DATE + %(notice_days)s
                                        - make_interval(months => config.points_expiry_months))::date
                         WHERE card.is_tier_card
                         GROUP BY config.company_id, config.points_expiry_months, card.id
                    )
                    SELECT row_number() OVER (ORDER BY k.company_id, k.partner_id) AS id,
                           k.company_id, k.partner_id, p.user_id,
                           COALESCE(k.prior_year, FALSE)::int AS retention_base,
                           COALESCE(k.prior_year AND k.last_year, FALSE)::int AS retained,
                           COALESCE(k.points, 0) AS points,
                           COALESCE(k.points_expiring, 0) AS points_expiring
                      FROM (SELECT * FROM purchases FULL JOIN cards USING (company_id, partner_id)) k
                      JOIN res_partner p ON p.id = k.partner_id
                )
                """,
                view=SQL.identifier(self._table),
                year_start=SQL("(CURRENT_DATE - make_interval(months => %s))::date", RETENTION_MONTHS),
                prior_year_start=SQL("(CURRENT_DATE - make_interval(months => %s))::date", 2 * RETENTION_MONTHS),
                valid=self.env["customer.loyalty.ledger"]._valid_points(),
                notice_days=EXPIRY_NOTICE_DAYS,
            )
        )
