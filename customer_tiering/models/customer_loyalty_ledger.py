import logging
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round, split_every

from ..engine.frames import window_exit
from ..engine.points import CardLots
from ..sql import CUSTOMER_DOCUMENT_TYPES, company_value, points_eligible
from .customer_tiering_lock import _testing
from .loyalty_card import SEND_CHUNK

_logger = logging.getLogger(__name__)
DOCUMENT_TYPES = CUSTOMER_DOCUMENT_TYPES
CHUNK = 10000
#: How far back the points cron looks for promotions it has not rewarded (a cron down for days).
REWARD_LOOKBACK_DAYS = 7


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
    lot_id: int | None = None  # the earning whose points this entry takes back or gives back
    note: str | None = None  # internal: the computation or the reason, never shown on the portal


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
    entry_id: int | None = None
    kind: str | None = None
    lot_id: int | None = None


@dataclass
class Document:
    """A posted customer invoice or credit note that counts for points, as the ledger needs it."""

    id: int
    name: str
    move_type: str
    company_id: int
    partner_id: int  # the commercial entity
    invoice_date: object
    amount: float  # untaxed, company currency
    origin_id: int | None  # the invoice a credit note reverses
    origin_share: float | None  # the share of the origin it reverses, in the documents' own currency
    tier_code: str | None
    multiplier: float


