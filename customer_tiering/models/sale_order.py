from odoo import models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def init(self):
        # The incremental tiering run looks up the orders written since the last run.
        self.env.cr.execute("CREATE INDEX IF NOT EXISTS sale_order_write_date_idx ON sale_order (write_date)")
        return super().init()

    def _update_programs_and_rewards(self):
        """Offer the customer's tier points, earned on invoices, like an eWallet:
        the card is applied to the order so its rewards can be claimed."""
        self._apply_tier_card()
        return super()._update_programs_and_rewards()

    def _apply_tier_card(self):
        self.ensure_one()
        entity = self.partner_id.commercial_partner_id
        # Another customer's card (the order's customer changed) no longer applies.
        self.applied_coupon_ids -= self.applied_coupon_ids.filtered(
            lambda card: card.is_tier_card and card.partner_id != entity
        )
        config = self.env["customer.tiering.config"].sudo()._for_companies(self.company_id)
        if not config.loyalty_program_id:
            return
        card = (
            self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "=", config.loyalty_program_id.id),
                    ("partner_id", "=", entity.id),
                    ("is_tier_card", "=", True),
                    ("points", ">", 0),
                ],
                limit=1,
            )
        )
        if card and card not in self.applied_coupon_ids:
            self.applied_coupon_ids += card
