from odoo import fields, models


class MailActivity(models.Model):
    _inherit = "mail.activity"

    service_policy_id = fields.Many2one(
        "customer.service.policy",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The follow-up policy that created this activity.",
    )
