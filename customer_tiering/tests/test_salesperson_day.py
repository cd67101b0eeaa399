"""A salesperson's day: the app's menus, My Follow-ups, My Customers, the
quotation's tier and points, notes on their customers and the points card,
as a salesperson made the way Odoo makes one (no tiering group)."""

import importlib.util
from datetime import date
from pathlib import Path
from xmlrpc.client import Fault

from lxml import etree

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import TieringInvoiceCommon

DEMO_DATA = Path(__file__).parents[2] / "scripts" / "demo_data.py"


def demo_salesperson_groups():
    """The groups ``make demo`` gives its salespeople, as xml ids."""
    spec = importlib.util.spec_from_file_location("customer_tiering_demo_data", DEMO_DATA)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SALESPERSON_GROUPS


@tagged("post_install", "-at_install")
class TestSalespersonDay(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = {"company_id": cls.company.id, "company_ids": [cls.company.id]}
        cls.seller = new_test_user(cls.env, login="day_seller", groups=",".join(demo_salesperson_groups()), **company)
        cls.other_seller = new_test_user(cls.env, login="day_other", groups="sales_team.group_sale_salesman", **company)
        cls.customer = cls.env["res.partner"].create(
            {"name": "Day Customer", "is_company": True, "user_id": cls.seller.id}
        )
        cls.customer.write({"tier_id": cls.tier_a.id, "lifecycle_stage": "active", "churn_risk_level": "medium"})
        cls.contact = cls.env["res.partner"].create({"name": "Buyer Wu", "parent_id": cls.customer.id})
        # Points without an invoice: an invoice would count as a touch, and no follow-up would be due.
        cls.env["customer.loyalty.ledger"]._adjust(cls.customer, 50.0, "Welcome", key="adjust:day-welcome")
        cls.program = cls.config.loyalty_program_id

    def card(self):
        return self.customer.tier_card_id

    # ------------------------------------------------------------ the app
    def test_salesperson_sees_their_menus_only(self):
        self.assertFalse(self.seller.has_group("customer_tiering.group_customer_tiering_user"))
        visible = self.env["ir.ui.menu"].with_user(self.seller)._visible_menu_ids()
        root = self.env.ref("customer_tiering.customer_tiering_menu_root")
        self.assertFalse(root.parent_id, "an app of its own, with a tile")
        self.assertEqual(root.web_icon, "customer_tiering,static/description/icon.png")
        for xmlid in (
            "customer_tiering_menu_root",
            "customer_tiering_menu_followups",
            "customer_tiering_menu_my_customers",
        ):
            self.assertIn(self.env.ref(f"customer_tiering.{xmlid}").id, visible, xmlid)
        for xmlid in ("customer_tiering_menu_config", "customer_tiering_menu_partners", "customer_tiering_menu_points"):
            self.assertNotIn(self.env.ref(f"customer_tiering.{xmlid}").id, visible, xmlid)
        analyst = new_test_user(self.env, login="day_analyst", groups="customer_tiering.group_customer_tiering_user")
        visible = self.env["ir.ui.menu"].with_user(analyst)._visible_menu_ids()
        self.assertIn(self.env.ref("customer_tiering.customer_tiering_menu_config").id, visible)
        self.assertNotIn(self.env.ref("customer_tiering.customer_tiering_menu_models").id, visible)

    def test_my_customers(self):
        self.env["res.partner"].create({"name": "Someone Else's", "is_company": True, "user_id": self.other_seller.id})
        action = self.env.ref("customer_tiering.res_partner_action_my_customers")
        domain = safe_eval(action.domain, {"uid": self.seller.id})
        Partner = self.env["res.partner"].with_user(self.seller)
        mine = Partner.search(domain)
        self.assertEqual(mine, self.customer, "their own customers' entities, not their contacts or others'")
        [row] = mine.read(["tier_id", "lifecycle_stage", "churn_risk_level", "loyalty_points"])
        self.assertEqual(row["tier_id"][0], self.tier_a.id)
        self.assertEqual((row["lifecycle_stage"], row["churn_risk_level"]), ("active", "medium"))
        self.assertEqual(row["loyalty_points"], self.card().points)
        self.assertGreater(row["loyalty_points"], 0)

    # ------------------------------------------------------------ follow-ups
    def followup(self):
        """A follow-up of the tier A policy for the customer, with its note
        as the nightly job writes it: the policy's instructions and why."""
        policy = self.env["customer.service.policy"].search(
            [("company_id", "=", self.company.id), ("tier_ids", "=", self.tier_a.id)], limit=1
        )
        activity = self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                "res_id": self.customer.id,
                "activity_type_id": policy.activity_type_id.id,
                "summary": policy.summary or policy.name,
                "note": "<p>Ask about <b>next quarter</b>.</p><p>Follow-up policy A: never touched</p>",
                "user_id": self.seller.id,
                "service_policy_id": policy.id,
            }
        )
        return activity.with_user(self.seller)

    def test_followup_shows_the_customer_standing(self):
        activity = self.followup()
        self.assertEqual(activity.followup_partner_id, self.customer)
        self.assertEqual(activity.partner_tier_id, self.tier_a)
        self.assertEqual(activity.tier_color, self.tier_a.color)
        self.assertEqual(activity.partner_lifecycle_stage, "active")
        self.assertEqual(activity.partner_churn_risk_level, "medium")
        self.assertEqual(activity.partner_loyalty_points, self.card().points)
        self.assertEqual(activity.followup_reason, "Ask about *next quarter*. Follow-up policy A: never touched")
        # An activity on a contact shows its company's standing.
        on_contact = self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                "res_id": self.contact.id,
                "user_id": self.seller.id,
                "summary": "Call the buyer",
            }
        )
        self.assertEqual(on_contact.with_user(self.seller).partner_tier_id, self.tier_a)
        # Not about a customer: nothing to show.
        on_order = self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("sale.order"),
                "res_id": self.quotation(self.customer).id,
                "user_id": self.seller.id,
            }
        )
        self.assertFalse(on_order.followup_partner_id or on_order.partner_tier_id)

    def test_followup_list_fields_readable_by_salesperson(self):
        """The list as the salesperson loads it: every column, no access error."""
        activity = self.followup()
        action = self.env.ref("customer_tiering.mail_activity_action_followups")
        view = self.env.ref("customer_tiering.mail_activity_view_list_followups")
        Activity = self.env["mail.activity"].with_user(self.seller)
        arch = etree.fromstring(Activity.get_views([(view.id, "list")])["views"]["list"]["arch"])
        columns = arch.xpath("/list/field/@name")
        self.assertNotIn("service_policy_id", columns, "the policy column is for tiering users")
        self.assertIn("followup_reason", columns)
        domain = safe_eval(action.domain) + [("user_id", "=", self.seller.id)]
        [row] = Activity.web_search_read(domain, {name: {} for name in columns})["records"]
        self.assertEqual(row["id"], activity.id)
        self.assertEqual(row["partner_lifecycle_stage"], "active")

    def test_mark_done_feedback_lands_in_the_chatter(self):
        activity = self.followup()
        activity.action_feedback(feedback="Will reorder in May")
        self.assertNotIn(activity, self.customer.activity_ids)
        note = self.customer.message_ids.filtered(lambda m: "Will reorder in May" in m.body)
        self.assertEqual(note.author_id, self.seller.partner_id)

    # ------------------------------------------------------------ quotations
    def test_quotation_shows_tier_and_points(self):
        order = self.quotation(self.contact).with_user(self.seller)
        self.assertEqual(order.partner_tier_id, self.tier_a, "the tier of the contact's company")
        self.assertEqual(order.tier_color, self.tier_a.color)
        self.assertEqual(order.partner_loyalty_points, self.card().points)
        unknown = self.quotation(self.env["res.partner"].create({"name": "Walk-in"}))
        self.assertFalse(unknown.partner_tier_id)
        self.assertEqual(unknown.partner_loyalty_points, 0.0)

    def test_reward_highlighted_when_claimable(self):
        required = min(self.program.reward_ids.mapped("required_points"))
        balance = self.card().points
        order = self.quotation(self.customer)
        self.assertEqual(order.with_user(self.seller).tier_reward_claimable, balance >= required)
        # Enough points: claimable, until the reward is on the quotation.
        self.env["customer.loyalty.ledger"]._adjust(self.customer, required * 3, "Test", key="adjust:day")
        order.invalidate_recordset()
        self.assertTrue(order.with_user(self.seller).tier_reward_claimable)
        order._update_programs_and_rewards()
        reward = self.program.reward_ids.filtered(lambda r: r.required_points == required)[:1]
        self.assertFalse(order._apply_program_reward(reward, self.card()).get("error"))
        order.invalidate_recordset()
        self.assertFalse(order.tier_reward_claimable, "a discount already applied is not offered again")
        # A confirmed order offers nothing.
        other = self.quotation(self.customer)
        other.action_confirm()
        self.assertFalse(other.tier_reward_claimable)

    def test_reward_not_claimable_without_enough_points(self):
        required = min(self.program.reward_ids.mapped("required_points"))
        poor = self.env["res.partner"].create({"name": "Small Buyer", "is_company": True})
        poor.tier_id = self.tier_c
        self.env["customer.loyalty.ledger"]._adjust(poor, required - 1, "Test", key="adjust:poor")
        self.assertEqual(poor.loyalty_points, required - 1)
        self.assertFalse(self.quotation(poor).tier_reward_claimable)

    # ------------------------------------------------------------ tiers
    def test_tier_lock_is_read_only_but_for_managers(self):
        """The customer form offers the lock to those who may set it only."""
        manager = new_test_user(self.env, login="day_manager", groups="customer_tiering.group_customer_tiering_manager")
        for user, readonly in ((self.seller, "1"), (manager, "not is_tiering_entity")):
            views = self.env["res.partner"].with_user(user).get_views([(False, "form")])
            arch = etree.fromstring(views["views"]["form"]["arch"])
            locks = arch.xpath("//page[@name='customer_tiering']//field[@name='tier_locked']")
            self.assertEqual([lock.get("readonly") for lock in locks], [readonly], user.login)

    def test_tier_shows_the_method_in_use(self):
        for method in ("rfm", "threshold", "abc"):
            self.config.method = method
            self.tier_a.invalidate_recordset(["tiering_method"])
            self.assertEqual(self.tier_a.with_user(self.seller).tiering_method, method)


