from odoo import models


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _merge_loyalty_cards(self, src_partners, dst_partner):
        """Tier cards first: one card keeps every ledger entry of the merged customers."""
        self.env["customer.loyalty.ledger"].sudo()._merge_tier_cards(src_partners, dst_partner)
        return super()._merge_loyalty_cards(src_partners, dst_partner)
