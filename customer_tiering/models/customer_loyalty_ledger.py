from collections import defaultdict
from dataclasses import dataclass
from uuid import uuid4

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
    The other fields describe the open cycle's entry.
    """

    cycle: int = 0
    is_open: bool = False
    card_id: int | None = None
    issued: float = 0.0
    used: float = 0.0
    date: object = None


@dataclass
class Document:
    """A posted customer invoice or credit note, as the ledger needs it."""

    id: int
    name: str
    move_type: str
    company_id: int
    partner_id: int  # the commercial entity
    invoice_date: object
    amount: float  # untaxed, company currency
    origin_id: int | None  # the invoice a credit note reverses
    origin_amount: float | None
    tier_code: str | None
    multiplier: float


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
        documents = self._read_documents(moves.ids)
        configs = self._configs(self.env["res.company"].browse(list({doc.company_id for doc in documents})))
        documents = [
            doc
            for doc in documents
            if doc.company_id in configs and doc.invoice_date >= configs[doc.company_id].points_start_date
        ]
        for move_type in DOCUMENT_TYPES:
            self._award([doc for doc in documents if doc.move_type == move_type], configs)

    def _award(self, documents, configs):
        if not documents:
            return
        states = self._document_states([doc.id for doc in documents] + [doc.origin_id for doc in documents])
        pending = [doc for doc in documents if not states[doc.id].is_open]
        cards = self._cards(pending, configs)
        entries = []
        for doc in pending:
            config = configs[doc.company_id]
            card_id = cards[doc.company_id, doc.partner_id]
            if doc.move_type == "out_invoice":
                entry = self._earn_entry(doc, config, card_id)
            else:
                entry = self._refund_entry(doc, config, card_id, states[doc.origin_id])
            if entry.issued or entry.used:
                entry.key = f"post:{doc.id}:{states[doc.id].cycle}"
                entries.append(entry)
        self._insert(entries)

    @api.model
    def _void_documents(self, moves):
        """Reverse exactly what cancelled or reset documents earned or reversed."""
        states = self._document_states(moves.ids)
        names = dict(zip(moves.ids, moves.mapped("name"), strict=True))
        self._insert(
            [
                Entry(
                    card_id=state.card_id,
                    description=self.env._("%(document)s cancelled or reset to draft", document=names[move_id]),
                    key=f"void:{move_id}:{state.cycle}",
                    kind="void",
                    date=state.date,
                    issued=state.used,
                    used=state.issued,
                    order_id=move_id,
                )
                for move_id, state in states.items()
                if state.is_open
            ]
        )

    def _earn_entry(self, doc, config, card_id):
        return Entry(
            card_id=card_id,
            description=self.env._(
                "Invoice %(document)s: %(amount)s × %(rate)s × %(multiplier)s (tier %(tier)s)",
                document=doc.name,
                amount=doc.amount,
                rate=config.points_per_currency,
                multiplier=doc.multiplier,
                tier=doc.tier_code or "-",
            ),
            key="",
            kind="earn",
            date=doc.invoice_date,
            issued=_round_down(doc.amount * config.points_per_currency * doc.multiplier, config.points_rounding),
            order_id=doc.id,
        )

    def _refund_entry(self, doc, config, card_id, origin):
        """A credit note takes back the share of its invoice's points that it
        reverses; without a counted invoice, what the same amount would earn."""
        if origin.is_open and doc.origin_amount:
            earned = origin.issued
            points = min(earned, _round_down(earned * doc.amount / doc.origin_amount, config.points_rounding))
            card_id, date = origin.card_id, origin.date
        else:
            points = self._earn_entry(doc, config, card_id).issued
            date = doc.invoice_date
        return Entry(
            card_id=card_id,
            description=self.env._("Credit note %(document)s", document=doc.name),
            key="",
            kind="refund",
            date=date,
            used=points,
            order_id=doc.id,
        )

    def _read_documents(self, move_ids):
        """The posted customer documents among ``move_ids``, with their
        entity's tier multiplier in the document's company, in one query."""
        self.env["account.move"].flush_model()
        self.env["res.partner"].flush_model(["tier_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT m.id, m.name, m.move_type, m.company_id, m.commercial_partner_id, m.invoice_date,
                       abs(m.amount_untaxed_signed), m.reversed_entry_id, abs(origin.amount_untaxed_signed),
                       tier.code, COALESCE(tier.points_multiplier, 1.0)
                  FROM account_move m
                  JOIN res_partner entity ON entity.id = m.commercial_partner_id
                  LEFT JOIN customer_tier tier ON tier.id = (entity.tier_id ->> m.company_id::text)::int
                  LEFT JOIN account_move origin ON origin.id = m.reversed_entry_id
                 WHERE m.id = ANY(%s) AND m.state = 'posted' AND m.move_type IN %s
                 ORDER BY m.id
                """,
                move_ids,
                DOCUMENT_TYPES,
            )
        )
        return [Document(*row) for row in rows]

    def _document_states(self, move_ids):
        """The open cycle of each document, from one query. Each document's
        entries are looked up in their index: the documents are mostly new,
        with none, and for ten thousand ids PostgreSQL would rather read the
        whole ledger, ten times slower."""
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT d.id, c.voids, c.posts > c.voids, h.card_id, h.issued, h.used, h.points_date
                  FROM unnest(%s::int[]) AS d(id),
                       LATERAL (SELECT count(*) FILTER (WHERE points_kind = 'void') AS voids,
                                       count(*) FILTER (WHERE points_kind <> 'void') AS posts,
                                       max(id) FILTER (WHERE points_kind <> 'void') AS last_post
                                  FROM loyalty_history
                                 WHERE order_model = 'account.move' AND order_id = d.id
                                   AND points_key IS NOT NULL) c
                  LEFT JOIN loyalty_history h ON h.id = c.last_post
                 WHERE c.posts + c.voids > 0
                """,
                list({move_id for move_id in move_ids if move_id}),
            )
        )
        states = defaultdict(DocumentState)
        for move_id, *state in rows:
            states[move_id] = DocumentState(*state)
        return states

    # ------------------------------------------------------------ cards
    @api.model
    def _configs(self, companies):
        """{company id: settings} of the companies that award points."""
        configs = self.env["customer.tiering.config"].sudo()._for_companies(companies)
        return {config.company_id.id: config for config in configs if config.loyalty_program_id}

    def _cards(self, documents, configs):
        """{(company id, entity id): card id} for the documents' customers."""
        cards = {}
        for company_id in {doc.company_id for doc in documents}:
            partner_ids = list({doc.partner_id for doc in documents if doc.company_id == company_id})
            by_partner = self._tier_cards(configs[company_id].loyalty_program_id, partner_ids)
            cards.update({(company_id, partner_id): card_id for partner_id, card_id in by_partner.items()})
        return cards

    @api.model
    def _tier_cards(self, program, partner_ids):
        """The tier card of each partner in ``program``, created if missing:
        {partner id: card id}. The unique index makes a concurrent creation
        of the same card fail rather than duplicate it: those cards, created
        by the other transaction, are looked up once it committed."""
        self.env["loyalty.card"].flush_model()
        existing = dict(self._card_rows(program, partner_ids))
        missing = [partner_id for partner_id in partner_ids if partner_id not in existing]
        if missing:
            created = self.env.execute_query(
                SQL(
                    """
                    INSERT INTO loyalty_card (program_id, company_id, partner_id, code, points, active,
                                              is_tier_card, create_uid, create_date, write_uid, write_date)
                    SELECT %(program)s, %(company)s, t.partner_id, t.code, 0, TRUE, TRUE,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(partners)s::int[], %(codes)s::varchar[]) AS t(partner_id, code)
                        ON CONFLICT (program_id, partner_id) WHERE is_tier_card DO NOTHING
                 RETURNING partner_id, id
                    """,
                    program=program.id,
                    company=program.company_id.id,
                    partners=missing,
                    codes=[_card_code() for _partner in missing],
                    uid=self.env.uid,
                    now=self.env.cr.now(),
                )
            )
            existing.update(created)
            if len(created) < len(missing):
                existing.update(self._card_rows(program, [pid for pid in missing if pid not in existing]))
        return existing

    def _card_rows(self, program, partner_ids):
        # Each card looked up in the unique index: for ten thousand ids,
        # PostgreSQL would rather read the program's every card, ten times
        # slower. LIMIT 1 (one tier card per partner and program anyway)
        # keeps the subquery a lookup per id.
        return self.env.execute_query(
            SQL(
                """
                SELECT p.id, card.id
                  FROM unnest(%s::int[]) AS p(id),
                       LATERAL (SELECT id FROM loyalty_card
                                 WHERE program_id = %s AND is_tier_card AND partner_id = p.id LIMIT 1) card
                """,
                partner_ids,
                program.id,
            )
        )

    # ------------------------------------------------------------ ledger
    def _insert(self, entries):
        """Insert the entries whose key is new and move the card balances by
        exactly those, in one statement. Returns how many cards moved.

        The cards keep their write date: it is indexed, and a balance move
        that leaves every indexed column as it was is a heap-only update
        (half the time of one that also writes the card in its five
        indexes). The entries carry the date of the move."""
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
                   SET points = card.points + d.delta
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
            with self.env["customer.tiering.lock"]._exclusive("loyalty", config.company_id) as acquired:
                if acquired:
                    ledger = self.with_company(config.company_id)
                    # Decided before the catch-up, which moves the last full check.
                    written_since = not config._points_full_check_due(today) and config.points_cards_checked_since
                    ledger._catch_up(config)
                    ledger._expire(config, today, written_since)

    def _catch_up(self, config):
        """Award posted documents that were missed, and void those no longer
        posted: among the documents written since the last run looked, or
        all of them when a full check is due."""
        self.env["account.move"].flush_model(["state", "invoice_date", "move_type", "company_id", "write_date"])
        self.env["loyalty.history"].flush_model()
        since = self.env["customer.tiering.job"]._oldest_transaction_start()
        full = config._points_full_check_due(fields.Date.context_today(self))
        rows = self.env.execute_query(
            SQL(
                """
                WITH moves AS (
                    SELECT id, state, invoice_date, amount_untaxed_signed, commercial_partner_id
                      FROM account_move m
                     WHERE m.company_id = %(company)s AND m.move_type IN %(types)s %(written)s
                )
                SELECT m.id, m.state = 'posted'
                  FROM moves m
                  LEFT JOIN (SELECT order_id,
                                    count(*) FILTER (WHERE points_kind <> 'void')
                                    - count(*) FILTER (WHERE points_kind = 'void') AS open
                               FROM loyalty_history
                              WHERE order_model = 'account.move' AND points_key IS NOT NULL %(their_entries)s
                              GROUP BY order_id) h ON h.order_id = m.id
                 WHERE (m.state = 'posted' AND m.invoice_date >= %(start)s AND COALESCE(h.open, 0) = 0
                        AND m.amount_untaxed_signed <> 0)
                    OR (m.state <> 'posted' AND h.open > 0)
                 ORDER BY m.commercial_partner_id, m.id
                """,
                company=config.company_id.id,
                types=DOCUMENT_TYPES,
                start=config.points_start_date,
                written=SQL() if full else SQL("AND m.write_date >= %s", config.points_checked_since),
                # the entries of those documents only, not the whole ledger
                their_entries=SQL() if full else SQL("AND order_id IN (SELECT id FROM moves)"),
            )
        )
        Move = self.env["account.move"].sudo()
        Lock = self.env["customer.tiering.lock"]
        # By customer: a chunk moves each card's balance once, and an invoice
        # and its credit notes mostly fall in the same chunk.
        for chunk in split_every(CHUNK, rows, list):
            Lock._run_batch(lambda chunk=chunk: self._catch_up_chunk(Move, chunk))
            Move.invalidate_model()  # keep memory flat over millions of documents
        config.sudo().write({"points_checked_since": since, **({"points_full_check": since} if full else {})})

    def _catch_up_chunk(self, Move, rows):
        self._void_documents(Move.browse([move_id for move_id, posted in rows if not posted]))
        self._award_documents(Move.browse([move_id for move_id, posted in rows if posted]))

    def _expire(self, config, today, written_since=None):
        """Expire, first earned first expired, what the balance holds beyond
        the points earned inside the expiry window.

        A card's excess grows only when the window's start passes one of its
        entries, when it gets a new entry, or when it is written otherwise
        (a spending). With ``written_since``, only those cards are checked:
        the cards with entries dated between the last run's window start and
        this one's, and the cards with entries created or written since
        ``written_since``, the last expiry's start. Without it, or without
        an earlier run's window start, every card."""
        if not config.points_expiry_months:
            return
        # What this run cannot see of the cards yet, the next one reads.
        since = self.env["customer.tiering.job"]._oldest_transaction_start()
        cutoff = today - relativedelta(months=config.points_expiry_months)
        last_cutoff = config.points_expired_until
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model(["points"])
        rows = self.env.execute_query(
            SQL(
                """
                WITH balances AS (
                    SELECT card.id, card.points, GREATEST(COALESCE(sum(
                               CASE WHEN h.points_kind IN ('refund', 'void') THEN h.issued - h.used
                                    WHEN h.points_kind = 'expire' THEN 0
                                    ELSE h.issued END), 0), 0) AS valid
                      FROM loyalty_card card
                      LEFT JOIN loyalty_history h
                             ON h.card_id = card.id AND COALESCE(h.points_date, h.create_date::date) > %(cutoff)s
                     WHERE card.program_id = %(program)s AND card.is_tier_card AND card.points > 0 %(candidates)s
                     GROUP BY card.id
                ), excesses AS (
                    SELECT id, round((points - valid)::numeric, 2)::float8 AS excess FROM balances
                )
                SELECT id, excess FROM excesses WHERE excess > 0
                """,
                cutoff=cutoff,
                program=config.loyalty_program_id.id,
                candidates=self._expiry_candidates(last_cutoff, cutoff, written_since)
                if written_since and last_cutoff
                else SQL(),
            )
        )
        description = self.env._("Points earned up to %(date)s expired", date=cutoff)
        entries = [
            Entry(card_id, description, key=f"expire:{today}", kind="expire", date=today, used=excess)
            for card_id, excess in rows
        ]
        for chunk in split_every(CHUNK, entries, list):
            self.env["customer.tiering.lock"]._run_batch(lambda chunk=chunk: self._insert(chunk))
        config.sudo().write({"points_expired_until": cutoff, "points_cards_checked_since": since})

    def _expiry_candidates(self, last_cutoff, cutoff, written_since):
        """The condition restricting the expiry to the cards it can change."""
        return SQL(
            """
            AND card.id IN (SELECT card_id FROM loyalty_history
                             WHERE COALESCE(points_date, create_date::date) > %(last_cutoff)s
                               AND COALESCE(points_date, create_date::date) <= %(cutoff)s
                             UNION ALL
                            SELECT card_id FROM loyalty_history
                             WHERE create_date >= %(since)s AND points_key IS NOT NULL
                             UNION ALL
                            SELECT id FROM loyalty_card WHERE write_date >= %(since)s AND is_tier_card)
            """,
            last_cutoff=last_cutoff,
            cutoff=cutoff,
            since=written_since,
        )

    # ------------------------------------------------------------ merge
    @api.model
    def _merge_tier_cards(self, src_partners, dst_partner):
        """Merge the customers' tier cards of each program into one card of
        ``dst_partner``: the entries move to it (their keys prefixed with the
        card they came from, so they stay unique) and so do the points. The
        emptied cards stop being tier cards and are archived."""
        Card = self.env["loyalty.card"].with_context(active_test=False)
        cards = Card.search([("partner_id", "in", (src_partners | dst_partner).ids), ("is_tier_card", "=", True)])
        for _program, program_cards in cards.grouped("program_id").items():
            final = program_cards.filtered(lambda c: c.partner_id == dst_partner)[:1] or program_cards[:1]
            others = program_cards - final
            if others:
                self._move_entries(others, final)
            final.partner_id = dst_partner

    def _move_entries(self, cards, final):
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                UPDATE loyalty_history
                   SET card_id = %(final)s,
                       points_key = CASE WHEN points_key IS NOT NULL THEN 'card' || card_id || ':' || points_key END
                 WHERE card_id = ANY(%(cards)s);
                UPDATE loyalty_card
                   SET points = points + (SELECT COALESCE(sum(points), 0) FROM loyalty_card WHERE id = ANY(%(cards)s)),
                       write_date = %(now)s  -- the nightly expiry reads the cards written since it last looked
                 WHERE id = %(final)s;
                UPDATE loyalty_card SET points = 0, is_tier_card = FALSE, active = FALSE WHERE id = ANY(%(cards)s);
                """,
                final=final.id,
                cards=cards.ids,
                now=self.env.cr.now(),
            )
        )
        self.env["loyalty.card"].invalidate_model()
        self.env["loyalty.history"].invalidate_model()

    # ------------------------------------------------------------ adjustments
    @api.model
    def _adjust(self, partner, points, reason, key):
        """Add (or take) ``points`` on the partner's tier card; never below zero."""
        config = self._configs(self.env.company).get(self.env.company.id)
        if not config:
            raise UserError(
                self.env._("No points program is set in the tiering settings of %s.", self.env.company.name)
            )
        entity = partner.commercial_partner_id
        card_id = self._tier_cards(config.loyalty_program_id, entity.ids)[entity.id]
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


def _card_code():
    # Odoo's own codes carry 32 random bits: a collision is likely from about
    # 100,000 cards, so tier cards take 80.
    return f"044{uuid4().hex[:20]}"


def _round_down(points, rounding):
    return float_round(points, precision_rounding=rounding, rounding_method="DOWN")
