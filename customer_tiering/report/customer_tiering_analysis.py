from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.customer_lifecycle_history import STAGES
from ..models.res_partner import RISK_LEVELS


class CustomerTieringAnalysis(models.Model):
    """One row per company and customer: tier, stage, risk, revenue, CLV and
    points, for pivots and graphs by tier, stage and risk."""

    _name = "customer.tiering.analysis"
    _description = "Customer Tiering Analysis"
    _auto = False
    _rec_name = "partner_id"
    _order = "value_at_risk desc, id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    tier_id = fields.Many2one("customer.tier", readonly=True)
    lifecycle_stage = fields.Selection(STAGES, readonly=True)
    churn_risk_level = fields.Selection(RISK_LEVELS, readonly=True)
    customer_count = fields.Integer(string="Customers", readonly=True)
    revenue_window = fields.Float(string="Window Revenue", readonly=True)
    revenue_total = fields.Float(string="Total Revenue", readonly=True)
    clv_predicted = fields.Float(string="Predicted CLV", readonly=True)
    value_at_risk = fields.Float(readonly=True)
    churn_risk = fields.Float(readonly=True, aggregator="avg")
    loyalty_points = fields.Float(readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %s AS (
                    SELECT row_number() OVER (ORDER BY c.id, p.id) AS id,
                           p.id AS partner_id, c.id AS company_id, p.user_id,
                           (p.tier_id ->> c.id::text)::int AS tier_id,
                           p.lifecycle_stage ->> c.id::text AS lifecycle_stage,
                           p.churn_risk_level ->> c.id::text AS churn_risk_level,
                           1 AS customer_count,
                           COALESCE((p.revenue_window ->> c.id::text)::float, 0) AS revenue_window,
                           COALESCE((p.revenue_total ->> c.id::text)::float, 0) AS revenue_total,
                           COALESCE((p.clv_predicted ->> c.id::text)::float, 0) AS clv_predicted,
                           COALESCE((p.value_at_risk ->> c.id::text)::float, 0) AS value_at_risk,
                           (p.churn_risk ->> c.id::text)::float AS churn_risk,
                           COALESCE(card.points, 0) AS loyalty_points
                      FROM res_company c
                      JOIN res_partner p ON p.tier_id ? c.id::text OR p.lifecycle_stage ? c.id::text
                      LEFT JOIN customer_tiering_config config ON config.company_id = c.id
                      LEFT JOIN loyalty_card card ON card.program_id = config.loyalty_program_id
                                                 AND card.partner_id = p.id AND card.is_tier_card
                     WHERE p.active AND p.id = p.commercial_partner_id
                )
                """,
                SQL.identifier(self._table),
            )
        )
