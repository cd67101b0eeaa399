from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

POINTS_KINDS = [
    ("earn", "Invoice"),
    ("refund", "Credit Note"),
    ("void", "Cancellation"),
    ("expire", "Expiry"),
    ("adjust", "Adjustment"),
    ("return", "Credit Note without Invoice"),
]
#: The ledger's columns: only the add-on's own code (SQL, or the superuser) sets them.
LEDGER_FIELDS = ("points_key", "points_kind", "points_date", "points_lot_id", "points_note")


class LoyaltyHistory(models.Model):
    _inherit = "loyalty.history"

    # The nightly expiry sums the entries of the cards it checks: without an
    # index it reads the whole ledger for a day's few thousand cards.
    card_id = fields.Many2one(index=True)
    points_kind = fields.Selection(POINTS_KINDS, string="Points Entry", readonly=True)
    points_key = fields.Char(
        readonly=True,
        copy=False,
        help="Unique per card: the same document, cancellation, expiry or adjustment is never counted twice.",
    )
    points_date = fields.Date(
        readonly=True,
        help="Date the points were earned, from which they expire; reversals carry the date of what they reverse.",
    )
    points_lot_id = fields.Many2one(
        "loyalty.history",
        string="Reverses Points Of",
        readonly=True,
        index="btree_not_null",
        help="The entry that earned the points this credit note or cancellation takes back.",
    )
    points_note = fields.Text(
        string="Internal Note",
        readonly=True,
        groups="customer_tiering.group_customer_tiering_user",
        help="How the points were computed, or why they were adjusted: for staff, never shown to customers.",
    )

    def init(self):
        # The expiry date index serves the nightly expiry's look-up of a few
        # days' entries; without card_id, no join by card can pick it. The
        # creation date index, its look-up of the cards with new entries.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_history_points_key_uniq
                ON loyalty_history (card_id, points_key) WHERE points_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS loyalty_history_points_move_idx
                ON loyalty_history (order_id) WHERE order_model = 'account.move' AND points_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS loyalty_history_expiry_date_idx
                ON loyalty_history ((COALESCE(points_date, create_date::date)));
            CREATE INDEX IF NOT EXISTS loyalty_history_points_created_idx
                ON loyalty_history (create_date) WHERE points_key IS NOT NULL;
            """
        )
        return super().init()

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(vals.get(field) for vals in vals_list for field in LEDGER_FIELDS):
            raise AccessError(
                self.env._(
                    "Points entries are written by Customer Tiering only: a loyalty history line cannot be created "
                    "with a points key, kind, date, reversed entry or note, as a forged entry could make an invoice "
                    "earn its points twice or never."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and vals.keys() & set(LEDGER_FIELDS):
            raise AccessError(
                self.env._(
                    "The points key, kind, date, reversed entry and note of a loyalty history line are set by "
                    "Customer Tiering only and cannot be changed: the points ledger relies on them to count each "
                    "invoice once."
                )
            )
        self._check_points_ledger()
        return super().write(vals)

    def unlink(self):
        self._check_points_ledger()
        return super().unlink()

    def _check_points_ledger(self):
        """Tier points entries are append-only: a correction is a new entry."""
        if not self.env.su and any(self.mapped("points_key")):
            raise UserError(
                self.env._("Points entries cannot be changed or deleted; adjust the balance with a new entry instead.")
            )
