from datetime import date

from odoo import Command
from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon


@tagged("post_install", "-at_install")
class TestPosTierCardTour(TestPointOfSaleHttpCommon):
    def test_contact_redeems_company_points_at_till(self):
        """At the till, a contact of a company customer shows the company's
        points and spends them on a reward: the company's tier card pays,
        and no second card is created."""
        company = self.main_pos_config.company_id
        program = self.env["customer.tiering.config"]._for_companies(company).loyalty_program_id
        customer = self.env["res.partner"].create({"name": "Tier Company", "is_company": True})
        self.env["res.partner"].create({"name": "Tier Contact", "parent_id": customer.id})
        ledger = self.env["customer.loyalty.ledger"].sudo().with_company(company)
        ledger._adjust(customer, 2500, "Opening balance", key="adjust:till-tour")
        card = program.coupon_ids
        self.env["product.product"].create(
            {"name": "Tier Till Product", "list_price": 100, "available_in_pos": True, "taxes_id": [Command.clear()]}
        )

        self.start_pos_tour("customer_tiering_pos_tier_card")

        self.assertEqual(program.coupon_ids, card, "the company's card, and no other")
        order = self.env["pos.order"].search([("config_id", "=", self.main_pos_config.id)])
        self.assertEqual(card.points, 580, "2,000 points spent, in steps of 1,000, and 80 earned on the 80 paid")
        earning = card.history_ids.filtered(lambda line: line.points_key == f"pos:{order.id}:0")
        self.assertEqual(earning.issued, 80, "earned by the points ledger, the customer having no tier")
        self.assertEqual(order.lines.filtered("is_reward_line").coupon_id, card)
        history = card.history_ids.filtered(lambda line: line.order_model == "pos.order" and not line.points_key)
        self.assertEqual((history.order_id, history.used), (order.id, 2000))

    def test_tier_a_customer_earns_double_at_till(self):
        """At the till, a tier A customer (multiplier 2) buying 100 untaxed
        sees the 200 points the sale will earn; paid, the balance rises by
        200, once, on the ledger's keyed entry."""
        company = self.main_pos_config.company_id
        config = self.env["customer.tiering.config"]._for_companies(company).sudo()
        config.points_start_date = date(2020, 1, 1)
        program = config.loyalty_program_id
        tier_a = self.env["customer.tier"].search([("company_id", "=", company.id)], order="sequence, id", limit=1)
        self.assertEqual(tier_a.points_multiplier, 2.0)
        customer = self.env["res.partner"].create({"name": "Tier A Shopper", "is_company": True})
        customer.sudo().with_company(company).tier_id = tier_a
        ledger = self.env["customer.loyalty.ledger"].sudo().with_company(company)
        ledger._adjust(customer, 300, "Opening balance", key="adjust:till-earn-tour")
        card = program.coupon_ids.filtered(lambda c: c.partner_id == customer)
        self.env["product.product"].create(
            {"name": "Tier Earn Product", "list_price": 100, "available_in_pos": True, "taxes_id": [Command.clear()]}
        )

        self.start_pos_tour("customer_tiering_pos_tier_earn")

        order = self.env["pos.order"].search([("config_id", "=", self.main_pos_config.id)])
        self.assertEqual(order.state, "paid")
        self.assertEqual(card.points, 500, "300 held, and 100 untaxed x 1 point x 2 (tier A) earned")
        self.assertEqual(program.coupon_ids.filtered(lambda c: c.partner_id == customer), card, "no second card")
        earning = card.history_ids.filtered("points_key")
        self.assertEqual(sorted(earning.mapped("points_key")), sorted(["adjust:till-earn-tour", f"pos:{order.id}:0"]))
        onsite = card.history_ids.filtered(lambda line: not line.points_key and line.issued)
        self.assertFalse(onsite, "nothing earned through pos_loyalty")
