from odoo import models
from odoo.tools import SQL

from ..sql import customer_documents


class AccountMove(models.Model):
    _inherit = "account.move"

    def init(self):
        # The incremental tiering run looks up the customer documents written
        # since the last run. The sales index holds every column the tiering
        # job reads, in its grouping order: the job reads the sales of all
        # customers, or of a few, with an index-only scan and no sort.
        # Both are partial, on customer documents: a query uses them when its
        # condition contains the predicate, which the shared fragments do.
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS account_move_customer_write_date_idx
                    ON account_move (write_date) WHERE %(documents)s;
                CREATE INDEX IF NOT EXISTS account_move_customer_sales_idx
                    ON account_move (commercial_partner_id, invoice_date)
                    INCLUDE (company_id, state, move_type, amount_untaxed_signed)
                    WHERE %(documents)s;
                """,
                documents=customer_documents(),
            )
        )
        return super().init()

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        self.env["customer.loyalty.ledger"].sudo()._award_documents(posted)
        return posted

    def _compute_payment_state(self):  # pylint: disable=missing-return  # a compute returns nothing
        # Invoice paid: whatever moved the payment state, the ledger checks
        # the customer invoices once before the commit (``_check_payments``).
        super()._compute_payment_state()
        invoices = [move.id for move in self if move.move_type == "out_invoice" and isinstance(move.id, int)]
        if invoices:
            self.env["customer.loyalty.ledger"]._queue_payment_check(invoices)

    def button_draft(self):
        # button_cancel resets posted documents to draft first, so this covers both.
        was_posted = self.filtered(lambda move: move.state == "posted")
        res = super().button_draft()
        self.env["customer.loyalty.ledger"].sudo()._void_documents(was_posted)
        return res
