from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..models.res_partner import MANAGER_GROUP


class CustomerPoolAssign(models.TransientModel):
    """Managers choose the salesperson to give pooled customers to."""

    _name = "customer.pool.assign"
    _description = "Assign Pooled Customers"

    partner_ids = fields.Many2many("res.partner", string="Customers", required=True)
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        required=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        self._check_manager()
        return super().create(vals_list)

    def _check_manager(self):
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only Customer Tiering managers can assign customers from the pool."))

    def action_assign(self):
        self.ensure_one()
        self._check_manager()
        self.partner_ids.with_context(pool_assign_user_id=self.user_id.id).action_pool_assign()
        return {"type": "ir.actions.act_window_close"}
