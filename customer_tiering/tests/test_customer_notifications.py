"""What the nightly jobs tell customers (README, *Customer notifications*):
tier changes, expiring points, and the entry coupon of a tier."""

from datetime import date, datetime
from unittest.mock import patch

from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from ..models import customer_notification
from ..models.customer_loyalty_ledger import Entry
from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestCustomerNotifications(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.email = "hello@first.example"
        cls.config.write({"show_tier_to_customers": True, "tier_emails_since": datetime(2027, 1, 1)})
        cls.customer = cls.env["res.partner"].create(
            {"name": "Rising Star Ltd", "is_company": True, "email": "star@example.com", "lang": "en_US"}
        )
        cls.reclassify_user = cls.env.ref("customer_tiering.ir_cron_reclassify").user_id
        cls.points_user = cls.env.ref("customer_tiering.ir_cron_loyalty").user_id

    # ------------------------------------------------------------ helpers
    def change(self, partner, old, new, when, company=None):
        """A tier change by the nightly job, as it records it."""
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

    def notify_tiers(self, when, config=None):
        """The tier notifications at the end of a reclassification, as its cron's user sends them."""
        config = (config or self.config).with_user(self.reclassify_user)
        with freeze_time(when):
            self.env["customer.notification.job"].with_user(self.reclassify_user)._notify_tier_changes(config)

    def run_points(self, day):
        with freeze_time(day):
            self.env["customer.loyalty.ledger"].with_user(self.points_user)._cron_loyalty()

    def mails(self, partner=None, subject=""):
        return self.env["mail.mail"].search(
            [("recipient_ids", "in", (partner or self.customer).ids), ("subject", "ilike", subject)]
        )

    def earn(self, partner, points, day, key):
        """Points earned (spent, when negative) on ``day`` on the partner's tier card."""
        ledger = self.env["customer.loyalty.ledger"]
        card_id = ledger._tier_cards(self.config.loyalty_program_id, partner.ids)[partner.id]
        ledger._insert([Entry(card_id, "Points", key, "adjust", day, issued=max(points, 0.0), used=max(-points, 0.0))])

    # ------------------------------------------------------------ tier changes
    def test_upgrade_and_downgrade_are_told_once_with_the_tier_name(self):
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))
        self.notify_tiers("2027-03-01 03:00:00")
        self.notify_tiers("2027-03-01 04:00:00")
        mail = self.mails(subject="Good news")
        self.assertEqual(len(mail), 1, "a re-run sends nothing twice")
        self.assertIn(self.tier_a.name, mail.subject)
        self.assertIn(self.tier_c.name, mail.body_html)
        self.assertNotIn(f"tier {self.tier_a.code}", mail.body_html)
        self.assertIn("hello@first.example", mail.email_from)
        self.change(self.customer, self.tier_a, self.tier_b, datetime(2027, 4, 1, 2))
        self.notify_tiers("2027-04-01 03:00:00")
        down = self.mails(subject="membership level at")
        self.assertEqual(len(down), 1)
        self.assertIn(self.tier_b.name, down.subject)
        self.assertEqual(len(self.mails()), 2)

    def test_the_tiers_perks_are_in_the_mail(self):
        self.tier_a.perks = "<p>Free delivery on every order</p>"
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))
        self.notify_tiers("2027-03-01 03:00:00")
        self.assertIn("Free delivery on every order", self.mails().body_html)

    def test_nothing_when_tiers_are_not_shown(self):
        self.config.show_tier_to_customers = False
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))
        self.change(self.customer, False, self.tier_b, datetime(2027, 3, 1, 2))
        self.notify_tiers("2027-03-01 03:00:00")
        self.assertFalse(self.mails())

    def test_no_mail_to_blacklisted_or_without_email(self):
        blacklisted = self.customer.copy({"email": "gone@example.com"})
        self.env["mail.blacklist"].sudo()._add("gone@example.com")
        silent = self.customer.copy({"email": False})
        for partner in (blacklisted, silent):
            self.change(partner, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))
        self.notify_tiers("2027-03-01 03:00:00")
        self.assertFalse(self.mails(blacklisted) | self.mails(silent))
        logged = self.env["customer.care.log"].search([("partner_id", "in", (blacklisted | silent).ids)])
        self.assertFalse(logged, "a customer not emailed is not logged as emailed")

    def test_sent_in_the_companys_name(self):
        """The cron user's main company is the first: a change in the second
        company is told with the second company's identity."""
        company_2 = self.setup_other_company(name="Second Co")["company"]
        company_2.email = "hello@second.example"
        self.env.user.company_ids |= company_2
        self.reclassify_user.company_ids |= company_2
        config_2 = self.env["customer.tiering.config"]._for_companies(company_2).sudo()
        config_2.write({"show_tier_to_customers": True, "tier_emails_since": datetime(2027, 1, 1)})
        tiers_2 = self.env["customer.tier"].search([("company_id", "=", company_2.id)], order="sequence")
        self.change(self.customer, tiers_2[-1], tiers_2[0], datetime(2027, 3, 1, 2), company=company_2)
        self.notify_tiers("2027-03-01 03:00:00", config_2)
        self.notify_tiers("2027-03-01 03:00:00")
        mail = self.mails()
        self.assertEqual(len(mail), 1)
        self.assertIn("hello@second.example", mail.email_from)
        self.assertIn("Second Co", mail.subject)
        self.assertIn(tiers_2[0].name, mail.subject)

    def test_a_mail_that_fails_is_left_for_the_next_run(self):
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))

        def fail(*args, **kwargs):
            raise ValueError("template does not render")

        with (
            patch.object(type(self.env["customer.care.job"]), "_send_logged", fail),
            mute_logger("odoo.addons.customer_tiering.models.customer_notification"),
        ):
            self.notify_tiers("2027-03-01 03:00:00")
        self.assertFalse(self.mails())
        self.assertFalse(self.env["customer.care.log"].search([("partner_id", "=", self.customer.id)]))
        self.notify_tiers("2027-03-02 03:00:00")
        self.assertEqual(len(self.mails()), 1, "the next run sends it")

    def test_sent_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.customer.lang = "fr_FR"
        self.tier_a.with_context(lang="fr_FR").name = "Or"
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))
        self.notify_tiers("2027-03-01 03:00:00")
        self.assertIn("Or", self.mails().subject)
        self.assertNotIn(self.tier_a.with_context(lang="en_US").name, self.mails().subject)

    def test_no_welcome_at_the_first_classification_then_welcome_for_new_customers(self):
        """The mass first classification by the real job emails nobody; a
        customer first classified by a later run is welcomed, once."""
        self.config.tier_emails_since = False
        first = self.env["res.partner"].create({"name": "Old Hand", "is_company": True, "email": "old@example.com"})
        self.post_invoice(first, 5000.0, "2027-02-01")
        with freeze_time("2027-03-01 02:00:00"):
            self.env["customer.tiering.job"].with_user(self.reclassify_user)._reclassify(self.company, full=True)
        self.assertTrue(self.history(first), "the first run classified the customer")
        self.assertEqual(self.config.tier_emails_since, datetime(2027, 3, 1, 2))
        self.assertFalse(self.mails(first))
        newcomer = self.env["res.partner"].create({"name": "Newcomer", "is_company": True, "email": "new@example.com"})
        self.post_invoice(newcomer, 800.0, "2027-03-01")
        for hour in (2, 3):
            with freeze_time(f"2027-03-02 0{hour}:00:00"):
                self.env["customer.tiering.job"].with_user(self.reclassify_user)._reclassify(self.company)
        self.assertEqual(self.history(newcomer)[:1].old_tier_id.id, False)
        welcome = self.mails(newcomer)
        self.assertEqual(len(welcome), 1)
        self.assertIn("Welcome to", welcome.subject)
        self.assertIn(self.history(newcomer)[:1].new_tier_id.name, welcome.subject)
        self.assertFalse(self.mails(first), "no customer of the first run is told afterwards")

    def test_welcome_only_after_the_first_run(self):
        self.change(self.customer, False, self.tier_b, datetime(2026, 12, 31, 2))
        newcomer = self.customer.copy({"email": "new@example.com"})
        self.change(newcomer, False, self.tier_b, datetime(2027, 1, 2, 2))
        self.notify_tiers("2027-01-02 03:00:00")
        self.assertFalse(self.mails())
        self.assertEqual(len(self.mails(newcomer, "Welcome")), 1)

    # ------------------------------------------------------------ expiring points
    def test_expiring_points_30_and_7_days_before_with_the_points_of_that_day(self):
        """24 months of validity: the points earned on 10 February 2025
        expire on 10 February 2027; the later points do not then."""
        self.earn(self.customer, 500.0, date(2025, 2, 10), "test:1")
        self.earn(self.customer, 300.0, date(2025, 3, 1), "test:2")
        self.run_points("2027-01-10 03:00:00")
        self.assertFalse(self.mails(), "31 days before: not yet")
        self.run_points("2027-01-11 03:00:00")
        self.run_points("2027-01-11 05:00:00")
        mail = self.mails(subject="of your points expire")
        self.assertEqual(len(mail), 1, "once, even when run again")
        self.assertIn("500", mail.subject)
        self.assertIn("800", mail.body_html, "the balance")
        self.assertIn("02/10/2027", mail.body_html)
        self.assertIn("hello@first.example", mail.email_from)
        self.run_points("2027-02-03 03:00:00")
        self.run_points("2027-02-03 04:00:00")
        last = self.mails(subject="Last chance")
        self.assertEqual(len(last), 1)
        self.assertIn("500", last.subject)
        self.assertEqual(len(self.mails()), 2)

    def test_points_spent_or_no_reminders_send_nothing(self):
        self.earn(self.customer, 500.0, date(2025, 2, 10), "test:1")
        self.config.points_expiry_notice_days = 0
        self.run_points("2027-01-11 03:00:00")
        self.run_points("2027-02-03 03:00:00")
        self.assertFalse(self.mails())
        self.config.points_expiry_notice_days = 30
        spent = self.customer.copy({"email": "spent@example.com"})
        self.earn(spent, 500.0, date(2025, 2, 11), "test:2")
        self.earn(spent, -500.0, date(2025, 6, 1), "test:3")
        self.earn(spent, 200.0, date(2025, 7, 1), "test:4")
        self.run_points("2027-01-12 03:00:00")
        self.assertFalse(self.mails(spent), "nothing left of those points")

    def test_no_expiry_mail_to_blacklisted_partner(self):
        self.env["mail.blacklist"].sudo()._add("star@example.com")
        self.earn(self.customer, 500.0, date(2025, 2, 10), "test:1")
        self.run_points("2027-01-11 03:00:00")
        self.assertFalse(self.mails())

    # ------------------------------------------------------------ entry coupon
    def coupon_program(self):
        program = self.env["loyalty.program"].create({"name": "Welcome to A", "program_type": "coupons"})
        self.env["loyalty.mail"].create(
            {
                "program_id": program.id,
                "trigger": "create",
                "mail_template_id": self.env.ref("loyalty.mail_template_loyalty_card").id,
            }
        )
        self.tier_a.entry_program_id = program
        return program

    def coupons(self, program):
        return self.env["loyalty.card"].search([("program_id", "=", program.id)])

    def test_entry_coupon_once_per_promotion_with_its_creation_mail(self):
        program = self.coupon_program()
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))
        self.run_points("2027-03-01 03:00:00")
        self.run_points("2027-03-02 03:00:00")
        coupon = self.coupons(program)
        self.assertEqual(len(coupon), 1, "one coupon, even when run again")
        self.assertEqual(coupon.partner_id, self.customer)
        self.assertEqual(coupon.company_id, self.company)
        self.assertGreater(coupon.points, 0)
        creation = self.env["mail.mail"].search([("model", "=", "loyalty.card"), ("res_id", "=", coupon.id)])
        self.assertEqual(len(creation), 1, "the program's At creation mail is queued")
        self.change(self.customer, self.tier_a, self.tier_c, datetime(2027, 4, 1, 2))
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 5, 1, 2))
        self.run_points("2027-05-01 03:00:00")
        self.assertEqual(len(self.coupons(program)), 2, "a later promotion gives again")

    def test_no_coupon_on_demotion_or_first_classification(self):
        program = self.coupon_program()
        other = self.customer.copy()
        self.change(self.customer, False, self.tier_a, datetime(2027, 3, 1, 2))
        self.change(other, self.tier_a, self.tier_c, datetime(2027, 3, 1, 2))
        self.run_points("2027-03-01 03:00:00")
        self.assertFalse(self.coupons(program))

    def test_coupon_without_mail_for_blacklisted_partner(self):
        program = self.coupon_program()
        self.env["mail.blacklist"].sudo()._add("star@example.com")
        self.change(self.customer, self.tier_c, self.tier_a, datetime(2027, 3, 1, 2))
        self.run_points("2027-03-01 03:00:00")
        coupon = self.coupons(program)
        self.assertEqual(len(coupon), 1, "the customer still gets the benefit")
        self.assertFalse(self.env["mail.mail"].search([("model", "=", "loyalty.card"), ("res_id", "=", coupon.id)]))

    # ------------------------------------------------------------ batches
    def test_many_changes_are_queued_in_batches(self):
        """More customers than a batch: each is told once, a batch per
        transaction (the bench's ``mail_queue_s`` path)."""
        customers = self.env["res.partner"].create(
            [{"name": f"Customer {n}", "is_company": True, "email": f"c{n}@example.com"} for n in range(30)]
        )
        for partner in customers:
            self.change(partner, self.tier_c, self.tier_b, datetime(2027, 3, 1, 2))
        batches = []
        self.patch(customer_notification, "NOTICE_BATCH", 7)
        self.patch(
            type(self.env["customer.tiering.lock"]),
            "_run_batch",
            lambda lock, write: batches.append(write()),
        )
        self.notify_tiers("2027-03-01 03:00:00")
        self.assertEqual(len(batches), 5)
        self.assertEqual(len(self.env["mail.mail"].search([("recipient_ids", "in", customers.ids)])), 30)
