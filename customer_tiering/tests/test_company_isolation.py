from datetime import date

from odoo.exceptions import ValidationError
from odoo.tests import freeze_time, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
@freeze_time("2026-05-10")
class TestCompanyIsolation(TieringInvoiceCommon):
    """What one company's runs read and write stays within the partners it may
    see: its own and the shared ones."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company(name="Second Co")
        cls.company_2 = cls.company_data_2["company"]
        cls.company_2.write({"email": "hello@second.example.com"})
        cls.company.write({"email": "hello@first.example.com"})
        cls.env.user.company_ids |= cls.company_2
        cls.config_2 = cls.env["customer.tiering.config"]._for_companies(cls.company_2).sudo()
        Partner = cls.env["res.partner"]
        # The second company's own customer, who bought there only.
        cls.theirs = Partner.create(
            {
                "name": "Theirs",
                "is_company": True,
                "company_id": cls.company_2.id,
                "email": "theirs@example.com",
                "birthday": "1980-05-10",
            }
        )
        cls.post_invoice(cls.theirs, 1000.0, "2026-04-01", company=cls.company_data_2)

    def test_another_companys_customer_is_no_prospect(self):
        self.assertGreater(self.theirs.customer_rank, 0)
        self.run_full()
        theirs = self.theirs.sudo().with_company(self.company)
        self.assertFalse(theirs.lifecycle_stage, "company 1 does not mark company 2's customer potential")
        self.assertFalse(
            self.env["customer.lifecycle.history"].search(
                [("partner_id", "=", self.theirs.id), ("company_id", "=", self.company.id)]
            )
        )

    def test_policies_reach_only_partners_their_company_sees(self):
        tier_2 = self.env["customer.tier"].search([("company_id", "=", self.company_2.id)], limit=1)
        own = self.env["res.partner"].create({"name": "Ours", "is_company": True})
        (own | self.theirs).sudo().with_company(self.company).write({"tier_id": self.tier_a.id})
        self.assertTrue(tier_2)
        policy = self.env["customer.service.policy"].create(
            {
                "name": "Call everyone",
                "cadence_days": 7,
                "company_id": self.company.id,
                "assignee_rule": "fixed",
                "user_id": self.env.user.id,
            }
        )
        customers = self.env["res.partner"].with_company(self.company).search(policy._customer_domain())
        self.assertIn(own, customers)
        self.assertNotIn(self.theirs, customers)

    def test_care_emails_carry_the_caring_company(self):
        self.env.user.company_id = self.company
        tier_2_c = self.env["customer.tier"].search([("company_id", "=", self.company_2.id), ("code", "=", "C")])
        self.theirs.with_company(self.company_2).write({"tier_id": tier_2_c.id})
        job = self.env["customer.care.job"].with_company(self.company_2)
        job._care_birthdays(self.config_2, date(2026, 5, 10))
        mail = self.env["mail.mail"].search([("recipient_ids", "in", self.theirs.ids)])
        self.assertEqual(len(mail), 1)
        self.assertIn("hello@second.example.com", mail.email_from)
        self.assertIn("Second Co", mail.body_html)
        job = self.env["customer.care.job"].with_company(self.company)
        job._care_birthdays(self.config, date(2026, 5, 10))
        self.assertEqual(
            len(self.env["mail.mail"].search([("recipient_ids", "in", self.theirs.ids)])),
            1,
            "company 1 does not greet company 2's customer",
        )

    def test_a_tier_of_another_company_is_refused(self):
        tier_2 = self.env["customer.tier"].search([("company_id", "=", self.company_2.id)], limit=1)
        partner = self.env["res.partner"].create({"name": "Ours", "is_company": True})
        with self.assertRaises(ValidationError):
            partner.with_company(self.company).write({"tier_id": tier_2.id})
