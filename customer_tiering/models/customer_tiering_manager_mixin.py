from odoo import api, models
from odoo.exceptions import AccessError

from .res_partner import MANAGER_GROUP


class CustomerTieringManagerMixin(models.AbstractModel):
    """The wizards only Customer Tiering managers may open and apply (points
    adjustments, assignments from the pool): one check of the group, each
    wizard saying in its own words what the user may not do."""

    _name = "customer.tiering.manager.mixin"
    _description = "Customer Tiering Manager Wizard"

    @api.model_create_multi
    def create(self, vals_list):
        self._check_manager()
        return super().create(vals_list)

    def _check_manager(self):
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self._manager_only_message())

    def _manager_only_message(self):
        """What the user who is not a manager may not do, translated: each
        wizard says it in its own words. This general one answers a create
        of the mixin itself, which RPC can call though it has no records."""
        return self.env._("Only Customer Tiering managers can do this.")
