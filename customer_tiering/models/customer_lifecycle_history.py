from odoo import fields, models

STAGES = [
    ("potential", "Potential"),
    ("new", "New"),
    ("active", "Active"),
    ("loyal", "Loyal"),
    ("sleeping", "Sleeping"),
    ("churned", "Churned"),
    ("reactivated", "Reactivated"),
]


class CustomerLifecycleHistory(models.Model):
    """Append-only log of lifecycle stage changes, written by the nightly job."""

    _name = "customer.lifecycle.history"
    _description = "Customer Lifecycle History"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    old_stage = fields.Selection(STAGES, readonly=True)
    new_stage = fields.Selection(STAGES, readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
