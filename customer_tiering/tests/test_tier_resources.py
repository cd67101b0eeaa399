from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestTierResources(TieringInvoiceCommon):
    """A customer the job moves to another tier gets that tier's resources."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.method = "threshold"
        cls.tier_a.min_revenue, cls.tier_b.min_revenue, cls.tier_c.min_revenue = 100000, 10000, 0
        company = {"company_id": cls.company.id, "company_ids": [cls.company.id]}
        groups = "base.group_user,sales_team.group_sale_salesman"
        cls.seller = new_test_user(cls.env, login="tr_seller", groups=groups, **company)
        cls.account_manager = new_test_user(cls.env, login="tr_account_manager", groups=groups, **company)
        cls.pricelist_b = cls.env["product.pricelist"].create({"name": "B prices", "company_id": cls.company.id})
        cls.team_b = cls.env["crm.team"].create({"name": "Growth Team", "company_id": cls.company.id})
        cls.tier_b.write(
            {"user_id": cls.account_manager.id, "pricelist_id": cls.pricelist_b.id, "team_id": cls.team_b.id}
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Rising Customer", "is_company": True, "user_id": cls.seller.id}
        )
        cls.day = fields.Date.today() - timedelta(days=10)
        cls.post_invoice(cls.customer, 1000.0, cls.day)

    def move_to_b(self):
        self.run_cron()
        self.assertEqual(self.customer.tier_id, self.tier_c)
        self.post_invoice(self.customer, 20000.0, self.day)
        self.run_cron()
        self.customer.invalidate_recordset()

    def test_apply_automatically(self):
        self.config.tier_resources_mode = "auto"
        self.move_to_b()
        self.assertEqual(self.customer.tier_id, self.tier_b)
        self.assertEqual(self.customer.user_id, self.account_manager)
        self.assertEqual(self.customer.property_product_pricelist, self.pricelist_b)
        logged = self.customer.message_ids.filtered(lambda message: "Resources of tier" in message.body)
        self.assertEqual(len(logged), 1, "the chatter says what was applied, once")

    def test_suggest_only(self):
        self.config.tier_resources_mode = "suggest"
        self.move_to_b()
        self.assertEqual(self.customer.tier_id, self.tier_b)
        self.assertEqual(self.customer.user_id, self.seller)
        activity = self.customer.activity_ids
        self.assertEqual(activity.user_id, self.account_manager)
        self.assertIn("B prices", activity.note)
        self.customer.action_apply_tier_resources()
        self.assertEqual(self.customer.user_id, self.account_manager)
        self.assertEqual(self.customer.property_product_pricelist, self.pricelist_b)

    def test_off(self):
        self.config.tier_resources_mode = "off"
        self.move_to_b()
        self.assertEqual(self.customer.tier_id, self.tier_b)
        self.assertEqual(self.customer.user_id, self.seller)
        self.assertFalse(self.customer.activity_ids)

    def test_locked_tier_keeps_its_resources(self):
        self.config.tier_resources_mode = "auto"
        self.run_cron()
        self.customer.write({"tier_locked": True, "tier_lock_reason": "Strategic"})
        self.post_invoice(self.customer, 20000.0, self.day)
        self.run_cron()
        self.assertEqual(self.customer.tier_id, self.tier_c)
        self.assertEqual(self.customer.user_id, self.seller)

    def test_a_run_killed_before_the_resources_leaves_them_to_the_next(self):
        """The chunks committed the move, the worker died before applying the
        resources: the move marked them due, and the next run applies them."""
        self.config.tier_resources_mode = "auto"
        Job = self.env.registry["customer.tiering.job"]
        with patch.object(Job, "_apply_tier_resources", lambda job, config: None):
            self.move_to_b()
        self.assertEqual(self.customer.tier_id, self.tier_b)
        self.assertEqual(self.customer.user_id, self.seller, "not applied yet")
        schedule = self.env["customer.tiering.schedule"].search([("partner_id", "=", self.customer.id)])
        self.assertTrue(schedule.tier_resources_pending)
        self.run_cron()
        self.customer.invalidate_recordset()
        self.assertEqual(self.customer.user_id, self.account_manager)
        self.assertEqual(self.customer.property_product_pricelist, self.pricelist_b)
        self.assertFalse(schedule.tier_resources_pending)
        self.run_cron()
        logged = self.customer.message_ids.filtered(lambda message: "Resources of tier" in message.body)
        self.assertEqual(len(logged), 1, "applied once")
