from odoo import fields, models

REASONS = [
    ("computed", "Computed"),
    ("manual", "Manual"),
    ("lock_expired", "Lock expired"),
    ("merge", "Merge"),
]


class CustomerTierHistory(models.Model):
    """Append-only log of tier changes, written by the job and by manual edits."""

    _name = "customer.tier.history"
    _description = "Customer Tier History"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    old_tier_id = fields.Many2one("customer.tier", ondelete="restrict", readonly=True)
    new_tier_id = fields.Many2one("customer.tier", ondelete="restrict", readonly=True)
    # The nightly jobs read the last days' changes (entry rewards, customer notifications).
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    reason = fields.Selection(REASONS, required=True, readonly=True)
    create_uid = fields.Many2one("res.users", string="By", readonly=True)
