from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.safe_eval import safe_eval
from odoo.tools.translate import LazyTranslate

from ..bounds import POLICY_BOUNDS, check_bounds
from ..engine.lifecycle import LAPSED_STAGES
from ..sql import company_partner_domain, tier_stage_domain
from ..translations import translate_field
from .res_partner_satisfaction import NPS_CATEGORIES

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

ASSIGNEE_RULES = [
    ("salesperson", "Salesperson"),
    ("team_leader", "Salesperson's team leader"),
    ("fixed", "Fixed user"),
    ("tier_manager", "Tier account manager"),
]

FOLLOWUP_ACTIONS = [
    ("activity", "Schedule an activity"),
    ("email", "Send an email"),
]

# name, tier code, lifecycle stages, activity type or mail template xml id, cadence, purchased within (days),
# sequence. The policy first in sequence wins when a customer matches several the same night: a lapsed
# customer gets the win-back call rather than its tier's routine one. C customers are emailed, not called.
DEFAULT_POLICIES = (
    (_lt("A customers: monthly call"), "A", (), "mail.mail_activity_data_call", 30, 0, 10),
    (_lt("B customers: quarterly call"), "B", (), "mail.mail_activity_data_call", 90, 0, 10),
    (_lt("C customers: email every six months"), "C", (), "customer_tiering.mail_template_followup", 180, 0, 10),
    (_lt("Win-back: lapsed customers"), None, LAPSED_STAGES, "mail.mail_activity_data_call", 30, 365, 5),
)


