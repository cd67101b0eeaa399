"""The tiers' entry and birthday points, given by the nightly points cron (README, *Loyalty points*)."""

from datetime import datetime

from odoo.exceptions import ValidationError
from odoo.tests import freeze_time, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestTierRewards(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tier_a.write({"entry_points": 500.0, "birthday_points": 50.0})
        cls.tier_b.entry_points = 200.0
        cls.tier_c.entry_points = 100.0
        cls.customer = cls.env["res.partner"].create(
            {"name": "Rising Star Ltd", "is_company": True, "birthday": "1990-05-10"}
        )

    def promote(self, partner, old, new, when, company=None):
        """A tier change by the nightly job, as it records it."""
        with freeze_time(when):
            self.env["customer.tier.history"].sudo().create(
                {
                    "partner_id": partner.id,
                    "company_id": (company or self.company).id,
                    "old_tier_id": old.id if old else False,
                    "new_tier_id": new.id,
                    "reason": "computed",
                    "date": when,
                }
            )

    def run_points(self, day):
        """The points cron of ``day``, as its scheduled action's user runs it (every company)."""
        cron_user = self.env.ref("customer_tiering.ir_cron_loyalty").user_id
        with freeze_time(day):
            self.env["customer.loyalty.ledger"].with_user(cron_user)._cron_loyalty()

    def rewards(self, partner=None, company=None):
        self.env.invalidate_all()
        partner = (partner or self.customer).with_company(company or self.company)
        card = partner.tier_card_id
        return card.history_ids.filtered(lambda h: h.points_key and h.points_key.split(":")[0] in ("entry", "birthday"))

    def test_promotion_gives_the_new_tiers_entry_points_once(self):
        self.promote(self.customer, self.tier_c, self.tier_a, datetime(2026, 6, 1, 2))
        self.run_points("2026-06-01 03:00:00")
        rewards = self.rewards()
        self.assertEqual(rewards.mapped("points_key"), [f"entry:{self.tier_a.id}:2026-06-01"])
        self.assertEqual(rewards.issued, 500.0)
        self.assertNotIn(self.tier_a.code, rewards.description, "the portal does not name the tier")
        self.assertIn(self.tier_a.code, rewards.points_note)
        self.run_points("2026-06-02 03:00:00")
        self.assertEqual(len(self.rewards()), 1, "a re-run gives nothing more")
        self.assertEqual(self.customer.with_company(self.company).loyalty_points, 500.0)

    def test_first_classification_and_demotion_give_nothing(self):
        self.promote(self.customer, False, self.tier_a, datetime(2026, 6, 1, 2))
        self.promote(self.customer, self.tier_a, self.tier_c, datetime(2026, 6, 2, 2))
        self.run_points("2026-06-02 03:00:00")
        self.assertFalse(self.rewards())

    def test_a_later_promotion_gives_again(self):
        self.promote(self.customer, self.tier_c, self.tier_a, datetime(2026, 6, 1, 2))
        self.run_points("2026-06-01 03:00:00")
        self.promote(self.customer, self.tier_a, self.tier_c, datetime(2026, 7, 1, 2))
        self.promote(self.customer, self.tier_c, self.tier_a, datetime(2026, 8, 1, 2))
        self.run_points("2026-08-01 03:00:00")
        self.assertEqual(
            sorted(self.rewards().mapped("points_key")),
            [f"entry:{self.tier_a.id}:2026-06-01", f"entry:{self.tier_a.id}:2026-08-01"],
        )

    def test_birthday_points_once_a_year_for_eligible_customers(self):
        self.customer.with_company(self.company).tier_id = self.tier_a
        untiered = self.env["res.partner"].create({"name": "No Tier", "is_company": True, "birthday": "1990-05-10"})
        self.run_points("2026-05-10 03:00:00")
        self.run_points("2026-05-10 05:00:00")
        rewards = self.rewards()
        self.assertEqual(rewards.mapped("points_key"), ["birthday:2026"])
        self.assertEqual(rewards.issued, 50.0)
        self.assertFalse(self.rewards(untiered), "a customer whose tier gives no birthday points gets none")
        self.run_points("2027-05-10 03:00:00")
        self.assertEqual(sorted(self.rewards().mapped("points_key")), ["birthday:2026", "birthday:2027"])

    def test_companies_are_independent(self):
        company_2 = self.setup_other_company(name="Second Co")["company"]
        self.env.user.company_ids |= company_2
        tiers_2 = self.env["customer.tier"].search([("company_id", "=", company_2.id)], order="sequence")
        tiers_2[0].entry_points = 70.0
        self.promote(self.customer, self.tier_c, self.tier_a, datetime(2026, 6, 1, 2))
        self.promote(self.customer, tiers_2[-1], tiers_2[0], datetime(2026, 6, 1, 2), company=company_2)
        self.run_points("2026-06-01 03:00:00")
        self.assertEqual(self.rewards().issued, 500.0)
        self.assertEqual(self.rewards(company=company_2).issued, 70.0)

    def test_bounds(self):
        with self.assertRaises(ValidationError):
            self.tier_a.entry_points = -1.0
        with self.assertRaises(ValidationError):
            self.tier_a.birthday_points = 2_000_000.0
