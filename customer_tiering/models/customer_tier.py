from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.translate import LazyTranslate

# Default tier names are created in code, so they are translated lazily per language.
_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

DEFAULT_TIERS = (
    # code, name, sequence, color, min_revenue, min_rfm_score, points_multiplier
    ("A", _lt("A - Key customers"), 10, 10, 100000.0, 12, 2.0),
    ("B", _lt("B - Growth customers"), 20, 3, 10000.0, 8, 1.5),
    ("C", _lt("C - Standard customers"), 30, 0, 0.0, 3, 1.0),
)


class CustomerTier(models.Model):
    _name = "customer.tier"
    _description = "Customer Tier"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Short code, unique per company, e.g. A, B or C.")
    sequence = fields.Integer(default=10, help="Lower is better: the best tier comes first.")
    color = fields.Integer()
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    min_revenue = fields.Float(
        string="Minimum Revenue",
        digits="Account",
        help="With the 'Revenue thresholds' method: the trailing-window revenue a "
        "customer needs for this tier. Customers below every threshold get the last tier.",
    )
    min_rfm_score = fields.Integer(
        string="Minimum RFM Score",
        help="With the 'RFM score bands' method: the R+F+M score (3 to 15) a customer "
        "needs for this tier. Customers below every band get the last tier.",
    )
    points_multiplier = fields.Float(
        default=1.0,
        help="Loyalty points earned per point of the base rate: 2.0 earns twice as many points.",
    )
    partner_count = fields.Integer(string="Customers", compute="_compute_partner_count")

    _sql_constraints = [
        ("code_company_uniq", "unique(company_id, code)", "A tier code must be unique per company."),
    ]

    @api.depends_context("company")
    def _compute_partner_count(self):
        counts = dict(
            self.env["res.partner"]._read_group(
                [("tier_id", "in", self.ids), ("is_tiering_entity", "=", True)],
                ["tier_id"],
                ["__count"],
            )
        )
        for tier in self:
            tier.partner_count = counts.get(tier, 0)

    @api.constrains("min_revenue", "min_rfm_score", "sequence", "active", "company_id")
    def _check_thresholds(self):
        self.env["customer.tiering.config"]._for_companies(self.company_id)._check_tier_thresholds()

    @api.constrains("points_multiplier")
    def _check_points_multiplier(self):
        if any(tier.points_multiplier <= 0 for tier in self):
            raise ValidationError(self.env._("A tier's points multiplier must be greater than zero."))

    @api.model
    def _create_defaults(self, companies):
        """A, B and C, named in every installed language, for each company
        that has no tier yet."""
        with_tiers = self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).company_id
        missing = companies - with_tiers
        tiers = self.create(
            [
                {
                    "company_id": company.id,
                    "code": code,
                    "name": name._translate("en_US"),
                    "sequence": sequence,
                    "color": color,
                    "min_revenue": min_revenue,
                    "min_rfm_score": min_rfm_score,
                    "points_multiplier": multiplier,
                }
                for company in missing
                for code, name, sequence, color, min_revenue, min_rfm_score, multiplier in DEFAULT_TIERS
            ]
        )
        langs = [code for code, _name in self.env["res.lang"].get_installed() if code != "en_US"]
        names = [name for _company in missing for _code, name, *_rest in DEFAULT_TIERS]
        for tier, name in zip(tiers, names, strict=False):
            if langs:
                tier.update_field_translations("name", {lang: name._translate(lang) for lang in langs})
        return tiers

    def action_view_partners(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("customer_tiering.res_partner_action_tiering")
        action["domain"] = [("tier_id", "=", self.id), ("is_tiering_entity", "=", True)]
        action["context"] = {}
        return action
