from odoo import api, fields, models
from odoo.tools import html2plaintext

from .customer_lifecycle_history import STAGES
from .res_partner import RISK_LEVELS


class MailActivity(models.Model):
    _inherit = "mail.activity"

    service_policy_id = fields.Many2one(
        "customer.service.policy",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The follow-up policy that created this activity.",
    )
    # What a salesperson needs next to a follow-up, read from its customer's
    # commercial entity in the current company (not stored: the nightly job
    # moves tiers and points without touching the activities).
    followup_partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        compute="_compute_followup_partner",
        help="The commercial entity of the customer this activity is about.",
    )
    partner_tier_id = fields.Many2one("customer.tier", string="Tier", compute="_compute_followup_partner")
    # The tier badge widget paints the badge in the record's ``tier_color``.
    tier_color = fields.Integer(compute="_compute_followup_partner")
    partner_lifecycle_stage = fields.Selection(STAGES, string="Stage", compute="_compute_followup_partner")
    partner_churn_risk_level = fields.Selection(RISK_LEVELS, string="Risk", compute="_compute_followup_partner")
    partner_loyalty_points = fields.Float(string="Points", digits=(16, 2), compute="_compute_followup_partner")
    followup_reason = fields.Char(
        string="Why",
        compute="_compute_followup_reason",
        help="Why this follow-up is due: the policy's instructions and what triggered it.",
    )

    @api.depends("res_model", "res_id")
    @api.depends_context("company")
    def _compute_followup_partner(self):
        partners = self.env["res.partner"].browse(
            [activity.res_id for activity in self if activity.res_model == "res.partner" and activity.res_id]
        )
        # One read for the page: the entities of every row's customer the user may read.
        readable = partners.exists()._filtered_access("read")
        entity_of = {partner.id: partner.commercial_partner_id for partner in readable}
        for activity in self:
            is_partner = activity.res_model == "res.partner"
            entity = entity_of.get(activity.res_id) if is_partner else None
            entity = entity or self.env["res.partner"]
            activity.followup_partner_id = entity
            activity.partner_tier_id = entity.tier_id
            activity.tier_color = entity.tier_id.color
            activity.partner_lifecycle_stage = entity.lifecycle_stage
            activity.partner_churn_risk_level = entity.churn_risk_level
            activity.partner_loyalty_points = entity.loyalty_points

    @api.depends("note")
    def _compute_followup_reason(self):
        for activity in self:
            # Collapsed to one line: it is a list column.
            activity.followup_reason = " ".join(html2plaintext(activity.note or "").split()) or False
