"""The ledger's rules (README, *Loyalty points*) in the accounting flows that broke them."""

from datetime import date, timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import ValidationError
from odoo.tests import freeze_time, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
# A fixed today: the start date and expiry rules are judged against fixed dates
# (e.g. a legacy start date of 2026-01-01 before today), not against the day the tests run.
@freeze_time("2026-06-30")
class TestLedgerRules(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.today()
        cls.config.write({"points_start_date": cls.today - timedelta(days=1000), "points_expiry_months": 24})
        cls.customer = cls.env["res.partner"].create({"name": "Ledger Account Ltd", "is_company": True})
        cls.customer.tier_id = cls.tier_c  # multiplier 1: points = untaxed amount

    def balance(self, partner=None):
        self.env.invalidate_all()
        return (partner or self.customer).with_company(self.company).loyalty_points

    def card(self, partner=None):
        self.env.invalidate_all()
        return (partner or self.customer).with_company(self.company).tier_card_id

    def entries(self, move):
        return self.env["loyalty.history"].search(
            [("order_model", "=", "account.move"), ("order_id", "=", move.id)], order="id"
        )

    def reverse(self, invoice, day=None, amount=None):
        """A credit note of ``invoice`` through Odoo's reversal wizard, for
        ``amount`` untaxed (default: all of it), posted."""
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"date": day or invoice.invoice_date, "journal_id": invoice.journal_id.id, "reason": "Return"})
        )
        refund = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        if amount is not None:
            refund.invoice_line_ids[0].price_unit = amount
        refund.action_post()
        return refund

    def assert_balance_is_its_entries(self):
        card = self.card()
        entries = card.history_ids
        self.assertAlmostEqual(card.points, sum(entries.mapped("issued")) - sum(entries.mapped("used")))

    # ------------------------------------------------------------ the two flows
    def test_credit_note_of_an_invoice_that_never_earned_takes_nothing(self):
        """Installed today; the old invoice earned nothing, so its credit note takes nothing."""
        self.config.points_start_date = self.today
        self.customer.tier_id = self.tier_a
        old = self.post_invoice(self.customer, 10000.0, self.today - timedelta(days=30))
        self.post_invoice(self.customer, 1000.0, self.today)
        self.assertEqual(self.balance(), 2000.0)
        refund = self.reverse(old, self.today)
        self.assertEqual(self.balance(), 2000.0)
        self.assertFalse(self.entries(refund))
        # Nor does the catch-up count it later, even on a full check.
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.assertEqual(self.balance(), 2000.0)

    def test_partial_credit_notes_never_take_more_than_the_invoice_earned(self):
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        self.reverse(invoice, amount=600.0)
        self.assertEqual(self.balance(), 400.0)
        second = self.reverse(invoice, amount=600.0)
        self.assertEqual(self.balance(), 0.0)
        self.assertEqual(self.entries(second).used, 400.0, "what was left of the invoice's 1,000")
        self.assert_balance_is_its_entries()

    # ------------------------------------------------------------ what is left
    def test_credit_note_after_expiry_takes_nothing_more(self):
        invoice = self.post_invoice(self.customer, 500.0, self.today - timedelta(days=800))
        self.env["customer.loyalty.ledger"]._expire(self.config, self.today)
        self.assertEqual(self.balance(), 0.0, "expired after 24 months")
        newer = self.post_invoice(self.customer, 300.0, self.today)
        refund = self.reverse(invoice, self.today)
        self.assertEqual(self.balance(), 300.0, "the newer invoice's points are not taken for the expired ones")
        self.assertEqual(self.entries(refund).used, 0.0)
        self.assertIn("500", self.entries(refund).description, "the shortfall is on the entry")
        newer.button_cancel()
        self.assertEqual(self.balance(), 0.0)
        self.assert_balance_is_its_entries()

    def test_cancelling_a_spent_invoice_takes_what_is_left(self):
        old = self.post_invoice(self.customer, 100.0, self.today - timedelta(days=10))
        self.post_invoice(self.customer, 100.0, self.today)
        self.env["customer.loyalty.ledger"]._adjust(self.customer, -150.0, "Gift", key="adjust:spent")
        old.button_cancel()
        self.assertEqual(self.balance(), 50.0, "the oldest points were spent first: nothing left of them")
        self.assertEqual(self.entries(old)[-1].used, 0.0)

    def test_cancelling_an_invoice_after_its_credit_note_takes_the_rest_once(self):
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        refund = self.reverse(invoice, amount=300.0)
        invoice.button_draft()
        self.assertEqual(self.balance(), 0.0)
        refund.button_draft()
        self.assertEqual(self.balance(), 0.0, "a credit note of a cancelled invoice gives nothing back")
        invoice.action_post()
        self.assertEqual(self.balance(), 1000.0, "re-posted, it earns again, once")
        self.assert_balance_is_its_entries()

    def test_reset_credit_note_gives_back_to_its_invoice(self):
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        refund = self.reverse(invoice, amount=600.0)
        refund.button_draft()
        self.assertEqual(self.balance(), 1000.0)
        refund.action_post()
        self.assertEqual(self.balance(), 400.0)
        self.reverse(invoice, amount=600.0)
        self.assertEqual(self.balance(), 0.0)

    def test_negative_balances_when_the_company_allows_them(self):
        invoice = self.post_invoice(self.customer, 100.0, self.today)
        self.env["customer.loyalty.ledger"]._adjust(self.customer, -100.0, "Spent", key="adjust:neg")
        self.config.points_allow_negative = True
        refund = self.reverse(invoice)
        self.assertEqual(self.balance(), -100.0)
        self.assertEqual(self.entries(refund).used, 100.0)

    def test_credit_note_without_invoice_takes_at_most_the_balance(self):
        self.post_invoice(self.customer, 100.0, self.today)
        refund = self.post_invoice(self.customer, 250.0, self.today, move_type="out_refund")
        self.assertEqual(self.balance(), 0.0)
        self.assertRecordValues(self.entries(refund), [{"points_kind": "return", "used": 100.0}])
        refund.button_draft()
        self.assertEqual(self.balance(), 100.0)
        before = self.post_invoice(self.customer, 40.0, self.today - timedelta(days=1001), move_type="out_refund")
        self.assertFalse(self.entries(before), "before the start date: nothing")

    # ------------------------------------------------------------ currency
    def test_foreign_currency_credit_note_shares_in_the_document_currency(self):
        """Invoiced at 2 foreign units a unit, refunded in full at 3: all the points come back."""
        foreign = self.setup_other_currency("EUR", rates=[("2016-01-01", 2.0), (self.today - timedelta(days=5), 3.0)])
        invoice = self.post_invoice(self.customer, 3000.0, self.today - timedelta(days=10), currency=foreign)
        self.assertEqual(self.balance(), 1500.0)
        refund = self.reverse(invoice, self.today)
        self.assertAlmostEqual(abs(refund.amount_untaxed_signed), 1000.0)
        self.assertEqual(self.balance(), 0.0)

    # ------------------------------------------------------------ expiry
    def test_expiry_applies_against_the_balance_as_it_is(self):
        """Points spent between the expiry's read and its write are not taken again."""
        self.post_invoice(self.customer, 500.0, self.today - timedelta(days=800))
        Lock = type(self.env["customer.tiering.lock"])
        original = Lock._run_batch
        customer = self.customer

        def spend_first(lock, function, *args, **kwargs):
            lock.env["customer.loyalty.ledger"]._adjust(customer, -400.0, "Spent meanwhile", key="adjust:meanwhile")
            return original(lock, function, *args, **kwargs)

        with patch.object(Lock, "_run_batch", spend_first):
            self.env["customer.loyalty.ledger"]._expire(self.config, self.today)
        self.assertEqual(self.balance(), 0.0)
        expired = self.card().history_ids.filtered(lambda h: h.points_kind == "expire")
        self.assertEqual(expired.used, 100.0, "only what was left expired")
        self.assert_balance_is_its_entries()

    # ------------------------------------------------------------ program change
    def test_program_change_carries_the_balances_over(self):
        invoice = self.post_invoice(self.customer, 300.0, self.today)
        old_card = self.card()
        new_program = self.env["loyalty.program"]._create_tier_programs(self.company)
        self.config.loyalty_program_id = new_program
        card = self.card()
        self.assertEqual(card.program_id, new_program)
        self.assertEqual(self.balance(), 300.0)
        self.assertFalse(old_card.active)
        self.assertEqual(old_card.points, 0.0)
        invoice.button_cancel()
        self.assertEqual(self.balance(), 0.0, "the moved document still reverses exactly what it earned")
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.assertEqual(self.balance(), 0.0)

    # ------------------------------------------------------------ what customers read
    def test_descriptions_carry_no_tier_code_nor_internal_reason(self):
        self.customer.tier_id = self.tier_a
        invoice = self.post_invoice(self.customer, 100.0, self.today)
        self.env["customer.loyalty.ledger"]._adjust(self.customer, 5.0, "Complained about the CEO", key="adjust:x")
        descriptions = " ".join(self.card().history_ids.mapped("description"))
        self.assertIn(invoice.name, descriptions)
        self.assertNotIn(self.tier_a.code, descriptions.replace(invoice.name, ""))
        self.assertNotIn("CEO", descriptions)
        portal = self.env["res.users"].create(
            {
                "name": "Portal Buyer",
                "login": "ledger_portal",
                "partner_id": self.customer.id,
                "groups_id": [Command.set(self.env.ref("base.group_portal").ids)],
            }
        )
        self.assertNotIn("points_note", self.env["loyalty.history"].with_user(portal).fields_get())
        self.assertEqual(
            self.card().history_ids.filtered(lambda h: h.points_kind == "adjust").points_note,
            "Complained about the CEO",
        )

    def test_legacy_start_date_judged_on_the_origin(self):
        """A credit note dated after the start date, of an invoice dated before, takes nothing."""
        self.config.points_start_date = date(2026, 1, 1) if self.today > date(2026, 1, 1) else self.today
        start = self.config.points_start_date
        old = self.post_invoice(self.customer, 100.0, start - timedelta(days=1))
        self.post_invoice(self.customer, 100.0, start)
        self.reverse(old, start + timedelta(days=1) if start < self.today else start)
        self.assertEqual(self.balance(), 100.0)

    # ------------------------------------------------------------ what earns
    def invoice_with_lines(self, lines, move_type="out_invoice", origin=None):
        move = self.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": self.customer.id,
                "invoice_date": self.today,
                "reversed_entry_id": origin and origin.id,
                "invoice_line_ids": [
                    Command.create({"product_id": product.id, "quantity": 1, "price_unit": price, "tax_ids": []})
                    for product, price in lines
                ],
            }
        )
        move.action_post()
        return move

    def test_gift_cards_and_excluded_products_earn_nothing(self):
        gift_card = self.env["product.product"].create({"name": "Gift Card 100", "type": "service"})
        self.env["loyalty.program"].create(
            {
                "name": "Gift Cards",
                "program_type": "gift_card",
                "rule_ids": [Command.create({"product_ids": [Command.set(gift_card.ids)]})],
            }
        )
        invoice = self.invoice_with_lines([(self.product_a, 300.0), (gift_card, 100.0), (self.product_b, 50.0)])
        self.assertEqual(self.balance(), 350.0, "the gift card line earns nothing")
        self.config.points_excluded_products_domain = f"[('id', '=', {self.product_b.id})]"
        self.invoice_with_lines([(self.product_a, 10.0), (self.product_b, 50.0)])
        self.assertEqual(self.balance(), 360.0)
        self.invoice_with_lines([(gift_card, 100.0)], "out_refund", origin=invoice)
        self.assertEqual(self.balance(), 360.0, "returning the gift card takes no points")
        with self.assertRaises(ValidationError):
            self.config.points_excluded_products_domain = "[('id', '=' "

    # ------------------------------------------------------------ corrections
    def test_an_invoice_counted_after_a_spending_was_not_spent(self):
        self.post_invoice(self.customer, 500.0, self.today)
        self.env["customer.loyalty.ledger"]._adjust(self.customer, -200.0, "Gift", key="adjust:before")
        backdated = self.post_invoice(self.customer, 100.0, self.today - timedelta(days=20))
        self.reverse(backdated, self.today)
        self.assertEqual(self.balance(), 300.0, "its credit note takes back its 100")

    def test_reposting_an_invoice_with_a_posted_credit_note_pays_it_once(self):
        invoice = self.post_invoice(self.customer, 1000.0, self.today)
        refund = self.reverse(invoice, amount=300.0)
        invoice.button_draft()
        self.assertEqual(self.balance(), 0.0)
        invoice.action_post()
        self.assertEqual(self.balance(), 700.0, "the credit note still takes its 300")
        refund.button_draft()
        self.assertEqual(self.balance(), 1000.0, "and gives them back to the new posting")
        self.assert_balance_is_its_entries()

    def test_correcting_a_spent_invoice_does_not_give_its_points_again(self):
        invoice = self.post_invoice(self.customer, 100.0, self.today)
        self.env["customer.loyalty.ledger"]._adjust(self.customer, -100.0, "Spent", key="adjust:spent-all")
        invoice.button_draft()
        invoice.action_post()
        self.assertEqual(self.balance(), 0.0)
        invoice.button_draft()
        invoice.invoice_line_ids.price_unit = 150.0
        invoice.action_post()
        self.assertEqual(self.balance(), 50.0, "a corrected amount earns the difference")

    def test_a_later_start_date_does_not_spare_what_was_counted(self):
        invoice = self.post_invoice(self.customer, 1000.0, self.today - timedelta(days=30))
        self.config.points_start_date = self.today  # a reinstall sets it to its own day
        self.reverse(invoice, self.today)
        self.assertEqual(self.balance(), 0.0)

    def test_points_spent_by_a_merged_customer_come_back_to_the_survivor(self):
        duplicate = self.env["res.partner"].create({"name": "Ledger Account (duplicate)", "is_company": True})
        self.post_invoice(self.customer, 2000.0, self.today)
        self.post_invoice(duplicate, 500.0, self.today)
        card = self.card(duplicate)
        order = self.quotation(duplicate)
        order._update_programs_and_rewards()
        reward = self.fixed_cost_reward(self.config.loyalty_program_id)
        self.assertFalse(order._apply_program_reward(reward, card).get("error"))
        order.action_confirm()
        self.assertEqual(self.balance(duplicate), 400.0)
        self.env["base.partner.merge.automatic.wizard"]._merge(
            (self.customer | duplicate).ids, dst_partner=self.customer, extra_checks=False
        )
        self.assertEqual(self.balance(), 2400.0)
        order._action_cancel()
        self.assertEqual(self.balance(), 2500.0)
        self.assert_balance_is_its_entries()

    def test_points_switched_off_then_on_with_another_program_carry_over(self):
        self.post_invoice(self.customer, 100.0, self.today)
        self.config.loyalty_program_id = False
        new_program = self.env["loyalty.program"]._create_tier_programs(self.company)
        self.config.loyalty_program_id = new_program
        self.assertEqual(self.card().program_id, new_program)
        self.assertEqual(self.balance(), 100.0)
