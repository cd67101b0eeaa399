from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

POINTS_KINDS = [
    ("earn", "Earned"),  # an invoice, or a sale order (``customer.loyalty.ledger._earning_sources``)
    ("refund", "Credit Note"),
    ("void", "Cancellation"),
    ("expire", "Expiry"),
    ("adjust", "Adjustment"),
    ("return", "Credit Note without Invoice"),
]
#: The ledger's columns: only the add-on's own code (SQL, or the superuser) sets them.
LEDGER_FIELDS = ("points_key", "points_kind", "points_date", "points_lot_id", "points_note")

#: What a line does to the points, for people: the one owner of "which entries
#: are redemptions, reversals, expiries". A reversal is a credit note taking
#: back what its invoice earned, or a cancellation taking back an invoice's
#: points (net of what a cancelled credit note gives back); a redemption is
#: Odoo's own entry of a sale order spending points on a reward.
MOVEMENTS = [
    ("issued", "Issued"),
    ("redeemed", "Used (redeemed)"),
    ("reversed", "Reversed"),
    ("expired", "Expired"),
    ("adjusted", "Adjusted"),
]
#: The movement of each entry kind; Odoo's own entries (no kind) are redemptions when they spend points.
KIND_MOVEMENTS = {
    "earn": "issued",
    "refund": "reversed",
    "return": "reversed",
    "void": "reversed",
    "expire": "expired",
    "adjust": "adjusted",
}
#: {figure field: {entry kind (None: Odoo's own entries): (factor of issued, factor of used)}}:
#: the points each line adds to each figure. They add up to the balance:
#: issued + adjusted - redeemed - reversed - expired = sum(issued - used).
MOVEMENT_FIGURES = {
    "points_issued": {"earn": (1, 0), None: (1, 0)},
    "points_redeemed": {None: (0, 1)},
    "points_reversed": {"refund": (-1, 1), "return": (-1, 1), "void": (-1, 1)},
    "points_expired": {"expire": (0, 1)},
    "points_adjusted": {"adjust": (1, -1)},
}


