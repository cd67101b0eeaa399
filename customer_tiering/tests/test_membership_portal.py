"""The portal's My Membership page (README, *What customers see*)."""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from ..engine.frames import window_exit
from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestMembershipPortal(TieringInvoiceCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env.user)
        cls.config.write(
            {
                "method": "threshold",
                "show_tier_to_customers": True,
                "points_start_date": cls.today - relativedelta(years=2),
            }
        )
        cls.tier_b.perks = "<p>Free delivery on every order</p>"
        cls.customer = cls.env["res.partner"].create({"name": "Membership Co", "is_company": True})
        cls.buyer = cls.env["res.partner"].create({"name": "Jane Buyer", "parent_id": cls.customer.id})
        cls.old_sale = cls.today - timedelta(days=100)
        cls.recent_sale = cls.today - timedelta(days=20)
        cls.post_invoice(cls.customer, 8000.0, cls.old_sale)
        cls.post_invoice(cls.customer, 4000.0, cls.recent_sale)
        cls.other = cls.env["res.partner"].create({"name": "Someone Else Ltd", "is_company": True})
        cls.post_invoice(cls.other, 150000.0, cls.recent_sale)
        cls.run_reclassify()
        cls.portal_user = cls.portal(cls.buyer, "membership_buyer")
        cls.other_user = cls.portal(cls.other, "membership_other")

    @classmethod
    def run_reclassify(cls):
        cron = cls.env.ref("customer_tiering.ir_cron_reclassify")
        cls.env["customer.tiering.job"].with_user(cron.user_id)._reclassify(cls.company, full=True)

    @classmethod
    def portal(cls, partner, login):
        return new_test_user(
            cls.env,
            login=login,
            password=f"{login}_pw",
            partner_id=partner.id,
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
            groups="base.group_portal",
        )

    def membership(self, user=None):
        self.env.invalidate_all()
        return self.env["customer.membership"]._membership_of(user or self.portal_user, self.company)

    def page(self, login="membership_buyer"):
        self.authenticate(login, f"{login}_pw")
        return self.url_open("/my/membership")

    def exit_day(self, day):
        return window_exit(day, relativedelta(months=self.config.window_months))

    # ------------------------------------------------------------ what it holds
    def test_contact_sees_the_company_tier_progress_and_points(self):
        membership = self.membership()
        self.assertEqual(membership.entity, self.customer)
        self.assertEqual(membership.tier, self.tier_b)
        self.assertEqual(membership.next_goal.tier, self.tier_a)
        self.assertEqual(membership.next_goal.amount, 100000.0 - 4000.0, "the old sale leaves before then")
        self.assertEqual(membership.next_goal.deadline, self.exit_day(self.old_sale) - timedelta(days=1))
        self.assertEqual(membership.keep_goal.tier, self.tier_b)
        self.assertEqual(membership.keep_goal.amount, 10000.0 - 4000.0)
        self.assertEqual(membership.keep_goal.deadline, self.exit_day(self.old_sale) - timedelta(days=1))
        self.assertEqual(membership.card.partner_id, self.customer, "the company's card, not a card of the contact")
        self.assertEqual(membership.card.points, 12000.0)
        months = relativedelta(months=self.config.points_expiry_months)
        self.assertEqual(
            membership.expiry_schedule,
            [(window_exit(self.old_sale, months), 8000.0), (window_exit(self.recent_sale, months), 4000.0)],
        )
        self.assertEqual(len(membership.history), 2)

    def test_spent_points_come_off_the_oldest_first(self):
        card = self.membership().card
        self.env["customer.loyalty.ledger"].with_company(self.company)._adjust(
            self.customer, -9000.0, "Gift", "adjust:test-spend"
        )
        months = relativedelta(months=self.config.points_expiry_months)
        self.assertEqual(
            self.env["customer.loyalty.ledger"]._expiry_schedule(card, self.config, self.today),
            [(window_exit(self.recent_sale, months), 3000.0)],
        )

    def test_keeping_the_tier_looks_past_the_sales_that_still_reach_it(self):
        self.post_invoice(self.customer, 9000.0, self.today - timedelta(days=10))
        self.run_reclassify()
        keep = self.membership().keep_goal
        # Without the old sale, 13,000 still counts: the tier holds until the 4,000 leaves too.
        self.assertEqual(keep.deadline, self.exit_day(self.recent_sale) - timedelta(days=1))
        self.assertEqual(keep.amount, 10000.0 - 9000.0)

    def test_relative_methods_promise_no_amount(self):
        self.config.method = "abc"
        membership = self.membership()
        self.assertTrue(membership.tier)
        self.assertFalse(membership.next_goal or membership.keep_goal)

    def test_month_ends_leave_the_window_on_the_right_day(self):
        self.assertEqual(window_exit(date(2026, 1, 31), relativedelta(months=1)), date(2026, 3, 1))
        self.assertEqual(window_exit(date(2026, 1, 15), relativedelta(months=12)), date(2027, 1, 15))
        self.assertEqual(window_exit(date(9999, 12, 31), relativedelta(months=24)), date.max, "never, not a crash")

    # ------------------------------------------------------------ what the page shows
    def test_page_shows_the_company_membership(self):
        response = self.page()
        self.assertEqual(response.status_code, 200)
        self.assertIn("/my/membership", response.url)
        html = response.text
        self.assertIn(self.tier_b.name, html)
        self.assertIn("Free delivery on every order", html)
        self.assertIn("96,000.00", html)
        self.assertIn("6,000.00", html)
        self.assertIn("o_membership_expiry", html)

    def test_tier_hidden_unless_shown_to_customers(self):
        self.config.show_tier_to_customers = False
        membership = self.membership()
        self.assertFalse(membership.tier)
        self.assertEqual(membership.card.points, 12000.0, "the points still show")
        html = self.page().text
        self.assertNotIn(self.tier_b.name, html)
        self.assertNotIn("Free delivery", html)
        self.assertNotIn("o_membership_progress", html)
        self.assertIn("o_membership_balance", html)
        for line in membership.history:
            self.assertNotIn(f"tier {self.tier_b.code}", line.description)

    def test_contacts_see_nothing_when_the_company_keeps_its_points(self):
        self.config.contacts_see_company_points = False
        self.assertIsNone(self.membership())
        response = self.page()
        self.assertNotIn("/my/membership", response.url, "sent back to the portal home")
        own = self.portal(self.customer, "membership_company")
        self.assertEqual(self.membership(own).entity, self.customer, "the company's own user still does")

    def test_portal_user_sees_only_their_own_customer(self):
        html = self.page().text
        self.assertNotIn("Someone Else", html)
        self.assertNotIn("150,000", html)
        other = self.membership(self.other_user)
        self.assertEqual(other.entity, self.other)
        self.assertEqual(other.tier, self.tier_a)
        self.assertNotIn("Membership Co", self.page("membership_other").text)

    def test_membership_is_not_readable_through_rpc(self):
        """Only the page asks for a membership, for its own user: no RPC call
        names another customer, and the partner fields stay internal."""
        self.authenticate("membership_buyer", "membership_buyer_pw")
        for model, method, args in (
            ("customer.membership", "_membership_of", [self.other_user.id, self.company.id]),
            ("res.partner", "read", [[self.customer.id], ["tier_id", "loyalty_points"]]),
            ("loyalty.card", "search_read", [[("partner_id", "=", self.other.id)], ["points"]]),
        ):
            with self.subTest(model=model, method=method), mute_logger("odoo.http"):
                with self.assertRaises(JsonRpcException) as refused:
                    self.make_jsonrpc_request(
                        "/web/dataset/call_kw",
                        {"model": model, "method": method, "args": args, "kwargs": {}},
                    )
                self.assertRegex(str(refused.exception), "Private methods|AccessError|not allowed|access")

    def test_home_tile_counts_a_membership(self):
        self.authenticate("membership_buyer", "membership_buyer_pw")
        counters = self.make_jsonrpc_request("/my/counters", {"counters": ["membership_count"]})
        self.assertEqual(counters["membership_count"], 1)
        self.config.contacts_see_company_points = False
        counters = self.make_jsonrpc_request("/my/counters", {"counters": ["membership_count"]})
        self.assertEqual(counters["membership_count"], 0)

    # ------------------------------------------------------------ tours
    def test_membership_tour(self):
        self.start_tour("/my", "customer_tiering_membership", login="membership_buyer")

    def test_membership_tour_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        self.tier_b.with_context(lang="zh_CN").name = "B - 成长客户"
        self.portal_user.lang = "zh_CN"
        self.start_tour("/my", "customer_tiering_membership_zh", login="membership_buyer")


@tagged("post_install", "-at_install")
class TestExpirySchedule(TieringInvoiceCommon):
    """The schedule the page shows is the day the nightly expiry takes the points."""

    def test_schedule_day_is_the_day_the_expiry_takes_the_points(self):
        self.config.write({"points_expiry_months": 1, "points_start_date": date(2026, 1, 1)})
        customer = self.env["res.partner"].create({"name": "Month End Ltd", "is_company": True})
        self.post_invoice(customer, 300.0, date(2026, 1, 31))
        card = customer.with_company(self.company).tier_card_id
        ledger = self.env["customer.loyalty.ledger"].with_company(self.company)
        schedule = ledger._expiry_schedule(card, self.config, date(2026, 2, 20))
        self.assertEqual(schedule, [(date(2026, 3, 1), 300.0)], "31 January's points outlive 28 February")
        ledger._expire(self.config, date(2026, 2, 28))
        self.assertEqual(card.points, 300.0)
        ledger._expire(self.config, date(2026, 3, 1))
        self.assertEqual(card.points, 0.0)
