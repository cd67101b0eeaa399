from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestTierPrograms(TieringInvoiceCommon):
    """Promotions limited to customer tiers, like Odoo's limit to pricelists."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_a = cls.env["res.partner"].create({"name": "Key Account Ltd", "is_company": True})
        cls.customer_a.tier_id = cls.tier_a
        cls.customer_c = cls.env["res.partner"].create({"name": "Small Shop", "is_company": True})
        cls.customer_c.tier_id = cls.tier_c
        cls.code_program = cls.promotion("Tier A code", "with_code", code="TIERA")
        cls.auto_program = cls.promotion("Tier A automatic", "auto")
        (cls.code_program | cls.auto_program).tier_ids = cls.tier_a

    @classmethod
    def promotion(cls, name, mode, code=False):
        """A 10% promotion on the order, triggered automatically or by ``code``."""
        return cls.env["loyalty.program"].create(
            {
                "name": name,
                "program_type": "promotion",
                "trigger": "auto" if mode == "auto" else "with_code",
                "applies_on": "current",
                "company_id": cls.company.id,
                "rule_ids": [Command.create({"mode": mode, "code": code, "minimum_amount": 0})],
                "reward_ids": [
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount": 10,
                            "discount_mode": "percent",
                            "discount_applicability": "order",
                        }
                    )
                ],
            }
        )

    def claimable(self, order, program):
        order._update_programs_and_rewards()
        return {reward for rewards in order._get_claimable_rewards().values() for reward in rewards} & set(
            program.reward_ids
        )

    def test_code_applies_for_a_tier_customer(self):
        order = self.quotation(self.customer_a)
        status = order._try_apply_code("TIERA")
        self.assertNotIn("error", status)
        coupon, rewards = next(iter(status.items()))
        self.assertEqual(rewards, self.code_program.reward_ids)
        self.assertNotIn("error", order._apply_program_reward(rewards, coupon))
        self.assertAlmostEqual(sum(order.order_line.filtered("reward_id").mapped("price_unit")), -50.0)

    def test_code_is_refused_for_another_tier(self):
        order = self.quotation(self.customer_c)
        status = order._try_apply_code("TIERA")
        self.assertEqual(status.get("error"), "This code is only for customers of the tiers A - Key customers (TIERA).")
        self.assertFalse(order.order_line.filtered("reward_id"))
        self.assertFalse(order.code_enabled_rule_ids)

    def test_coupon_of_a_tier_program_is_refused_for_another_tier(self):
        self.code_program.applies_on = "future"
        self.env["loyalty.generate.wizard"].with_context(active_id=self.code_program.id).create(
            {"coupon_qty": 1, "points_granted": 1}
        ).generate_coupons()
        coupon = self.code_program.coupon_ids
        self.assertIn(
            "only for customers of the tiers", self.quotation(self.customer_c)._try_apply_code(coupon.code)["error"]
        )
        self.assertNotIn("error", self.quotation(self.customer_a)._try_apply_code(coupon.code))

    def test_automatic_promotion_only_for_its_tiers(self):
        self.assertTrue(self.claimable(self.quotation(self.customer_a), self.auto_program))
        self.assertFalse(self.claimable(self.quotation(self.customer_c), self.auto_program))

    def test_contact_of_a_tier_company_gets_it(self):
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": self.customer_a.id})
        self.assertTrue(self.claimable(self.quotation(contact), self.auto_program))
        self.assertNotIn("error", self.quotation(contact)._try_apply_code("TIERA"))

    def test_another_companys_tier_does_not_count(self):
        company_2 = self.setup_other_company(name="Second Co")["company"]
        tier_2_a = self.env["customer.tier"].search([("company_id", "=", company_2.id)], order="sequence", limit=1)
        self.customer_c.with_company(company_2).tier_id = tier_2_a
        self.auto_program.tier_ids |= tier_2_a
        # Tier A in the second company, tier C in the order's company: no promotion.
        self.assertFalse(self.claimable(self.quotation(self.customer_c), self.auto_program))

    def test_program_without_tiers_is_for_everyone(self):
        self.auto_program.tier_ids = False
        self.assertTrue(self.claimable(self.quotation(self.customer_c), self.auto_program))
        no_tier = self.env["res.partner"].create({"name": "New Customer", "is_company": True})
        self.assertTrue(self.claimable(self.quotation(no_tier), self.auto_program))

    def test_customer_without_tier_gets_no_tier_program(self):
        no_tier = self.env["res.partner"].create({"name": "New Customer", "is_company": True})
        self.assertFalse(self.claimable(self.quotation(no_tier), self.auto_program))

    def test_salesperson_reads_but_cannot_edit_tiers(self):
        salesperson = new_test_user(
            self.env, "tier_program_salesperson", groups="sales_team.group_sale_salesman", company_id=self.company.id
        )
        program = self.code_program.with_user(salesperson)
        self.assertEqual(program.read(["tier_ids"])[0]["tier_ids"], self.tier_a.ids)
        with self.assertRaises(AccessError):
            program.write({"tier_ids": [Command.clear()]})
        manager = new_test_user(
            self.env, "tier_program_manager", groups="sales_team.group_sale_manager", company_id=self.company.id
        )
        self.code_program.with_user(manager).tier_ids |= self.tier_b
        self.assertEqual(self.code_program.tier_ids, self.tier_a | self.tier_b)
