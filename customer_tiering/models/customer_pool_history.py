from odoo import fields, models

POOL_ACTIONS = [
    ("released", "Released to the pool"),
    ("claimed", "Claimed"),
    ("assigned", "Assigned"),
]


class CustomerPoolHistory(models.Model):
    """Append-only log of the public pool: who lost a customer to the pool
    and why, who claimed it, whom a manager assigned it to. Written by the
    pool job and the claim and assign actions only; the cooldown and the
    claim limits are counted from it."""

    _name = "customer.pool.history"
    _description = "Customer Pool History"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    action = fields.Selection(POOL_ACTIONS, required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Salesperson", index=True, readonly=True, help="Who got the customer: claimed or assigned."
    )
    previous_user_id = fields.Many2one(
        "res.users", string="Previous Salesperson", index=True, readonly=True, help="Whom the pool took it from."
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    reason = fields.Char(readonly=True)
    rule_id = fields.Many2one("customer.pool.rule", ondelete="set null", readonly=True)