class CustomerLoyaltyLedger(models.AbstractModel):
    """Tier points on Odoo's own loyalty cards, as append-only, idempotent entries.

    Every entry has a key unique per card (backed by a unique index): posting,
    cancelling, expiring or adjusting twice, or in two transactions at once,
    inserts it once, and the card's balance moves only by what was inserted.
    The rules the entries keep are the README's (*Loyalty points*, the
    ledger's rules); a reversal never takes more than is left of what its
    document earned (``engine.points``).
    """

    _name = "customer.loyalty.ledger"
    _description = "Customer Loyalty Points Ledger"

    # ------------------------------------------------------------ documents
    @api.model
    def _award_documents(self, moves, config=None):
        """Earn (invoices) or reverse (credit notes) points for posted documents not counted yet.

        Invoices go first, so that a credit note counted with its invoice
        reverses what that invoice earned; the invoices a credit note
        reverses are counted first if they should have been and were not,
        and the credit notes that waited for an invoice are counted with it.
        The nightly catch-up gives its company's ``config``: it reads every
        document not counted yet itself, so neither the documents' companies
        nor their related documents are looked up.
        """
        if config:
            configs, move_ids = {config.company_id.id: config}, moves.ids
        else:
            configs = self._configs(self._companies_of(moves.ids))
            move_ids = moves.ids + self._related_documents(moves.ids)
        documents = self._read_documents(move_ids, configs)
        for move_type in DOCUMENT_TYPES:
            self._award([doc for doc in documents if doc.move_type == move_type], configs)

    def _companies_of(self, move_ids):
        """The companies of the documents, read alone: the ORM would read
        every column of ten thousand documents to give their companies."""
        self.env["account.move"].flush_model(["company_id"])
        rows = self.env.execute_query(SQL("SELECT DISTINCT company_id FROM account_move WHERE id = ANY(%s)", move_ids))
        return self.env["res.company"].browse([company_id for (company_id,) in rows])

    def _award(self, documents, configs):
        if not documents:
            return
        states = self._document_states([doc.id for doc in documents] + [doc.origin_id for doc in documents])
        pending = [doc for doc in documents if not states[doc.id].is_open]
        if not pending:
            return
        cards = self._cards(pending, configs)
        reposted = [doc for doc in pending if doc.move_type == "out_invoice" and states[doc.id].cycle]
        lots = self._card_lots(
            {states[doc.origin_id].card_id for doc in pending if doc.origin_id and states[doc.origin_id].is_open}
            | {states[doc.id].card_id for doc in reposted},
            # a credit note of no invoice needs only the balance
            balances={cards[doc.company_id, doc.partner_id] for doc in pending if doc.move_type == "out_refund"},
        )
        outstanding = self._outstanding_credit_notes([doc.id for doc in reposted])
        ledgers = {company_id: self._in_company_lang(config.company_id) for company_id, config in configs.items()}
        labels = {company_id: ledger._earn_labels() for company_id, ledger in ledgers.items()}
        entries = []
        for doc in pending:
            config = configs[doc.company_id]
            ledger = ledgers[doc.company_id]
            card_id = cards[doc.company_id, doc.partner_id]
            state = states[doc.id]
            if doc.move_type == "out_invoice":
                entry = ledger._earn_entry(doc, config, card_id, labels[doc.company_id])
                if state.cycle:
                    ledger._less_what_is_held(entry, lots[state.card_id].held_by(doc.id) + outstanding[doc.id])
            elif doc.origin_id:
                entry = ledger._refund_entry(doc, config, states[doc.origin_id], lots)
            else:
                entry = ledger._return_entry(doc, config, card_id, lots[card_id])
            # A credit note or a re-posting that takes or earns nothing is still counted.
            if entry and (entry.issued or entry.used or entry.kind in ("refund", "return") or state.cycle):
                entry.key = f"post:{doc.id}:{state.cycle}"
                entries.append(entry)
        self._insert(entries)

    def _outstanding_credit_notes(self, invoice_ids):
        """{invoice id: the points its posted credit notes took back}, for
        invoices posted again: they earn again less what is still reversed."""
        outstanding = defaultdict(float)
        if not invoice_ids:
            return outstanding
        credit_notes = dict(
            self.env.execute_query(
                SQL(
                    "SELECT id, reversed_entry_id FROM account_move WHERE reversed_entry_id = ANY(%s) "
                    "AND move_type = 'out_refund'",
                    invoice_ids,
                )
            )
        )
        for move_id, state in self._document_states(list(credit_notes)).items():
            if state.is_open and state.kind == "refund":
                outstanding[credit_notes[move_id]] += state.used - state.issued
        return outstanding

    def _less_what_is_held(self, entry, held):
        """An invoice posted again earns what it earns less what its earlier
        postings still hold, or its credit notes still took back: a
        correction never pays the same invoice twice, even when the points of
        the first posting were spent before it was cancelled."""
        if held > 0:
            entry.issued = max(_round_down(entry.issued - held, 1e-6), 0.0)
            entry.note = self.env._(
                "%(note)s, less %(held)s still held or taken back from its earlier posting",
                note=entry.note,
                held=held,
            )

    @api.model
    def _void_documents(self, moves):
        """Reverse what cancelled or reset documents earned or reversed, as
        far as it is left (``_void_entry``)."""
        states = {move_id: state for move_id, state in self._document_states(moves.ids).items() if state.is_open}
        if not states:
            return
        configs = self._configs(self._companies_of(moves.ids))
        card_companies = dict(
            self.env.execute_query(
                SQL(
                    "SELECT card.id, program.company_id FROM loyalty_card card "
                    "JOIN loyalty_program program ON program.id = card.program_id WHERE card.id = ANY(%s)",
                    list({state.card_id for state in states.values()}),
                )
            )
        )
        lots = self._card_lots({state.card_id for state in states.values()})
        reposted = self._reposted_earnings(states, lots)
        names = dict(zip(moves.ids, moves.mapped("name"), strict=True))
        self._insert(
            [
                self._in_company_lang(self.env["res.company"].browse(card_companies[state.card_id]))._void_entry(
                    move_id,
                    names[move_id],
                    state,
                    lots[state.card_id],
                    configs.get(card_companies[state.card_id]),
                    reposted.get(state.lot_id),
                )
                for move_id, state in sorted(states.items())
            ]
        )

    def _reposted_earnings(self, states, lots):
        """{earning: the open earning of the same invoice on the same card},
        for the credit notes among ``states`` whose invoice was cancelled and
        posted again since: what they took back returns to the new earning."""
        closed = {}  # {earning: (card id, invoice id)}
        for state in states.values():
            card = lots[state.card_id]
            if state.kind == "refund" and state.lot_id in card.lots and card.closed(state.lot_id):
                closed[state.lot_id] = (state.card_id, card.lots[state.lot_id].order_id)
        invoices = self._document_states([invoice_id for _card_id, invoice_id in closed.values()])
        return {
            lot_id: invoices[invoice_id].entry_id
            for lot_id, (card_id, invoice_id) in closed.items()
            if invoices[invoice_id].is_open and invoices[invoice_id].card_id == card_id
        }

    def _earn_entry(self, doc, config, card_id, labels=None):
        description, note = labels or self._earn_labels()
        return Entry(
            card_id=card_id,
            description=description % {"document": doc.name},
            note=note
            % {
                "amount": doc.amount,
                "rate": config.points_per_currency,
                "multiplier": doc.multiplier,
                "tier": doc.tier_code or "-",
            },
            key="",
            kind="earn",
            date=doc.invoice_date,
            issued=self._points_for(doc, config),
            order_id=doc.id,
        )

    def _in_company_lang(self, company):
        """The ledger writing its descriptions in ``company``'s language: they
        are stored, and read by the company's staff, whoever posted the
        document or ran the job (an accountant, the nightly cron)."""
        lang = company.partner_id.lang
        return self.with_context(lang=lang) if lang and lang != self.env.lang else self

    def _earn_labels(self):
        """An invoice's description and internal note, translated once for a
        batch of thousands of invoices."""
        return (
            self.env._("Invoice %(document)s"),
            self.env._("%(amount)s × %(rate)s × %(multiplier)s (tier %(tier)s)"),
        )

    def _points_for(self, doc, config):
        return _round_down(doc.amount * config.points_per_currency * doc.multiplier, config.points_rounding)

    def _refund_entry(self, doc, config, origin, lots):
        """A credit note takes back its share of what its invoice earned,
        computed in the documents' own currency, as far as the invoice's
        points are left; of an invoice that earned nothing, nothing."""
        if not origin.is_open or origin.kind != "earn":
            return None
        card = lots[origin.card_id]
        share = _round_down(origin.issued * min(doc.origin_share or 0.0, 1.0), config.points_rounding)
        wanted = min(share, card.net(origin.entry_id))
        taken = wanted if config.points_allow_negative else min(wanted, card.left(origin.entry_id))
        card.move(origin.entry_id, -taken)
        return Entry(
            card_id=origin.card_id,
            description=self._with_shortfall(self.env._("Credit note %(document)s", document=doc.name), wanted, taken),
            key="",
            kind="refund",
            date=origin.date,
            used=taken,
            order_id=doc.id,
            lot_id=origin.entry_id,
        )

    def _return_entry(self, doc, config, card_id, card):
        """A credit note of no invoice takes what its amount would earn, from
        the balance, oldest points first."""
        wanted = self._points_for(doc, config)
        taken = wanted if config.points_allow_negative else min(wanted, max(card.balance, 0.0))
        card.move(None, -taken)
        return Entry(
            card_id=card_id,
            description=self._with_shortfall(self.env._("Credit note %(document)s", document=doc.name), wanted, taken),
            key="",
            kind="return",
            date=doc.invoice_date,
            used=taken,
            order_id=doc.id,
        )

    def _void_entry(self, move_id, name, state, card, config, reposted=None):
        """The entry closing a document's open cycle: an invoice gives back
        what is left of its points, a credit note gives back what it took to
        its invoice's earning (the new one, if the invoice was cancelled and
        posted again; none, if it is cancelled)."""
        allow_negative = bool(config and config.points_allow_negative)
        if state.kind == "earn":
            wanted = card.net(state.entry_id)
            taken = wanted if allow_negative else card.left(state.entry_id)
            moved, lot_id = -taken, state.entry_id
            card.move(lot_id, moved, close=True)
        else:
            wanted = taken = 0.0
            lot_id = reposted or state.lot_id
            gives_back = state.used - state.issued
            moved = gives_back if not lot_id or not card.closed(lot_id) else 0.0
            card.move(lot_id, moved)
        description = self.env._("%(document)s cancelled or reset to draft", document=name)
        return Entry(
            card_id=state.card_id,
            description=self._with_shortfall(description, wanted, taken),
            key=f"void:{move_id}:{state.cycle}",
            kind="void",
            date=state.date,
            issued=max(moved, 0.0),
            used=max(-moved, 0.0),
            order_id=move_id,
            lot_id=lot_id,
        )

    def _with_shortfall(self, description, wanted, taken):
        shortfall = float_round(wanted - taken, precision_digits=2)
        if shortfall <= 0:
            return description
        return self.env._(
            "%(description)s (%(points)s points not taken back: already spent or expired)",
            description=description,
            points=shortfall,
        )

    def _read_documents(self, move_ids, configs):
        """The posted customer documents among ``move_ids`` that count for
        points, and the invoices their credit notes reverse, with their
        entity's tier multiplier in the document's company, in one query.
        Their amounts leave out the lines of the products that earn no
        points (``_points_excluded_products``)."""
        self.env["account.move"].flush_model()
        self.env["account.move.line"].flush_model()
        self.env["res.partner"].flush_model(["tier_id"])
        self.env["customer.tiering.config"].flush_model()
        excluded = [
            (company_id, product_id)
            for company_id, config in configs.items()
            for product_id in config._points_excluded_products().ids
        ]
        rows = self.env.execute_query(
            SQL(
                """
                SELECT m.id, m.name, m.move_type, m.company_id, m.commercial_partner_id, m.invoice_date,
                       abs(m.amount_untaxed_signed) - x.company_amount, m.reversed_entry_id,
                       CASE WHEN origin.currency_id = m.currency_id
                            THEN (abs(m.amount_untaxed) - x.amount) / NULLIF(abs(origin.amount_untaxed) - ox.amount, 0)
                            ELSE (abs(m.amount_untaxed_signed) - x.company_amount)
                                 / NULLIF(abs(origin.amount_untaxed_signed) - ox.company_amount, 0) END,
                       tier.code, COALESCE(tier.points_multiplier, 1.0)
                  FROM account_move m
                  JOIN customer_tiering_config config
                    ON config.company_id = m.company_id AND config.loyalty_program_id IS NOT NULL
                  JOIN res_partner entity ON entity.id = m.commercial_partner_id
                  LEFT JOIN customer_tier tier ON tier.id = %(tier)s
                  LEFT JOIN account_move origin ON origin.id = m.reversed_entry_id
                  CROSS JOIN LATERAL %(excluded_m)s x
                  CROSS JOIN LATERAL %(excluded_origin)s ox
                 WHERE m.id = ANY(%(ids)s) AND m.state = 'posted' AND m.move_type IN %(types)s
                   AND %(eligible)s
                 ORDER BY m.id
                """,
                ids=move_ids,
                types=DOCUMENT_TYPES,
                tier=company_value("entity", "tier_id", SQL("m.company_id"), "int"),
                eligible=points_eligible("m", SQL("config.points_start_date")),
                excluded_m=self._excluded_amounts("m", excluded),
                excluded_origin=self._excluded_amounts("origin", excluded),
            )
        )
        return [Document(*row) for row in rows]

    def _related_documents(self, move_ids):
        """The invoices the credit notes among ``move_ids`` reverse, and the
        posted credit notes of the invoices among them: an invoice counted
        late is counted first, and a credit note that waited for its
        invoice (posted while the invoice was in draft) counts with it."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT reversed_entry_id FROM account_move
                 WHERE id = ANY(%(ids)s) AND move_type = 'out_refund' AND reversed_entry_id IS NOT NULL
                 UNION
                SELECT id FROM account_move
                 WHERE reversed_entry_id = ANY(%(ids)s) AND move_type = 'out_refund' AND state = 'posted'
                """,
                ids=move_ids,
            )
        )
        return [move_id for (move_id,) in rows]

    def _excluded_amounts(self, move, excluded):
        """The untaxed amount of the lines of ``move`` (an alias) whose
        products earn no points, in its currency (``amount``) and in company
        currency (``company_amount``). Without such products, nothing to read."""
        if not excluded:
            return SQL("(SELECT 0.0 AS amount, 0.0 AS company_amount)")
        companies, products = zip(*excluded, strict=True)
        return SQL(
            """(SELECT COALESCE(sum(l.price_subtotal), 0.0) AS amount,
                       COALESCE(abs(sum(l.balance)), 0.0) AS company_amount
                  FROM account_move_line l
                 WHERE l.move_id = %(move)s.id AND l.display_type = 'product'
                   AND l.product_id IN (SELECT e.product FROM unnest(%(companies)s::int[], %(products)s::int[])
                                                              AS e(company, product)
                                         WHERE e.company = %(move)s.company_id))""",
            move=SQL.identifier(move),
            companies=list(companies),
            products=list(products),
        )

    def _document_states(self, move_ids):
        """The open cycle of each document, from one query. Each document's
        entries are looked up in their index: the documents are mostly new,
        with none, and for a batch of ids PostgreSQL would rather read the
        whole ledger, which is much slower (docs/design.md)."""
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT d.id, c.voids, c.posts > c.voids, h.card_id, h.issued, h.used, h.points_date,
                       h.id, h.points_kind, h.points_lot_id
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

    def _card_lots(self, card_ids, balances=()):
        """{card id: CardLots} of the cards, and of the cards of ``balances``
        with their balance alone, each locked until the transaction ends:
        what a reversal may take is decided on the balance as it is, and no
        other transaction moves it before the reversal is written."""
        replayed = {card_id for card_id in card_ids if card_id}
        card_ids = sorted(replayed | {card_id for card_id in balances if card_id})
        if not card_ids:
            return {}
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model(["points"])
        points = self.env.execute_query(
            SQL("SELECT id, points FROM loyalty_card WHERE id = ANY(%s) ORDER BY id FOR UPDATE", card_ids)
        )
        rows = replayed and self.env.execute_query(
            SQL(
                """
                SELECT card_id, id, COALESCE(points_date, create_date::date), issued, used, points_lot_id,
                       points_kind, CASE WHEN order_model = 'account.move' THEN order_id END
                  FROM loyalty_history
                 WHERE card_id = ANY(%s)
                 ORDER BY card_id, id
                """,
                sorted(replayed),
            )
        )
        entries = defaultdict(list)
        for card_id, *entry in rows:
            entries[card_id].append(entry)
        return {card_id: CardLots.replay(balance, entries[card_id]) for card_id, balance in points}

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
            created = self.env["loyalty.card"]._bulk_create_tier_cards(program, missing)
            existing.update(created)
            if len(created) < len(missing):
                existing.update(self._card_rows(program, [pid for pid in missing if pid not in existing]))
        return existing

    def _card_rows(self, program, partner_ids):
        # Each card looked up in the unique index: for a batch of ids,
        # PostgreSQL would rather read the program's every card, which is
        # much slower (docs/design.md). LIMIT 1 (one tier card per partner
        # and program anyway) keeps the subquery a lookup per id.
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
        exactly those (``loyalty.history._bulk_insert``). Returns how many
        cards moved."""
        return self.env["loyalty.history"]._bulk_insert(entries)

    # ------------------------------------------------------------ nightly
    @api.model
    def _cron_loyalty(self):
        today = fields.Date.context_today(self)
        configs = self._configs(self.env["res.company"].search([])).values()  # pylint: disable=no-search-all

        def run(config):
            ledger = self.with_company(config.company_id)
            # Decided before the catch-up, which moves the last full check.
            written_since = not config._points_full_check_due(today) and config.points_cards_checked_since
            ledger._catch_up(config)
            ledger._expire(config, today, written_since)
            self.env["customer.notification.job"].with_company(config.company_id)._notify_expiring_points(config, today)
            ledger._tier_rewards(config, today)
            # what postings by hand queued and their cron has not sent yet
            ledger._send_communications(config.company_id)

        self.env["customer.tiering.lock"]._run_companies("loyalty", list(configs), run)

    @api.model
    def _cron_send_communications(self):
        """Send the tier card communications queued by postings, cancellations
        and adjustments, once those committed (``_send_communications``)."""
        self._send_communications()

    def _send_communications(self, company=None):
        """Send the queued communications of the tier cards (of ``company``,
        or of all), a chunk per committed transaction, after the moves that
        queued them committed. A chunk that fails (a template that does not
        render) is rolled back and logged, its rows left for the next run:
        a mail never holds back the points."""
        Card, Lock = self.env["loyalty.card"], self.env["customer.tiering.lock"]
        testing = _testing()
        while True:
            taken = []
            try:
                # A test cannot roll its transaction back: a savepoint stands in.
                with self.env.cr.savepoint() if testing else nullcontext():
                    Lock._run_batch(lambda taken=taken: taken.append(Card._send_queued_tier_communications(company)))
            except Exception:  # noqa: BLE001 - a mail must not stop the points run
                _logger.exception("Customer tiering: tier card communications not sent, left for the next run")
                if not testing:
                    self.env.cr.rollback()
                self.env.invalidate_all()
                return
            if taken[0] < SEND_CHUNK:
                return

    def _catch_up(self, config):
        """Award posted documents that were missed, and void those no longer
        posted: among the documents written since the last run looked, or
        all of them when a full check is due.

        The documents that may count are narrowed by plain conditions first
        (a date, an origin), which PostgreSQL applies while it reads the
        documents; eligibility (``points_eligible``), whose look-ups of
        origins would make it read millions of documents in index order, is
        judged on those candidates only (a materialized step, which keeps it
        out of the read)."""
        self.env["account.move"].flush_model(
            [
                "state",
                "invoice_date",
                "move_type",
                "company_id",
                "write_date",
                "reversed_entry_id",
                "amount_untaxed_signed",
            ]
        )
        self.env["loyalty.history"].flush_model()
        since = self.env["customer.tiering.job"]._oldest_transaction_start()
        full = config._points_full_check_due(fields.Date.context_today(self))
        rows = self.env.execute_query(
            SQL(
                """
                WITH moves AS (
                    SELECT id, state, amount_untaxed_signed, commercial_partner_id, move_type, reversed_entry_id,
                           invoice_date
                      FROM account_move m
                     WHERE m.company_id = %(company)s AND m.move_type IN %(types)s %(written)s
                ), candidates AS MATERIALIZED (
                    SELECT m.*
                      FROM moves m
                      LEFT JOIN (SELECT order_id,
                                        count(*) FILTER (WHERE points_kind <> 'void')
                                        - count(*) FILTER (WHERE points_kind = 'void') AS open
                                   FROM loyalty_history
                                  WHERE order_model = 'account.move' AND points_key IS NOT NULL %(their_entries)s
                                  GROUP BY order_id) h ON h.order_id = m.id
                     WHERE (m.state = 'posted' AND COALESCE(h.open, 0) = 0 AND m.amount_untaxed_signed <> 0
                            AND (m.invoice_date >= %(start)s OR m.reversed_entry_id IS NOT NULL))
                        OR (m.state <> 'posted' AND h.open > 0)
                )
                SELECT m.id, m.state = 'posted'
                  FROM candidates m
                 WHERE m.state <> 'posted' OR %(eligible)s
                 ORDER BY m.commercial_partner_id, m.id
                """,
                company=config.company_id.id,
                types=DOCUMENT_TYPES,
                start=config.points_start_date,
                eligible=points_eligible("m", SQL("%s", config.points_start_date)),
                written=SQL() if full else SQL("AND m.write_date >= %s", config.points_checked_since),
                # the entries of those documents only, not the whole ledger
                their_entries=SQL() if full else SQL("AND order_id IN (SELECT id FROM moves)"),
            )
        )
        Move = self.env["account.move"].sudo()
        Lock = self.env["customer.tiering.lock"]
        # A back-fill (the company's first check, or the first since its
        # program or start date changed) counts past invoices: its cards and
        # milestones are history, not news, and send no communication.
        backfill = not config.points_full_check
        ledger = self.with_context(loyalty_no_mail=True) if backfill else self
        # By customer: a chunk moves each card's balance once, and an invoice
        # and its credit notes mostly fall in the same chunk.
        for chunk in split_every(CHUNK, rows, list):
            Lock._run_batch(lambda chunk=chunk: ledger._catch_up_chunk(Move, chunk, config))
            Move.invalidate_model()  # keep memory flat over millions of documents
            if not backfill:
                self._send_communications(config.company_id)
        config.sudo().write({"points_checked_since": since, **({"points_full_check": since} if full else {})})

    def _catch_up_chunk(self, Move, rows, config):
        self._void_documents(Move.browse([move_id for move_id, posted in rows if not posted]))
        self._award_documents(Move.browse([move_id for move_id, posted in rows if posted]), config)

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
        candidates = self.env.execute_query(
            SQL(
                """
                SELECT card.id
                  FROM loyalty_card card
                  LEFT JOIN loyalty_history h
                         ON h.card_id = card.id AND COALESCE(h.points_date, h.create_date::date) > %(cutoff)s
                 WHERE card.program_id = %(program)s AND card.is_tier_card AND card.points > 0 %(candidates)s
                 GROUP BY card.id
                HAVING round((card.points - %(valid)s)::numeric, 2) > 0
                """,
                cutoff=cutoff,
                program=config.loyalty_program_id.id,
                valid=self._valid_points(),
                candidates=self._expiry_candidates(last_cutoff, cutoff, written_since)
                if written_since and last_cutoff
                else SQL(),
            )
        )
        description = self._in_company_lang(config.company_id).env._(
            "Points earned up to %(date)s expired", date=cutoff
        )
        for chunk in split_every(CHUNK, [card_id for (card_id,) in candidates], list):
            self.env["customer.tiering.lock"]._run_batch(
                lambda chunk=chunk: self._expire_cards(chunk, cutoff, today, description)
            )
        config.sudo().write({"points_expired_until": cutoff, "points_cards_checked_since": since})

    def _valid_points(self):
        """The points of card ``card`` still valid: the sum over its entries
        ``h`` dated after the cutoff of what they earned, net of what was
        taken back from those earnings (reversals carry the date of what they
        reverse). Spending, expiries and credit notes of no invoice consume
        the oldest points, so they do not count here."""
        return SQL(
            """GREATEST(COALESCE(sum(
                   CASE WHEN h.points_kind IN ('expire', 'return') THEN 0
                        WHEN h.points_lot_id IS NOT NULL THEN h.issued - h.used
                        ELSE h.issued END), 0), 0)"""
        )

    def _expire_cards(self, card_ids, cutoff, today, description):
        """Expire the excess of the cards, computed and applied in one
        statement on the cards locked first: against the balance as it is
        then, whatever was spent since the candidates were read, and never
        below zero."""
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model(["points"])
        self.env.cr.execute(SQL("SELECT id FROM loyalty_card WHERE id = ANY(%s) ORDER BY id FOR UPDATE", card_ids))
        self.env.cr.execute(
            SQL(
                """
                WITH excesses AS (
                    SELECT card.id, card.points, round((card.points - %(valid)s)::numeric, 2)::float8 AS excess
                      FROM loyalty_card card
                      LEFT JOIN loyalty_history h
                             ON h.card_id = card.id AND COALESCE(h.points_date, h.create_date::date) > %(cutoff)s
                     WHERE card.id = ANY(%(cards)s)
                     GROUP BY card.id
                ), inserted AS (
                    INSERT INTO loyalty_history (card_id, description, issued, used, points_kind, points_key,
                                                 points_date, create_uid, create_date, write_uid, write_date)
                    SELECT id, %(description)s, 0, LEAST(excess, points), 'expire', %(key)s, %(today)s,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM excesses
                     WHERE excess > 0 AND points > 0
                        ON CONFLICT (card_id, points_key) WHERE points_key IS NOT NULL DO NOTHING
                    RETURNING card_id, used
                )
                UPDATE loyalty_card card
                   SET points = card.points - inserted.used
                  FROM inserted
                 WHERE card.id = inserted.card_id
                """,
                valid=self._valid_points(),
                cutoff=cutoff,
                cards=card_ids,
                description=description,
                key=f"expire:{today}",
                today=today,
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        self.env["loyalty.card"].invalidate_model(["points", "history_ids"])
        self.env["loyalty.history"].invalidate_model()

    def _points_expiring(self, card_ids, cutoffs):
        """{(card id, cutoff): points}: what each card's balance holds beyond
        the points earned after each cutoff, that is what expires by the day
        the cutoff is reached (cutoff + expiry months) if nothing is spent
        before: the rule of ``_expire``, first earned first expired."""
        if not card_ids or not cutoffs:
            return {}
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model(["points"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT card.id, cut.day, GREATEST(round((card.points - %(valid)s)::numeric, 2), 0)::float8
                  FROM loyalty_card card
                 CROSS JOIN unnest(%(cutoffs)s::date[]) AS cut(day)
                  LEFT JOIN loyalty_history h
                         ON h.card_id = card.id AND COALESCE(h.points_date, h.create_date::date) > cut.day
                 WHERE card.id = ANY(%(cards)s)
                 GROUP BY card.id, card.points, cut.day
                """,
                valid=self._valid_points(),
                cutoffs=list(cutoffs),
                cards=list(card_ids),
            )
        )
        return {(card_id, day): points for card_id, day, points in rows}

    def _expiry_schedule(self, card, config, today):
        """[(day, points)]: how many of ``card``'s points expire on which
        day from ``today`` on, if nothing is spent before: each earning day's
        share of the excess, first earned first expired."""
        months = config.points_expiry_months
        if not months or card.points <= 0:
            return []
        start = today - relativedelta(months=months)
        self.env["loyalty.history"].flush_model()
        days = [
            day
            for (day,) in self.env.execute_query(
                SQL(
                    """
                    SELECT DISTINCT COALESCE(points_date, create_date::date) FROM loyalty_history
                     WHERE card_id = %s AND issued > 0 AND COALESCE(points_date, create_date::date) >= %s
                     ORDER BY 1
                    """,
                    card.id,
                    start,
                )
            )
        ]
        cutoffs = sorted({start - relativedelta(days=1), *days})
        expiring = self._points_expiring(card.ids, cutoffs)
        schedule, before = [], 0.0
        for cutoff in cutoffs:
            by_then = expiring.get((card.id, cutoff), 0.0)
            if by_then > before:
                expires = window_exit(cutoff, relativedelta(months=months))
                schedule.append((max(expires, today), round(by_then - before, 2)))
            before = max(before, by_then)
        return schedule

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

    # ------------------------------------------------------------ merge and program change
    @api.model
    def _merge_tier_cards(self, src_partners, dst_partner):
        """Merge the customers' tier cards of each program into one card of
        ``dst_partner`` (``_move_cards``)."""
        Card = self.env["loyalty.card"].with_context(active_test=False)
        cards = Card.search([("partner_id", "in", (src_partners | dst_partner).ids), ("is_tier_card", "=", True)])
        for _program, program_cards in cards.grouped("program_id").items():
            final = program_cards.filtered(lambda c: c.partner_id == dst_partner)[:1] or program_cards[:1]
            self._move_cards({card.id: final.id for card in program_cards - final})
            final.partner_id = dst_partner

    @api.model
    def _carry_over_to(self, program):
        """Carry the tier cards of the company's other programs (the one
        before, or one set before the points were switched off) over to
        ``program``."""
        self.env["loyalty.card"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT card.program_id
                  FROM loyalty_card card JOIN loyalty_program program ON program.id = card.program_id
                 WHERE card.is_tier_card AND program.company_id = %s AND program.id != %s
                """,
                program.company_id.id,
                program.id,
            )
        )
        for (old_program_id,) in rows:
            self._change_program(self.env["loyalty.program"].browse(old_program_id), program)

    @api.model
    def _change_program(self, old_program, new_program):
        """Carry every tier card of ``old_program`` over to the same
        customer's tier card of ``new_program`` (``_move_cards``). The new
        cards continue the old ones: no *At creation* communication."""
        Card = self.env["loyalty.card"].with_context(active_test=False)
        old_cards = Card.search([("program_id", "=", old_program.id), ("is_tier_card", "=", True)])
        for chunk in split_every(CHUNK, old_cards.ids, Card.browse):
            finals = self.with_context(loyalty_no_mail=True)._tier_cards(new_program, chunk.partner_id.ids)
            self._move_cards({card.id: finals[card.partner_id.id] for card in chunk if card.partner_id})

    def _move_cards(self, moves):
        """Move each card of ``moves`` ({card id: final card id}) into its
        final card: every entry (the add-on's keys prefixed with the card
        they came from, so they stay unique; dates and the earnings they
        reverse kept) and the balance. Sale orders that spent or applied the
        card now name the final card, so that cancelling one gives the points
        back where they are. The emptied cards stop being tier cards and are
        archived.

        Written with SQL, as the ledger is: the order lines', order points'
        and applied cards' references carry no tracking, automation or
        stored computation in sale_loyalty, so the ORM would only add a
        write per order."""
        if not moves:
            return
        old = sorted(moves)
        finals = [moves[card_id] for card_id in old]
        self.env.flush_all()
        self.env.cr.execute(
            SQL("SELECT id FROM loyalty_card WHERE id = ANY(%s) ORDER BY id FOR UPDATE", sorted({*old, *finals}))
        )
        pairs = SQL("SELECT * FROM unnest(%s::int[], %s::int[]) AS p(old, final)", old, finals)
        applied = self.env["sale.order"]._fields["applied_coupon_ids"]
        self.env.cr.execute(
            SQL(
                """
                WITH moving AS (
                    SELECT h.id, p.final, h.card_id, h.points_key,
                           row_number() OVER (PARTITION BY p.final, h.points_key ORDER BY h.id) AS nth
                      FROM loyalty_history h JOIN (%(pairs)s) p ON h.card_id = p.old
                )
                UPDATE loyalty_history h
                   SET card_id = m.final,
                       -- a key the final card holds already is prefixed with the card it came from
                       points_key = CASE WHEN m.nth > 1 OR EXISTS (SELECT 1 FROM loyalty_history f
                                                                    WHERE f.card_id = m.final
                                                                      AND f.points_key = m.points_key)
                                         THEN 'card' || m.card_id || ':' || m.points_key
                                         ELSE m.points_key END
                  FROM moving m
                 WHERE h.id = m.id;
                UPDATE loyalty_card card
                   SET points = card.points + t.points,
                       write_date = %(now)s  -- the nightly expiry reads the cards written since it last looked
                  FROM (SELECT p.final, sum(old.points) AS points
                          FROM (%(pairs)s) p JOIN loyalty_card old ON old.id = p.old GROUP BY p.final) t
                 WHERE card.id = t.final;
                UPDATE loyalty_card card SET points = 0, is_tier_card = FALSE, active = FALSE
                  FROM (%(pairs)s) p WHERE card.id = p.old;
                UPDATE sale_order_line l SET coupon_id = p.final FROM (%(pairs)s) p WHERE l.coupon_id = p.old;
                UPDATE sale_order_coupon_points c SET coupon_id = p.final FROM (%(pairs)s) p
                 WHERE c.coupon_id = p.old
                   AND NOT EXISTS (SELECT 1 FROM sale_order_coupon_points o
                                    WHERE o.order_id = c.order_id AND o.coupon_id = p.final);
                INSERT INTO %(applied)s (%(order)s, %(card)s)
                SELECT a.%(order)s, p.final FROM %(applied)s a JOIN (%(pairs)s) p ON a.%(card)s = p.old
                    ON CONFLICT DO NOTHING;
                DELETE FROM %(applied)s a USING (%(pairs)s) p WHERE a.%(card)s = p.old;
                """,
                pairs=pairs,
                now=self.env.cr.now(),
                applied=SQL.identifier(applied.relation),
                order=SQL.identifier(applied.column1),
                card=SQL.identifier(applied.column2),
            )
        )
        self.env.invalidate_all()

    # ------------------------------------------------------------ tier rewards
    def _tier_rewards(self, config, today):
        """The tiers' entry and birthday points and entry coupons of
        ``config``'s company. All are derived from what is stored (the tier
        history, the birthdays) and keyed per card or per customer in the
        care log, so a run killed halfway or run twice awards each once."""
        ledger = self._in_company_lang(config.company_id)
        self._insert(ledger._entry_rewards(config, today) + ledger._birthday_rewards(config, today))
        self.env["customer.notification.job"]._give_entry_coupons(config, self._entry_coupons(config, today))

    def _promotions(self, config, today, columns, condition):
        """``columns`` of each promotion by the nightly job (into a tier
        ``new`` that ranks above the old one) of the last
        ``REWARD_LOOKBACK_DAYS`` days that meets ``condition``: never a first
        classification (no old tier) nor a move down. Its day is
        ``(h.date AT TIME ZONE 'UTC')::date``, its key ``entry:<tier>:<day>``."""
        self.env["customer.tier.history"].flush_model()
        self.env["customer.tier"].flush_model()
        return self.env.execute_query(
            SQL(
                """
                SELECT %(columns)s
                  FROM customer_tier_history h
                  JOIN customer_tier new ON new.id = h.new_tier_id
                  JOIN customer_tier old ON old.id = h.old_tier_id
                 WHERE h.company_id = %(company)s AND h.reason = 'computed' AND h.date >= %(since)s
                   AND %(condition)s
                   AND (new.sequence, new.id) < (old.sequence, old.id)
                 ORDER BY h.id
                """,
                columns=columns,
                condition=condition,
                company=config.company_id.id,
                since=today - relativedelta(days=REWARD_LOOKBACK_DAYS),
            )
        )

    def _entry_coupons(self, config, today):
        """(entity, tier, day, coupon program) of the promotions into a tier
        with an entry coupon that got none yet (no ``entry:<tier>:<day>`` in
        the care log)."""
        self.env["customer.care.log"].flush_model()
        return self._promotions(
            config,
            today,
            SQL("h.partner_id, h.new_tier_id, (h.date AT TIME ZONE 'UTC')::date, new.entry_program_id"),
            SQL(
                """new.entry_program_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM customer_care_log log
                                    WHERE log.partner_id = h.partner_id AND log.company_id = h.company_id
                                      AND log.occasion = 'entry:' || h.new_tier_id || ':'
                                                         || (h.date AT TIME ZONE 'UTC')::date
                                      AND log.year = extract(year FROM (h.date AT TIME ZONE 'UTC')::date))"""
            ),
        )

    def _entry_rewards(self, config, today):
        """An entry per promotion (``_promotions``) into a tier with entry
        points, keyed ``entry:<tier>:<date>``."""
        rows = self._promotions(
            config,
            today,
            SQL("h.partner_id, h.new_tier_id, (h.date AT TIME ZONE 'UTC')::date, new.entry_points, new.code"),
            SQL("new.entry_points > 0"),
        )
        if not rows:
            return []
        description = self.env._("Welcome to your new level")
        cards = self._tier_cards(config.loyalty_program_id, list({row[0] for row in rows}))
        return [
            Entry(
                cards[partner_id],
                description,
                note=self.env._("Entry points of tier %s", code),
                key=f"entry:{tier_id}:{day}",
                kind="adjust",
                date=day,
                issued=points,
            )
            for partner_id, tier_id, day, points, code in rows
        ]

    def _birthday_rewards(self, config, today):
        """An entry per customer whose birthday is ``today`` and whose tier
        gives birthday points, keyed ``birthday:<year>``."""
        partners = self.env["customer.care.job"]._birthday_partners(config, today)
        partners = partners.with_company(config.company_id).filtered(lambda p: p.tier_id.birthday_points > 0)
        if not partners:
            return []
        description = self.env._("Birthday points")
        cards = self._tier_cards(config.loyalty_program_id, partners.ids)
        return [
            Entry(
                cards[partner.id],
                description,
                note=self.env._("Birthday points of tier %s", partner.tier_id.code),
                key=f"birthday:{today.year}",
                kind="adjust",
                date=today,
                issued=partner.tier_id.birthday_points,
            )
            for partner in partners
        ]

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
                    self.env._("Points adjustment"),
                    note=reason,
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
