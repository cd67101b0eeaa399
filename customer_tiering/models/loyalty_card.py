from odoo import fields, models


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"

    is_tier_card = fields.Boolean(
        string="Tier Points Card",
        readonly=True,
        copy=False,
        help="The card on which a customer earns points from invoices, one per customer and program.",
    )

    def init(self):
        # One tier card per customer and program, even under concurrent runs;
        # the tier cards written since the last points run, for the expiry.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_card_tier_partner_uniq
                ON loyalty_card (program_id, partner_id) WHERE is_tier_card;
            CREATE INDEX IF NOT EXISTS loyalty_card_tier_write_date_idx
                ON loyalty_card (write_date) WHERE is_tier_card;
            """
        )
        return super().init()
