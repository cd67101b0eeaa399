from odoo import models


class CustomerRfmSegment(models.Model):
    """Each RFM segment's saved mailing filter follows the segment (mailing.filter)."""

    _name = "customer.rfm.segment"
    _inherit = ["customer.rfm.segment", "customer.tiering.mailing.filter.synced.mixin"]
