"""What is left of each earning on a points card, first earned first used.

No Odoo here: the ledger reads a card's balance and its lots, and asks how
much a reversal may take back from one of them.
"""

from dataclasses import dataclass, field


@dataclass
class Lot:
    """Points earned at once (an invoice, a positive adjustment), net of the
    reversals already taken from them."""

    date: object
    net: float
    closed: bool = False  # its document was cancelled: its credit notes give nothing back


@dataclass
class CardLots:
    """A card's balance and lots. Consumption (spending, expiry, negative
    adjustments) takes the oldest points first, so the balance is what is
    left of the newest lots: a lot keeps what the balance holds beyond
    every newer lot."""

    balance: float
    lots: dict = field(default_factory=dict)  # {entry id: Lot}

    def net(self, lot_id):
        lot = self.lots.get(lot_id)
        return max(lot.net, 0.0) if lot else 0.0

    def left(self, lot_id):
        """What is left of the lot after first-in-first-out consumption."""
        lot = self.lots.get(lot_id)
        if not lot:
            return 0.0
        newer = sum(
            max(other.net, 0.0) for other_id, other in self.lots.items() if (other.date, other_id) > (lot.date, lot_id)
        )
        return min(max(self.balance - newer, 0.0), self.net(lot_id))

    def closed(self, lot_id):
        lot = self.lots.get(lot_id)
        return lot is None or lot.closed

    def move(self, lot_id, points, close=False):
        """Record a move of ``points`` (negative: taken) on the lot and the balance."""
        self.balance += points
        lot = self.lots.get(lot_id)
        if lot:
            lot.net += points
            lot.closed = lot.closed or close
