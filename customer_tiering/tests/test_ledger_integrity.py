from datetime import date

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestLedgerIntegrity(TieringInvoiceCommon):
    """Only the add-on writes the points ledger, sale orders show only their
    own entries, and each company's points program is its own, rule-free."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.points_start_date = date(2020, 1, 1)
        cls.program = cls.config.loyalty_program_id
        cls.customer = cls.env["res.partner"].create({"name": "Trusted Buyer Ltd", "is_company": True})
        cls.customer.tier_id = cls.tier_a
        cls.salesman = new_test_user(
            cls.env, login="ledger_sales", groups="base.group_user,sales_team.group_sale_salesman"
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Tiering Co"})

    def card(self):
        return self.env["loyalty.card"].search(
            [("partner_id", "=", self.customer.id), ("program_id", "=", self.program.id), ("is_tier_card", "=", True)]
        )

    def new_program(self, company, program_type="loyalty", **values):
        return self.env["loyalty.program"].create(
            {"name": "Another Program", "program_type": program_type, "company_id": company.id, **values}
        )

    def with_rule(self, company):
        """A loyalty program as Odoo's form makes it: with the type's default earning rule."""
        return self.new_program(company, rule_ids=[Command.create({"reward_point_mode": "money"})])

    # ------------------------------------------------------------ ledger columns
    def test_salesperson_cannot_forge_ledger_entries(self):
        invoice = self.post_invoice(self.customer, 100.0, "2026-03-01")
        card = self.card()
        self.assertEqual(card.points, 200.0)
        History = self.env["loyalty.history"].with_user(self.salesman)
        base = {
            "card_id": card.id,
            "description": "Forged",
            "issued": 0.0,
            "used": 0.0,
            "order_model": "account.move",
            "order_id": invoice.id,
        }
        forged = (
            {"points_key": f"void:{invoice.id}:0"},
            {"points_kind": "void"},
            {"points_date": date(2026, 3, 1)},
            {"points_lot_id": card.history_ids.id},
            {"points_note": "Computed by hand"},
        )
        for values in forged:
            with self.subTest(values=values), self.assertRaisesRegex(AccessError, "Customer Tiering only"):
                History.create({**base, **values})
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.assertEqual(card.points, 200.0, "no forged cancellation: the catch-up leaves the invoice counted once")
        # What sale_loyalty itself writes stays possible.
        plain = History.create({**base, "order_model": False, "order_id": False, "description": "Goodwill"})
        self.assertFalse(plain.points_key)

    def test_salesperson_cannot_write_ledger_columns(self):
        self.post_invoice(self.customer, 100.0, "2026-03-01")
        plain = (
            self.env["loyalty.history"]
            .with_user(self.salesman)
            .create({"card_id": self.card().id, "description": "Manual line", "issued": 5.0, "used": 0.0})
        )
        for values in (
            {"points_date": date(2020, 1, 1)},
            {"points_key": "expire:2020-01-01"},
            {"points_kind": "earn"},
        ):
            with self.subTest(values=values), self.assertRaisesRegex(AccessError, "cannot be changed"):
                plain.write(values)
        self.assertFalse(plain.points_date)
        plain.write({"description": "Manual line, explained"})

    # ------------------------------------------------------------ sale orders
    def test_sale_order_shows_only_its_own_entries(self):
        """Ledger entries keep invoice ids in order_id: an order whose id an
        invoice shares must not show that invoice's points."""
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        card = self.card()
        order = self.quotation(self.customer)
        order._update_programs_and_rewards()
        reward = self.fixed_cost_reward(self.program)
        self.assertFalse(order._apply_program_reward(reward, card).get("error"))
        order.action_confirm()
        entry = self.env["loyalty.history"].search(
            [("order_model", "=", "account.move"), ("order_id", "=", invoice.id)]
        )
        # An invoice of the same id as the order, with its ledger entry.
        self.env["loyalty.history"].flush_model()
        self.env.cr.execute(
            """INSERT INTO loyalty_history (card_id, description, issued, used, order_model, order_id,
                                            points_kind, points_key, points_date)
               VALUES (%s, 'Invoice of the same id', 777, 0, 'account.move', %s, 'earn', %s, '2026-03-01')""",
            [card.id, order.id, f"post:{order.id}:collision"],
        )
        order.invalidate_recordset(["loyalty_data"])
        self.assertEqual(order.loyalty_data["issued"], 0.0, "the invoice's 777 points are not the order's")
        self.assertEqual(order.loyalty_data["cost"], reward.required_points)
        # The customer portal shows an invoice entry by the invoice's name, without a link to an order.
        self.assertEqual(entry._get_order_description(), invoice.display_name)
        self.assertFalse(entry._get_order_portal_url())

    # ------------------------------------------------------------ one program per company
    def test_points_program_must_be_the_companys_own_loyalty_program(self):
        other_config = self.env["customer.tiering.config"]._for_companies(self.other_company).sudo()
        cases = [
            (self.new_program(self.company, "coupons"), "must be a loyalty program"),
            (other_config.loyalty_program_id, "already the points program of Other Tiering Co"),
            (self.new_program(self.other_company), "belongs to Other Tiering Co"),
            (
                self.new_program(self.env["res.company"], currency_id=self.company.currency_id.id),
                "shared between companies",
            ),
            (self.with_rule(self.company), "has earning rules"),
        ]
        for program, message in cases:
            with (
                self.subTest(message=message),
                self.assertRaisesRegex(ValidationError, message),
                self.env.cr.savepoint(),
            ):
                self.config.loyalty_program_id = program
        own = self.new_program(self.company)
        self.config.loyalty_program_id = own
        self.assertEqual(self.config.loyalty_program_id, own)

    def test_no_earning_rule_on_a_points_program(self):
        self.assertFalse(self.program.rule_ids)
        rule = {"reward_point_mode": "order", "reward_point_amount": 1}
        with self.assertRaisesRegex(ValidationError, "would make every order earn twice"), self.env.cr.savepoint():
            self.env["loyalty.rule"].create({**rule, "program_id": self.program.id})
        with self.assertRaisesRegex(ValidationError, "would make every order earn twice"), self.env.cr.savepoint():
            self.program.write({"rule_ids": [Command.create(rule)]})
        elsewhere = self.with_rule(self.company).rule_ids
        self.assertTrue(elsewhere)
        with self.assertRaisesRegex(ValidationError, "would make every order earn twice"), self.env.cr.savepoint():
            elsewhere.program_id = self.program
        self.assertFalse(self.program.rule_ids)

    def test_points_program_keeps_its_type_and_company(self):
        for values in ({"program_type": "coupons"}, {"company_id": self.other_company.id}, {"company_id": False}):
            with (
                self.subTest(values=values),
                self.assertRaisesRegex(ValidationError, "type and company cannot change"),
                self.env.cr.savepoint(),
            ):
                self.program.write(values)
        self.assertEqual((self.program.program_type, self.program.company_id), ("loyalty", self.company))
