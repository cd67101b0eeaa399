"""What is left of each earning on a points card.

No Odoo here: the ledger reads a card's balance and entries, and asks how
much a reversal may take back from one earning.
"""

from dataclasses import dataclass, field


@dataclass
class Lot:
    """Points earned at once (an invoice, a positive adjustment)."""

    date: object
    order_id: int | None  # the document that earned them
    net: float  # what was earned, less what reversals took back
    left: float  # what of it is still on the card
    closed: bool = False  # its document was cancelled since


@dataclass
class CardLots:
    """A card's balance and earnings ({entry id: Lot}), replayed from its
    entries in the order they were written: spending, expiry, negative
    adjustments and credit notes of no invoice use the earliest dated points
    the card held at the time. An invoice counted after a spending (a
    catch-up of old invoices, a late posting) was not there to be spent."""

    balance: float
    lots: dict = field(default_factory=dict)

    @classmethod
    def replay(cls, balance, entries):
        """``entries``: (id, date, issued, used, lot id, kind, order id) of
        the card, ordered by id."""
        card = cls(balance)
        for entry_id, date, issued, used, lot_id, kind, order_id in entries:
            lot = card.lots.get(lot_id)
            if lot:
                lot.net += issued - used
                lot.left = max(lot.left + issued - used, 0.0)
                lot.closed = lot.closed or (kind == "void" and order_id == lot.order_id)
            elif issued > used or kind == "earn":  # an invoice posted again may earn nothing, yet be given back to
                card.lots[entry_id] = Lot(date, order_id, issued - used, issued - used)
            elif used > issued:
                card._consume(used - issued)
        # Points moved off the card without an entry were used first, too.
        card._consume(sum(lot.left for lot in card.lots.values()) - max(balance, 0.0))
        return card

    def _consume(self, points):
        for _entry_id, lot in sorted(self.lots.items(), key=lambda item: (item[1].date, item[0])):
            if points <= 0:
                return
            taken = min(lot.left, points)
            lot.left -= taken
            points -= taken

    def net(self, lot_id):
        lot = self.lots.get(lot_id)
        return max(lot.net, 0.0) if lot else 0.0

    def left(self, lot_id):
        """What is left of the earning on the card."""
        lot = self.lots.get(lot_id)
        return min(lot.left, max(self.balance, 0.0)) if lot else 0.0

    def closed(self, lot_id):
        lot = self.lots.get(lot_id)
        return lot is None or lot.closed

    def held_by(self, order_id):
        """What the document's earnings still hold, net of their reversals."""
        return sum(lot.net for lot in self.lots.values() if lot.order_id == order_id)

    def move(self, lot_id, points, close=False):
        """Record a move of ``points`` (negative: taken) on the earning
        ``lot_id`` (None: on the card, earliest points first)."""
        self.balance += points
        lot = self.lots.get(lot_id)
        if lot:
            lot.net += points
            lot.left = max(lot.left + points, 0.0)
            lot.closed = lot.closed or close
        elif points < 0:
            self._consume(-points)