@tagged("post_install", "-at_install")
class TestSalespersonRpc(HttpCase):
    """Over XML-RPC, as the demo's salespeople are made."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env, login="rpc_day_seller", password="rpc_day_seller_pw", groups=",".join(demo_salesperson_groups())
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "RPC Day Customer", "is_company": True, "user_id": cls.seller.id}
        )
        cls.customer.tier_id = cls.env["customer.tier"].search(
            [("company_id", "=", cls.env.company.id), ("code", "=", "A")]
        )
        config = cls.env["customer.tiering.config"]._for_companies(cls.env.company).sudo()
        config.points_start_date = date(2020, 1, 1)
        # Someone else's invoice: a salesperson without Invoicing rights cannot read it.
        cls.invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.customer.id,
                "invoice_date": fields.Date.today(),
                "invoice_user_id": cls.env.ref("base.user_admin").id,
                "invoice_line_ids": [Command.create({"name": "Goods", "price_unit": 300.0, "tax_ids": []})],
            }
        )
        cls.invoice.action_post()

    def rpc(self, model, method, *args, **kwargs):
        password = "rpc_day_seller_pw"
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, "rpc_day_seller", password, {})
        return self.xmlrpc_object.execute_kw(self.env.cr.dbname, uid, password, model, method, list(args), kwargs)

    def post_from_chatter(self, body, subtype_xmlid):
        """Post on the customer as the chatter does: through Odoo's route,
        which asks for the right to post on the customer."""
        self.authenticate("rpc_day_seller", "rpc_day_seller_pw")
        post_data = {"body": body, "message_type": "comment", "subtype_xmlid": subtype_xmlid}
        return self.make_jsonrpc_request(
            "/mail/message/post",
            {"thread_model": "res.partner", "thread_id": self.customer.id, "post_data": post_data},
        )

    def test_salesperson_logs_notes_and_messages(self):
        self.post_from_chatter("Called: they reorder in May", "mail.mt_note")
        self.post_from_chatter("Your order ships today", "mail.mt_comment")
        posted = self.customer.message_ids.filtered(lambda m: m.author_id == self.seller.partner_id)
        self.assertEqual(
            {(message.body.striptags(), message.subtype_id.id) for message in posted},
            {
                ("Called: they reorder in May", self.env.ref("mail.mt_note").id),
                ("Your order ships today", self.env.ref("mail.mt_comment").id),
            },
        )

    def test_points_card_shows_invoice_numbers(self):
        card = self.customer.tier_card_id
        self.assertTrue(card.history_ids, "the invoice earned points")
        action = self.rpc("res.partner", "action_view_points_card", [self.customer.id])
        self.assertEqual((action["res_model"], action["res_id"]), ("loyalty.card", card.id))
        # The card's form, as the salesperson's browser loads it: every column
        # of its history lines, the document as text rather than a link.
        views = self.rpc("loyalty.card", "get_views", [[False, "form"]])
        arch = etree.fromstring(views["views"]["form"]["arch"])
        columns = arch.xpath("//field[@name='history_ids']/list/field/@name")
        self.assertIn("order_reference", columns)
        self.assertNotIn("order_id", columns)
        [record] = self.rpc(
            "loyalty.card",
            "web_read",
            [card.id],
            specification={"history_ids": {"fields": {name: {} for name in columns}}},
        )
        self.assertEqual([line["order_reference"] for line in record["history_ids"]], [self.invoice.name])
        # Odoo's link would have needed the invoice itself.
        with self.assertRaises(Fault):
            self.rpc("account.move", "read", [self.invoice.id], ["name"])


@tagged("post_install", "-at_install")
class TestSalespersonTours(HttpCase):
    """My Customers and a quotation in the browser, as a salesperson without tiering rights."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = new_test_user(
            cls.env, login="tour_day_seller", password="tour_day_seller_pw", groups=",".join(demo_salesperson_groups())
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Tour Day Customer", "is_company": True, "user_id": cls.seller.id}
        )
        tier_a = cls.env["customer.tier"].search([("company_id", "=", cls.env.company.id), ("code", "=", "A")])
        cls.customer.write({"tier_id": tier_a.id, "lifecycle_stage": "active", "churn_risk_level": "medium"})
        config = cls.env["customer.tiering.config"]._for_companies(cls.env.company).sudo()
        # Just enough for the program's cheapest reward.
        cls.points = min(config.loyalty_program_id.reward_ids.mapped("required_points"))
        cls.env["customer.loyalty.ledger"]._adjust(cls.customer, cls.points, "Welcome", key="adjust:tour-day")
        product = cls.env["product.product"].create({"name": "Tour goods", "list_price": 1000.0})
        cls.order = (
            cls.env["sale.order"]
            .with_user(cls.seller)
            .create(
                {
                    "partner_id": cls.customer.id,
                    "order_line": [Command.create({"product_id": product.id, "price_unit": 1000.0})],
                }
            )
        )

    def test_my_customers_tour(self):
        self.start_tour(
            "/odoo/action-customer_tiering.res_partner_action_my_customers",
            "customer_tiering_my_customers",
            login="tour_day_seller",
        )

    def test_quotation_tour(self):
        self.assertTrue(self.order.tier_reward_claimable)
        self.assertEqual(self.order.partner_loyalty_points, self.points)
        self.start_tour(
            f"/odoo/action-sale.action_quotations_with_onboarding/{self.order.id}",
            "customer_tiering_quotation",
            login="tour_day_seller",
        )
        self.assertTrue(self.order.order_line.filtered("reward_id"), "the reward was applied")
