from datetime import date

from odoo.tests import freeze_time, new_test_user, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestPartnerMerge(TieringInvoiceCommon):
    """A salesperson merges duplicate customers who both bought: the merge
    works, the next run recomputes the survivor, the strongest lock stays."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.classified_customers(
            {
                "Key Account": [(9000.0, "2026-05-01")],
                "Key Account (duplicate)": [(3000.0, "2026-06-01")],
                "Other": [(1000.0, "2026-06-01")],
            }
        )
        cls.survivor = cls.customers["Key Account"]
        cls.duplicate = cls.customers["Key Account (duplicate)"]
        cls.salesperson = new_test_user(
            cls.env,
            login="merging_salesperson",
            groups="sales_team.group_sale_salesman,base.group_partner_manager",
        )

    def merge(self, user=None):
        Wizard = self.env["base.partner.merge.automatic.wizard"].with_user(user or self.salesperson)
        wizard = Wizard.with_context(active_model="res.partner", active_ids=(self.survivor | self.duplicate).ids)
        wizard = wizard.create({"dst_partner_id": self.survivor.id})
        wizard.action_merge()

    def test_salesperson_merges_customers_who_both_bought(self):
        self.assertFalse(self.salesperson.has_group("customer_tiering.group_customer_tiering_manager"))
        before = self.survivor.revenue_total
        self.merge()
        self.assertFalse(self.duplicate.exists())
        self.assertEqual(self.survivor.revenue_total, before, "the merge copies no tiering value")
        self.run_cron()
        self.assertEqual(self.survivor.revenue_total, 12000.0, "the next run counts the survivor's every sale")

    def test_the_strongest_lock_survives_with_a_history_row(self):
        self.survivor.write({"tier_locked": True, "tier_lock_until": "2026-12-31", "tier_lock_reason": "Q4 deal"})
        self.duplicate.write(
            {
                "tier_locked": True,
                "tier_lock_until": "9999-12-31",
                "tier_lock_reason": "Strategic",
                "tier_id": self.tier_c.id,
            }
        )
        self.merge()
        self.assertTrue(self.survivor.tier_locked)
        self.assertEqual(self.survivor.tier_lock_until, date(9999, 12, 31))
        self.assertEqual(self.survivor.tier_lock_reason, "Strategic")
        self.assertEqual(self.survivor.tier_id, self.tier_c)
        row = self.history(self.survivor)[-1]
        self.assertEqual((row.new_tier_id, row.reason), (self.tier_c, "merge"))
        self.run_full()
        self.assertEqual(self.survivor.tier_id, self.tier_c, "the kept lock holds")

    def test_an_ended_lock_is_no_lock(self):
        self.duplicate.write({"tier_locked": True, "tier_lock_until": "2026-01-31", "tier_id": self.tier_c.id})
        tier = self.survivor.tier_id
        self.merge()
        self.assertFalse(self.survivor.tier_locked)
        self.assertEqual(self.survivor.tier_id, tier)
