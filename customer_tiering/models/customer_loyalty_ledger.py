import logging
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

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
#: The payment states of a paid invoice, as *Earn Points When: Invoice paid* reads them.
PAID_STATES = ("in_payment", "paid")
#: Where the invoices whose payment state moved wait for the check before the commit.
PAYMENTS_QUEUE = "customer_tiering.payments"


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
    order_model: str = "account.move"  # the model of ``order_id``: the document's source


@dataclass
class DocumentState:
    """What the ledger already holds for one document (an invoice, a credit
    note, an order), or for one part of a credit note (what it takes back
    of an order's earning).

    Each posting (confirmation, payment) opens a cycle that a cancellation,
    a reset to draft or a payment reversed closes, so a document counted
    again after a correction earns again, exactly once. The other fields
    describe the open cycle's entry.
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
    key: str | None = None

    @property
    def basis(self):
        """The prefix of the open cycle's key ('post', 'paid', 'sale'...),
        without the prefix a merge gives it ('card<id>:')."""
        parts = (self.key or "").split(":")
        while parts and parts[0].startswith("card") and parts[0][4:].isdigit():
            parts.pop(0)
        return parts[0] if parts else None


@dataclass
class Document:
    """A document that counts for points, as the ledger needs it: a posted
    customer invoice or credit note, a confirmed sale order, or a document
    of another source (``_earning_sources``)."""

    id: int
    name: str
    move_type: str  # out_invoice: earns; out_refund: takes back (a credit note, a refund order)
    company_id: int
    partner_id: int  # the commercial entity
    date: object  # its date: the points' date, from which they expire
    amount: float  # untaxed, company currency, less what earns elsewhere (excluded products, billed orders)
    origin_id: int | None  # the document of the same source it reverses (a credit note's invoice)
    origin_share: float | None  # the share of the origin it reverses, in the documents' own currency
    tier_code: str | None
    multiplier: float
    model: str = "account.move"
    key: str = "post"  # the prefix of its keys: 'post' (at posting), 'paid' (on payment), 'sale'...
    #: [(model, id, share)]: the earnings of documents of other sources it
    #: takes back from (a credit note of lines of an order that earned).
    parts: list = field(default_factory=list)


@dataclass(frozen=True)
class EarningSource:
    """A kind of document that earns points (``_earning_sources``).

    ``name`` names the ledger's methods of the source (``_read_<name>``,
    ``_catch_up_<name>``, ``_labels_<name>``, ``_amounts_<name>``);
    ``model`` is its documents' model (the entries' ``order_model``);
    its entries are keyed ``<earn_key>:<id>:<cycle>`` and
    ``<void_key>:<id>:<cycle>``; ``modes`` are the *Earn Points When*
    values in which its documents earn. ``billed``, if its documents are
    invoiced, is the SQL relation ``(line_id, document_id)`` of the customer
    invoice lines that bill them; ``flush``, the models its SQL reads.
    """

    name: str
    model: str
    earn_key: str
    void_key: str
    modes: tuple
    billed: object = None
    flush: tuple = ()


def _ratio(part, whole):
    """``part / whole`` as PostgreSQL's numeric division gives it (amounts
    have a few decimals), or None for no whole."""
    if not whole:
        return None
    return float(Decimal(f"{part:.6f}") / Decimal(f"{whole:.6f}"))


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

    # ------------------------------------------------------------ sources
    @api.model
    def _earning_sources(self):
        """The kinds of documents that earn points (``EarningSource``), in
        the order the catch-up counts them: the documents invoices bill come
        before the invoices, so that an invoice sees whether they earned.

        This is the extension point of another add-on's documents (a point
        of sale order): override it to append a source, and give the ledger
        the source's methods. The ledger keeps the rules (keys, cycles,
        reversals bounded by what is left, idempotent catch-up, the switch
        rule); a source only says which documents hold points, and for how
        much. Its contract:

        - ``_read_<name>(ids, configs)``: the ``Document`` (``model`` and
          ``key`` set to the source's) of each of ``ids`` that holds points
          now: of a company of ``configs`` whose ``points_earn_on`` is in
          the source's ``modes``, eligible (``sql.points_eligible``, with its
          date), its amount in company currency less the lines of the
          excluded products (``_excluded_condition``), with its customer's
          commercial entity and tier multiplier (as ``_read_sale``). A
          document taking back (a refund order) has ``move_type``
          'out_refund' and its origin (a document of the same source) and
          the share of it it reverses.
        - ``_catch_up_<name>(config, full)``: [(id, holds)], ordered by
          customer: the documents of ``config``'s company written since
          ``config.points_checked_since`` (all if ``full``) that hold points
          and are not counted (``holds``), or are counted and no longer hold
          them (cancelled).
        - ``_labels_<name>()``: its earnings' description and note formats.
        - ``billed`` and ``_amounts_<name>(ids, excluded)`` if invoices bill
          its documents: an invoice line billing a document that earned
          earns nothing, and a credit note of it takes back from that
          document's earning.
        - Its events call ``_award_source(name, ids)`` when documents come
          to hold points (an order confirmed, paid) and
          ``_void_source(name, ids)`` when they no longer do (cancelled).
        """
        lines = self.env["sale.order.line"]._fields["invoice_lines"]
        return [
            EarningSource(
                "sale",
                "sale.order",
                "sale",
                "sale-void",
                ("confirmed",),
                billed=SQL(
                    "SELECT rel.%s AS line_id, sol.order_id AS document_id FROM %s rel "
                    "JOIN sale_order_line sol ON sol.id = rel.%s",
                    SQL.identifier(lines.column2),
                    SQL.identifier(lines.relation),
                    SQL.identifier(lines.column1),
                ),
                flush=("sale.order", "sale.order.line"),
            ),
            EarningSource("invoice", "account.move", "post", "void", ("posted", "paid", "confirmed")),
        ]

    def _source(self, name):
        return next(source for source in self._earning_sources() if source.name == name)

    def _source_of(self, model):
        return next(source for source in self._earning_sources() if source.model == model)

    @api.model
    def _award_source(self, name, records, config=None):
        """Count the documents of the source ``name`` (records or ids) that
        hold points and are not counted yet. The nightly catch-up gives its
        company's ``config``."""
        if name == "invoice":
            moves = records if isinstance(records, models.BaseModel) else self.env["account.move"].browse(records)
            return self._award_documents(moves, config)
        source = self._source(name)
        ids = records.ids if isinstance(records, models.BaseModel) else list(records)
        if not ids:
            return None
        configs = {config.company_id.id: config} if config else self._configs(self._companies_of(ids, source.model))
        if not configs:
            return None
        documents = getattr(self, f"_read_{name}")(ids, configs)
        for move_type in DOCUMENT_TYPES:
            self._award([doc for doc in documents if doc.move_type == move_type], configs)
        return None

    @api.model
    def _void_source(self, name, records, reason="cancelled"):
        """Reverse what the counted documents of the source ``name`` (records
        or ids) hold, as far as it is left (``_void_entry``)."""
        ids = records.ids if isinstance(records, models.BaseModel) else list(records)
        if ids:
            self._void(self._source(name).model, ids, reason)

    # ------------------------------------------------------------ documents
    @api.model
    def _award_documents(self, moves, config=None):
        """Earn (invoices) or reverse (credit notes) points for posted documents not counted yet.

        Invoices go first, so that a credit note counted with its invoice
        reverses what that invoice earned; the invoices a credit note
        reverses are counted first if they should have been and were not,
        and the credit notes that waited for an invoice are counted with it.
        The orders the invoices bill are counted before them where orders
        earn (*Order confirmed*), so the invoices see that they did.
        The nightly catch-up gives its company's ``config``: it reads every
        document not counted yet itself, so neither the documents' companies
        nor their related documents are looked up.
        """
        if config:
            configs, move_ids = {config.company_id.id: config}, moves.ids
        else:
            configs = self._configs(self._companies_of(moves.ids))
            move_ids = moves.ids + self._related_documents(moves.ids)
            if configs and move_ids:
                self._award_billed(move_ids, configs)
        if not configs or not move_ids:
            return
        documents = self._read_documents(move_ids, configs)
        for move_type in DOCUMENT_TYPES:
            self._award([doc for doc in documents if doc.move_type == move_type], configs)

    def _award_billed(self, move_ids, configs):
        """Count the documents of other sources that the invoices
        ``move_ids`` bill, where they earn (an order, in *Order confirmed*)."""
        modes = {config.points_earn_on for config in configs.values()}
        for source in self._earning_sources():
            if source.billed is None or not modes & set(source.modes):
                continue
            self._flush_source(source)
            rows = self.env.execute_query(
                SQL(
                    "SELECT DISTINCT b.document_id FROM (%s) b JOIN account_move_line l ON l.id = b.line_id "
                    "WHERE l.move_id = ANY(%s)",
                    source.billed,
                    move_ids,
                )
            )
            if rows:
                self._award_source(source.name, [document_id for (document_id,) in rows])

    def _flush_source(self, source):
        self.env["account.move.line"].flush_model()
        for model in source.flush:
            self.env[model].flush_model()

    def _companies_of(self, ids, model="account.move"):
        """The companies of the documents, read alone: the ORM would read
        every column of ten thousand documents to give their companies."""
        self.env[model].flush_model(["company_id"])
        rows = self.env.execute_query(
            SQL(
                "SELECT DISTINCT company_id FROM %s WHERE id = ANY(%s)",
                SQL.identifier(self.env[model]._table),
                list(ids),
            )
        )
        return self.env["res.company"].browse([company_id for (company_id,) in rows if company_id])

    def _award(self, documents, configs):
        """Count ``documents``, of one source and one kind (all earn, or all
        take back), that are not counted yet."""
        if not documents:
            return
        model = documents[0].model
        states = self._document_states([doc.id for doc in documents] + [doc.origin_id for doc in documents], model)
        pending = [doc for doc in documents if not states[doc.id].is_open]
        if not pending:
            return
        earnings = self._earning_states({(part[0], part[1]) for doc in pending for part in doc.parts})
        cards = self._cards(pending, configs)
        reposted = [doc for doc in pending if doc.move_type == "out_invoice" and states[doc.id].cycle]
        lots = self._card_lots(
            {states[doc.origin_id].card_id for doc in pending if doc.origin_id and states[doc.origin_id].is_open}
            | {states[doc.id].card_id for doc in reposted}
            | {earning.card_id for earning in earnings.values() if earning.is_open},
            # a credit note of no invoice needs only the balance
            balances={cards[doc.company_id, doc.partner_id] for doc in pending if doc.move_type == "out_refund"},
        )
        outstanding = self._outstanding_reversals(model, [doc.id for doc in reposted])
        ledgers = {company_id: self._in_company_lang(config.company_id) for company_id, config in configs.items()}
        source = self._source_of(model)
        labels = {company_id: ledger._earn_labels(source.name) for company_id, ledger in ledgers.items()}
        entries = []
        for doc in pending:
            config = configs[doc.company_id]
            ledger = ledgers[doc.company_id]
            card_id = cards[doc.company_id, doc.partner_id]
            state = states[doc.id]
            key = f"{doc.key}:{doc.id}:{state.cycle}"
            parts = []
            if doc.move_type == "out_invoice":
                entry = ledger._earn_entry(doc, config, card_id, labels[doc.company_id])
                if state.cycle:
                    held = lots[state.card_id].held_by((model, doc.id)) + outstanding[doc.id]
                    ledger._less_what_is_held(entry, held)
            else:
                # What it takes back of orders' earnings first: those lines
                # were sold by the orders; the rest, from its invoice.
                for part_model, part_id, share in doc.parts:
                    part = ledger._refund_entry(doc, config, earnings[part_model, part_id], lots, share)
                    if part:
                        part.key = f"{key}:{self._source_of(part_model).name}:{part_id}"
                        parts.append(part)
                if doc.origin_id:
                    entry = ledger._refund_entry(doc, config, states[doc.origin_id], lots, doc.origin_share)
                    if entry is None and parts:
                        # Its invoice earned nothing (yet): counted for its parts, it takes nothing more.
                        description = ledger.env._("Credit note %(document)s", document=doc.name)
                        entry = Entry(card_id, description, "", "refund", doc.date, order_id=doc.id)
                else:
                    entry = ledger._return_entry(doc, config, card_id, lots[card_id])
            # A credit note or a re-posting that takes or earns nothing is still counted.
            if entry and (entry.issued or entry.used or entry.kind in ("refund", "return") or state.cycle):
                entry.key = key
                entries.extend([*parts, entry])
        self._insert(entries)

    def _outstanding_reversals(self, model, ids):
        """{document id: the points the counted credit notes (or refunds) of
        its earnings still take back}, for documents counted again: they
        earn again less what is still reversed."""
        outstanding = defaultdict(float)
        if not ids:
            return outstanding
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT e.order_model, e.order_id, lot.order_id
                  FROM loyalty_history lot
                  JOIN loyalty_history e ON e.points_lot_id = lot.id
                 WHERE lot.order_model = %s AND lot.order_id = ANY(%s) AND lot.points_key IS NOT NULL
                   AND lot.points_kind = 'earn' AND e.points_kind = 'refund' AND e.points_key IS NOT NULL
                """,
                model,
                ids,
            )
        )
        own = self._document_states([doc for reversal_model, doc, _id in rows if reversal_model == model], model)
        parts = {}
        for reversal_model in {reversal_model for reversal_model, _doc, _id in rows if reversal_model != model}:
            docs = [doc for other, doc, _id in rows if other == reversal_model]
            for doc, by_part in self._part_states(docs, reversal_model).items():
                parts[reversal_model, doc] = by_part
        for reversal_model, doc, target in rows:
            # a credit note of the same source (its own cycle), or one taking back of an order (a part)
            own_cycle = reversal_model == model
            state = own[doc] if own_cycle else parts.get((reversal_model, doc), {}).get((model, target))
            if state and state.is_open and state.kind == "refund":
                outstanding[target] += state.used - state.issued
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
        self._void("account.move", moves.ids)

    def _void(self, model, ids, reason="cancelled"):
        """Close the open cycle of the documents ``ids`` of ``model``: an
        entry per document, and per part of a credit note (what it took of
        an order's earning). ``reason``: 'cancelled' (cancelled or reset to
        draft) or 'unpaid' (a payment reversed)."""
        states = {doc_id: state for doc_id, state in self._document_states(ids, model).items() if state.is_open}
        if not states:
            return
        parts = self._part_states(list(states), model)
        all_states = [*states.values(), *(part for by_part in parts.values() for part in by_part.values())]
        card_companies = dict(
            self.env.execute_query(
                SQL(
                    "SELECT card.id, program.company_id FROM loyalty_card card "
                    "JOIN loyalty_program program ON program.id = card.program_id WHERE card.id = ANY(%s)",
                    list({state.card_id for state in all_states}),
                )
            )
        )
        configs = self._configs(self.env["res.company"].browse(set(card_companies.values())))
        lots = self._card_lots({state.card_id for state in all_states})
        reposted = self._reposted_earnings(all_states, lots)
        names = {record.id: record.name for record in self.env[model].sudo().browse(list(states))}
        void_key = self._source_of(model).void_key
        entries = []
        for doc_id, state in sorted(states.items()):
            key = f"{void_key}:{doc_id}:{state.cycle}"
            for (part_model, part_id), part in sorted(parts.get(doc_id, {}).items()):
                if part.is_open:
                    entries.append(
                        self._void_entry_of(
                            doc_id,
                            names[doc_id],
                            part,
                            lots,
                            card_companies,
                            configs,
                            reposted,
                            f"{key}:{self._source_of(part_model).name}:{part_id}",
                            model,
                            reason,
                        )
                    )
            entries.append(
                self._void_entry_of(
                    doc_id, names[doc_id], state, lots, card_companies, configs, reposted, key, model, reason
                )
            )
        self._insert(entries)

    def _void_entry_of(self, doc_id, name, state, lots, card_companies, configs, reposted, key, model, reason):
        company_id = card_companies[state.card_id]
        ledger = self._in_company_lang(self.env["res.company"].browse(company_id))
        entry = ledger._void_entry(
            doc_id, name, state, lots[state.card_id], configs.get(company_id), reposted.get(state.lot_id), reason
        )
        entry.key, entry.order_model = key, model
        return entry

    def _reposted_earnings(self, states, lots):
        """{earning: the open earning of the same document on the same card},
        for the reversals among ``states`` whose document (an invoice, an
        order) was cancelled and counted again since: what they took back
        returns to the new earning."""
        closed = {}  # {earning: (card id, (model, document id))}
        for state in states:
            card = lots[state.card_id]
            if state.kind == "refund" and state.lot_id in card.lots and card.closed(state.lot_id):
                closed[state.lot_id] = (state.card_id, card.lots[state.lot_id].order_id)
        earnings = self._earning_states({document for _card_id, document in closed.values() if document})
        return {
            lot_id: earnings[document].entry_id
            for lot_id, (card_id, document) in closed.items()
            if document and earnings[document].is_open and earnings[document].card_id == card_id
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
            date=doc.date,
            issued=self._points_for(doc, config),
            order_id=doc.id,
            order_model=doc.model,
        )

    def _in_company_lang(self, company):
        """The ledger writing its descriptions in ``company``'s language: they
        are stored, and read by the company's staff, whoever posted the
        document or ran the job (an accountant, the nightly cron)."""
        lang = company.partner_id.lang
        return self.with_context(lang=lang) if lang and lang != self.env.lang else self

    def _earn_labels(self, source="invoice"):
        """A document's description and internal note, translated once for a
        batch of thousands of documents (``_labels_<source>``)."""
        return getattr(self, f"_labels_{source}")()

    def _labels_invoice(self):
        return (
            self.env._("Invoice %(document)s"),
            self.env._("%(amount)s × %(rate)s × %(multiplier)s (tier %(tier)s)"),
        )

    def _labels_sale(self):
        return (
            self.env._("Order %(document)s"),
            self.env._("%(amount)s × %(rate)s × %(multiplier)s (tier %(tier)s)"),
        )

    def _points_for(self, doc, config):
        return _round_down(doc.amount * config.points_per_currency * doc.multiplier, config.points_rounding)

    def _refund_entry(self, doc, config, origin, lots, share):
        """A credit note takes back its ``share`` of what its invoice (or an
        order it bills, ``origin``) earned, computed in the documents' own
        currency, as far as the earning's points are left; of an invoice
        that earned nothing, nothing."""
        description = self.env._("Credit note %(document)s", document=doc.name)
        if not origin.is_open or origin.kind != "earn":
            return None
        card = lots[origin.card_id]
        share = _round_down(origin.issued * min(share or 0.0, 1.0), config.points_rounding)
        wanted = min(share, card.net(origin.entry_id))
        taken = wanted if config.points_allow_negative else min(wanted, card.left(origin.entry_id))
        card.move(origin.entry_id, -taken)
        return Entry(
            card_id=origin.card_id,
            description=self._with_shortfall(description, wanted, taken),
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
            date=doc.date,
            used=taken,
            order_id=doc.id,
        )

    def _void_entry(self, move_id, name, state, card, config, reposted=None, reason="cancelled"):
        """The entry closing a document's open cycle: an invoice (an order)
        gives back what is left of its points, a credit note gives back what
        it took to its invoice's (or order's) earning (the new one, if that
        document was cancelled and counted again since; none, if it is
        cancelled)."""
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
        if reason == "unpaid":
            description = self.env._("%(document)s no longer paid", document=name)
        else:
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

    # ------------------------------------------------------------ reading documents
    def _excluded_pairs(self, configs):
        """[(company id, product id)] of the products that earn no points, by company."""
        return [
            (company_id, product_id)
            for company_id, config in configs.items()
            for product_id in config._points_excluded_products().ids
        ]

    def _excluded_condition(self, product, company, excluded):
        """Whether a line's ``product`` (an SQL expression) earns no points
        in ``company`` (an SQL expression): the one exclusion of gift cards,
        eWallet top-ups, delivery and the settings' own products
        (``customer.tiering.config._points_excluded_products``), for invoice
        lines, sale order lines and any other source's lines."""
        if not excluded:
            return SQL("FALSE")
        companies, products = zip(*excluded, strict=True)
        return SQL(
            """(%(product)s IN (SELECT e.product FROM unnest(%(companies)s::int[], %(products)s::int[])
                                                  AS e(company, product)
                                 WHERE e.company = %(company)s))""",
            product=product,
            company=company,
            companies=list(companies),
            products=list(products),
        )

    def _read_documents(self, move_ids, configs):
        """The posted customer documents among ``move_ids`` that count for
        points now, and the invoices their credit notes reverse, with their
        entity's tier multiplier in the document's company. In *Invoice
        paid*, an invoice counts once paid; a credit note, once posted.
        Their amounts leave out the lines of the products that earn no
        points (``_points_excluded_products``) and the lines billing
        documents whose points are held elsewhere (``_owned_lines``)."""
        self.env["account.move"].flush_model()
        self.env["account.move.line"].flush_model()
        self.env["res.partner"].flush_model(["tier_id"])
        self.env["customer.tiering.config"].flush_model()
        excluded = self._excluded_pairs(configs)
        rows = self.env.execute_query(
            SQL(
                """
                SELECT m.id, m.name, m.move_type, m.company_id, m.commercial_partner_id, m.invoice_date,
                       abs(m.amount_untaxed) - x.amount, abs(m.amount_untaxed_signed) - x.company_amount,
                       m.currency_id, m.reversed_entry_id, abs(origin.amount_untaxed) - ox.amount,
                       abs(origin.amount_untaxed_signed) - ox.company_amount, origin.currency_id,
                       tier.code, COALESCE(tier.points_multiplier, 1.0), config.points_earn_on
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
                   AND (m.move_type = 'out_refund' OR config.points_earn_on <> 'paid'
                        OR m.payment_state IN %(paid)s)
                 ORDER BY m.id
                """,
                ids=move_ids,
                types=DOCUMENT_TYPES,
                paid=PAID_STATES,
                tier=company_value("entity", "tier_id", SQL("m.company_id"), "int"),
                eligible=points_eligible("m", SQL("config.points_start_date")),
                excluded_m=self._excluded_amounts("m", excluded),
                excluded_origin=self._excluded_amounts("origin", excluded),
            )
        )
        billed = self._billed([row[0] for row in rows] + [row[9] for row in rows if row[9]], excluded)
        documents = []
        for row in rows:
            (move_id, name, move_type, company_id, partner_id, day, amount, company_amount, currency_id) = row[:9]
            origin_id, origin_amount, origin_company_amount, origin_currency_id, tier, multiplier, mode = row[9:]
            amount, company_amount, parts = self._owned_lines(
                billed, move_id, move_type, mode, amount, company_amount, currency_id
            )
            share = None
            if origin_id:
                origin_amount, origin_company_amount, _parts = self._owned_lines(
                    billed, origin_id, "out_invoice", mode, origin_amount, origin_company_amount, origin_currency_id
                )
                share = (
                    _ratio(amount, origin_amount)
                    if currency_id == origin_currency_id
                    else _ratio(company_amount, origin_company_amount)
                )
            documents.append(
                Document(
                    move_id,
                    name,
                    move_type,
                    company_id,
                    partner_id,
                    day,
                    company_amount,
                    origin_id,
                    share,
                    tier,
                    multiplier,
                    key="paid" if mode == "paid" and move_type == "out_invoice" else "post",
                    parts=parts,
                )
            )
        return documents

    def _billed(self, move_ids, excluded):
        """What the customer documents ``move_ids`` bill of the documents of
        other sources (an order's lines): {"lines": {move id: {(model,
        document id): (amount, company amount)}}, "owners": {(model, document
        id): 'self' (its own earning holds its points), 'invoices' (its
        invoices earned) or None}, "earnings": {(model, id): state},
        "amounts": {(model, id): (amount, currency id, company amount)}}.
        Lines of excluded products are left out (they earn nowhere)."""
        billed = {"lines": defaultdict(dict), "owners": {}, "earnings": {}, "amounts": {}}
        move_ids = list(set(move_ids))
        for source in self._earning_sources():
            if source.billed is None or not move_ids:
                continue
            self._flush_source(source)
            rows = self.env.execute_query(
                SQL(
                    """
                    SELECT l.move_id, b.document_id, sum(l.price_subtotal), abs(sum(l.balance))
                      FROM account_move_line l
                      JOIN LATERAL (SELECT b.document_id FROM (%(billed)s) b
                                     WHERE b.line_id = l.id ORDER BY b.document_id LIMIT 1) b ON TRUE
                     WHERE l.move_id = ANY(%(ids)s) AND l.display_type = 'product'
                       AND NOT %(excluded)s
                     GROUP BY l.move_id, b.document_id
                    """,
                    billed=source.billed,
                    ids=move_ids,
                    excluded=self._excluded_condition(SQL("l.product_id"), SQL("l.company_id"), excluded),
                )
            )
            if not rows:
                continue
            for move_id, document_id, amount, company_amount in rows:
                billed["lines"][move_id][source.model, document_id] = (amount, company_amount)
            document_ids = list({document_id for _move_id, document_id, _amount, _company in rows})
            owners = self._billed_owners(source, document_ids)
            billed["owners"].update({(source.model, doc): owner for doc, owner in owners.items()})
            owned = [doc for doc, owner in owners.items() if owner == "self"]
            billed["earnings"].update(self._earning_states({(source.model, doc) for doc in owned}))
            amounts = getattr(self, f"_amounts_{source.name}")(owned, excluded)
            billed["amounts"].update({(source.model, doc): value for doc, value in amounts.items()})
        return billed

    def _billed_owners(self, source, document_ids):
        """{document id: 'self' if the document of ``source`` earned (its
        own keyed earning, ever: a cancelled order keeps its invoices from
        earning), 'invoices' if an invoice billing it earned, None if
        neither}: once one side counted a sale, the other never does."""
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT d.id,
                       EXISTS (SELECT 1 FROM loyalty_history h
                                WHERE h.order_model = %(model)s AND h.order_id = d.id
                                  AND h.points_key IS NOT NULL AND h.points_kind = 'earn'),
                       %(invoiced)s
                  FROM unnest(%(ids)s::int[]) AS d(id)
                """,
                model=source.model,
                ids=list(document_ids),
                invoiced=self._invoices_earned(source, SQL("d.id")),
            )
        )
        return {doc: "self" if own else "invoices" if invoiced else None for doc, own, invoiced in rows}

    def _invoices_earned(self, source, document):
        """Whether an invoice billing the document ``document`` (an SQL
        expression, its id) of ``source`` earned, in SQL."""
        return SQL(
            """EXISTS (SELECT 1 FROM (%(billed)s) b
                         JOIN account_move_line l ON l.id = b.line_id
                         JOIN loyalty_history h ON h.order_model = 'account.move' AND h.order_id = l.move_id
                                               AND h.points_key IS NOT NULL AND h.points_kind = 'earn'
                        WHERE b.document_id = %(document)s)""",
            billed=source.billed,
            document=document,
        )

    def _owned_lines(self, billed, move_id, move_type, mode, amount, company_amount, currency_id):
        """The amounts of the customer document ``move_id`` less its lines
        billing documents that hold the points of those lines, and, for a
        credit note, its parts: [(model, id, share)] of the open earnings it
        takes back from.

        A line billing a document (an order) earns nothing on the invoice
        when that document earned, or when it earns in the company's mode
        (``mode``) and its invoices did not earn before: the switch rule,
        one side of a sale counts it, whichever mode counted it first."""
        parts = []
        for (model, doc), (line_amount, line_company_amount) in sorted(billed["lines"].get(move_id, {}).items()):
            owner = billed["owners"].get((model, doc))
            if not (owner == "self" or (owner is None and mode in self._source_of(model).modes)):
                continue
            amount -= line_amount
            company_amount -= line_company_amount
            earning = billed["earnings"].get((model, doc))
            if move_type == "out_refund" and owner == "self" and earning and earning.is_open:
                doc_amount, doc_currency_id, doc_company_amount = billed["amounts"][model, doc]
                share = (
                    _ratio(line_amount, doc_amount)
                    if currency_id == doc_currency_id
                    else _ratio(line_company_amount, doc_company_amount)
                )
                parts.append((model, doc, share))
        return amount, company_amount, parts

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
        return SQL(
            """(SELECT COALESCE(sum(l.price_subtotal), 0.0) AS amount,
                       COALESCE(abs(sum(l.balance)), 0.0) AS company_amount
                  FROM account_move_line l
                 WHERE l.move_id = %(move)s.id AND l.display_type = 'product' AND %(excluded)s)""",
            move=SQL.identifier(move),
            excluded=self._excluded_condition(SQL("l.product_id"), SQL.identifier(move, "company_id"), excluded),
        )

    # ------------------------------------------------------------ sale orders
    def _sale_amounts(self, excluded):
        """The untaxed amount of the sale order ``o`` less its lines of the
        products that earn no points, in its currency (``x.amount``)."""
        return SQL(
            """(SELECT o.amount_untaxed - COALESCE(sum(l.price_subtotal), 0.0) AS amount
                  FROM sale_order_line l
                 WHERE l.order_id = o.id AND l.display_type IS NULL AND %s)""",
            self._excluded_condition(SQL("l.product_id"), SQL("o.company_id"), excluded),
        )

    def _amounts_sale(self, order_ids, excluded):
        """{order id: (amount, currency id, company amount)}: what the order
        earns on, less its excluded lines."""
        if not order_ids:
            return {}
        self.env["sale.order"].flush_model()
        self.env["sale.order.line"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT o.id, x.amount, o.currency_id, x.amount / COALESCE(NULLIF(o.currency_rate, 0), 1.0)
                  FROM sale_order o CROSS JOIN LATERAL %(amounts)s x
                 WHERE o.id = ANY(%(ids)s)
                """,
                ids=list(order_ids),
                amounts=self._sale_amounts(excluded),
            )
        )
        return {order_id: (amount, currency_id, company) for order_id, amount, currency_id, company in rows}

    def _read_sale(self, order_ids, configs):
        """The confirmed sale orders among ``order_ids`` that earn now: in a
        company earning on order confirmation, dated from the start date,
        and billed by no invoice that earned (the switch rule). Their date
        is the order's; their amount is untaxed, in company currency (at the
        order's rate), less the lines of excluded products."""
        self.env["sale.order"].flush_model()
        self.env["sale.order.line"].flush_model()
        self.env["account.move.line"].flush_model()
        self.env["loyalty.history"].flush_model()
        self.env["res.partner"].flush_model(["tier_id", "commercial_partner_id"])
        self.env["customer.tiering.config"].flush_model()
        source = self._source("sale")
        rows = self.env.execute_query(
            SQL(
                """
                SELECT o.id, o.name, 'out_invoice', o.company_id, entity.id, o.date_order::date,
                       x.amount / COALESCE(NULLIF(o.currency_rate, 0), 1.0), NULL, NULL,
                       tier.code, COALESCE(tier.points_multiplier, 1.0)
                  FROM sale_order o
                  JOIN customer_tiering_config config
                    ON config.company_id = o.company_id AND config.loyalty_program_id IS NOT NULL
                   AND config.points_earn_on IN %(modes)s
                  JOIN res_partner customer ON customer.id = o.partner_id
                  JOIN res_partner entity ON entity.id = customer.commercial_partner_id
                  LEFT JOIN customer_tier tier ON tier.id = %(tier)s
                  CROSS JOIN LATERAL %(amounts)s x
                 WHERE o.id = ANY(%(ids)s) AND o.state = 'sale'
                   AND %(eligible)s AND NOT %(invoiced)s
                 ORDER BY o.id
                """,
                ids=list(order_ids),
                modes=source.modes,
                tier=company_value("entity", "tier_id", SQL("o.company_id"), "int"),
                amounts=self._sale_amounts(self._excluded_pairs(configs)),
                eligible=points_eligible("o", SQL("config.points_start_date"), date=SQL("o.date_order::date")),
                invoiced=self._invoices_earned(source, SQL("o.id")),
            )
        )
        return [Document(*row, model="sale.order", key=source.earn_key) for row in rows]

    def _catch_up_sale(self, config, full):
        """[(order id, holds)]: the confirmed orders that earn and are not
        counted (in *Order confirmed*), and the counted orders no longer
        confirmed (cancelled), of those written since the last look."""
        self.env["sale.order"].flush_model(["state", "date_order", "company_id", "write_date", "amount_untaxed"])
        return self._catch_up_orders(
            config,
            full,
            self._source("sale"),
            columns=SQL("id, state, partner_id, date_order, amount_untaxed"),
            holds=SQL("o.state = 'sale'"),
            earnable=SQL("o.amount_untaxed <> 0 AND o.date_order::date >= %s", config.points_start_date),
            partner=SQL("o.partner_id"),
        )

    def _catch_up_orders(self, config, full, source, columns, holds, earnable, partner, scope=None):
        """[(order id, holds)], the catch-up of a source of orders
        (``_catch_up_<name>``): of ``config``'s company's orders (alias
        ``o``, of which ``columns`` are read and ``scope`` is a further
        condition) written since the last look (all if ``full``), those in
        a state that holds points (``holds``) that may earn (``earnable``:
        amount, date) and are not counted, unless their invoices earned
        instead, and those counted no longer in such a state; ordered by
        customer (``partner``)."""
        self.env["loyalty.history"].flush_model()
        return self.env.execute_query(
            SQL(
                """
                WITH orders AS (
                    SELECT %(columns)s
                      FROM %(table)s o
                     WHERE o.company_id = %(company)s AND %(scope)s %(written)s
                ), candidates AS MATERIALIZED (
                    SELECT o.*
                      FROM orders o
                      LEFT JOIN (SELECT order_id,
                                        count(*) FILTER (WHERE points_kind <> 'void')
                                        - count(*) FILTER (WHERE points_kind = 'void') AS open
                                   FROM loyalty_history
                                  WHERE order_model = %(model)s AND points_key IS NOT NULL %(their_entries)s
                                  GROUP BY order_id) h ON h.order_id = o.id
                     WHERE (%(earns)s AND %(holds)s AND COALESCE(h.open, 0) = 0 AND %(earnable)s)
                        OR (NOT %(holds)s AND h.open > 0)
                )
                SELECT o.id, %(holds)s
                  FROM candidates o
                 WHERE NOT %(holds)s OR NOT %(invoiced)s
                 ORDER BY %(partner)s, o.id
                """,
                columns=columns,
                table=SQL.identifier(self.env[source.model]._table),
                model=source.model,
                company=config.company_id.id,
                scope=scope or SQL("TRUE"),
                earns=config.points_earn_on in source.modes,
                holds=holds,
                earnable=earnable,
                partner=partner,
                invoiced=self._invoices_earned(source, SQL("o.id")),
                written=SQL() if full else SQL("AND o.write_date >= %s", config.points_checked_since),
                their_entries=SQL() if full else SQL("AND order_id IN (SELECT id FROM orders)"),
            )
        )

    # ------------------------------------------------------------ payments
    @api.model
    def _queue_payment_check(self, move_ids):
        """Check, before the transaction commits, the customer invoices whose
        payment state was computed again (``_check_payments``): whatever
        moved it (a payment, a reconciliation undone, a payment cancelled,
        a bank statement), it is computed, and the check reads it once."""
        callbacks = self.env.cr.precommit
        queued = callbacks.data.get(PAYMENTS_QUEUE)
        if queued is None:
            queued = callbacks.data[PAYMENTS_QUEUE] = set()
            ledger = self.sudo()
            callbacks.add(lambda: ledger._check_payments(queued))
        queued.update(move_ids)

    def _check_payments(self, queued):
        """In the companies earning on payment (*Invoice paid*): count the
        invoices now paid (in payment or paid), and take back the points of
        those counted on payment that are no longer paid (a payment reversed
        or unreconciled: back to not paid or partly paid). An invoice
        counted at its posting (before the mode changed) stays counted."""
        move_ids = sorted(queued)
        queued.clear()
        moves = self.env["account.move"].sudo().browse(move_ids).exists()
        if not moves:
            return
        configs = self._configs(moves.company_id)
        paying = {company_id for company_id, config in configs.items() if config.points_earn_on == "paid"}
        moves = moves.filtered(lambda move: move.company_id.id in paying and move.move_type == "out_invoice")
        if not moves:
            return
        states = self._document_states(moves.ids)
        paid = moves.filtered(lambda move: move.state == "posted" and move.payment_state in PAID_STATES)
        unpaid = [move.id for move in moves - paid if states[move.id].is_open and states[move.id].basis == "paid"]
        self._void_source("invoice", unpaid, reason="unpaid")
        self._award_documents(paid.filtered(lambda move: not states[move.id].is_open))
        self.env.flush_all()

    # ------------------------------------------------------------ ledger states
    def _document_states(self, ids, model="account.move"):
        """The open cycle of each document of ``model``, from one query. Its
        own entries only: a credit note's parts (what it takes back of an
        order's earning, ``_part_states``) are not its cycle. Each
        document's entries are looked up in their index: the documents are
        mostly new, with none, and for a batch of ids PostgreSQL would rather
        read the whole ledger, which is much slower (docs/design.md)."""
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT d.id, c.voids, c.posts > c.voids, h.card_id, h.issued, h.used, h.points_date,
                       h.id, h.points_kind, h.points_lot_id, h.points_key
                  FROM unnest(%(ids)s::int[]) AS d(id),
                       LATERAL (SELECT count(*) FILTER (WHERE e.points_kind = 'void') AS voids,
                                       count(*) FILTER (WHERE e.points_kind <> 'void') AS posts,
                                       max(e.id) FILTER (WHERE e.points_kind <> 'void') AS last_post
                                  FROM loyalty_history e
                                  LEFT JOIN loyalty_history lot ON lot.id = e.points_lot_id
                                 WHERE e.order_model = %(model)s AND e.order_id = d.id
                                   AND e.points_key IS NOT NULL
                                   AND (lot.id IS NULL OR lot.order_model = %(model)s)) c
                  LEFT JOIN loyalty_history h ON h.id = c.last_post
                 WHERE c.posts + c.voids > 0
                """,
                ids=list({doc_id for doc_id in ids if doc_id}),
                model=model,
            )
        )
        states = defaultdict(DocumentState)
        for doc_id, *state in rows:
            states[doc_id] = DocumentState(*state)
        return states

    def _part_states(self, ids, model="account.move"):
        """{document id: {(model, id): DocumentState}}: the parts of the
        documents ``ids`` (credit notes), each the cycle of what it takes
        back of one earning of a document of another source (an order)."""
        if not ids:
            return {}
        self.env["loyalty.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                WITH parts AS (
                    SELECT e.order_id AS doc, lot.order_model AS lot_model, lot.order_id AS lot_doc,
                           count(*) FILTER (WHERE e.points_kind = 'void') AS voids,
                           count(*) FILTER (WHERE e.points_kind <> 'void') AS posts,
                           max(e.id) FILTER (WHERE e.points_kind <> 'void') AS last_post
                      FROM loyalty_history e
                      JOIN loyalty_history lot ON lot.id = e.points_lot_id
                     WHERE e.order_model = %(model)s AND e.order_id = ANY(%(ids)s) AND e.points_key IS NOT NULL
                       AND lot.order_model <> %(model)s
                     GROUP BY e.order_id, lot.order_model, lot.order_id
                )
                SELECT p.doc, p.lot_model, p.lot_doc, p.voids, p.posts > p.voids, h.card_id, h.issued, h.used,
                       h.points_date, h.id, h.points_kind, h.points_lot_id, h.points_key
                  FROM parts p JOIN loyalty_history h ON h.id = p.last_post
                """,
                ids=list(ids),
                model=model,
            )
        )
        parts = defaultdict(dict)
        for doc_id, lot_model, lot_doc, *state in rows:
            parts[doc_id][lot_model, lot_doc] = DocumentState(*state)
        return parts

    def _earning_states(self, documents):
        """{(model, id): DocumentState} of ``documents`` ((model, id) pairs)."""
        by_model = defaultdict(list)
        for model, doc_id in documents:
            by_model[model].append(doc_id)
        states = defaultdict(DocumentState)
        for model, ids in by_model.items():
            states.update({(model, doc_id): state for doc_id, state in self._document_states(ids, model).items()})
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
                       points_kind, CASE WHEN points_key IS NOT NULL THEN order_model END, order_id
                  FROM loyalty_history
                 WHERE card_id = ANY(%s)
                 ORDER BY card_id, id
                """,
                sorted(replayed),
            )
        )
        entries = defaultdict(list)
        for card_id, *entry, model, order_id in rows:
            # A lot's document is (model, id): an invoice and an order may share an id.
            entries[card_id].append((*entry, (model, order_id) if model and order_id else None))
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
        """Award documents that were missed, and void those no longer
        holding points: among the documents of each source
        (``_earning_sources``, orders before invoices) written since the last
        run looked, or all of them when a full check is due."""
        since = self.env["customer.tiering.job"]._oldest_transaction_start()
        full = config._points_full_check_due(fields.Date.context_today(self))
        Lock = self.env["customer.tiering.lock"]
        # A back-fill (the company's first check, or the first since its
        # program, start date or earning mode changed) counts past documents:
        # its cards and milestones are history, not news, and send no
        # communication.
        backfill = not config.points_full_check
        ledger = self.with_context(loyalty_no_mail=True) if backfill else self
        for source in self._earning_sources():
            rows = getattr(self, f"_catch_up_{source.name}")(config, full)
            # By customer: a chunk moves each card's balance once, and an invoice
            # and its credit notes mostly fall in the same chunk.
            for chunk in split_every(CHUNK, rows, list):
                Lock._run_batch(lambda chunk=chunk, source=source: ledger._catch_up_chunk(source, chunk, config))
                self.env[source.model].invalidate_model()  # keep memory flat over millions of documents
                if not backfill:
                    self._send_communications(config.company_id)
        config.sudo().write({"points_checked_since": since, **({"points_full_check": since} if full else {})})

    def _catch_up_chunk(self, source, rows, config):
        self._void_source(source.name, [doc_id for doc_id, holds in rows if not holds])
        self._award_source(source.name, [doc_id for doc_id, holds in rows if holds], config)

    def _catch_up_invoice(self, config, full):
        """[(move id, holds)]: the customer documents that hold points and are
        not counted, and the counted ones that no longer do (no longer
        posted; in *Invoice paid*, counted on payment and no longer paid).

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
                "payment_state",
            ]
        )
        self.env["loyalty.history"].flush_model()
        return self.env.execute_query(
            SQL(
                """
                WITH moves AS (
                    SELECT id, state, amount_untaxed_signed, commercial_partner_id, move_type, reversed_entry_id,
                           invoice_date, payment_state
                      FROM account_move m
                     WHERE m.company_id = %(company)s AND m.move_type IN %(types)s %(written)s
                ), candidates AS MATERIALIZED (
                    SELECT m.*, %(paid_mode)s AND COALESCE(h.paid_basis, FALSE)
                                AND m.payment_state NOT IN %(paid)s AS unpaid
                      FROM moves m
                      LEFT JOIN (SELECT order_id,
                                        count(*) FILTER (WHERE points_kind <> 'void')
                                        - count(*) FILTER (WHERE points_kind = 'void') AS open,
                                        -- counted on payment ('paid:<move>:<n>'), maybe prefixed by a merge
                                        (array_agg(points_key ORDER BY id DESC)
                                          FILTER (WHERE points_kind = 'earn'))[1] ~ '^(card[0-9]+:)*paid:'
                                          AS paid_basis
                                   FROM loyalty_history
                                  WHERE order_model = 'account.move' AND points_key IS NOT NULL %(their_entries)s
                                  GROUP BY order_id) h ON h.order_id = m.id
                     WHERE (m.state = 'posted' AND COALESCE(h.open, 0) = 0 AND m.amount_untaxed_signed <> 0
                            AND (m.invoice_date >= %(start)s OR m.reversed_entry_id IS NOT NULL)
                            AND (NOT %(paid_mode)s OR m.move_type = 'out_refund' OR m.payment_state IN %(paid)s))
                        OR (m.state <> 'posted' AND h.open > 0)
                        OR (%(paid_mode)s AND h.open > 0 AND h.paid_basis AND m.payment_state NOT IN %(paid)s)
                )
                SELECT m.id, m.state = 'posted' AND NOT m.unpaid
                  FROM candidates m
                 WHERE m.state <> 'posted' OR m.unpaid OR %(eligible)s
                 ORDER BY m.commercial_partner_id, m.id
                """,
                company=config.company_id.id,
                types=DOCUMENT_TYPES,
                paid=PAID_STATES,
                paid_mode=config.points_earn_on == "paid",
                start=config.points_start_date,
                eligible=points_eligible("m", SQL("%s", config.points_start_date)),
                written=SQL() if full else SQL("AND m.write_date >= %s", config.points_checked_since),
                # the entries of those documents only, not the whole ledger
                their_entries=SQL() if full else SQL("AND order_id IN (SELECT id FROM moves)"),
            )
        )

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
        self.env["res.partner"].invalidate_model(["tier_card_id", "loyalty_points"])
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