class LoyaltyHistory(models.Model):
    _inherit = "loyalty.history"

    # The nightly expiry sums the entries of the cards it checks: without an
    # index it reads the whole ledger for a day's few thousand cards.
    card_id = fields.Many2one(index=True)
    order_reference = fields.Char(
        string="Document",
        compute="_compute_order_reference",
        help="The invoice, credit note or order of the line.",
    )
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

    points_movement = fields.Selection(
        MOVEMENTS,
        string="Movement",
        compute="_compute_points_movement",
        search="_search_points_movement",
        help="Issued by invoices (or orders), used on rewards, reversed by credit notes and cancellations, "
        "expired, or adjusted by hand.",
    )
    points_day = fields.Date(
        compute="_compute_points_movement",
        search="_search_points_day",
        help="The points' own date: the invoice's for points earned and for what its credit notes take back, "
        "the day of the expiry, the adjustment or the order otherwise.",
    )
    points_issued = fields.Float(
        compute="_compute_points_movement",
        aggregator="sum",
        help="Points earned by invoices or orders.",
    )
    points_redeemed = fields.Float(
        string="Points Used", compute="_compute_points_movement", aggregator="sum", help="Points spent on rewards."
    )
    points_reversed = fields.Float(
        compute="_compute_points_movement",
        aggregator="sum",
        help="Points taken back by credit notes and cancelled invoices, net of what cancelled credit notes gave back.",
    )
    points_expired = fields.Float(
        compute="_compute_points_movement",
        aggregator="sum",
        help="Points that expired unused.",
    )
    points_adjusted = fields.Float(
        compute="_compute_points_movement",
        aggregator="sum",
        help="Points added (or, when negative, taken) by hand.",
    )

    @api.depends("points_kind", "issued", "used", "points_date", "create_date")
    def _compute_points_movement(self):
        for line in self:
            kind = line.points_kind or None
            line.points_movement = KIND_MOVEMENTS.get(kind) or ("redeemed" if line.used > 0 else "issued")
            line.points_day = line.points_date or (line.create_date and line.create_date.date())
            for fname, factors in MOVEMENT_FIGURES.items():
                issued, used = factors.get(kind, (0, 0))
                line[fname] = issued * line.issued + used * line.used

    def _search_points_movement(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise NotImplementedError(self.env._("Unsupported search on the points movement."))
        movements = {value} if isinstance(value, str) or not value else set(value)
        kinds = [kind for kind, movement in KIND_MOVEMENTS.items() if movement in movements]
        domain = [("points_kind", "in", kinds)]
        # Odoo's own entries (no kind): a redemption when they spend points.
        if "redeemed" in movements:
            domain = expression.OR([domain, [("points_kind", "=", False), ("used", ">", 0)]])
        if "issued" in movements:
            domain = expression.OR([domain, [("points_kind", "=", False), ("used", "<=", 0)]])
        return ["!", *domain] if operator in ("!=", "not in") else domain

    def _search_points_day(self, operator, value):
        """The entries dated (``points_date``), or, undated, created in the days asked for."""
        if operator not in ("=", "<", "<=", ">", ">=") or not value:
            raise NotImplementedError(self.env._("Unsupported search on the points day."))
        day = fields.Date.to_date(value)
        next_day = fields.Datetime.to_datetime(fields.Date.add(day, days=1))
        created = {
            "=": [("create_date", ">=", fields.Datetime.to_datetime(day)), ("create_date", "<", next_day)],
            "<": [("create_date", "<", fields.Datetime.to_datetime(day))],
            "<=": [("create_date", "<", next_day)],
            ">": [("create_date", ">=", next_day)],
            ">=": [("create_date", ">=", fields.Datetime.to_datetime(day))],
        }[operator]
        return expression.OR([[("points_date", operator, day)], [("points_date", "=", False), *created]])

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        """The movement, its date and figures in SQL, from the same tables as
        their computation: they group, sum and sort in lists and pivots, and
        the Tier Summary reads them."""
        if fname not in MOVEMENT_FIGURES and fname not in ("points_movement", "points_day"):
            return super()._field_to_sql(alias, fname, query, flush)

        def column(name):
            return super(LoyaltyHistory, self)._field_to_sql(alias, name, query, flush)

        kind = column("points_kind")
        if fname == "points_day":
            return SQL("COALESCE(%s, %s::date)", column("points_date"), column("create_date"))
        if fname == "points_movement":
            cases = SQL(" ").join(
                SQL("WHEN %s = %s THEN %s", kind, entry_kind, movement)
                for entry_kind, movement in KIND_MOVEMENTS.items()
            )
            return SQL("(CASE %s WHEN COALESCE(%s, 0) > 0 THEN 'redeemed' ELSE 'issued' END)", cases, column("used"))
        issued, used = SQL("COALESCE(%s, 0)", column("issued")), SQL("COALESCE(%s, 0)", column("used"))
        cases = SQL(" ").join(
            SQL(
                "WHEN %s THEN %s * %s + %s * %s",
                SQL("%s IS NULL", kind) if entry_kind is None else SQL("%s = %s", kind, entry_kind),
                factor_issued,
                issued,
                factor_used,
                used,
            )
            for entry_kind, (factor_issued, factor_used) in MOVEMENT_FIGURES[fname].items()
        )
        return SQL("(CASE %s ELSE 0 END)::float8", cases)

    @api.depends("order_model", "order_id")
    def _compute_order_reference(self):
        """The name of each line's document, whoever reads the card: a
        salesperson without Invoicing rights reads their customers' cards but
        not every invoice, and Odoo's link to the document would show them
        an access error instead of its number."""
        ids_of = defaultdict(set)
        for line in self:
            if line.order_model in self.env and line.order_id:
                ids_of[line.order_model].add(line.order_id)
        names = {}
        for model, ids in ids_of.items():
            for document in self.env[model].sudo().browse(ids).exists():
                names[model, document.id] = document.display_name
        for line in self:
            line.order_reference = names.get((line.order_model, line.order_id), False)

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
            CREATE INDEX IF NOT EXISTS loyalty_history_points_sale_idx
                ON loyalty_history (order_id) WHERE order_model = 'sale.order' AND points_key IS NOT NULL;
            CREATE INDEX IF NOT EXISTS loyalty_history_expiry_date_idx
                ON loyalty_history ((COALESCE(points_date, create_date::date)));
            CREATE INDEX IF NOT EXISTS loyalty_history_points_created_idx
                ON loyalty_history (create_date) WHERE points_key IS NOT NULL;
            """
        )
        return super().init()

    @api.model
    def _bulk_insert(self, entries):
        """Insert the points entries whose key is new on their card and move
        the cards' balances by exactly those, in one statement. Returns how
        many cards moved. Each entry has ``card_id``, ``description``,
        ``issued``, ``used``, ``order_model`` and ``order_id`` (the document), ``kind``,
        ``key``, ``date``, ``lot_id`` and ``note``.

        Of ``loyalty.history.create`` followed by the card's
        ``write({'points': ...})`` (what Odoo's *Update Balance* does) it
        honours: the stored columns as the ORM writes them, the balance moved
        by issued less used, and the program's *When reaching* communications
        of ``loyalty.card.write``, queued in the same statement for the cards
        whose balance went up across a milestone (``loyalty_no_mail``
        honoured) and sent after the commit.

        It skips, deliberately: the ledger fields' guard of ``create`` (only
        the add-on calls this, as the superuser would); the cards' write date,
        left as it was so that the move is a heap-only update of the card (no
        indexed column changes; the entries carry the date of the move); and
        the tracking message of ``points`` (a chatter message per card and
        move: the card's entries are its history, read on the card and the
        portal)."""
        if not entries:
            return 0
        self.flush_model()
        self.env["loyalty.card"].flush_model(["points"])
        queue = self.env["loyalty.card"]._queue_points_reach_sql("moved")
        self.env.cr.execute(
            SQL(
                """
                WITH inserted AS (
                    INSERT INTO loyalty_history (card_id, description, issued, used, order_model, order_id,
                                                 points_kind, points_key, points_date, points_lot_id, points_note,
                                                 create_uid, create_date, write_uid, write_date)
                    SELECT e.card_id, e.description, e.issued, e.used,
                           CASE WHEN e.order_id IS NOT NULL THEN e.order_model END, e.order_id,
                           e.kind, e.key, e.date, e.lot_id, e.note, %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(cards)s::int[], %(descriptions)s::text[], %(issued)s::float8[],
                                  %(used)s::float8[], %(models)s::varchar[], %(orders)s::int[], %(kinds)s::varchar[],
                                  %(keys)s::varchar[], %(dates)s::date[], %(lots)s::int[], %(notes)s::text[])
                           AS e(card_id, description, issued, used, order_model, order_id, kind, key, date, lot_id,
                                note)
                        ON CONFLICT (card_id, points_key) WHERE points_key IS NOT NULL DO NOTHING
                    RETURNING card_id, issued - used AS delta
                ), moved AS (
                    UPDATE loyalty_card card
                       SET points = card.points + d.delta
                      FROM (SELECT card_id, sum(delta) AS delta FROM inserted GROUP BY card_id) d
                     WHERE card.id = d.card_id
                 RETURNING card.id, card.program_id, card.company_id, card.points - d.delta AS before,
                           card.points AS after
                )%(queue)s
                SELECT (SELECT count(*) FROM moved), %(queued)s
                """,
                cards=[e.card_id for e in entries],
                descriptions=[e.description for e in entries],
                issued=[e.issued for e in entries],
                used=[e.used for e in entries],
                models=[e.order_model for e in entries],
                orders=[e.order_id for e in entries],
                kinds=[e.kind for e in entries],
                keys=[e.key for e in entries],
                dates=[e.date for e in entries],
                lots=[e.lot_id for e in entries],
                notes=[e.note for e in entries],
                uid=self.env.uid,
                now=self.env.cr.now(),
                queue=queue,
                queued=SQL("(SELECT count(*) FROM queued)") if queue else SQL("0"),
            )
        )
        moved, queued = self.env.cr.fetchone()
        if queued:
            self.env["loyalty.card"]._trigger_tier_communications()
        self.env["loyalty.card"].invalidate_model(["points", "history_ids"])
        # computed from the cards' points, which the ORM did not see move
        self.env["res.partner"].invalidate_model(["tier_card_id", "loyalty_points"])
        self.invalidate_model()
        return moved

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
        if self.env.context.get("tiering_keep_points_entries"):
            # sale_loyalty deletes a cancelled order's entries; the ledger's
            # own (the order's earning, in Order confirmed) stay, and its
            # cancellation is a new entry.
            return super(LoyaltyHistory, self.filtered(lambda line: not line.points_key)).unlink()
        self._check_points_ledger()
        return super().unlink()

    def _check_points_ledger(self):
        """Tier points entries are append-only: a correction is a new entry."""
        if not self.env.su and any(self.mapped("points_key")):
            raise UserError(
                self.env._("Points entries cannot be changed or deleted; adjust the balance with a new entry instead.")
            )
