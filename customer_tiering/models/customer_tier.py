from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.translate import LazyTranslate

from ..bounds import TIER_BOUNDS, check_bounds
from ..translations import translate_field
from .customer_tiering_config import METHODS

# Default tier names are created in code, so they are translated lazily per language.
_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

DEFAULT_TIERS = (
    # code, name, sequence, color, min_revenue, min_rfm_score, care channel, points_multiplier
    ("A", _lt("A - Key customers"), 10, 10, 100000.0, 12, "activity", 2.0),
    ("B", _lt("B - Growth customers"), 20, 3, 10000.0, 8, "activity", 1.5),
    ("C", _lt("C - Standard customers"), 30, 0, 0.0, 3, "email", 1.0),
)


#: What places customers in tiers: a change reclassifies everyone.
CLASSIFYING_FIELDS = ("min_revenue", "min_rfm_score", "sequence", "active", "company_id")


class CustomerTier(models.Model):
    _name = "customer.tier"
    _description = "Customer Tier"
    _order = "company_id, sequence, id"
    # Imports and quick searches find a tier by its code ("A") as well as its name.
    _rec_names_search = ["name", "code"]
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
        help="Points earned per currency unit, times this: with the default points settings (1 point per unit, "
        "100 points = 1 unit off), 1.0 gives 1% of purchases back and 2.0 gives 2%.",
    )
    entry_points = fields.Float(
        default=0.0,
        help="Points given once to a customer the nightly job moves up into this tier (not on a first "
        "classification, not on a move down). 0 = none.",
    )
    entry_program_id = fields.Many2one(
        "loyalty.program",
        string="Entry Coupon",
        check_company=True,
        domain="[('program_type', '=', 'coupons'), ('company_id', 'in', [company_id, False])]",
        help="A coupon of this program is given once to a customer the nightly job moves up into this tier, "
        "with the program's own email at creation.",
    )
    perks = fields.Html(
        translate=True,
        sanitize_style=True,
        help="What this tier gives its customers, shown to them on the portal's My Membership page when the "
        "tiering settings show tiers to customers.",
    )
    birthday_points = fields.Float(
        default=0.0,
        help="Points given to this tier's customers on their birthday, once a year. 0 = none.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Account Manager",
        check_company=True,
        help="Salesperson given to customers who move into this tier.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        check_company=True,
        help="Team whose leader follows up this tier's customers when their salesperson has no team.",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist",
        check_company=True,
        help="Pricelist given to customers who move into this tier, e.g. the best discounts for A.",
    )
    care_channel = fields.Selection(
        [("activity", "Personal activity"), ("email", "Email"), ("none", "None")],
        string="Care Touches",
        required=True,
        default="email",
        help="Birthdays and holidays: a personal call or visit by the salesperson, or the greeting email.",
    )
    dormancy_warning_days = fields.Integer(
        string="Dormancy Warning (days)",
        default=14,
        help="The salesperson is warned this many days before a customer of this tier counts as sleeping.",
    )
    partner_count = fields.Integer(string="Customers", compute="_compute_partner_count")
    # The views show only the threshold the company's tiering method uses.
    tiering_method = fields.Selection(
        METHODS,
        compute="_compute_tiering_method",
        compute_sudo=True,
        help="The method the company's tiering settings use.",
    )

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

    @api.depends("company_id")
    def _compute_tiering_method(self):
        configs = self.env["customer.tiering.config"].search([("company_id", "in", self.company_id.ids)])
        method_of = {config.company_id: config.method for config in configs}
        for tier in self:
            tier.tiering_method = method_of.get(tier.company_id, False)

    @api.model_create_multi
    def create(self, vals_list):
        tiers = super().create(vals_list)
        tiers._request_full_run()
        return tiers

    def write(self, vals):
        result = super().write(vals)
        if vals.keys() & CLASSIFYING_FIELDS:
            self._request_full_run()
        return result

    def _request_full_run(self):
        """Tiers changed: the next run reclassifies every customer of their companies."""
        configs = self.env["customer.tiering.config"].sudo().search([("company_id", "in", self.company_id.ids)])
        configs.write({"last_full_run": False})

    @api.constrains(*CLASSIFYING_FIELDS)
    def _check_thresholds(self):
        self.env["customer.tiering.config"]._for_companies(self.company_id)._check_tier_thresholds()

    @api.constrains(*TIER_BOUNDS)
    def _check_points_multiplier(self):
        check_bounds(self, TIER_BOUNDS)
        if any(tier.points_multiplier <= 0 for tier in self):
            raise ValidationError(self.env._("A tier's points multiplier must be greater than zero."))
        if any(tier.dormancy_warning_days < 0 for tier in self):
            raise ValidationError(self.env._("The dormancy warning cannot be negative."))

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
                    "care_channel": care_channel,
                    "points_multiplier": multiplier,
                }
                for company in missing
                for code, name, sequence, color, min_revenue, min_rfm_score, care_channel, multiplier in DEFAULT_TIERS
            ]
        )
        translate_field(
            self.env, tiers, "name", [name for _company in missing for _code, name, *_rest in DEFAULT_TIERS]
        )
        return tiers

    def _resource_values(self):
        """The partner values this tier's resources set; empty ones change nothing."""
        self.ensure_one()
        values = {
            "user_id": self.user_id.id,
            "property_product_pricelist": self.pricelist_id.id,
        }
        return {field: value for field, value in values.items() if value}

    def _resource_summary(self):
        self.ensure_one()
        labels = [
            (self.env._("Salesperson"), self.user_id),
            (self.env._("Pricelist"), self.pricelist_id),
        ]
        return ", ".join(f"{label}: {record.display_name}" for label, record in labels if record)

    @api.readonly  # only reads: may run on a read-only replica
    def action_view_partners(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("customer_tiering.res_partner_action_tiering")
        action["domain"] = [("tier_id", "=", self.id), ("is_tiering_entity", "=", True)]
        action["context"] = {}
        return action
