from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine.tiering import TieringSettings

METHODS = [
    ("abc", "ABC revenue share"),
    ("rfm", "RFM score bands"),
    ("threshold", "Revenue thresholds"),
]


class CustomerTieringConfig(models.Model):
    """Tiering settings of one company (one record per company)."""

    _name = "customer.tiering.config"
    _description = "Customer Tiering Settings"
    _rec_name = "company_id"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade", default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    method = fields.Selection(
        METHODS,
        string="Tiering Method",
        required=True,
        default="abc",
        help="ABC: A until 80% of the revenue, B until 95%, then C. RFM: bands of the "
        "R+F+M score set on each tier. Thresholds: the minimum revenue set on each tier.",
    )
    window_months = fields.Integer(
        string="Revenue Window (months)",
        required=True,
        default=12,
        help="Length of the trailing window over which Window Revenue is summed.",
    )
    cutoff_a = fields.Float(
        string="A Cut-off", required=True, default=0.80, help="Share of revenue covered by A customers (0-1)."
    )
    cutoff_b = fields.Float(
        string="B Cut-off", required=True, default=0.95, help="Share of revenue covered by A and B customers (0-1)."
    )
    demotion_grace_days = fields.Integer(
        string="Demotion Grace Period (days)",
        default=0,
        help="A customer moves down a tier only after qualifying for the lower tier this many days in a row.",
    )
    last_run = fields.Datetime(string="Last Reclassification", readonly=True)
    tier_ids = fields.One2many("customer.tier", compute="_compute_tier_ids", string="Tiers")

    _sql_constraints = [
        ("company_uniq", "unique(company_id)", "Each company has one tiering configuration."),
    ]

    @api.depends("company_id")
    def _compute_tier_ids(self):
        for config in self:
            config.tier_ids = self.env["customer.tier"].search([("company_id", "=", config.company_id.id)])

    @api.constrains("window_months", "cutoff_a", "cutoff_b", "demotion_grace_days", "method")
    def _check_settings(self):
        for config in self:
            if config.window_months < 1:
                raise ValidationError(self.env._("The revenue window must be at least one month."))
            if not 0 < config.cutoff_a < config.cutoff_b <= 1:
                raise ValidationError(
                    self.env._(
                        "The cut-offs must satisfy 0 < A cut-off < B cut-off <= 1 (got %(a)s and %(b)s).",
                        a=config.cutoff_a,
                        b=config.cutoff_b,
                    )
                )
            if config.demotion_grace_days < 0:
                raise ValidationError(self.env._("The demotion grace period cannot be negative."))
        self._check_tier_thresholds()

    def _check_tier_thresholds(self):
        """Bands and thresholds must fall strictly from the best tier down."""
        for config in self:
            tiers = config._active_tiers()
            field = {"rfm": "min_rfm_score", "threshold": "min_revenue"}.get(config.method)
            if not field:
                continue
            values = tiers.mapped(field)
            if any(better <= worse for better, worse in zip(values, values[1:], strict=False)):
                raise ValidationError(
                    self.env._(
                        "The %(field)s of the tiers must decrease strictly from the best tier to the last; "
                        "overlapping values are not allowed.",
                        field=tiers._fields[field]._description_string(self.env),
                    )
                )

    def _active_tiers(self):
        self.ensure_one()
        return self.env["customer.tier"].search([("company_id", "=", self.company_id.id)], order="sequence, id")

    def _settings(self):
        self.ensure_one()
        return TieringSettings(
            method=self.method,
            cutoff_a=self.cutoff_a,
            cutoff_b=self.cutoff_b,
            demotion_grace_days=self.demotion_grace_days,
        )

    @api.model
    def _for_companies(self, companies):
        """The configurations of ``companies``, created on first use."""
        configs = self.sudo().search([("company_id", "in", companies.ids)])
        missing = companies - configs.company_id
        if missing:
            configs |= self.sudo().create([{"company_id": company.id} for company in missing])
        return configs.sudo(False)

    @api.model
    def action_open_current(self):
        """Settings of the current company, from the Configuration menu."""
        config = self._for_companies(self.env.company)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Tiering Settings"),
            "res_model": self._name,
            "res_id": config.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_reclassify(self):
        """Reclassify now, for managers (those who may write the settings)."""
        self.check_access("write")
        self.env["customer.tiering.job"].sudo()._reclassify(self.company_id)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Customers reclassified."),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
