from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.customer_lifecycle_history import STAGES
from ..models.res_partner import RISK_LEVELS
from ..models.res_partner_satisfaction import NPS_CATEGORIES
from ..sql import company_value

#: The company's values the view reads, with their SQL types (none for text).
VALUE_TYPES = {
    "tier_id": "int",
    "rfm_segment_id": "int",
    "lifecycle_stage": None,
    "churn_risk_level": None,
    "revenue_window": "float",
    "revenue_total": "float",
    "clv_predicted": "float",
    "value_at_risk": "float",
    "churn_risk": "float",
    "nps_category": None,
    "csat_score": "int",
}
#: The NPS of a group is the average of its respondents' points: % promoters - % detractors.
NPS_POINTS = {"promoter": 100, "passive": 0, "detractor": -100}


class CustomerTieringAnalysis(models.Model):
    """One row per company and customer: tier, RFM segment, stage, risk,
    revenue, CLV and points, for pivots and graphs by tier, segment, stage
    and risk."""

    _name = "customer.tiering.analysis"
    _description = "Customer Tiering Analysis"
    _auto = False
    _rec_name = "partner_id"
    _order = "value_at_risk desc, id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    tier_id = fields.Many2one("customer.tier", readonly=True)
    rfm_segment_id = fields.Many2one("customer.rfm.segment", string="RFM Segment", readonly=True)
    lifecycle_stage = fields.Selection(STAGES, readonly=True)
    churn_risk_level = fields.Selection(RISK_LEVELS, readonly=True)
    customer_count = fields.Integer(string="Customers", readonly=True)
    revenue_window = fields.Float(string="Recent Revenue", readonly=True)
    revenue_total = fields.Float(string="Total Revenue", readonly=True)
    clv_predicted = fields.Float(string="Predicted CLV", readonly=True)
    value_at_risk = fields.Float(string="Revenue at Risk", readonly=True)
    churn_risk = fields.Float(readonly=True, aggregator="avg")
    loyalty_points = fields.Float(readonly=True)
    nps_category = fields.Selection(NPS_CATEGORIES, string="NPS Category", readonly=True)
    respondent_count = fields.Integer(string="Survey Respondents", readonly=True)
    nps = fields.Float(
        string="NPS",
        readonly=True,
        aggregator="avg",
        help="Net Promoter Score of the customers who answered: % promoters - % detractors, from -100 to 100.",
    )
    csat_score = fields.Float(
        string="CSAT", readonly=True, aggregator="avg", help="Average satisfaction (1-5) of those who answered."
    )

    def _read_group_orderby(self, order, groupby_terms, query):
        """Stages in lifecycle order, not alphabetical: the funnel's bars and
        the pivots' rows read from a new customer to a churned one."""
        if "lifecycle_stage" not in groupby_terms:
            return super()._read_group_orderby(order, groupby_terms, query)
        in_lifecycle_order = SQL(
            "array_position(%s::varchar[], %s)", [stage for stage, _label in STAGES], groupby_terms["lifecycle_stage"]
        )
        return super()._read_group_orderby(order, {**groupby_terms, "lifecycle_stage": in_lifecycle_order}, query)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %(view)s AS (
                    SELECT row_number() OVER (ORDER BY c.id, p.id) AS id,
                           p.id AS partner_id, c.id AS company_id, p.user_id,
                           %(tier_id)s AS tier_id,
                           %(rfm_segment_id)s AS rfm_segment_id,
                           %(lifecycle_stage)s AS lifecycle_stage,
                           %(churn_risk_level)s AS churn_risk_level,
                           1 AS customer_count,
                           COALESCE(%(revenue_window)s, 0) AS revenue_window,
                           COALESCE(%(revenue_total)s, 0) AS revenue_total,
                           COALESCE(%(clv_predicted)s, 0) AS clv_predicted,
                           COALESCE(%(value_at_risk)s, 0) AS value_at_risk,
                           %(churn_risk)s AS churn_risk,
                           COALESCE(card.points, 0) AS loyalty_points,
                           %(nps_category)s AS nps_category,
                           (%(nps_category)s IS NOT NULL)::int AS respondent_count,
                           (%(nps_points)s)::float AS nps,
                           NULLIF(%(csat_score)s, 0)::float AS csat_score
                      FROM res_company c
                      JOIN res_partner p ON p.tier_id ? c.id::text OR p.lifecycle_stage ? c.id::text
                      LEFT JOIN customer_tiering_config config ON config.company_id = c.id
                      LEFT JOIN loyalty_card card ON card.program_id = config.loyalty_program_id
                                                 AND card.partner_id = p.id AND card.is_tier_card
                     WHERE p.active AND p.id = p.commercial_partner_id
                )
                """,
                view=SQL.identifier(self._table),
                nps_points=SQL(
                    "CASE %s %s END",
                    company_value("p", "nps_category", SQL("c.id")),
                    SQL(" ").join(SQL("WHEN %s THEN %s", category, points) for category, points in NPS_POINTS.items()),
                ),
                **{column: company_value("p", column, SQL("c.id"), cast) for column, cast in VALUE_TYPES.items()},
            )
        )
