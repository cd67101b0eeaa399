from odoo import Command
from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.common import TestPoSCommon


@tagged("post_install", "-at_install")
class TestPosTierCard(TestPoSCommon):
    """The till's points of a tiering program are those of the customer's
    commercial entity's tier card: pos_loyalty's confirm_coupon_programs
    looks cards up by the selected partner and gave a contact of a company
    customer a second, empty card of its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = cls.basic_config
        cls.tiering = cls.env["customer.tiering.config"]._for_companies(cls.company)
        cls.program = cls.tiering.loyalty_program_id
        cls.reward = cls.program.reward_ids[:1]
        Partner = cls.env["res.partner"]
        cls.customer = Partner.create({"name": "Till Company", "is_company": True})
        cls.contact = Partner.create({"name": "Till Contact", "parent_id": cls.customer.id})
        cls.ledger = cls.env["customer.loyalty.ledger"].sudo().with_company(cls.company)
        cls.ledger._adjust(cls.customer, 2500, "Opening balance", key="adjust:till-test")
        cls.card = cls.program.coupon_ids.filtered("is_tier_card")
        cls.product = cls.env["product.product"].create(
            {"name": "Till Product", "list_price": 100, "available_in_pos": True, "taxes_id": [Command.clear()]}
        )

    def setUp(self):
        super().setUp()
        self.open_new_session()

    def _order(self, partner, reward_code=None):
        lines = [
            Command.create(
                {
                    "product_id": self.product.id,
                    "qty": 1,
                    "price_unit": 100,
                    "price_subtotal": 100,
                    "price_subtotal_incl": 100,
                }
            )
        ]
        if reward_code:
            lines.append(
                Command.create(
                    {
                        "product_id": self.reward.discount_line_product_id.id,
                        "qty": 1,
                        "price_unit": -20,
                        "price_subtotal": -20,
                        "price_subtotal_incl": -20,
                        "is_reward_line": True,
                        "reward_id": self.reward.id,
                        "points_cost": 2000,
                        "reward_identifier_code": reward_code,
                    }
                )
            )
        total = 80 if reward_code else 100
        return self.env["pos.order"].create(
            {
                "session_id": self.pos_session.id,
                "partner_id": partner.id,
                "lines": lines,
                "amount_tax": 0,
                "amount_total": total,
                "amount_paid": total,
                "amount_return": 0,
            }
        )

    def _cards(self, partner):
        return (
            self.env["loyalty.card"]
            .with_context(active_test=False)
            .search([("program_id", "=", self.program.id), ("partner_id", "child_of", partner.id)])
        )

    def test_contact_as_pos_loyalty_sends_it(self):
        """What an unpatched till sends for a contact (it found no card of
        the contact's, so held one of its own, -1): before the fix the server
        created a second, empty card for the contact."""
        order = self._order(self.contact)
        result = order.confirm_coupon_programs(
            {
                "-1": {
                    "points": 0,
                    "program_id": self.program.id,
                    "coupon_id": -1,
                    "barcode": "",
                    "partner_id": self.contact.id,
                }
            }
        )
        self.assertEqual(self._cards(self.customer), self.card, "no second card for the contact")
        self.assertEqual(self.card.points, 2500)
        # The till swaps its own card for the entity's.
        self.assertEqual(
            [(u["old_id"], u["id"], u["points"]) for u in result["coupon_updates"]], [(-1, self.card.id, 2500)]
        )

    def test_contact_redeems_from_entity_card(self):
        order = self._order(self.contact, reward_code="tier-reward")
        order.confirm_coupon_programs(
            {
                str(self.card.id): {
                    "points": -2000,
                    "program_id": self.program.id,
                    "coupon_id": self.card.id,
                    "partner_id": self.contact.id,
                    "line_codes": ["tier-reward"],
                }
            }
        )
        self.assertEqual(self.card.points, 500)
        self.assertEqual(self._cards(self.customer), self.card)
        self.assertEqual(order.lines.filtered("is_reward_line").coupon_id, self.card)

    def test_redeem_on_the_tills_own_card_lands_on_entity_card(self):
        """A till that held its own card (-1) for the contact: the points and
        reward lines still go to the entity's tier card, and the history line
        pos_loyalty writes next, by the id the till knows, too."""
        order = self._order(self.contact, reward_code="own-card")
        result = order.confirm_coupon_programs(
            {
                "-1": {
                    "points": -2000,
                    "program_id": self.program.id,
                    "coupon_id": -1,
                    "barcode": "",
                    "partner_id": self.contact.id,
                    "line_codes": ["own-card"],
                }
            }
        )
        self.assertEqual(self.card.points, 500)
        self.assertEqual(self._cards(self.customer), self.card)
        self.assertEqual(order.lines.filtered("is_reward_line").coupon_id, self.card)
        updates = [{"id": u["id"], "old_id": u["old_id"]} for u in result["coupon_updates"]]
        order.add_loyalty_history_lines(
            [{"order_id": order.id, "card_id": -1, "spent": 2000, "won": 0, "total": 500}], updates
        )
        history = self.card.history_ids.filtered(lambda line: line.order_model == "pos.order")
        self.assertEqual((history.order_id, history.used), (order.id, 2000))

    def test_entity_without_card_gets_its_tier_card(self):
        customer = self.env["res.partner"].create({"name": "New Till Company", "is_company": True})
        contacts = self.env["res.partner"].create(
            [{"name": name, "parent_id": customer.id} for name in ("First Contact", "Second Contact")]
        )
        for contact in contacts:
            self._order(contact).confirm_coupon_programs(
                {"-1": {"points": 0, "program_id": self.program.id, "coupon_id": -1, "partner_id": contact.id}}
            )
        card = self._cards(customer)
        self.assertEqual(len(card), 1)
        self.assertEqual((card.partner_id, card.is_tier_card), (customer, True))

    def test_stray_card_of_the_contact_is_not_used(self):
        """A contact's own card of the program, as pos_loyalty created before
        the fix: the contact still spends the entity's points."""
        stray = self.env["loyalty.card"].create({"program_id": self.program.id, "partner_id": self.contact.id})
        self._order(self.contact).confirm_coupon_programs(
            {
                str(stray.id): {
                    "points": -1000,
                    "program_id": self.program.id,
                    "coupon_id": stray.id,
                    "partner_id": self.contact.id,
                }
            }
        )
        self.assertEqual((self.card.points, stray.points), (1500, 0))

    def test_other_programs_keep_pos_loyalty_cards(self):
        """Only the tiering program is looked up by entity: another loyalty
        program still gives the contact a card of its own."""
        other = self.env["loyalty.program"].create(
            {
                "name": "Other Loyalty",
                "program_type": "loyalty",
                "company_id": self.company.id,
                "reward_ids": [Command.create({"reward_type": "discount", "required_points": 10})],
            }
        )
        self._order(self.contact).confirm_coupon_programs(
            {"-1": {"points": 5, "program_id": other.id, "coupon_id": -1, "partner_id": self.contact.id}}
        )
        self.assertEqual(other.coupon_ids.partner_id, self.contact)
        self.assertEqual(other.coupon_ids.points, 5)

    def test_till_loads_tier_cards_of_its_customers_only(self):
        other_customer = self.env["res.partner"].create({"name": "Far Company", "is_company": True})
        self.ledger._adjust(other_customer, 1000, "Opening balance", key="adjust:till-test-far")
        far_card = self.program.coupon_ids.filtered(lambda card: card.partner_id == other_customer)
        stray = self.env["loyalty.card"].create({"program_id": self.program.id, "partner_id": self.contact.id})
        data = {
            "pos.config": {"data": [{"id": self.config.id}]},
            "loyalty.program": {"data": [{"id": self.program.id, "is_tier_program": True}]},
            "res.partner": {"data": [{"id": self.contact.id, "commercial_partner_id": self.customer.id}]},
        }
        cards = self.env["loyalty.card"].search(self.env["loyalty.card"]._load_pos_data_domain(data))
        self.assertIn(self.card, cards)
        self.assertNotIn(far_card, cards)
        self.assertNotIn(stray, cards)

    def test_points_at_till_setting(self):
        # A tiering manager who may not manage loyalty programs still turns it off and on.
        manager = self.env["res.users"].create(
            {
                "name": "Tiering Manager",
                "login": "till_tiering_manager",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [
                    Command.set(
                        [
                            self.env.ref("base.group_user").id,
                            self.env.ref("customer_tiering.group_customer_tiering_manager").id,
                        ]
                    )
                ],
            }
        )
        tiering = self.tiering.with_user(manager)
        self.assertTrue(tiering.points_at_till, "on by default, as Odoo offers every program at the till")
        self.assertIn(self.program, self.config._get_program_ids())
        self.tiering.sudo().last_full_run = "2026-01-01 00:00:00"
        tiering.points_at_till = False
        self.assertFalse(self.program.pos_ok)
        self.assertNotIn(self.program, self.config._get_program_ids())
        self.assertTrue(self.tiering.sudo().last_full_run, "not a tiering setting: no full run")
        tiering.points_at_till = True
        self.assertTrue(self.program.pos_ok)
        self.assertFalse(self.program.pos_config_ids, "every till")
        self.assertIn(self.program, self.config._get_program_ids())
        self.program.pos_ok = False
        tiering.invalidate_recordset(["points_at_till"])
        self.assertFalse(tiering.points_at_till, "the program's own setting")
