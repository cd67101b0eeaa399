import threading
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round, split_every

DOCUMENT_TYPES = ("out_invoice", "out_refund")
CHUNK = 10000


@dataclass
class Entry:
    """One row of the points ledger, before it is inserted."""

    card_id: int
    description: str
    key: str
    kind: str
    date: object
    issued: float = 0.0
    used: float = 0.0
    order_id: int | None = None


@dataclass
class DocumentState:
    """What the ledger already holds for one invoice or credit note.

    Each posting opens a cycle that a cancellation or reset to draft closes,
    so a document re-posted after a correction earns again, exactly once.
    """

    cycle: int = 0
    entry: object = None  # the loyalty.history row of the open cycle

    @property
    def is_open(self):
        return bool(self.entry)


class CustomerLoyaltyLedger(models.AbstractModel):
    """Tier points on Odoo's own loyalty cards, as append-only, idempotent entries.

    Every entry has a key unique per card (backed by a unique index): posting,
    cancelling, expiring or adjusting twice, or in two transactions at once,
    inserts it once, and the card's balance moves only by what was inserted.
    """

    _name = "customer.loyalty.ledger"
    _description = "Customer Loyalty Points Ledger"

    # ------------------------------------------------------------ documents
    @api.model
    def _award_documents(self, moves):
        """Earn (invoices) or reverse (credit notes) points for posted documents not counted yet.

        Invoices go first, so that a credit note counted with its invoice
        reverses what that invoice earned.
        """
        moves = moves.filtered(lambda m: m.state == "posted" and m.move_type in DOCUMENT_TYPES)
        configs = self._configs(moves.company_id)
        moves = moves.filtered(
            lambda m: m.company_id in configs and m.invoice_date >= configs[m.company_id].points_start_date
        )
        for move_type in DOCUMENT_TYPES:
            self._award(moves.filtered(lambda m, t=move_type: m.move_type == t), configs)

    def _award(self, moves, configs):
        if not moves:
            return
        states = self._document_states(moves | moves.reversed_entry_id)
        pending = moves.filtered(lambda m: not states[m.id].is_open)
        cards = self._cards_by_move(pending, configs)
        entries = []
        for move in pending:
            config = configs[move.company_id]
            if move.move_type == "out_invoice":
                entry = self._earn_entry(move, config, cards[move.id])
            else:
                entry = self._refund_entry(move, config, cards[move.id], states[move.reversed_entry_id.id])
            if entry.issued or entry.used:
                entry.key = f"post:{move.id}:{states[move.id].cycle}"
                entries.append(entry)
        self._insert(entries)

    @api.model
    def _void_documents(self, moves):
        """Reverse exactly what cancelled or reset documents earned or reversed."""
        states = self._document_states(moves)
        entries = []
        for move in moves:
            state = states[move.id]
            if not state.is_open:
                continue
            posted = state.entry
            entries.append(
                Entry(
                    card_id=posted.card_id.id,
                    description=self.env._("%(document)s cancelled or reset to draft", document=move.name),
                    key=f"void:{move.id}:{state.cycle}",
                    kind="void",
                    date=posted.points_date,
                    issued=posted.used,
                    used=posted.issued,
                    order_id=move.id,
                )
            )
        self._insert(entries)

    def _earn_entry(self, move, config, card_id):
        tier = move.commercial_partner_id.with_company(move.company_id).tier_id
        multiplier = tier.points_multiplier or 1.0
        amount = abs(move.amount_untaxed_signed)
        return Entry(
            card_id=card_id,
            description=self.env._(
                "Invoice %(document)s: %(amount)s × %(rate)s × %(multiplier)s (tier %(tier)s)",
                document=move.name,
                amount=amount,
                rate=config.points_per_currency,
                multiplier=multiplier,
                tier=tier.code or "-",
            ),
            key="",
            kind="earn",
            date=move.invoice_date,
            issued=_round_down(amount * config.points_per_currency * multiplier, config.points_rounding),
            order_id=move.id,
        )

    def _refund_entry(self, move, config, card_id, origin):
        """A credit note takes back the share of its invoice's points that it
        reverses; without a counted invoice, what the same amount would earn."""
        amount = abs(move.amount_untaxed_signed)
        origin_amount = abs(move.reversed_entry_id.amount_untaxed_signed)
        if origin.is_open and origin_amount:
            earned = origin.entry.issued
            points = min(earned, _round_down(earned * amount / origin_amount, config.points_rounding))
            card_id, date = origin.entry.card_id.id, origin.entry.points_date
        else:
            points = self._earn_entry(move, config, card_id).issued
            date = move.invoice_date
        return Entry(
            card_id=card_id,
            description=self.env._("Credit note %(document)s", document=move.name),
            key="",
            kind="refund",
            date=date,
            used=points,
            order_id=move.id,
        )

    def _document_states(self, moves):
        """The open cycle of each document, from one grouped query."""
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT order_id,
                       count(*) FILTER (WHERE points_kind = 'void'),
                       count(*) FILTER (WHERE points_kind <> 'void'),
                       max(id) FILTER (WHERE points_kind <> 'void')
                  FROM loyalty_history
                 WHERE order_model = 'account.move' AND order_id = ANY(%s) AND points_key IS NOT NULL
                 GROUP BY order_id
                """,
                moves.ids,
            )
        )
        History = self.env["loyalty.history"].sudo()
        states = {move_id: DocumentState() for move_id in moves.ids}
        states[False] = DocumentState()  # a credit note without its invoice
        for move_id, voids, posts, last_post in rows:
            entry = History.browse(last_post) if posts > voids else None
            states[move_id] = DocumentState(cycle=voids, entry=entry)
        return states

    # ------------------------------------------------------------ cards
    @api.model
    def _configs(self, companies):
        configs = self.env["customer.tiering.config"].sudo()._for_companies(companies)
        return {config.company_id: config for config in configs if config.loyalty_program_id}

    def _cards_by_move(self, moves, configs):
        cards = {}
        for company in moves.company_id:
            company_moves = moves.filtered(lambda m, c=company: m.company_id == c)
            program = configs[company].loyalty_program_id
            by_partner = self._tier_cards(program, company_moves.commercial_partner_id)
            cards.update({move.id: by_partner[move.commercial_partner_id.id] for move in company_moves})
        return cards

    @api.model
    def _tier_cards(self, program, partners):
        """The tier card of each partner in ``program``, created if missing:
        {partner id: card id}. The unique index makes a concurrent creation
        of the same card fail rather than duplicate it."""
        Card = self.env["loyalty.card"]
        Card.flush_model()
        existing = dict(self._card_rows(program, partners))
        missing = [partner_id for partner_id in partners.ids if partner_id not in existing]
        if missing:
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO loyalty_card (program_id, company_id, partner_id, code, points, active,
                                              is_tier_card, create_uid, create_date, write_uid, write_date)
                    SELECT %(program)s, %(company)s, t.partner_id, t.code, 0, TRUE, TRUE,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(partners)s::int[], %(codes)s::varchar[]) AS t(partner_id, code)
                        ON CONFLICT (program_id, partner_id) WHERE is_tier_card DO NOTHING
                    """,
                    program=program.id,
                    company=program.company_id.id,
                    partners=missing,
                    codes=[Card._generate_code() for _partner in missing],
                    uid=self.env.uid,
                    now=self.env.cr.now(),
                )
            )
            existing.update(self._card_rows(program, partners.browse(missing)))
        return existing

    def _card_rows(self, program, partners):
        return self.env.execute_query(
            SQL(
                """
                SELECT partner_id, id FROM loyalty_card
                 WHERE program_id = %s AND is_tier_card AND partner_id = ANY(%s)
                """,
                program.id,
                partners.ids,
            )
        )

    # ------------------------------------------------------------ ledger
    def _insert(self, entries):
        """Insert the entries whose key is new and move the card balances by
        exactly those, in one statement. Returns how many cards moved."""
        if not entries:
            return 0
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model(["points"])
        self.env.cr.execute(
            SQL(
                """
                WITH inserted AS (
                    INSERT INTO loyalty_history (card_id, description, issued, used, order_model, order_id,
                                                 points_kind, points_key, points_date,
                                                 create_uid, create_date, write_uid, write_date)
                    SELECT e.card_id, e.description, e.issued, e.used,
                           CASE WHEN e.order_id IS NOT NULL THEN 'account.move' END, e.order_id,
                           e.kind, e.key, e.date, %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(cards)s::int[], %(descriptions)s::text[], %(issued)s::float8[],
                                  %(used)s::float8[], %(orders)s::int[], %(kinds)s::varchar[],
                                  %(keys)s::varchar[], %(dates)s::date[])
                           AS e(card_id, description, issued, used, order_id, kind, key, date)
                        ON CONFLICT (card_id, points_key) WHERE points_key IS NOT NULL DO NOTHING
                    RETURNING card_id, issued - used AS delta
                )
                UPDATE loyalty_card card
                   SET points = card.points + d.delta, write_uid = %(uid)s, write_date = %(now)s
                  FROM (SELECT card_id, sum(delta) AS delta FROM inserted GROUP BY card_id) d
                 WHERE card.id = d.card_id
             RETURNING card.id
                """,
                cards=[e.card_id for e in entries],
                descriptions=[e.description for e in entries],
                issued=[e.issued for e in entries],
                used=[e.used for e in entries],
                orders=[e.order_id for e in entries],
                kinds=[e.kind for e in entries],
                keys=[e.key for e in entries],
                dates=[e.date for e in entries],
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        moved = self.env.cr.rowcount
        self.env["loyalty.card"].invalidate_model(["points", "history_ids"])
        self.env["loyalty.history"].invalidate_model()
        return moved

    # ------------------------------------------------------------ nightly
    @api.model
    def _cron_loyalty(self):
        today = fields.Date.context_today(self)
        for config in self._configs(self.env["res.company"].search([])).values():  # pylint: disable=no-search-all
            ledger = self.with_company(config.company_id)
            ledger._catch_up(config)
            ledger._expire(config, today)

    def _catch_up(self, config):
        """Award posted documents that were missed, and void those no longer posted."""
        self.env["account.move"].flush_model(["state", "invoice_date", "move_type", "company_id"])
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT m.id, m.state = 'posted'
                  FROM account_move m
                  LEFT JOIN (SELECT order_id,
                                    count(*) FILTER (WHERE points_kind <> 'void')
                                    - count(*) FILTER (WHERE points_kind = 'void') AS open
                               FROM loyalty_history
                              WHERE order_model = 'account.move' AND points_key IS NOT NULL
                              GROUP BY order_id) h ON h.order_id = m.id
                 WHERE m.company_id = %(company)s AND m.move_type IN %(types)s
                   AND ((m.state = 'posted' AND m.invoice_date >= %(start)s AND COALESCE(h.open, 0) = 0
                         AND m.amount_untaxed_signed <> 0)
                        OR (m.state <> 'posted' AND h.open > 0))
                 ORDER BY m.id
                """,
                company=config.company_id.id,
                types=DOCUMENT_TYPES,
                start=config.points_start_date,
            )
        )
        Move = self.env["account.move"].sudo()
        for chunk in split_every(CHUNK, rows):
            self._void_documents(Move.browse([move_id for move_id, posted in chunk if not posted]))
            self._award_documents(Move.browse([move_id for move_id, posted in chunk if posted]))
            self._commit_chunk()

    def _expire(self, config, today):
        """Expire, first earned first expired, what the balance holds beyond
        the points earned inside the expiry window."""
        if not config.points_expiry_months:
            return
        cutoff = today - relativedelta(months=config.points_expiry_months)
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model(["points"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT card.id, round((card.points - GREATEST(COALESCE(sum(
                           CASE WHEN h.points_kind IN ('refund', 'void') THEN h.issued - h.used
                                WHEN h.points_kind = 'expire' THEN 0
                                ELSE h.issued END), 0), 0))::numeric, 2)::float8 AS excess
                  FROM loyalty_card card
                  LEFT JOIN loyalty_history h
                         ON h.card_id = card.id AND COALESCE(h.points_date, h.create_date::date) > %(cutoff)s
                 WHERE card.program_id = %(program)s AND card.is_tier_card AND card.points > 0
                 GROUP BY card.id
                HAVING round((card.points - GREATEST(COALESCE(sum(
                           CASE WHEN h.points_kind IN ('refund', 'void') THEN h.issued - h.used
                                WHEN h.points_kind = 'expire' THEN 0
                                ELSE h.issued END), 0), 0))::numeric, 2) > 0
                """,
                cutoff=cutoff,
                program=config.loyalty_program_id.id,
            )
        )
        description = self.env._("Points earned up to %(date)s expired", date=cutoff)
        entries = [
            Entry(card_id, description, key=f"expire:{today}", kind="expire", date=today, used=excess)
            for card_id, excess in rows
        ]
        for chunk in split_every(CHUNK, entries, list):
            self._insert(chunk)
            self._commit_chunk()

    def _commit_chunk(self):
        # Each chunk is consistent on its own: committing bounds what a crash loses.
        if not getattr(threading.current_thread(), "testing", False):
            self.env.cr.commit()  # pylint: disable=invalid-commit

    # ------------------------------------------------------------ adjustments
    @api.model
    def _adjust(self, partner, points, reason, key):
        """Add (or take) ``points`` on the partner's tier card; never below zero."""
        config = self._configs(self.env.company).get(self.env.company)
        if not config:
            raise UserError(
                self.env._("No points program is set in the tiering settings of %s.", self.env.company.name)
            )
        entity = partner.commercial_partner_id
        card_id = self._tier_cards(config.loyalty_program_id, entity)[entity.id]
        balance = self.env.execute_query(SQL("SELECT points FROM loyalty_card WHERE id = %s FOR UPDATE", card_id))[0][0]
        if balance + points < 0:
            raise UserError(
                self.env._(
                    "%(partner)s has %(balance)s points: taking %(points)s would make the balance negative.",
                    partner=entity.display_name,
                    balance=balance,
                    points=-points,
                )
            )
        inserted = self._insert(
            [
                Entry(
                    card_id,
                    reason,
                    key=key,
                    kind="adjust",
                    date=fields.Date.context_today(self),
                    issued=max(points, 0.0),
                    used=max(-points, 0.0),
                )
            ]
        )
        if inserted:
            entity.message_post(
                body=self.env._("Loyalty points adjusted by %(points)s: %(reason)s", points=points, reason=reason)
            )


def _round_down(points, rounding):
    return float_round(points, precision_rounding=rounding, rounding_method="DOWN")
