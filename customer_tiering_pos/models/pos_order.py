import pytz

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

#: The states of the orders that are sales: paid, and posted with their
#: session. An invoiced order ("invoiced", with its ``account_move``) is
#: counted through its invoice.
SALE_STATES = ("paid", "done")
SALES_INDEX = "pos_order_customer_sales_idx"
WRITE_DATE_INDEX = "pos_order_customer_write_date_idx"
#: The add-on's indexes on pos_order, dropped by its uninstall.
FOREIGN_INDEXES = (SALES_INDEX, WRITE_DATE_INDEX)
#: The columns the add-on adds to pos_order, with their SQL types.
SALES_COLUMNS = {"commercial_partner_id": "int4", "customer_sale_date": "date"}
#: Marks an entry of pos_loyalty's coupon data already keyed by its tier card.
TIER_ENTRY = "customer_tiering_tier_card"


def pos_sales(order=None):
    """The condition that makes the ``pos_order`` row ``order`` (an alias,
    none for an index's predicate) a sale of its own: paid or posted, not
    invoiced. The predicate of the sales index, which the view's POS
    source repeats, as this very text, to use it."""

    def column(name):
        return SQL.identifier(order, name) if order else SQL.identifier(name)

    return SQL("(%s IN %s AND %s IS NULL)", column("state"), SALE_STATES, column("account_move"))


