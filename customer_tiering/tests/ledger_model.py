"""A pure-Python model of the points ledger rules, for the property tests.

No Odoo here: ``test_ledger_properties`` drives the real add-on and this model
side by side and compares them after every step. The model implements the
ledger rules as specified (README, "Loyalty points", and the ledger
specification), not as the add-on happens to implement them; where they
disagree, the property test reports it.

Points are exact (``Fraction``); the rounding is "floor to a multiple of the
points rounding".

*Earn Points When* (``mode``): 'posted' (an invoice earns when posted),
'paid' (when paid; a payment reversed takes back what the payment earned),
'confirmed' (a sale order earns when confirmed, its cancellation takes back).
One side of a sale counts it: an invoice line billing an order earns nothing
once the order earned, or, in 'confirmed', unless the order's invoices earned
first; an order earns nothing once an invoice billing it earned. A credit
note of lines of an order that earned takes back from the order's earning.
"""

import math
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from dateutil.relativedelta import relativedelta

MULTIPLIERS = {"A": Fraction(2), "B": Fraction(3, 2), "C": Fraction(1), None: Fraction(1)}
SPEND_KIND = "spend"  # sale_loyalty's own rows (order_model 'sale.order'), deleted when the order is cancelled
MOVE, ORDER = "account.move", "sale.order"


class NegativeBalance(Exception):
    """A negative adjustment beyond the balance: the add-on raises a UserError."""


def exact(value):
    """A float read from the database (amounts have 2 decimals) as an exact number."""
    return Fraction(f"{value:.6f}")


def floor_to(value, rounding):
    return math.floor(value / rounding) * rounding


@dataclass
class Entry:
    id: int
    kind: str  # earn, refund, return, void, adjust, expire, spend
    date: date | None  # points_date; None for sale orders' rows
    issued: Fraction = Fraction(0)
    used: Fraction = Fraction(0)
    lot: int | None = None  # the earning (entry id) this entry reverses or gives back to
    doc: int | None = None  # the invoice or credit note, or the sale order for SPEND_KIND
    key: str | None = None  # as written; a merge prefixes it on the card (``Card.keys``)
    shortfall: Fraction = Fraction(0)  # what a reversal could not take back, noted on the entry
    model: str = MOVE  # the model of ``doc``: account.move or sale.order

    @property
    def delta(self):
        return self.issued - self.used


@dataclass
class Document:
    """An invoice (``origin`` None, ``refund`` False), a credit note of an
    invoice (``origin`` set) or a credit note without origin."""

    id: int
    refund: bool
    entity: int
    date: date | None
    amount: Fraction  # untaxed, document currency
    amount_company: Fraction  # untaxed, company currency
    origin: int | None = None
    posted: bool = False
    cycles: int = 0  # cycles opened so far
    open: bool = False  # an earning cycle is open (posted and counted)
    lot: int | None = None  # invoice: the open cycle's earn entry
    take: Fraction = Fraction(0)  # credit note: what the open cycle took
    take_lot: int | None = None  # credit note with origin: the origin's earning it took from
    ever_earned: bool = False  # invoice: some cycle earned points
    billed: dict = field(default_factory=dict)  # {order id: (amount, amount_company)} of its lines billing orders
    paid: bool = False  # invoice: in payment or paid
    basis: str = "post"  # invoice: the open cycle's key prefix, 'post' or 'paid'
    parts: dict = field(default_factory=dict)  # credit note: {order id: (take, lot)} of its open cycle


@dataclass
class Order:
    """A sale order (company currency)."""

    id: int
    entity: int
    date: date
    amount: Fraction  # untaxed
    confirmed: bool = True
    cycles: int = 0
    open: bool = False
    lot: int | None = None
    counted: bool = False  # some cycle wrote an earning: its invoices never earn its lines


@dataclass
class Card:
    entity: int
    entries: list = field(default_factory=list)
    keys: set = field(default_factory=set)

    @property
    def balance(self):
        return sum((entry.delta for entry in self.entries), Fraction(0))


