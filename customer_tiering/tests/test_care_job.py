from datetime import date, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestCareJob(TieringInvoiceCommon):
    """Birthdays, holidays, dormancy warnings and the weekly digest."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = {"company_id": cls.company.id, "company_ids": [cls.company.id]}
        cls.seller = new_test_user(
            cls.env, login="care_seller", email="seller@example.com", groups="base.group_user", **company
        )
        Partner = cls.env["res.partner"]
        cls.key_account = Partner.create(
            {"name": "Key Account", "is_company": True, "email": "key@example.com", "birthday": "1990-05-10"}
        )
        cls.standard = Partner.create(
            {"name": "Standard Buyer", "is_company": True, "email": "std@example.com", "birthday": "1985-05-10"}
        )
        cls.no_email = Partner.create({"name": "No Email", "is_company": True, "birthday": "1985-05-10"})
        cls.opted_out = Partner.create(
            {"name": "Opted Out", "is_company": True, "email": "out@example.com", "birthday": "1985-05-10"}
        )
        cls.env["mail.blacklist"].sudo()._add("out@example.com")
        cls.key_account.write({"tier_id": cls.tier_a.id, "user_id": cls.seller.id})
        (cls.standard | cls.no_email | cls.opted_out).write({"tier_id": cls.tier_c.id, "user_id": cls.seller.id})
        cls.job = cls.env["customer.care.job"]

    def mails(self, partner, subject):
        return self.env["mail.mail"].search([("recipient_ids", "in", partner.ids), ("subject", "ilike", subject)])

    def care_activities(self, partner):
        return partner.activity_ids.filtered(lambda a: not a.service_policy_id)

    def test_birthday_email_exactly_once(self):
        for _run in range(2):
            self.job._care_birthdays(self.config, date(2026, 5, 10))
        self.assertEqual(len(self.mails(self.standard, "Happy birthday")), 1)
        self.assertFalse(self.mails(self.no_email, "Happy birthday"))
        self.assertFalse(self.mails(self.opted_out, "Happy birthday"), "opted out of emails")
        self.assertFalse(self.mails(self.key_account, "Happy birthday"), "A customers get a personal touch")
        self.job._care_birthdays(self.config, date(2027, 5, 10))
        self.assertEqual(len(self.mails(self.standard, "Happy birthday")), 2, "once a year")

    def test_birthday_activity_ahead_for_key_accounts(self):
        for _run in range(2):
            self.job._care_birthdays(self.config, date(2026, 5, 7))
        activity = self.care_activities(self.key_account)
        self.assertRecordValues(activity, [{"user_id": self.seller.id, "date_deadline": date(2026, 5, 10)}])
        self.assertIn("Birthday", activity.summary)
        self.assertFalse(self.care_activities(self.standard))

    def test_leap_day_birthday_in_a_common_year(self):
        self.standard.birthday = "2000-02-29"
        self.job._care_birthdays(self.config, date(2027, 2, 28))
        self.assertEqual(len(self.mails(self.standard, "Happy birthday")), 1)

    def test_care_date(self):
        festival = self.env["customer.care.date"].search(
            [("company_id", "=", self.company.id), ("name", "=", "Spring Festival")]
        )
        self.job._care_dates(self.config, festival.date - timedelta(days=3))
        self.assertEqual(self.care_activities(self.key_account).date_deadline, festival.date)
        for _run in range(2):
            self.job._care_dates(self.config, festival.date)
        mail = self.mails(self.standard, "Spring Festival")
        self.assertEqual(len(mail), 1)
        self.assertIn("Spring Festival", mail.body_html)
        self.assertFalse(self.mails(self.opted_out, "Spring Festival"))
        copy = festival.action_copy_next_year()
        next_year = festival.date.year + 1
        lunar = self.env["customer.care.festival.date"]._dates(festival.festival_id, [next_year])
        self.assertEqual(
            self.env["customer.care.date"].search(copy["domain"]).date,
            lunar[festival.festival_id.id, next_year],
            "a lunar festival's next date comes from the festival table",
        )

    def test_holiday_email_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        self.standard.lang = "zh_CN"
        festival = self.env["customer.care.date"].search(
            [("company_id", "=", self.company.id), ("name", "=", "Spring Festival")]
        )
        festival.update_field_translations("name", {"zh_CN": "春节"})
        self.job._care_dates(self.config, festival.date)
        mail = self.mails(self.standard, "春节")
        self.assertIn("致以温馨祝福", mail.subject)
        self.assertIn("值此", mail.body_html)

    def test_default_care_dates(self):
        dates = self.env["customer.care.date"].search([("company_id", "=", self.company.id)])
        self.assertEqual(len(dates), 2)
        self.assertTrue(all(day >= fields.Date.today() for day in dates.mapped("date")))

    def test_dormancy_warning_once_before_sleeping(self):
        self.key_account.write(
            {
                "purchase_count": 3,
                "first_purchase_date": "2026-01-01",
                "last_purchase_date": "2026-05-01",
                "lifecycle_stage": "active",
            }
        )
        # what the tiering job stores: every 60 days, overdue by half an interval
        self.env["customer.tiering.schedule"].sudo().create(
            {"partner_id": self.key_account.id, "company_id": self.company.id, "dormancy_date": "2026-07-30"}
        )
        # Warned 14 days before.
        self.job._dormancy_warnings(self.config, date(2026, 7, 15))
        self.assertFalse(self.care_activities(self.key_account))
        for _run in range(2):
            self.job._dormancy_warnings(self.config, date(2026, 7, 16))
        activity = self.care_activities(self.key_account)
        self.assertRecordValues(activity, [{"user_id": self.seller.id, "date_deadline": date(2026, 7, 30)}])
        self.assertIn("2026-05-01", activity.summary)
        activity.unlink()
        self.job._dormancy_warnings(self.config, date(2026, 7, 20))
        self.assertFalse(self.care_activities(self.key_account), "once per purchase")

    def test_weekly_digest(self):
        today = fields.Date.today()
        policy = self.env["customer.service.policy"].search(
            [("company_id", "=", self.company.id), ("tier_ids", "=", self.tier_a.id)]
        )
        # bought 31 days ago: just due, its call is due in the policy's 7 days (a backlog is spread)
        self.post_invoice(self.key_account, 100.0, today - timedelta(days=31))
        self.env["customer.followup.job"]._run_policies(policy, today)
        self.standard.write({"churn_risk_level": "high", "value_at_risk": 4321.0})
        self.config.digest_mode = "email"
        for _run in range(2):
            self.env["customer.followup.digest"]._send_digests(self.config, today)
        digest = self.env["mail.mail"].search([("email_to", "ilike", "seller@example.com")])
        self.assertEqual(len(digest), 1, "one email per salesperson and week")
        self.assertIn("Follow-ups due in the next 7 days: 1", digest.body_html)
        self.assertIn("Standard Buyer: value at risk 4321", digest.body_html)
        self.config.digest_mode = "activity"
        self.env["customer.followup.digest"]._send_digests(self.config, today + timedelta(days=7))
        self.assertEqual(self.seller.partner_id.activity_ids.user_id, self.seller)

    def test_a_killed_batch_leaves_no_touch_logged_without_its_activity(self):
        """Each batch commits its log rows with its activities: here a batch is
        a savepoint, the second one fails, the first one stays."""
        second = self.env["res.partner"].create(
            {"name": "Second Key Account", "is_company": True, "birthday": "1991-05-10", "user_id": self.seller.id}
        )
        second.tier_id = self.tier_a
        Lock = self.env.registry["customer.tiering.lock"]
        Followup = self.env.registry["customer.followup.job"]
        insert = Followup._insert_activities
        calls = []

        def run_batch(lock, write):
            with lock.env.cr.savepoint():
                write()

        def insert_activities(job, batch):
            calls.append(batch)
            if len(calls) == 2:
                raise KeyboardInterrupt  # the worker killed in the second batch
            return insert(job, batch)

        killed = False
        with (
            patch("odoo.addons.customer_tiering.models.customer_followup_job.BATCH", 1),
            patch.object(Lock, "_run_batch", run_batch),
            patch.object(Followup, "_insert_activities", insert_activities),
        ):
            # not assertRaises: Odoo's rolls back all its block did, the first batch too
            try:
                self.job._care_birthdays(self.config, date(2026, 5, 7))
            except KeyboardInterrupt:
                killed = True
        self.assertTrue(killed)
        logged = self.env["customer.care.log"].search([("occasion", "=", "birthday")]).partner_id
        self.assertEqual(len(logged), 1)
        self.assertTrue(self.care_activities(logged), "the logged customer got the activity")
        self.job._care_birthdays(self.config, date(2026, 5, 7))
        for partner in (self.key_account, second):
            self.assertEqual(len(self.care_activities(partner)), 1, "the next run completes, once each")