class CustomerServicePolicy(models.Model):
    """Who gets which follow-up, how often, and for whom: the nightly
    follow-up job turns each policy into real activities."""

    _name = "customer.service.policy"
    _description = "Customer Service Policy"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    tier_ids = fields.Many2many(
        "customer.tier",
        string="Tiers",
        domain="[('company_id', '=', company_id)]",
        check_company=True,
        help="Customers in any of these tiers; empty: any tier.",
    )
    stage_ids = fields.Many2many(
        "ir.model.fields.selection",
        "customer_service_policy_stage_rel",
        string="Lifecycle Stages",
        domain="[('field_id.model', '=', 'res.partner'), ('field_id.name', '=', 'lifecycle_stage')]",
        help="Customers in any of these stages; empty: any stage.",
    )
    risk_level_ids = fields.Many2many(
        "ir.model.fields.selection",
        "customer_service_policy_risk_rel",
        string="Churn Risk Levels",
        domain="[('field_id.model', '=', 'res.partner'), ('field_id.name', '=', 'churn_risk_level')]",
        help="Customers at any of these churn risk levels; empty: any level.",
    )
    nps_category = fields.Selection(
        NPS_CATEGORIES,
        string="Satisfaction",
        help="Customers whose last satisfaction survey answer is in this category: each answer gets one "
        "follow-up, the night after it, while it is at most the cadence's days old; empty: any customer, "
        "followed up by the cadence.",
    )
    purchased_within_days = fields.Integer(
        string="Bought Within (days)",
        help="Only customers whose last purchase is at most this many days old; 0: any.",
    )
    domain = fields.Char(string="Other Conditions", default="[]", help="Further conditions on the customer.")
    action = fields.Selection(
        FOLLOWUP_ACTIONS,
        string="Follow Up By",
        required=True,
        default="activity",
        help="Schedule an activity for a person, or send the email template at once: an email that can go "
        "out by itself is never left to a person. Customers without an email address or who opted out of "
        "emails get none.",
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        domain="[('res_model', 'in', [False, 'res.partner'])]",
        default=lambda self: self.env.ref("mail.mail_activity_data_call", raise_if_not_found=False),
    )
    activity_plan_id = fields.Many2one(
        "mail.activity.plan",
        check_company=True,
        domain="[('res_model', '=', 'res.partner'), ('company_id', 'in', [company_id, False])]",
        help="Schedule every activity of this plan (e.g. a call, then a visit a week later), each due at its own "
        "offset from the follow-up's due day, instead of a single activity. Its activities assigned 'at launch' "
        "go to the policy's assignee.",
    )
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        domain="[('model', '=', 'res.partner')]",
        help="Sent to the customer, in the customer's language, when the follow-up is due.",
    )
    cadence_days = fields.Integer(
        string="Cadence (days)",
        required=True,
        default=30,
        help="A customer not touched for this many days gets a follow-up.",
    )
    assignee_rule = fields.Selection(
        ASSIGNEE_RULES,
        string="Assign To",
        required=True,
        default="salesperson",
        help="When that person is missing or inactive: the salesperson, then the tier's account manager, "
        "then the fixed user.",
    )
    user_id = fields.Many2one("res.users", string="Fixed User", check_company=True)
    summary = fields.Char(translate=True, help="Summary of the activities; empty: the policy's name.")
    note = fields.Html(translate=True, sanitize_style=True)
    deadline_days = fields.Integer(string="Due In (days)", default=7, help="Activities are due this many days after.")
    activity_count = fields.Integer(string="Open Follow-ups", compute="_compute_activity_count")

    @api.constrains(
        "cadence_days",
        "deadline_days",
        "purchased_within_days",
        "assignee_rule",
        "user_id",
        "domain",
        "action",
        "activity_type_id",
        "activity_plan_id",
        "mail_template_id",
    )
    def _check_policy(self):
        check_bounds(self, POLICY_BOUNDS)
        for policy in self:
            if policy.action == "activity" and not (policy.activity_type_id or policy.activity_plan_id):
                raise ValidationError(self.env._("Choose the activity type of a policy that schedules activities."))
            if policy.action == "activity" and policy.activity_plan_id and not policy.activity_plan_id.template_ids:
                raise ValidationError(
                    self.env._("The activity plan %s has no activities to schedule.", policy.activity_plan_id.name)
                )
            if policy.action == "email" and policy.mail_template_id.model != "res.partner":
                raise ValidationError(
                    self.env._("Choose the email template, on contacts, of a policy that sends emails.")
                )
            if policy.cadence_days < 1:
                raise ValidationError(self.env._("The cadence of a service policy must be at least one day."))
            if policy.deadline_days < 0 or policy.purchased_within_days < 0:
                raise ValidationError(self.env._("Due-in and bought-within days cannot be negative."))
            if policy.action == "activity" and policy.assignee_rule == "fixed" and not policy.user_id:
                raise ValidationError(self.env._("Choose the user of a policy assigned to a fixed user."))
            try:
                self.env["res.partner"].search_count(policy._customer_domain())
            except (SyntaxError, ValueError, NameError) as error:
                raise ValidationError(
                    self.env._("The conditions of %(policy)s are not valid: %(error)s", policy=policy.name, error=error)
                ) from error

    def _touch_activity_types(self):
        """The activity types whose done activities count as this policy's
        touch: its own type, or those of its plan."""
        self.ensure_one()
        return self.activity_type_id | self.activity_plan_id.template_ids.activity_type_id

    def _compute_activity_count(self):
        counts = dict(
            self.env["mail.activity"]._read_group(
                [("service_policy_id", "in", self.ids)], ["service_policy_id"], ["__count"]
            )
        )
        for policy in self:
            policy.activity_count = counts.get(policy, 0)

    def _customer_domain(self):
        """The commercial entities this policy applies to, in its company:
        among the partners its company may see, its own and the shared
        ones, as its record rules would have it. The nightly job searches
        as superuser, past the rules: this is what keeps another company's
        customers out of the policy's reach."""
        self.ensure_one()
        policy = self.with_company(self.company_id)
        domain = [
            ("is_tiering_entity", "=", True),
            *company_partner_domain(policy.company_id),
            *safe_eval(policy.domain or "[]"),
        ]
        domain += tier_stage_domain(policy.tier_ids, policy.stage_ids)
        if policy.risk_level_ids:
            domain.append(("churn_risk_level", "in", policy.risk_level_ids.mapped("value")))
        if policy.nps_category:
            answered = fields.Date.subtract(fields.Date.context_today(policy), days=policy.cadence_days)
            domain += [("nps_category", "=", policy.nps_category), ("satisfaction_date", ">=", answered)]
        if policy.purchased_within_days:
            since = fields.Date.subtract(fields.Date.context_today(policy), days=policy.purchased_within_days)
            domain.append(("last_purchase_date", ">=", since))
        return domain

    @api.model
    def _create_defaults(self, companies):
        """The default policies of the method, for companies that have none."""
        with_policies = self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).company_id
        values = []
        for company in companies - with_policies:
            tiers = self.env["customer.tier"].search([("company_id", "=", company.id)])
            for name, tier_code, stages, xmlid, cadence, within, sequence in DEFAULT_POLICIES:
                values.append(
                    {
                        "name": name._translate("en_US"),
                        "company_id": company.id,
                        "sequence": sequence,
                        "tier_ids": [(6, 0, tiers.filtered(lambda t, c=tier_code: t.code == c).ids)],
                        "stage_ids": [(6, 0, self._stage_values(stages).ids)],
                        **self._followup_by(xmlid),
                        "cadence_days": cadence,
                        "purchased_within_days": within,
                    }
                )
        policies = self.create(values)
        names = [name for _company in companies - with_policies for name, *_rest in DEFAULT_POLICIES]
        translate_field(self.env, policies, "name", names)
        return policies

    @api.model
    def _stage_values(self, stages):
        """The selection values of the lifecycle ``stages``, as the stage filter holds them."""
        if not stages:
            return self.env["ir.model.fields.selection"]
        return self.env["ir.model.fields.selection"].search(
            [("field_id.model", "=", "res.partner"), ("field_id.name", "=", "lifecycle_stage"), ("value", "in", stages)]
        )

    @api.model
    def _followup_by(self, xmlid):
        """The values of a default policy that follows up by the activity
        type or the mail template of ``xmlid``."""
        record = self.env.ref(xmlid)
        if record._name == "mail.template":
            return {"action": "email", "mail_template_id": record.id, "activity_type_id": False}
        return {"action": "activity", "activity_type_id": record.id}

    @api.readonly  # only reads: may run on a read-only replica
    def action_view_activities(self):
        self.ensure_one()
        self.check_access("read")
        action = self.env["ir.actions.act_window"]._for_xml_id("customer_tiering.mail_activity_action_followups")
        action["domain"] = [("service_policy_id", "=", self.id)]
        action["context"] = {}
        return action
