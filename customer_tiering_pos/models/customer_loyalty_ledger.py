from odoo import api, models
from odoo.tools import SQL

from odoo.addons.customer_tiering.models.customer_loyalty_ledger import Document, EarningSource, _ratio
from odoo.addons.customer_tiering.sql import company_value

from .pos_order import SALE_STATES

#: The states of an order that holds its points: paid, posted with its
#: session, or invoiced (its invoice then earns nothing for it).
EARNING_STATES = (*SALE_STATES, "invoiced")
#: A till sale is paid at once: it earns in every *Earn Points When* mode.
POS_MODES = ("posted", "paid", "confirmed")


class CustomerLoyaltyLedger(models.AbstractModel):
    """Point of sale orders as a source of points (``_earning_sources``): a
    paid order earns once, keyed ``pos:<order>:<n>``, with its customer's
    commercial entity's tier multiplier; a refund order (an order of lines
    refunded from another) takes back its share of that order's earning.
    An order invoiced later keeps its earning, and its invoice earns
    nothing for its lines (``billed``); a credit note of that invoice takes
    back from the order's earning."""

    _inherit = "customer.loyalty.ledger"

    @api.model
    def _earning_sources(self):
        sources = super()._earning_sources()
        pos = EarningSource(
            "pos",
            "pos.order",
            "pos",
            "pos-void",
            POS_MODES,
            # The lines of the order's invoice, and of the credit notes of that
            # invoice made in Accounting (a refund order's invoice bills the
            # refund order).
            billed=SQL(
                """
                SELECT l.id AS line_id, o.id AS document_id
                  FROM pos_order o JOIN account_move_line l ON l.move_id = o.account_move
                 UNION ALL
                SELECT l.id AS line_id, o.id AS document_id
                  FROM pos_order o
                  JOIN account_move r ON r.reversed_entry_id = o.account_move AND r.move_type = 'out_refund'
                  JOIN account_move_line l ON l.move_id = r.id
                 WHERE NOT EXISTS (SELECT 1 FROM pos_order x WHERE x.account_move = r.id)
                """
            ),
            flush=("pos.order", "pos.order.line"),
        )
        # Before the invoices, which see whether the orders they bill earned.
        position = next((i for i, source in enumerate(sources) if source.name == "invoice"), len(sources))
        return [*sources[:position], pos, *sources[position:]]

    # ------------------------------------------------------------ point of sale orders
    def _pos_amounts(self, excluded):
        """The untaxed amount of the order ``o``, less its lines of the
        products that earn no points, in its currency (``x.amount``;
        negative for a refund)."""
        return SQL(
            """(SELECT (o.amount_total - o.amount_tax) - COALESCE(sum(l.price_subtotal), 0.0) AS amount
                  FROM pos_order_line l
                 WHERE l.order_id = o.id AND %s)""",
            self._excluded_condition(SQL("l.product_id"), SQL("o.company_id"), excluded),
        )

    def _pos_currency(self, order):
        """The currency of the order ``order`` (an alias), as Odoo's
        ``pos.config._compute_currency`` gives it: its sales journal's, or
        its company's."""
        return SQL(
            """(SELECT COALESCE(j.currency_id, c.currency_id)
                  FROM pos_config config
                  JOIN res_company c ON c.id = config.company_id
                  LEFT JOIN account_journal j ON j.id = config.journal_id
                 WHERE config.id = %s.config_id)""",
            SQL.identifier(order),
        )

    def _flush_pos(self):
        self.env["pos.order"].flush_model()
        self.env["pos.order.line"].flush_model()
        self.env["account.move"].flush_model()
        self.env["account.move.line"].flush_model()
        self.env["loyalty.history"].flush_model()

    def _amounts_pos(self, order_ids, excluded):
        """{order id: (amount, currency id, company amount)}: what the order
        earns on, less its excluded lines."""
        if not order_ids:
            return {}
        self._flush_pos()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT o.id, abs(x.amount), %(currency)s, abs(x.amount) / COALESCE(NULLIF(o.currency_rate, 0), 1.0)
                  FROM pos_order o CROSS JOIN LATERAL %(amounts)s x
                 WHERE o.id = ANY(%(ids)s)
                """,
                ids=list(order_ids),
                amounts=self._pos_amounts(excluded),
                currency=self._pos_currency("o"),
            )
        )
        return {order_id: (amount, currency_id, company) for order_id, amount, currency_id, company in rows}

    def _pos_origin(self, order):
        """The order whose lines the order ``order`` (an alias) refunds (the
        first, as ``pos.order.refunded_order_id`` gives one), or NULL."""
        return SQL(
            """(SELECT min(refunded.order_id) FROM pos_order_line l
                  JOIN pos_order_line refunded ON refunded.id = l.refunded_orderline_id
                 WHERE l.order_id = %s.id)""",
            SQL.identifier(order),
        )

    def _read_pos(self, order_ids, configs):
        """The paid (posted, invoiced) point of sale orders among
        ``order_ids`` that hold points now: of a customer, in a company with
        a points program, dated (by their day at the till) from the start
        date, and billed by no invoice that earned (the switch rule: an
        order invoiced and counted through its invoice before it earned).
        Their amount is untaxed, in company currency (at the order's rate),
        less the lines of excluded products. An order giving money back (a
        total below zero, as Odoo invoices it as a credit note) takes back:
        of the order it refunds, its share, counted when that order counts."""
        self._flush_pos()
        self.env["res.partner"].flush_model(["tier_id", "commercial_partner_id"])
        self.env["customer.tiering.config"].flush_model()
        source = self._source("pos")
        excluded = self._excluded_pairs(configs)
        counted = SQL(
            """EXISTS (SELECT 1 FROM loyalty_history counted
                        WHERE counted.order_model = 'pos.order' AND counted.order_id = origin.id
                          AND counted.points_key IS NOT NULL)"""
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT o.id, o.name, o.amount_total < 0, o.company_id, entity.id,
                       o.customer_sale_date, abs(x.amount), abs(x.amount) / COALESCE(NULLIF(o.currency_rate, 0), 1.0),
                       %(currency)s, origin.id, abs(ox.amount),
                       abs(ox.amount) / COALESCE(NULLIF(origin.currency_rate, 0), 1.0), %(origin_currency)s,
                       tier.code, COALESCE(tier.points_multiplier, 1.0)
                  FROM pos_order o
                  JOIN customer_tiering_config config
                    ON config.company_id = o.company_id AND config.loyalty_program_id IS NOT NULL
                   AND config.points_earn_on IN %(modes)s
                  JOIN res_partner entity ON entity.id = o.commercial_partner_id
                  LEFT JOIN customer_tier tier ON tier.id = %(tier)s
                  LEFT JOIN pos_order origin ON o.amount_total < 0 AND origin.id = %(origin)s
                                            AND origin.state IN %(states)s
                  CROSS JOIN LATERAL %(amounts)s x
                  LEFT JOIN LATERAL %(origin_amounts)s ox ON origin.id IS NOT NULL
                 WHERE o.id = ANY(%(ids)s) AND o.state IN %(states)s AND o.amount_total <> 0
                   AND (CASE WHEN origin.id IS NOT NULL
                             THEN origin.customer_sale_date >= config.points_start_date OR %(counted)s
                             ELSE o.customer_sale_date >= config.points_start_date END)
                   AND NOT %(invoiced)s
                 ORDER BY o.id
                """,
                ids=list(order_ids),
                modes=source.modes,
                states=EARNING_STATES,
                tier=company_value("entity", "tier_id", SQL("o.company_id"), "int"),
                origin=self._pos_origin("o"),
                currency=self._pos_currency("o"),
                origin_currency=self._pos_currency("origin"),
                amounts=self._pos_amounts(excluded),
                origin_amounts=SQL(
                    "(SELECT (origin.amount_total - origin.amount_tax) - COALESCE(sum(l.price_subtotal), 0.0) "
                    "AS amount FROM pos_order_line l WHERE l.order_id = origin.id AND %s)",
                    self._excluded_condition(SQL("l.product_id"), SQL("origin.company_id"), excluded),
                ),
                counted=counted,
                invoiced=self._invoices_earned(source, SQL("o.id")),
            )
        )
        documents = []
        for row in rows:
            order_id, name, refund, company_id, partner_id, day, amount, company_amount, currency_id = row[:9]
            origin_id, origin_amount, origin_company_amount, origin_currency_id, tier, multiplier = row[9:]
            share = None
            if origin_id:
                share = (
                    _ratio(amount, origin_amount)
                    if currency_id == origin_currency_id
                    else _ratio(company_amount, origin_company_amount)
                )
            documents.append(
                Document(
                    order_id,
                    name,
                    "out_refund" if refund else "out_invoice",
                    company_id,
                    partner_id,
                    day,
                    company_amount,
                    origin_id,
                    share,
                    tier,
                    multiplier,
                    model="pos.order",
                    key=source.earn_key,
                )
            )
        return documents

    def _catch_up_pos(self, config, full):
        """[(order id, holds)]: the paid orders of a customer that hold
        points and are not counted, and the counted orders no longer paid
        (cancelled), of those written since the last look. A refund order
        takes back from the order it refunds whatever its date."""
        self._flush_pos()
        return self._catch_up_orders(
            config,
            full,
            self._source("pos"),
            columns=SQL("id, state, commercial_partner_id, customer_sale_date, amount_total"),
            holds=SQL("o.state IN %s", EARNING_STATES),
            earnable=SQL(
                "o.amount_total <> 0 AND (o.customer_sale_date >= %s OR o.amount_total < 0)", config.points_start_date
            ),
            partner=SQL("o.commercial_partner_id"),
            scope=SQL("o.commercial_partner_id IS NOT NULL"),
        )

    def _labels_pos(self):
        return (
            self.env._("Point of Sale order %(document)s"),
            self.env._("%(amount)s × %(rate)s × %(multiplier)s (tier %(tier)s)"),
        )

    # ------------------------------------------------------------ refund orders' descriptions
    def _refund_entry(self, doc, config, origin, lots, share):
        return self._as_refund_order(doc, super()._refund_entry(doc, config, origin, lots, share))

    def _return_entry(self, doc, config, card_id, card):
        return self._as_refund_order(doc, super()._return_entry(doc, config, card_id, card))

    def _as_refund_order(self, doc, entry):
        """A refund order's entry is of the order, described as a refund, not
        as a credit note."""
        if entry is None or doc.model != "pos.order":
            return entry
        entry.order_model = doc.model
        credit_note = self.env._("Credit note %(document)s", document=doc.name)
        if entry.description.startswith(credit_note):
            refund = self.env._("Point of Sale refund %(document)s", document=doc.name)
            entry.description = refund + entry.description[len(credit_note) :]
        return entry
