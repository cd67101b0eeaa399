from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.translate import LazyTranslate

from ..bounds import POOL_RULE_BOUNDS, check_bounds
from ..sql import company_partner_domain, tier_stage_domain
from ..translations import translate_field

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

#: The default rule of each company: created archived, so that installing the
#: add-on takes no customer from anyone until a manager reviews and activates it.
DEFAULT_RULE = {
    "name": _lt("Idle customers back to the pool"),
    "untouched_days": 90,
    "no_order_days": 180,
    "warning_days": 7,
    "exempt_best_tier": True,
    "cooldown_days": 30,
    "daily_claim_limit": 5,
    "max_claimed": 50,
}


class CustomerPoolRule(models.Model):
    """When an owned customer goes back to the public pool (公海): which
    customers (tiers, stages), after how long without a touch, a confirmed
    sale or an open opportunity, with how much warning; and how claiming
    from the pool is limited. The nightly pool job applies the rules."""

    _name = "customer.pool.rule"
    _description = "Customer Pool Rule"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(
        default=10, help="A customer follows the first rule in sequence whose tiers and stages it is in."
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    tier_ids = fields.Many2many(
        "customer.tier",
        "customer_pool_rule_tier_rel",
        string="Tiers",
        domain="[('company_id', '=', company_id)]",
        check_company=True,
        help="Customers in any of these tiers; empty: any tier.",
    )
    stage_ids = fields.Many2many(
        "ir.model.fields.selection",
        "customer_pool_rule_stage_rel",
        string="Lifecycle Stages",
        domain="[('field_id.model', '=', 'res.partner'), ('field_id.name', '=', 'lifecycle_stage')]",
        help="Customers in any of these stages; empty: any stage.",
    )
    untouched_days = fields.Integer(
        string="Days Without a Touch",
        default=90,
        help="No call, meeting, message, email or invoice for this many days, as the follow-up policies count "
        "touches; 0: not a condition.",
    )
    no_order_days = fields.Integer(
        string="Days Without a Confirmed Order",
        help="No sale order confirmed for this many days; 0: not a condition.",
    )
    no_opportunity_days = fields.Integer(
        string="Days Without an Open Opportunity",
        help="No opportunity open in the CRM for this many days; 0: not a condition. Only with the CRM app.",
    )
    crm_installed = fields.Boolean(string="CRM Installed", compute="_compute_crm_installed")
    warning_days = fields.Integer(
        default=7,
        help="The salesperson gets an activity this many days before the customer goes back to the pool; "
        "a customer is never recalled before its salesperson had these days of warning.",
    )
    exempt_best_tier = fields.Boolean(
        string="Keep the Best Tier",
        help="Customers of the company's first tier (A) never go back to the pool. Customers with a locked "
        "tier never do.",
    )
    cooldown_days = fields.Integer(
        string="Cooldown (days)",
        default=30,
        help="The salesperson a customer was recalled from cannot claim it again for this many days; 0: at once.",
    )
    daily_claim_limit = fields.Integer(
        string="Claims per Day",
        default=5,
        help="Customers a salesperson may claim from the pool per day; 0: no limit.",
    )
    max_claimed = fields.Integer(
        string="Claimed Customers Held",
        default=50,
        help="Customers claimed from the pool a salesperson may hold at once; 0: no limit.",
    )

    @api.constrains(*POOL_RULE_BOUNDS, "tier_ids", "company_id")
    def _check_rule(self):
        check_bounds(self, POOL_RULE_BOUNDS)
        for rule in self:
            if not (rule.untouched_days or rule.no_order_days or rule.no_opportunity_days):
                raise ValidationError(
                    self.env._(
                        "Pool rule %(rule)s needs at least one condition: days without a touch, without a "
                        "confirmed order or without an open opportunity.",
                        rule=rule.name,
                    )
                )

    def _compute_crm_installed(self):
        self.crm_installed = "crm.lead" in self.env

    def _customer_domain(self):
        """The customers this rule's tiers and stages cover, in its company,
        whose tier is neither locked nor, with ``exempt_best_tier``, the
        company's best: among the partners its company may see, as its
        record rules would have it (the job searches as superuser)."""
        self.ensure_one()
        domain = [
            ("is_tiering_entity", "=", True),
            *company_partner_domain(self.company_id),
            ("tier_locked", "!=", True),
            *self._scope_domain(),
        ]
        if self.exempt_best_tier and (best := self._best_tier()):
            domain.append(("tier_id", "!=", best.id))
        return domain

    def _scope_domain(self):
        """The tiers and stages of the rule, as a domain."""
        return tier_stage_domain(self.tier_ids, self.stage_ids)

    def _best_tier(self):
        """The company's first tier, A in the method."""
        config = self.env["customer.tiering.config"].sudo()._for_companies(self.company_id)
        return config._active_tiers()[:1]

    @api.model
    def _for_partner(self, partner, company):
        """The rule whose claim limits apply to ``partner`` in ``company``:
        the one that recalled it, else the company's first active rule."""
        History = self.env["customer.pool.history"].sudo()
        released = History.search(
            [("partner_id", "=", partner.id), ("company_id", "=", company.id), ("action", "=", "released")],
            order="date desc, id desc",
            limit=1,
        )
        if released.rule_id.active:
            return released.rule_id.sudo()
        return self.sudo().search([("company_id", "=", company.id)], limit=1)

    @api.model
    def _create_defaults(self, companies):
        """The default rule, archived, for the companies that have none."""
        with_rules = self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).company_id
        missing = companies - with_rules
        name = DEFAULT_RULE["name"]
        rules = self.create(
            [
                {**DEFAULT_RULE, "name": name._translate("en_US"), "company_id": company.id, "active": False}
                for company in missing
            ]
        )
        translate_field(self.env, rules, "name", [name] * len(rules))
        return rules
