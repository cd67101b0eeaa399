from odoo import fields, models
from odoo.exceptions import UserError


class CustomerPointsAdjustment(models.TransientModel):
    _name = "customer.points.adjustment"
    _inherit = ["customer.tiering.manager.mixin"]
    _description = "Adjust Loyalty Points"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    balance = fields.Float(string="Current Balance", related="partner_id.loyalty_points", digits=(16, 2))
    points = fields.Float(
        required=True,
        digits=(16, 2),
        help="Points to add; a negative number takes points away. The balance cannot go below zero.",
    )
    reason = fields.Char(required=True)

    def _manager_only_message(self):
        return self.env._("Only Customer Tiering managers can adjust loyalty points.")

    def action_apply(self):
        self.ensure_one()
        self._check_manager()
        if not self.points:
            raise UserError(self.env._("Enter a number of points other than zero."))
        self.env["customer.loyalty.ledger"].sudo()._adjust(
            self.partner_id, self.points, self.reason, key=f"adjust:{self.id}"
        )
        return {"type": "ir.actions.act_window_close"}
