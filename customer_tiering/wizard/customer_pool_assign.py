from odoo import fields, models


class CustomerPoolAssign(models.TransientModel):
    """Managers choose the salesperson to give pooled customers to."""

    _name = "customer.pool.assign"
    _inherit = ["customer.tiering.manager.mixin"]
    _description = "Assign Pooled Customers"

    partner_ids = fields.Many2many("res.partner", string="Customers", required=True)
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        required=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, readonly=True)

    def _manager_only_message(self):
        return self.env._("Only Customer Tiering managers can assign customers from the pool.")

    def action_assign(self):
        self.ensure_one()
        self._check_manager()
        self.partner_ids.with_context(pool_assign_user_id=self.user_id.id).action_pool_assign()
        return {"type": "ir.actions.act_window_close"}
