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

    # ------------------------------------------------------------ a care date for everyone
    def holiday_crowd(self):
        """A care date in ten days, and twelve more A/B customers of the
        salesperson and twelve more C customers with an address: with the
        set-up's, 13 activities and 13 emails due, the customers without an
        address or opted out left out."""
        Partner = self.env["res.partner"]
        key = Partner.create(
            [{"name": f"Crowd AB {index:02d}", "is_company": True, "user_id": self.seller.id} for index in range(12)]
        )
        key[:6].tier_id, key[6:].tier_id = self.tier_a, self.tier_b
        standard = Partner.create(
            [
                {"name": f"Crowd C {index:02d}", "is_company": True, "email": f"crowd{index}@example.com"}
                for index in range(12)
            ]
        )
        standard.tier_id = self.tier_c
        holiday = self.env["customer.care.date"].create(
            {"name": "Everyone's Day", "date": date(2026, 9, 20), "company_id": self.company.id}
        )
        return holiday, self.key_account | key, self.standard | standard

    def run_holiday(self, holiday):
        """The lead day's run (activities), then the day's (emails)."""
        self.job._care_dates(self.config, holiday.date - timedelta(days=self.config.care_lead_days))
        self.job._care_dates(self.config, holiday.date)

    def assert_touched_once(self, holiday, key, standard):
        for partner in key:
            self.assertEqual(len(self.care_activities(partner)), 1, partner.name)
        mails = self.mails(key | standard | self.no_email | self.opted_out, "Everyone's Day")
        self.assertEqual(sorted(mails.recipient_ids.ids), sorted(standard.ids), "one email each, the others none")
        self.assertEqual(set(mails.mapped("state")), {"outgoing"}, "queued, not sent inline")
        logs = self.env["customer.care.log"].search([("occasion", "=", f"care:{holiday.id}")])
        self.assertEqual(sorted(logs.partner_id.ids), sorted((key | standard).ids))

    def test_holiday_for_everyone_in_batches(self):
        holiday, key, standard = self.holiday_crowd()
        Care = self.env.registry["customer.care.job"]
        touch = Care._touch
        batches = []

        def spy(job, config, partners, occasion, day, channel, label):
            batches.append((channel, len(partners)))
            return touch(job, config, partners, occasion, day, channel, label)

        with (
            patch("odoo.addons.customer_tiering.models.customer_care_job.CARE_BATCH", 5),
            patch.object(Care, "_touch", spy),
        ):
            for _run in range(2):
                self.run_holiday(holiday)
        self.assertEqual(
            batches,
            [("activity", 5), ("activity", 5), ("activity", 3), ("email", 5), ("email", 5), ("email", 3)],
            "the second run finds everyone logged: no batch at all",
        )
        self.assert_touched_once(holiday, key, standard)

    def test_holiday_run_killed_after_its_first_batch(self):
        """Each channel's run killed right after its first batch committed
        (here a batch is a savepoint): that batch stands, the next run
        touches the others, nobody twice."""
        holiday, key, standard = self.holiday_crowd()
        Lock = self.env.registry["customer.tiering.lock"]
        lead_day = holiday.date - timedelta(days=self.config.care_lead_days)
        for day, channel in ((lead_day, "activity"), (holiday.date, "email")):
            calls = []

            def run_batch(lock, write, calls=calls):
                calls.append(write)
                if len(calls) == 2:
                    raise KeyboardInterrupt  # the worker killed after the first commit
                with lock.env.cr.savepoint():
                    write()

            killed = False
            with (
                patch("odoo.addons.customer_tiering.models.customer_care_job.CARE_BATCH", 5),
                patch.object(Lock, "_run_batch", run_batch),
            ):
                # not assertRaises: Odoo's rolls back all its block did, the first batch too
                try:
                    self.job._care_dates(self.config, day)
                except KeyboardInterrupt:
                    killed = True
            self.assertTrue(killed)
            logged = self.env["customer.care.log"].search(
                [("occasion", "=", f"care:{holiday.id}"), ("channel", "=", channel)]
            )
            self.assertEqual(len(logged), 5, f"{channel}: the first batch only")
            if channel == "activity":
                activities = self.env["mail.activity"].search(
                    [("res_model", "=", "res.partner"), ("res_id", "in", key.ids)]
                )
                self.assertEqual(sorted(activities.mapped("res_id")), sorted(logged.partner_id.ids))
            else:
                self.assertEqual(self.mails(standard, "Everyone's Day").recipient_ids, logged.partner_id)
        with patch("odoo.addons.customer_tiering.models.customer_care_job.CARE_BATCH", 5):
            self.run_holiday(holiday)
        self.assert_touched_once(holiday, key, standard)

    # ------------------------------------------------------------ digest
    def test_digest_top_at_risk_is_the_first_ten_of_all(self):
        """The ten per salesperson ranked in SQL are the first ten of every
        high-risk customer sorted as the digest always sorted them (value at
        risk, highest first), ties in the partner lists' order (name, then
        newest); the count is all of them."""
        other = new_test_user(self.env, login="care_other", groups="base.group_user", company_id=self.company.id)
        Partner = self.env["res.partner"].with_company(self.company)
        values = [900, 500, 500, 500, 300, 300, 300, 300, 100, 100, 100, 50, 50, None, 0]
        crowd = Partner.browse()
        for user in (self.seller, other):
            for index, value in enumerate(values):
                # equal names among equal values: the newest first
                partner = Partner.create({"name": f"Risky {index % 3}", "is_company": True, "user_id": user.id})
                partner.write({"churn_risk_level": "high", "value_at_risk": value})
                crowd |= partner
        crowd[:2].write({"churn_risk_level": "medium"})
        crowd[2].active = False
        contact = Partner.create({"name": "Risky contact", "parent_id": crowd[3].id, "user_id": self.seller.id})
        contact.write({"churn_risk_level": "high", "value_at_risk": 5000})
        old = Partner.search(
            [
                ("is_tiering_entity", "=", True),
                ("churn_risk_level", "=", "high"),
                ("user_id", "!=", False),
                ("company_id", "in", [False, self.company.id]),
            ],
            order="value_at_risk desc, complete_name, id desc",
        )
        expected = {}
        for partner in old:
            expected.setdefault(partner.user_id.id, []).append(partner.id)
        rows = self.env["customer.followup.digest"]._top_at_risk(self.config)
        self.assertEqual(
            {user_id: (ids, count) for user_id, ids, count in rows},
            {user_id: (ids[:10], len(ids)) for user_id, ids in expected.items()},
        )
        self.assertEqual(len(expected[self.seller.id]), len(values) - 3)
        self.assertNotIn(contact.id, expected[self.seller.id])
