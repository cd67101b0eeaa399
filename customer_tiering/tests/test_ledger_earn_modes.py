"""When points are earned (*Earn Points When*): on posting, on payment, on
order confirmation, and every switch between them (README, *Loyalty points*,
the ledger's rules)."""

from datetime import date

from odoo import Command
from odoo.tests import tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestEarnModes(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = date.today()
        cls.config.write({"points_start_date": date(2020, 1, 1), "points_expiry_months": 0})
        cls.customer = cls.env["res.partner"].create({"name": "Earning Account Ltd", "is_company": True})
        cls.customer.tier_id = cls.tier_c  # multiplier 1: points = untaxed amount
        cls.ledger = cls.env["customer.loyalty.ledger"]

    # ------------------------------------------------------------ helpers
    def balance(self):
        self.env.invalidate_all()
        return self.customer.with_company(self.company).loyalty_points

    def keys(self, record):
        model = "sale.order" if record._name == "sale.order" else "account.move"
        entries = self.env["loyalty.history"].search(
            [("order_model", "=", model), ("order_id", "=", record.id)], order="id"
        )
        return entries.filtered("points_key").mapped("points_key")

    def order(self, *lines, confirm=True):
        """A sale order of ``lines`` ((product, untaxed price) or a price of product_a), confirmed."""
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": (line[0] if isinstance(line, tuple) else self.product_a).id,
                            "product_uom_qty": 1,
                            "price_unit": line[1] if isinstance(line, tuple) else line,
                            "tax_id": [],
                        }
                    )
                    for line in lines
                ],
            }
        )
        if confirm:
            order.action_confirm()
        return order

    def invoice(self, order):
        """The order's invoice (what is left to invoice), posted today."""
        invoice = order._create_invoices()
        invoice.invoice_date = self.today
        invoice.action_post()
        return invoice

    def credit_note(self, invoice, quantity=None):
        """A credit note of ``invoice`` through Odoo's reversal wizard, posted:
        of all of it, or of ``quantity`` of its first line alone."""
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"date": self.today, "journal_id": invoice.journal_id.id})
        )
        refund = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        if quantity is not None:
            refund.invoice_line_ids = [Command.delete(line.id) for line in refund.invoice_line_ids[1:]]
            refund.invoice_line_ids.quantity = quantity
        refund.action_post()
        return refund

    def commit(self):
        """What the commit runs first: the check of the invoices whose payment state moved."""
        self.env.cr.flush()

    def pay(self, invoice, amount=None):
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"payment_date": self.today, **({"amount": amount} if amount else {})})
        )
        payment = wizard._create_payments()
        self.commit()
        return payment

    def reverse_payment(self, payment):
        """The payment cancelled: its entry reset to draft, its reconciliation undone."""
        payment.action_draft()
        payment.action_cancel()
        self.commit()

    def switch(self, mode):
        """Change *Earn Points When*, and run the points cron's catch-up as the next night would."""
        self.config.points_earn_on = mode
        self.assertFalse(self.config.points_full_check, "the next points run checks every document")
        self.ledger._catch_up(self.config)

    # ------------------------------------------------------------ Invoice posted
    def test_posted_orders_earn_nothing_their_invoices_do(self):
        self.assertEqual(self.config.points_earn_on, "posted", "the default: today's behaviour")
        order = self.order(1000.0)
        self.assertEqual(self.balance(), 0.0)
        invoice = self.invoice(order)
        self.assertEqual(self.balance(), 1000.0)
        self.assertEqual(self.keys(invoice), [f"post:{invoice.id}:0"])
        self.assertFalse(self.keys(order))

    # ------------------------------------------------------------ Invoice paid
    def test_paid_earns_on_payment_and_a_reversed_payment_takes_back(self):
        self.config.points_earn_on = "paid"
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        self.commit()
        self.assertEqual(self.balance(), 0.0, "posted, not paid")
        payment = self.pay(invoice)
        self.assertIn(invoice.payment_state, ("in_payment", "paid"))
        self.assertEqual(self.balance(), 1000.0)
        self.assertEqual(self.keys(invoice), [f"paid:{invoice.id}:0"])
        self.reverse_payment(payment)
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertEqual(self.balance(), 0.0)
        self.assertEqual(self.keys(invoice), [f"paid:{invoice.id}:0", f"void:{invoice.id}:0"])
        self.pay(invoice)
        self.assertEqual(self.balance(), 1000.0, "paid again: earned again, once")
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0)

    def test_paid_partial_payment_earns_nothing_yet(self):
        """A partly paid invoice earns nothing; paid in full, all of it; a
        payment reversed that leaves it partly paid takes it all back."""
        self.config.points_earn_on = "paid"
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        total = invoice.amount_total
        self.pay(invoice, amount=total / 2)
        self.assertEqual(invoice.payment_state, "partial")
        self.assertEqual(self.balance(), 0.0)
        second = self.pay(invoice, amount=total / 2)
        self.assertEqual(self.balance(), 1000.0)
        self.reverse_payment(second)
        self.assertEqual(invoice.payment_state, "partial")
        self.assertEqual(self.balance(), 0.0)

    def test_paid_credit_note_waits_for_the_payment(self):
        """A credit note of an unpaid invoice takes nothing, and counts with
        the invoice once the rest is paid: the invoice earns, the credit
        note takes back its share."""
        self.config.points_earn_on = "paid"
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        refund = self.credit_note_of(invoice, 400.0)
        self.assertEqual(self.balance(), 0.0)
        self.pay(invoice)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(self.balance(), 600.0)
        self.assertEqual(self.keys(refund), [f"post:{refund.id}:0"])

    def credit_note_of(self, invoice, amount):
        """A credit note of ``amount`` untaxed of ``invoice``, posted and reconciled with it."""
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"date": self.today, "journal_id": invoice.journal_id.id})
        )
        refund = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        refund.invoice_line_ids.price_unit = amount
        refund.action_post()
        receivable = (invoice | refund).line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        if not receivable.filtered("reconciled"):
            receivable.reconcile()
        self.commit()
        self.assertEqual(invoice.payment_state, "partial")
        return refund

    def test_paid_catch_up_counts_the_payments_the_commit_missed(self):
        """The nightly catch-up counts a paid invoice not counted, and takes
        back one counted on payment and no longer paid, as the check before
        the commit does."""
        self.config.points_earn_on = "paid"
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
            {"payment_date": self.today}
        )._create_payments()
        self.env.cr.precommit.clear()  # a commit that did not check
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0)
        invoice.line_ids.remove_move_reconcile()
        self.env.flush_all()
        self.env.cr.precommit.clear()
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 0.0)

    # ------------------------------------------------------------ Order confirmed
    def test_confirmed_order_earns_and_its_invoice_nothing(self):
        self.config.points_earn_on = "confirmed"
        order = self.order(1000.0)
        self.assertEqual(self.balance(), 1000.0)
        self.assertEqual(self.keys(order), [f"sale:{order.id}:0"])
        invoice = self.invoice(order)
        self.assertEqual(self.balance(), 1000.0, "the order earned: its invoice earns nothing")
        self.assertFalse(self.keys(invoice))
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0)
        self.assertEqual(order.loyalty_data["issued"], 1000.0, "the order shows the points it earned")

    def test_confirmed_invoice_of_no_order_earns_when_posted(self):
        self.config.points_earn_on = "confirmed"
        invoice = self.post_invoice(self.customer, 300.0, self.today)
        self.assertEqual(self.balance(), 300.0)
        self.assertEqual(self.keys(invoice), [f"post:{invoice.id}:0"])

    def test_confirmed_credit_note_takes_back_from_the_order(self):
        """A credit note of the order's invoice takes back its share of what
        the order earned; cancelled, it gives it back."""
        self.config.points_earn_on = "confirmed"
        order = self.order(600.0, 400.0)
        invoice = self.invoice(order)
        refund = self.credit_note(invoice, quantity=0.5)  # half of the 600 line
        self.assertEqual(self.balance(), 700.0)
        self.assertEqual(self.keys(refund), [f"post:{refund.id}:0:sale:{order.id}", f"post:{refund.id}:0"])
        refund.button_draft()
        self.assertEqual(self.balance(), 1000.0)
        refund.action_post()
        self.assertEqual(self.balance(), 700.0)

    def test_confirmed_cancelled_order_takes_back_and_its_invoice_earns_nothing_more(self):
        self.config.points_earn_on = "confirmed"
        order = self.order(1000.0)
        order._action_cancel()
        self.assertEqual(self.balance(), 0.0)
        self.assertEqual(self.keys(order), [f"sale:{order.id}:0", f"sale-void:{order.id}:0"])
        order.action_draft()
        order.action_confirm()
        self.assertEqual(self.balance(), 1000.0, "confirmed again: earned again, once")
        order._action_cancel()
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 0.0)
        for mode in ("posted", "paid"):
            self.config.points_earn_on = mode
            self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 0.0, "whatever the mode, a cancelled order's lines earn nowhere")

    def test_confirmed_order_spending_points_keeps_its_earning_when_cancelled(self):
        """sale_loyalty deletes a cancelled order's entries (the points it
        spent come back); the ledger's earning of it stays, reversed by an
        entry of its own."""
        self.config.points_earn_on = "confirmed"
        self.ledger._adjust(self.customer, 500.0, "Welcome", key="adjust:welcome")
        order = self.quotation(self.customer)
        order._update_programs_and_rewards()
        card = self.customer.with_company(self.company).tier_card_id
        reward = self.fixed_cost_reward(self.config.loyalty_program_id, 100.0)
        self.assertFalse(order._apply_program_reward(reward, card).get("error"))
        order.action_confirm()
        earned = order.amount_untaxed
        self.assertEqual(self.balance(), 500.0 - 100.0 + earned)
        order._action_cancel()
        self.assertEqual(self.balance(), 500.0)
        self.assertEqual(self.keys(order), [f"sale:{order.id}:0", f"sale-void:{order.id}:0"])

    def test_confirmed_catch_up_counts_orders_confirmed_unseen(self):
        order = self.order(1000.0)
        self.config.points_earn_on = "confirmed"
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0)
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0)
        self.env.cr.execute("UPDATE sale_order SET state = 'cancel' WHERE id = %s", [order.id])
        self.env.invalidate_all()
        self.config.points_full_check = False
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 0.0, "cancelled unseen: taken back by the catch-up")

    def test_order_lines_of_excluded_products_earn_nothing(self):
        """The one exclusion (gift cards, eWallet top-ups, delivery, the
        settings' domain) on order lines, and on the credit notes of them."""
        self.config.points_earn_on = "confirmed"
        gift_card = self.env["product.product"].create({"name": "Gift Card 100", "type": "service"})
        self.env["loyalty.program"].create(
            {
                "name": "Gift Cards",
                "program_type": "gift_card",
                "rule_ids": [Command.create({"product_ids": [Command.set(gift_card.ids)]})],
            }
        )
        self.config.points_excluded_products_domain = f"[('id', '=', {self.product_b.id})]"
        order = self.order(300.0, (gift_card, 100.0), (self.product_b, 50.0))
        self.assertEqual(self.balance(), 300.0)
        invoice = self.invoice(order)
        refund = self.credit_note(invoice)
        self.assertEqual(self.balance(), 0.0, "its full credit note takes back the 300, no more")
        self.assertEqual(self.keys(refund), [f"post:{refund.id}:0:sale:{order.id}", f"post:{refund.id}:0"])

    # ------------------------------------------------------------ switches
    def test_switch_posted_to_paid_keeps_what_was_counted_at_posting(self):
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        self.switch("paid")
        self.assertEqual(self.balance(), 1000.0, "counted at posting: stays counted, unpaid")
        payment = self.pay(invoice)
        self.assertEqual(self.balance(), 1000.0, "paid: not counted again")
        self.reverse_payment(payment)
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0, "it was not counted on a payment")
        new = self.post_invoice(self.customer, 200.0, self.today)
        self.assertEqual(self.balance(), 1000.0)
        self.pay(new)
        self.assertEqual(self.balance(), 1200.0)

    def test_switch_paid_to_posted_counts_unpaid_invoices_once(self):
        self.config.points_earn_on = "paid"
        paid = self.post_invoice(self.customer, 1000.0, self.today)
        payment = self.pay(paid)
        unpaid = self.post_invoice(self.customer, 300.0, self.today)
        self.assertEqual(self.balance(), 1000.0)
        self.switch("posted")
        self.assertEqual(self.balance(), 1300.0, "the posted invoice earns now; the paid one stays counted")
        self.reverse_payment(payment)
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1300.0, "posted: a payment no longer matters")
        self.assertEqual(self.keys(unpaid), [f"post:{unpaid.id}:0"])

    def test_switch_posted_to_confirmed_the_order_of_a_counted_invoice_earns_nothing(self):
        invoiced = self.order(1000.0)
        self.invoice(invoiced)
        waiting = self.order(200.0)  # confirmed before the switch, not invoiced
        self.assertEqual(self.balance(), 1000.0)
        self.switch("confirmed")
        self.assertFalse(self.keys(invoiced), "its invoice counted it")
        self.assertEqual(self.balance(), 1200.0, "the order not invoiced yet earns now")
        invoiced.order_line.product_uom_qty = 2  # sold more: invoiced on a second invoice
        second = self.invoice(invoiced)
        self.assertEqual(self.balance(), 2200.0, "its invoices counted it: they still do")
        self.assertEqual(self.keys(second), [f"post:{second.id}:0"])
        self.invoice(waiting)
        self.assertEqual(self.balance(), 2200.0, "the order counted it")

    def test_switch_confirmed_to_posted_the_invoice_of_a_counted_order_earns_nothing(self):
        self.config.points_earn_on = "confirmed"
        counted = self.order(1000.0)
        self.switch("posted")
        self.assertEqual(self.balance(), 1000.0)
        invoice = self.invoice(counted)
        self.assertEqual(self.balance(), 1000.0)
        self.assertFalse(self.keys(invoice))
        later = self.order(300.0)
        self.assertEqual(self.balance(), 1000.0)
        self.invoice(later)
        self.assertEqual(self.balance(), 1300.0)
        self.credit_note(invoice)
        self.assertEqual(self.balance(), 300.0, "a credit note of the counted order takes back from it")
        counted._action_cancel()
        self.assertEqual(self.balance(), 300.0, "nothing left of it to take back")

    def test_switch_paid_to_confirmed_the_order_of_a_paid_invoice_earns_nothing(self):
        self.config.points_earn_on = "paid"
        order = self.order(1000.0)
        invoice = self.invoice(order)
        self.pay(invoice)
        self.assertEqual(self.balance(), 1000.0)
        self.switch("confirmed")
        self.assertEqual(self.balance(), 1000.0)
        self.assertFalse(self.keys(order))

    def test_switch_confirmed_to_paid_the_paid_invoice_of_a_counted_order_earns_nothing(self):
        self.config.points_earn_on = "confirmed"
        order = self.order(1000.0)
        self.switch("paid")
        invoice = self.invoice(order)
        self.pay(invoice)
        self.assertEqual(self.balance(), 1000.0)
        self.assertFalse(self.keys(invoice))
        self.ledger._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0)

    def test_every_company_keeps_invoice_posted(self):
        other = self.env["res.company"].create({"name": "Earning Co"})
        config = self.env["customer.tiering.config"]._for_companies(other)
        self.assertEqual(config.points_earn_on, "posted")
