from datetime import date
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import tagged

from .common import PosTieringCommon


@tagged("post_install", "-at_install")
class TestPosPoints(PosTieringCommon):
    """Points earned at the till: a paid order earns once, keyed
    ``pos:<order>:<n>``, with the tier multiplier, on the customer's
    commercial entity's tier card; a refund order takes back its share; an
    invoiced order's invoice earns nothing for it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.points_start_date = date(2020, 1, 1)
        cls.program = cls.config.loyalty_program_id
        cls.ledger = cls.env["customer.loyalty.ledger"].sudo().with_company(cls.company)
        Partner = cls.env["res.partner"]
        cls.customer = Partner.create({"name": "Till Key Account", "is_company": True})
        cls.customer.with_company(cls.company).tier_id = cls.tier_a
        cls.contact = Partner.create({"name": "Till Key Buyer", "parent_id": cls.customer.id})
        cls.today = fields.Date.context_today(cls.env.user)

    def card(self, partner=None):
        return self.env["loyalty.card"].search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                ("program_id", "=", self.program.id),
                ("is_tier_card", "=", True),
            ]
        )

    def entries(self, order, model="pos.order"):
        return self.env["loyalty.history"].search(
            [("order_model", "=", model), ("order_id", "=", order.id), ("points_key", "!=", False)], order="id"
        )

    def test_paid_order_earns_once_with_the_tier_multiplier(self):
        self.assertEqual(self.tier_a.points_multiplier, 2.0)
        order = self.ring_up(self.customer, 100.0, self.today)
        self.assertEqual(order.state, "paid")
        entry = self.entries(order)
        self.assertRecordValues(
            entry,
            [{"points_key": f"pos:{order.id}:0", "points_kind": "earn", "issued": 200.0, "card_id": self.card().id}],
        )
        self.assertEqual(self.card().points, 200.0, "100 untaxed x 1 point x 2 (tier A)")
        # pos_loyalty's own confirmation of the tier card adds nothing: the program has no rule.
        order.confirm_coupon_programs(
            {str(self.card().id): {"points": 0, "program_id": self.program.id, "coupon_id": self.card().id}}
        )
        self.assertEqual(self.card().points, 200.0, "earned by the ledger alone, not by pos_loyalty too")

    def test_paying_twice_and_catch_up_do_not_double(self):
        order = self.ring_up(self.customer, 100.0, self.today)
        order.action_pos_order_paid()
        self.ledger._award_source("pos", order)
        self.ledger._catch_up(self.config)
        self.assertEqual(len(self.entries(order)), 1)
        self.assertEqual(self.card().points, 200.0)

    def test_catch_up_counts_the_orders_the_event_missed(self):
        Ledger = type(self.env["customer.loyalty.ledger"])
        with patch.object(Ledger, "_award_source", lambda *args, **kwargs: None):
            order = self.ring_up(self.customer, 100.0, self.today)
        self.assertFalse(self.entries(order), "the event missed it")
        self.ledger._catch_up(self.config)
        self.assertEqual(self.entries(order).points_key, f"pos:{order.id}:0")
        self.ledger._catch_up(self.config)
        self.assertEqual(self.card().points, 200.0, "counted once")

    def test_order_before_the_start_date_earns_nothing(self):
        order = self.ring_up(self.customer, 100.0, "2019-06-01")
        self.ledger._catch_up(self.config)
        self.assertFalse(self.entries(order))

    def test_refund_takes_back_its_share(self):
        order = self.ring_up(self.customer, 100.0, self.today)
        refund = self.ring_up(self.customer, 25.0, self.today, refund_of=order)
        self.assertEqual(refund.refunded_order_id, order)
        entry = self.entries(refund)
        self.assertRecordValues(
            entry,
            [{"points_key": f"pos:{refund.id}:0", "points_kind": "refund", "used": 50.0, "issued": 0.0}],
        )
        self.assertEqual(entry.points_lot_id, self.entries(order))
        self.assertIn(refund.name, entry.description)
        self.assertEqual(self.card().points, 150.0, "a quarter of the 200 points taken back")
        self.ledger._catch_up(self.config)
        self.assertEqual(self.card().points, 150.0, "taken back once")

    def test_refund_of_a_missed_order_counts_that_order_first(self):
        Ledger = type(self.env["customer.loyalty.ledger"])
        with patch.object(Ledger, "_award_source", lambda *args, **kwargs: None):
            order = self.ring_up(self.customer, 100.0, self.today)
        refund = self.ring_up(self.customer, 50.0, self.today, refund_of=order)
        self.assertEqual(self.entries(order).issued, 200.0)
        self.assertEqual(self.entries(refund).used, 100.0)
        self.assertEqual(self.card().points, 100.0)

    def test_refund_takes_back_no_more_than_is_left(self):
        order = self.ring_up(self.customer, 100.0, self.today)
        self.ledger._adjust(self.customer, -180, "Spent elsewhere", key="adjust:till-spent")
        self.assertEqual(self.card().points, 20.0)
        refund = self.ring_up(self.customer, 50.0, self.today, refund_of=order)
        self.assertEqual(self.entries(refund).used, 20.0, "100 wanted, 20 left of the order's earning")
        self.assertEqual(self.card().points, 0.0, "never below zero")

    def test_invoiced_order_earns_once_and_its_invoice_nothing(self):
        order = self.ring_up(self.customer, 100.0, self.today, invoice=True)
        self.assertEqual(order.state, "invoiced")
        self.assertEqual(order.account_move.state, "posted")
        self.assertEqual(self.entries(order).issued, 200.0)
        self.assertFalse(self.entries(order.account_move, "account.move").filtered("issued"))
        self.ledger._catch_up(self.config)
        self.assertEqual(self.card().points, 200.0)

    def test_order_invoiced_later_is_not_counted_again(self):
        order = self.ring_up(self.customer, 100.0, self.today)
        order.action_pos_order_invoice()
        self.assertEqual(order.account_move.state, "posted")
        self.ledger._catch_up(self.config)
        self.assertFalse(self.entries(order.account_move, "account.move").filtered("issued"))
        self.assertEqual(self.card().points, 200.0)
        # A credit note of that invoice takes back from the order's earning.
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=order.account_move.ids)
            .create({"journal_id": order.account_move.journal_id.id})
        )
        reversal.refund_moves()
        credit_note = order.account_move.reversal_move_ids
        credit_note.action_post()
        self.assertEqual(self.card().points, 0.0, "the whole sale returned")
        self.assertEqual(self.entries(credit_note, "account.move").points_lot_id, self.entries(order))

    def test_excluded_product_lines_earn_nothing(self):
        excluded = self.env["product.product"].create(
            {"name": "Till gift wrap", "type": "consu", "available_in_pos": True, "taxes_id": [Command.clear()]}
        )
        self.config.points_excluded_products_domain = f"[('id', '=', {excluded.id})]"
        goods = self.env["product.product"].create(
            {"name": "Till untaxed goods", "type": "consu", "available_in_pos": True, "taxes_id": [Command.clear()]}
        )
        order = self.env["pos.order"].create(
            {
                "session_id": self.session.id,
                "partner_id": self.customer.id,
                "lines": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "qty": 1,
                            "price_unit": price,
                            "price_subtotal": price,
                            "price_subtotal_incl": price,
                        }
                    )
                    for product, price in ((goods, 100.0), (excluded, 400.0))
                ],
                "amount_tax": 0.0,
                "amount_total": 500.0,
                "amount_paid": 0.0,
                "amount_return": 0.0,
            }
        )
        order.add_payment(
            {
                "pos_order_id": order.id,
                "amount": 500.0,
                "payment_method_id": self.session.config_id.payment_method_ids[:1].id,
            }
        )
        order.action_pos_order_paid()
        self.assertEqual(self.entries(order).issued, 200.0, "the 400 of excluded lines earn nothing")
        self.ledger._catch_up(self.config)
        self.assertEqual(self.card().points, 200.0)

    def test_contact_earns_on_the_entity_card(self):
        order = self.ring_up(self.contact, 100.0, self.today)
        self.assertEqual(self.entries(order).card_id, self.card())
        self.assertEqual(self.card().points, 200.0, "the company's tier A multiplier")
        self.assertFalse(self.card(self.contact), "no card of the contact's own")

    def test_anonymous_order_earns_nothing(self):
        order = self.ring_up(None, 100.0, self.today)
        self.ledger._catch_up(self.config)
        history = self.env["loyalty.history"].search([("order_model", "=", "pos.order"), ("order_id", "=", order.id)])
        self.assertFalse(history)

    def test_till_data_for_the_points_to_earn(self):
        self.assertTrue(self.program.is_tier_program)
        self.assertEqual((self.program.tier_points_rate, self.program.tier_points_rounding), (1.0, 1.0))
        self.assertEqual(self.contact.with_company(self.company).tier_points_multiplier, 2.0)
        fields_loaded = self.env["res.partner"]._load_pos_data_fields(self.session.config_id.id)
        self.assertIn("tier_points_multiplier", fields_loaded)
