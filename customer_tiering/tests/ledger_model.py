"""A pure-Python model of the points ledger rules, for the property tests.

No Odoo here: ``test_ledger_properties`` drives the real add-on and this model
side by side and compares them after every step. The model implements the
ledger rules as specified (README, "Loyalty points", and the ledger
specification), not as the add-on happens to implement them; where they
disagree, the property test reports it.

Points are exact (``Fraction``); the rounding is "floor to a multiple of the
points rounding".
"""

import math
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from dateutil.relativedelta import relativedelta

MULTIPLIERS = {"A": Fraction(2), "B": Fraction(3, 2), "C": Fraction(1), None: Fraction(1)}
SPEND_KIND = "spend"  # sale_loyalty's own rows (order_model 'sale.order'), deleted when the order is cancelled


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
        self.entries = {}  # {entry id: Entry}
        self._sequence = 0

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

    def held_by(self, move_id):
        """What the document's earnings still hold, net of their reversals."""
        return sum(
            (self.net(e.id) for e in self.entries.values() if e.kind == "earn" and e.doc == move_id),
            Fraction(0),
        )

    def outstanding(self, move_id):
        """What the document's counted credit notes took back."""
        return sum(
            (d.take for d in self.documents.values() if d.origin == move_id and d.open and d.take_lot is not None),
            Fraction(0),
        )

    def valid(self, entity, cutoff):
        return sum((self.net(lot.id) for lot in self.lots(entity) if lot.date > cutoff), Fraction(0))

    def document_net(self, move_id):
        return sum(
            (e.delta for e in self.entries.values() if e.doc == move_id and e.kind != SPEND_KIND),
            Fraction(0),
        )

    def _card_of(self, entry_id):
        for card in self.cards.values():
            if any(e.id == entry_id for e in card.entries):
                return card
        raise KeyError(entry_id)

    # ------------------------------------------------------------ writing
    def _add(self, entity, kind, day, issued=0, used=0, lot=None, doc=None, key=None, shortfall=0):
        card = self.card(entity)
        if key is not None and key in card.keys:
            return None
        self._sequence += 1
        entry = Entry(self._sequence, kind, day, Fraction(issued), Fraction(used), lot, doc, key, Fraction(shortfall))
        card.entries.append(entry)
        self.entries[entry.id] = entry
        if key is not None:
            card.keys.add(key)
        return entry

    def add_document(self, move_id, refund, entity, day, amount, amount_company, origin=None):
        self.documents[move_id] = Document(
            move_id, refund, entity, day, Fraction(amount), Fraction(amount_company), origin
        )
        return self.documents[move_id]

    def earn(self, amount_company, tier):
        return floor_to(Fraction(amount_company) * self.per_currency * MULTIPLIERS[tier], self.rounding)

    def post(self, move_id, tier):
        """The document is posted (``tier``: its entity's tier at posting)."""
        doc = self.documents[move_id]
        doc.posted = True
        # A credit note of an invoice is judged on its invoice (an open earning cycle), not on its own date.
        if doc.open or (doc.origin is None and doc.date < self.start):
            return
        key = f"post:{move_id}:{doc.cycles}"
        doc.cycles += 1
        doc.open = True
        if not doc.refund:
            issued = self.earn(doc.amount_company, tier)
            if doc.cycles > 1:
                # Posted again: less what the earlier posting holds and its credit notes took back.
                issued = max(issued - self.held_by(move_id) - self.outstanding(move_id), Fraction(0))
            entry = self._add(doc.entity, "earn", doc.date, issued=issued, doc=move_id, key=key)
            doc.lot = entry.id
            doc.ever_earned = doc.ever_earned or entry.issued > 0
            # A credit note that waited for its invoice counts with it.
            for other in sorted(self.documents.values(), key=lambda d: d.id):
                if other.origin == move_id and other.posted and not other.open:
                    self.post(other.id, tier)
        elif doc.origin is not None:
            origin = self.documents.get(doc.origin)
            doc.take, doc.take_lot = Fraction(0), None
            if origin is None or not origin.open:
                # Its invoice earned nothing (yet): it takes nothing, and waits.
                doc.cycles -= 1
                doc.open = False
                return
            if origin is not None and origin.open:
                lot = self.entries[origin.lot]
                share = floor_to(lot.issued * doc.amount / origin.amount, self.rounding)
                wanted = max(min(share, self.net(lot.id)), Fraction(0))
                doc.take = min(wanted, self.left(lot.id))
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
            wanted = self.earn(doc.amount_company, tier)
            doc.take = min(wanted, max(self.balance(doc.entity), Fraction(0)))
            self._add(doc.entity, "return", doc.date, used=doc.take, doc=move_id, key=key, shortfall=wanted - doc.take)

    def unpost(self, move_id):
        """The document is cancelled or reset to draft."""
        doc = self.documents[move_id]
        doc.posted = False
        if not doc.open:
            return
        doc.open = False
        key = f"void:{move_id}:{doc.cycles - 1}"
        if not doc.refund:
            lot = self.entries[doc.lot]
            left = self.left(lot.id)
            shortfall = self.net(lot.id) - left
            self._add(doc.entity, "void", lot.date, used=left, lot=lot.id, doc=move_id, key=key, shortfall=shortfall)
        elif doc.origin is not None:
            if doc.take_lot is None:
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

    def adjust(self, entity, points, key, today):
        points = Fraction(points)
        if self.balance(entity) + points < 0:
            raise NegativeBalance(entity)
        self._add(entity, "adjust", today, issued=max(points, 0), used=max(-points, 0), key=key)

    def spend(self, entity, order_id, points):
        self._add(entity, SPEND_KIND, None, used=points, doc=order_id)

    def cancel_order(self, order_id):
        """sale_loyalty deletes the order's rows and gives their points back."""
        for card in self.cards.values():
            card.entries = [e for e in card.entries if not (e.kind == SPEND_KIND and e.doc == order_id)]
        for entry_id in [i for i, e in self.entries.items() if e.kind == SPEND_KIND and e.doc == order_id]:
            del self.entries[entry_id]

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
        for doc in self.documents.values():
            if doc.entity == src:
                doc.entity = dst
        if not source:
            return
        card = self.card(dst)
        card.entries.extend(source.entries)
        # What was counted once stays counted once: the keys come along.
        card.keys.update(source.keys)
