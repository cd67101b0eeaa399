from odoo import models


class CustomerTier(models.Model):
    """Each tier's saved mailing filter follows the tier (mailing.filter)."""

    _name = "customer.tier"
    _inherit = ["customer.tier", "customer.tiering.mailing.filter.synced.mixin"]
