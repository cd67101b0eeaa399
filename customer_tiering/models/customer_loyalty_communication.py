from odoo import fields, models

TRIGGERS = [("create", "At Creation"), ("points_reach", "When Reaching")]


class CustomerLoyaltyCommunication(models.Model):
    """A communication of a tier card's program still to send: recorded by
    the bulk writers in the transaction that creates the card or moves its
    balance, sent and deleted together after that transaction committed
    (``loyalty.card._send_queued_tier_communications``). Committed with the
    move, deleted with the queued mail: a kill or a re-run sends it once."""

    _name = "customer.loyalty.communication"
    _description = "Tier Card Communication To Send"
    _order = "id"
    _log_access = False

    card_id = fields.Many2one("loyalty.card", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", readonly=True)
    trigger = fields.Selection(TRIGGERS, required=True, readonly=True)
    points_before = fields.Float(readonly=True, help="The balance before the move that reached a milestone.")
    points_after = fields.Float(readonly=True, help="The balance after the move that reached a milestone.")