class PosOrder(models.Model):
    _inherit = "pos.order"

    commercial_partner_id = fields.Many2one(
        "res.partner",
        string="Commercial Entity",
        related="partner_id.commercial_partner_id",
        store=True,
        index="btree_not_null",
    )
    customer_sale_date = fields.Date(
        string="Sale Date",
        compute="_compute_customer_sale_date",
        store=True,
        compute_sudo=True,
        help="The day of the order at the till: its date in the time zone of the employee who took it "
        "(UTC without one), the day Odoo gives the order's invoice when it is invoiced at the till.",
    )

    @api.depends("date_order", "user_id")
    def _compute_customer_sale_date(self):
        # Not on user_id.tz: the day an order was made does not move when its
        # cashier later changes time zone, and a store would rewrite every
        # order of that cashier.
        for order in self:
            order.customer_sale_date = order.date_order and _local_day(order.date_order, order.user_id.tz)

    def _auto_init(self):
        """The two columns, filled by one UPDATE each on install
        (``_fill_sales_columns``), not by the ORM's order by order
        recompute: a shop may have millions of orders."""
        cr = self.env.cr
        new = [name for name in SALES_COLUMNS if not column_exists(cr, self._table, name)]
        for name in new:
            create_column(cr, self._table, name, SALES_COLUMNS[name])
        self._fill_sales_columns(new)
        return super()._auto_init()

    def _fill_sales_columns(self, names):
        """Compute the columns ``names`` of SALES_COLUMNS of every order in SQL."""
        cr = self.env.cr
        if "commercial_partner_id" in names:
            cr.execute(
                SQL(
                    """
                    UPDATE pos_order o SET commercial_partner_id = p.commercial_partner_id
                      FROM res_partner p
                     WHERE p.id = o.partner_id
                    """
                )
            )
        if "customer_sale_date" in names:
            # _local_day in SQL: the cashier's time zone, UTC for none or one PostgreSQL does not know.
            cr.execute(
                SQL(
                    """
                    UPDATE pos_order o
                       SET customer_sale_date = (o.date_order AT TIME ZONE 'UTC' AT TIME ZONE cashier.zone)::date
                      FROM (SELECT u.id, COALESCE(zone.name, 'UTC') AS zone
                              FROM res_users u
                              JOIN res_partner p ON p.id = u.partner_id
                              LEFT JOIN pg_timezone_names zone ON zone.name = p.tz) cashier
                     WHERE cashier.id = o.user_id;
                    UPDATE pos_order SET customer_sale_date = date_order::date
                     WHERE user_id IS NULL AND date_order IS NOT NULL;
                    """
                )
            )

    def init(self):
        # The nightly run reads every customer's orders, or a few customers',
        # from the sales index alone (an index-only scan in its grouping
        # order, as customer_tiering's account_move_customer_sales_idx): it
        # holds what the view's POS source reads, the predicate being its
        # condition. The incremental run looks up the orders of customers
        # written since the last run: an anonymous order is nobody's sale.
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS %(sales_index)s
                    ON pos_order (commercial_partner_id, customer_sale_date)
                    INCLUDE (company_id, amount_total, amount_tax, currency_rate)
                    WHERE %(sales)s;
                CREATE INDEX IF NOT EXISTS %(write_date_index)s
                    ON pos_order (write_date) WHERE commercial_partner_id IS NOT NULL;
                """,
                sales_index=SQL.identifier(SALES_INDEX),
                write_date_index=SQL.identifier(WRITE_DATE_INDEX),
                sales=pos_sales(),
            )
        )
        return super().init()

    # ------------------------------------------------------------ points earned at the till
    def action_pos_order_paid(self):
        """Odoo's, then the paid order earns its points, or a refund order
        takes back its share (``customer.loyalty.ledger._read_pos``): in
        every *Earn Points When* mode, a till sale being paid at once. The
        order a refund refunds is counted first if it was missed."""
        res = super().action_pos_order_paid()
        self.env["customer.loyalty.ledger"].sudo()._award_source("pos", self.refunded_order_id | self)
        return res

    def action_pos_order_cancel(self):
        """Odoo's, then a cancelled order that held points gives them back."""
        res = super().action_pos_order_cancel()
        self.env["customer.loyalty.ledger"].sudo()._void_source("pos", self.filtered(lambda o: o.state == "cancel"))
        return res

    # ------------------------------------------------------------ tier card at the till
    def confirm_coupon_programs(self, coupon_data):
        """pos_loyalty's, with the points of a tiering points program on the
        tier card of the customer's commercial entity in that program: the
        till looks cards up by the selected contact, and pos_loyalty would
        give a contact of a company customer a second, empty card of its own
        (``_tier_coupon_data``). The card the till held stays the one the
        payload names (``old_id``), so that the till swaps it for the real
        card and its history lines land on it."""
        self.ensure_one()
        coupon_data, client_ids = self._tier_coupon_data({int(key): vals for key, vals in coupon_data.items()})
        result = super().confirm_coupon_programs(coupon_data)
        for update in result.get("coupon_updates", []):
            update["old_id"] = client_ids.get(update["id"], update["old_id"])
        return result

    def _tier_coupon_data(self, coupon_data):
        """``coupon_data`` (pos_loyalty's {card id or negative id: values})
        with each entry of a tiering points program keyed by the tier card of
        the order's customer's commercial entity in that program, created by
        the points ledger if missing, never a second one; and {tier card id:
        the id the till gave it}. Entries of one card are added up; an entry
        of no customer names no card and is dropped."""
        configs = (
            self.env["customer.tiering.config"]
            .sudo()
            .search([("loyalty_program_id", "in", list({vals["program_id"] for vals in coupon_data.values()}))])
        )
        programs = {config.loyalty_program_id.id: config.loyalty_program_id for config in configs}
        if not programs:
            return coupon_data, {}
        entity = self.partner_id.commercial_partner_id
        ledger = self.env["customer.loyalty.ledger"].sudo()
        merged, client_ids = {}, {}
        for key, vals in coupon_data.items():
            program = programs.get(vals["program_id"])
            if not program:
                merged[key] = vals
                continue
            owner = entity or self.env["res.partner"].browse(vals.get("partner_id")).exists().commercial_partner_id
            if not owner:
                continue
            card_id = ledger._tier_cards(program, [owner.id])[owner.id]
            vals = {**vals, "coupon_id": card_id, "partner_id": owner.id, TIER_ENTRY: True}
            if card_id in merged:
                # The till held the card twice (its own and the entity's): one update.
                kept = merged[card_id]
                kept["points"] = kept.get("points", 0) + vals.get("points", 0)
                kept["line_codes"] = kept.get("line_codes", []) + vals.get("line_codes", [])
            else:
                merged[card_id] = vals
            if key != card_id and (card_id not in client_ids or key < 0):
                client_ids[card_id] = key
        return merged, client_ids

    def _check_existing_loyalty_cards(self, coupon_data):
        # pos_loyalty's looks cards up by partner and takes the first: for a
        # tier entry, already keyed by its tier card, it could take another.
        tier = {key: vals for key, vals in coupon_data.items() if vals.get(TIER_ENTRY)}
        for key in tier:
            del coupon_data[key]
        res = super()._check_existing_loyalty_cards(coupon_data)
        coupon_data.update(tier)
        return res


def _local_day(moment, tz_name):
    """The day of the UTC datetime ``moment`` in the time zone ``tz_name``
    (UTC for none, or an unknown one)."""
    try:
        zone = pytz.timezone(tz_name or "UTC")
    except pytz.UnknownTimeZoneError:
        zone = pytz.utc
    return pytz.utc.localize(moment).astimezone(zone).date()