class LedgerModel:
    """The ledger of one company's points program."""

    def __init__(self, start, expiry_months=24, per_currency=Fraction(1), rounding=Fraction(1)):
        self.start = start
        self.expiry_months = expiry_months
        self.per_currency = Fraction(per_currency)
        self.rounding = Fraction(rounding)
        self.cards = {}  # {entity: Card}
        self.documents = {}  # {move id: Document}
        self.orders = {}  # {order id: Order}
        self.entries = {}  # {entry id: Entry}
        self._sequence = 0
        self.mode = "posted"  # Earn Points When
        self.tiers = {}  # {entity: tier code}, kept by the caller

    # ------------------------------------------------------------ reading
    def card(self, entity):
        return self.cards.setdefault(entity, Card(entity))

    def balance(self, entity):
        card = self.cards.get(entity)
        return card.balance if card else Fraction(0)

    def _is_lot(self, entry):
        return (entry.kind in ("earn", "adjust") and entry.issued > 0 and entry.lot is None) or (
            entry.kind == "void" and entry.lot is None and entry.issued > 0
        )

    def lots(self, entity):
        """The card's credits, oldest first: earnings, positive adjustments and
        what cancelled credit notes without origin gave back."""
        card = self.cards.get(entity)
        if not card:
            return []
        return sorted((e for e in card.entries if self._is_lot(e)), key=lambda e: (e.date, e.id))

    def net(self, lot_id):
        lot = self.entries[lot_id]
        card = self._card_of(lot_id)
        reversed_ = sum((e.used - e.issued for e in card.entries if e.lot == lot_id), Fraction(0))
        return lot.issued - reversed_

    def left(self, lot_id):
        """What is left of the lot: the card's entries replayed in the order
        they were written, each consumption (spending, expiry, negative
        adjustment, credit note without origin) using the earliest dated
        points the card held then."""
        card = self._card_of(lot_id)
        left = {}
        for entry in sorted(card.entries, key=lambda e: e.id):
            if entry.lot is not None and entry.lot in left:
                left[entry.lot] = max(left[entry.lot] + entry.delta, Fraction(0))
            elif entry.lot is None and (entry.delta > 0 or entry.kind == "earn"):
                left[entry.id] = entry.delta
            elif entry.lot is None and entry.delta < 0:
                consumed = -entry.delta
                for other in sorted(left, key=lambda i: (self.entries[i].date, i)):
                    taken = min(left[other], consumed)
                    left[other] -= taken
                    consumed -= taken
        return min(left.get(lot_id, Fraction(0)), max(card.balance, Fraction(0)))

    def held_by(self, doc_id, model=MOVE):
        """What the document's earnings still hold, net of their reversals."""
        return sum(
            (
                self.net(e.id)
                for e in self.entries.values()
                if e.kind == "earn" and e.doc == doc_id and e.model == model
            ),
            Fraction(0),
        )

    def outstanding(self, doc_id, model=MOVE):
        """What the document's counted credit notes took back."""
        if model == ORDER:
            return sum(
                (d.parts[doc_id][0] for d in self.documents.values() if d.open and doc_id in d.parts),
                Fraction(0),
            )
        return sum(
            (d.take for d in self.documents.values() if d.origin == doc_id and d.open and d.take_lot is not None),
            Fraction(0),
        )

    def valid(self, entity, cutoff):
        return sum((self.net(lot.id) for lot in self.lots(entity) if lot.date > cutoff), Fraction(0))

    def document_net(self, doc_id, model=MOVE):
        return sum(
            (e.delta for e in self.entries.values() if e.doc == doc_id and e.model == model and e.kind != SPEND_KIND),
            Fraction(0),
        )

    # ------------------------------------------------------------ who counts a sale
    def order_owner(self, order_id):
        """'self' if the order earned (ever), 'invoices' if an invoice billing it earned, else None."""
        order = self.orders.get(order_id)
        if order is not None and order.counted:
            return "self"
        for entry in self.entries.values():
            if entry.kind == "earn" and entry.model == MOVE and entry.key is not None:
                doc = self.documents.get(entry.doc)
                if doc is not None and order_id in doc.billed:
                    return "invoices"
        return None

    def billed_elsewhere(self, order_id):
        """Whether an invoice line billing the order earns nothing on the invoice."""
        owner = self.order_owner(order_id)
        return owner == "self" or (owner is None and self.mode == "confirmed")

    def own_amounts(self, doc):
        """(amount, amount_company) of the document, less its lines billing orders that count them."""
        amount, company = doc.amount, doc.amount_company
        for order_id, (line_amount, line_company) in doc.billed.items():
            if self.billed_elsewhere(order_id):
                amount -= line_amount
                company -= line_company
        return amount, company

    def _card_of(self, entry_id):
        for card in self.cards.values():
            if any(e.id == entry_id for e in card.entries):
                return card
        raise KeyError(entry_id)

    # ------------------------------------------------------------ writing
    def _add(self, entity, kind, day, issued=0, used=0, lot=None, doc=None, key=None, shortfall=0, model=MOVE):
        card = self.card(entity)
        if key is not None and key in card.keys:
            return None
        self._sequence += 1
        entry = Entry(
            self._sequence, kind, day, Fraction(issued), Fraction(used), lot, doc, key, Fraction(shortfall), model
        )
        card.entries.append(entry)
        self.entries[entry.id] = entry
        if key is not None:
            card.keys.add(key)
        return entry

    def add_document(self, move_id, refund, entity, day, amount, amount_company, origin=None, billed=None):
        self.documents[move_id] = Document(
            move_id, refund, entity, day, Fraction(amount), Fraction(amount_company), origin, billed=billed or {}
        )
        return self.documents[move_id]

    def earn(self, amount_company, tier):
        return floor_to(Fraction(amount_company) * self.per_currency * MULTIPLIERS[tier], self.rounding)

    def _take(self, lot, share):
        """(taken, wanted): a reversal's ``share`` of the earning ``lot``, at most what is left of it."""
        wanted = max(min(floor_to(lot.issued * share, self.rounding), self.net(lot.id)), Fraction(0))
        return min(wanted, self.left(lot.id)), wanted

    def post(self, move_id, tier):
        """The document is posted (``tier``: its entity's tier at posting)."""
        doc = self.documents[move_id]
        doc.posted = True
        if self.mode == "confirmed":
            # The orders it bills earn first: it then sees that they did.
            related = [doc, *(d for d in self.documents.values() if d.origin == move_id and d.posted)]
            if doc.origin is not None and doc.origin in self.documents:
                related.append(self.documents[doc.origin])
            for order_id in sorted({order_id for d in related for order_id in d.billed}):
                self.earn_order(order_id)
        self.count(move_id, tier)

    def count(self, move_id, tier):
        """Count the document if it holds points now (posted; an invoice in
        'paid': paid) and is not counted."""
        doc = self.documents[move_id]
        # A credit note of an invoice is judged on its invoice (an open earning cycle), not on its own date.
        if not doc.posted or doc.open or (doc.origin is None and doc.date < self.start):
            return
        if not doc.refund and self.mode == "paid" and not doc.paid:
            return
        basis = "paid" if self.mode == "paid" and not doc.refund else "post"
        key = f"{basis}:{move_id}:{doc.cycles}"
        if not doc.refund:
            _amount, company = self.own_amounts(doc)
            issued = self.earn(company, tier)
            if doc.cycles > 0:
                # Posted again: less what the earlier posting holds and its credit notes took back.
                issued = max(issued - self.held_by(move_id) - self.outstanding(move_id), Fraction(0))
            elif issued == 0:
                return  # a first posting that earns nothing is not counted
            entry = self._add(doc.entity, "earn", doc.date, issued=issued, doc=move_id, key=key)
            doc.cycles += 1
            doc.open = True
            doc.basis = basis
            doc.lot = entry.id
            doc.ever_earned = doc.ever_earned or entry.issued > 0
            # A credit note that waited for its invoice counts with it.
            for other in sorted(self.documents.values(), key=lambda d: d.id):
                if other.origin == move_id and other.posted and not other.open:
                    self.count(other.id, tier)
            return
        # What it takes back of the earnings of orders its lines bill: a part each.
        parts = [
            (order_id, line_amount / self.orders[order_id].amount, self.entries[self.orders[order_id].lot])
            for order_id, (line_amount, _company) in sorted(doc.billed.items())
            if self.order_owner(order_id) == "self" and self.orders[order_id].open and self.orders[order_id].amount
        ]
        origin = self.documents.get(doc.origin) if doc.origin is not None else None
        if doc.origin is not None and not (origin is not None and origin.open) and not parts:
            return  # its invoice earned nothing (yet): it takes nothing, and waits
        doc.cycles += 1
        doc.open = True
        doc.take, doc.take_lot, doc.parts = Fraction(0), None, {}
        for order_id, share, lot in parts:
            taken, wanted = self._take(lot, share)
            self._add(
                self._card_of(lot.id).entity,
                "refund",
                lot.date,
                used=taken,
                lot=lot.id,
                doc=move_id,
                key=f"{key}:sale:{order_id}",
                shortfall=wanted - taken,
            )
            doc.parts[order_id] = (taken, lot.id)
        amount, company = self.own_amounts(doc)
        if doc.origin is None:
            wanted = self.earn(company, tier)
            doc.take = min(wanted, max(self.balance(doc.entity), Fraction(0)))
            self._add(doc.entity, "return", doc.date, used=doc.take, doc=move_id, key=key, shortfall=wanted - doc.take)
        elif origin is not None and origin.open:
            lot = self.entries[origin.lot]
            origin_amount, _origin_company = self.own_amounts(origin)
            share = amount / origin_amount if origin_amount else Fraction(0)
            doc.take, wanted = self._take(lot, share)
            doc.take_lot = lot.id
            self._add(
                doc.entity,
                "refund",
                lot.date,
                used=doc.take,
                lot=lot.id,
                doc=move_id,
                key=key,
                shortfall=wanted - doc.take,
            )
        else:
            # Counted for its parts; its invoice earned nothing: it takes nothing more.
            self._add(doc.entity, "refund", doc.date, doc=move_id, key=key)

    def unpost(self, move_id, posted=False):
        """The document is cancelled or reset to draft (``posted``: still
        posted, no longer paid: a payment reversed)."""
        doc = self.documents[move_id]
        doc.posted = posted
        if not doc.open:
            return
        doc.open = False
        key = f"void:{move_id}:{doc.cycles - 1}"
        if not doc.refund:
            lot = self.entries[doc.lot]
            left = self.left(lot.id)
            shortfall = self.net(lot.id) - left
            self._add(doc.entity, "void", lot.date, used=left, lot=lot.id, doc=move_id, key=key, shortfall=shortfall)
            return
        for order_id, (taken, lot_id) in sorted(doc.parts.items()):
            order = self.orders[order_id]
            lot = self.entries[lot_id]
            if order.open and order.lot != lot.id and self._card_of(order.lot) is self._card_of(lot.id):
                # Its order was cancelled and confirmed again: the points go back to the new earning.
                lot = self.entries[order.lot]
            still_open = order.open and order.lot == lot.id
            self._add(
                self._card_of(lot.id).entity,
                "void",
                lot.date,
                issued=taken if still_open else 0,
                lot=lot.id,
                doc=move_id,
                key=f"{key}:sale:{order_id}",
            )
        doc.parts = {}
        if doc.origin is not None:
            if doc.take_lot is None:
                # It took nothing of its invoice (counted for its parts).
                self._add(doc.entity, "void", doc.date, doc=move_id, key=key)
                return
            origin = self.documents.get(doc.origin)
            lot = self.entries[doc.take_lot]
            reposted = origin is not None and origin.open and origin.lot != lot.id
            if reposted and self._card_of(origin.lot) is self._card_of(lot.id):
                # Its invoice was cancelled and posted again: the points go back to the new posting.
                lot = self.entries[origin.lot]
            still_open = origin is not None and origin.open and origin.lot == lot.id
            self._add(
                doc.entity, "void", lot.date, issued=doc.take if still_open else 0, lot=lot.id, doc=move_id, key=key
            )
        else:
            self._add(doc.entity, "void", doc.date, issued=doc.take, doc=move_id, key=key)

    def payment_changed(self, move_id, paid, tier):
        """The invoice's payment state moved (checked before the commit)."""
        doc = self.documents[move_id]
        doc.paid = paid
        if self.mode != "paid" or doc.refund:
            return
        if paid:
            self.count(move_id, tier)
        elif doc.open and doc.basis == "paid":
            self.unpost(move_id, posted=doc.posted)

    # ------------------------------------------------------------ sale orders
    def add_order(self, order_id, entity, day, amount):
        self.orders[order_id] = Order(order_id, entity, day, Fraction(amount), confirmed=False)
        return self.orders[order_id]

    def confirm_order(self, order_id):
        self.orders[order_id].confirmed = True
        self.earn_order(order_id)

    def earn_order(self, order_id):
        """In 'confirmed', a confirmed order earns, unless counted, or an invoice billing it earned."""
        order = self.orders.get(order_id)
        if order is None or not order.confirmed or order.open or self.mode != "confirmed" or order.date < self.start:
            return
        if self.order_owner(order_id) == "invoices":
            return
        issued = self.earn(order.amount, self.tiers.get(order.entity))
        if order.cycles > 0:
            issued = max(issued - self.held_by(order_id, ORDER) - self.outstanding(order_id, ORDER), Fraction(0))
        elif issued == 0:
            return
        entry = self._add(
            order.entity,
            "earn",
            order.date,
            issued=issued,
            doc=order_id,
            key=f"sale:{order_id}:{order.cycles}",
            model=ORDER,
        )
        order.cycles += 1
        order.open = True
        order.lot = entry.id
        order.counted = True

    def _void_order(self, order):
        order.open = False
        lot = self.entries[order.lot]
        left = self.left(lot.id)
        self._add(
            self._card_of(lot.id).entity,
            "void",
            lot.date,
            used=left,
            lot=lot.id,
            doc=order.id,
            key=f"sale-void:{order.id}:{order.cycles - 1}",
            shortfall=self.net(lot.id) - left,
            model=ORDER,
        )

    def adjust(self, entity, points, key, today):
        points = Fraction(points)
        if self.balance(entity) + points < 0:
            raise NegativeBalance(entity)
        self._add(entity, "adjust", today, issued=max(points, 0), used=max(-points, 0), key=key)

    def spend(self, entity, order_id, points):
        self._add(entity, SPEND_KIND, None, used=points, doc=order_id, model=ORDER)

    def cancel_order(self, order_id):
        """sale_loyalty deletes the order's rows and gives their points back;
        then what the order earned is taken back, as far as it is left."""
        for card in self.cards.values():
            card.entries = [e for e in card.entries if not (e.kind == SPEND_KIND and e.doc == order_id)]
        for entry_id in [i for i, e in self.entries.items() if e.kind == SPEND_KIND and e.doc == order_id]:
            del self.entries[entry_id]
        order = self.orders.get(order_id)
        if order is not None:
            order.confirmed = False
            if order.open:
                self._void_order(order)

    def catch_up(self, tiers):
        """The nightly catch-up: what holds points and is not counted is
        counted, what is counted and no longer holds them is taken back;
        orders first, then invoices, then credit notes."""
        for order in sorted(self.orders.values(), key=lambda o: o.id):
            if order.open and not order.confirmed:
                self._void_order(order)
        for order in sorted(self.orders.values(), key=lambda o: o.id):
            self.earn_order(order.id)
        documents = sorted(self.documents.values(), key=lambda d: d.id)
        for doc in documents:
            unpaid = self.mode == "paid" and not doc.refund and doc.basis == "paid" and not doc.paid
            if doc.open and (not doc.posted or unpaid):
                self.unpost(doc.id, posted=doc.posted)
        for refund in (False, True):
            for doc in documents:
                if doc.refund == refund and doc.amount:
                    self.count(doc.id, tiers[doc.entity])

    def cutoff(self, today):
        return today - relativedelta(months=self.expiry_months)

    def expire(self, today):
        """Expire, oldest first, what each balance holds beyond its valid points."""
        if not self.expiry_months:
            return
        cutoff = self.cutoff(today)
        for entity, card in self.cards.items():
            balance = card.balance
            excess = balance - self.valid(entity, cutoff)
            if excess > 0 and balance > 0:
                self._add(entity, "expire", today, used=min(excess, balance), key=f"expire:{today}")

    def merge(self, src, dst):
        """The customers' cards become ``dst``'s one card, with every entry."""
        source = self.cards.pop(src, None)
        for doc in [*self.documents.values(), *self.orders.values()]:
            if doc.entity == src:
                doc.entity = dst
        if not source:
            return
        card = self.card(dst)
        card.entries.extend(source.entries)
        # What was counted once stays counted once: the keys come along.
        card.keys.update(source.keys)
