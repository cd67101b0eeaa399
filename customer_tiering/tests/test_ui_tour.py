from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestTieringTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        new_test_user(
            cls.env,
            login="tier_tour_user",
            password="tier_tour_user_pw",
            groups="base.group_user,base.group_partner_manager,customer_tiering.group_customer_tiering_user",
        )
        tier_a, tier_b = cls.env["customer.tier"].search(
            [("company_id", "=", cls.env.company.id)], order="sequence", limit=2
        )
        Partner = cls.env["res.partner"].sudo()
        Partner.create({"name": "Tour Key Account", "is_company": True}).write(
            {"tier_id": tier_a.id, "purchase_count": 7}
        )
        Partner.create({"name": "Tour Growth Account", "is_company": True}).write({"tier_id": tier_b.id})

    def test_partner_tier_tour(self):
        self.start_tour(
            "/odoo/action-customer_tiering.res_partner_action_tiering",
            "customer_tiering_partner_tier",
            login="tier_tour_user",
        )


@tagged("post_install", "-at_install")
class TestPointsTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        new_test_user(
            cls.env,
            login="points_tour_user",
            password="points_tour_user_pw",
            groups="base.group_user,base.group_partner_manager,sales_team.group_sale_salesman,"
            "customer_tiering.group_customer_tiering_user",
        )
        cls.customer = cls.env["res.partner"].create({"name": "Tour Points Customer", "is_company": True})
        cls.customer.tier_id = cls.env["customer.tier"].search(
            [("company_id", "=", cls.env.company.id), ("code", "=", "A")]
        )
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.customer.id,
                "invoice_date": fields.Date.context_today(cls.env.user),
                "invoice_line_ids": [Command.create({"name": "Goods", "price_unit": 120.0, "tax_ids": []})],
            }
        )
        invoice.action_post()

    def test_points_tour(self):
        self.assertEqual(self.customer.loyalty_points, 240.0)
        self.start_tour(f"/odoo/contacts/{self.customer.id}", "customer_tiering_points", login="points_tour_user")


@tagged("post_install", "-at_install")
class TestFollowupTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = new_test_user(
            cls.env,
            login="followup_tour_user",
            password="followup_tour_user_pw",
            # A salesperson as Odoo makes one, without the tiering groups.
            groups="base.group_user,base.group_partner_manager,sales_team.group_sale_salesman",
        )
        tier_a = cls.env["customer.tier"].search([("company_id", "=", cls.env.company.id), ("code", "=", "A")])
        cls.customer = cls.env["res.partner"].create(
            {"name": "Tour Follow-up Customer", "is_company": True, "user_id": cls.salesperson.id}
        )
        cls.customer.tier_id = tier_a
        cls.policy = cls.env["customer.service.policy"].search(
            [("company_id", "=", cls.env.company.id), ("tier_ids", "=", tier_a.id)]
        )
        cls.env["customer.followup.job"]._run_policies(cls.policy, fields.Date.context_today(cls.env.user))

    def test_my_followups_tour(self):
        activity = self.customer.activity_ids
        self.assertEqual((activity.user_id, activity.service_policy_id), (self.salesperson, self.policy))
        activity_type = activity.activity_type_id
        self.start_tour(
            "/odoo/action-customer_tiering.mail_activity_action_followups",
            "customer_tiering_my_followups",
            login="followup_tour_user",
        )
        self.env.invalidate_all()
        self.assertFalse(self.customer.activity_ids)
        done = self.customer.message_ids.filtered(lambda m: m.mail_activity_type_id == activity_type)
        # The outcome asked for by Mark Done is in the customer's chatter.
        self.assertIn("Will reorder in May", done.body)


@tagged("post_install", "-at_install")
class TestChineseTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        cls.user = new_test_user(
            cls.env,
            login="chinese_tour_user",
            password="chinese_tour_user_pw",
            groups="base.group_user,base.group_partner_manager,customer_tiering.group_customer_tiering_user",
        )

    def test_switch_to_chinese_tour(self):
        self.start_tour(
            "/odoo/action-customer_tiering.customer_tiering_dashboard_action",
            "customer_tiering_chinese",
            login="chinese_tour_user",
        )
        self.assertEqual(self.user.lang, "zh_CN")


@tagged("post_install", "-at_install")
class TestPoolTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.salesperson = new_test_user(
            cls.env,
            login="pool_tour_user",
            password="pool_tour_user_pw",
            # A salesperson as Odoo makes one, without the tiering groups.
            groups="base.group_user,sales_team.group_sale_salesman",
        )
        previous = new_test_user(cls.env, login="pool_tour_previous", name="Pool Tour Previous")
        tier_b = cls.env["customer.tier"].search([("company_id", "=", company.id), ("code", "=", "B")])
        Partner = cls.env["res.partner"]
        cls.customer, other = Partner.create(
            [
                {"name": name, "is_company": True, "user_id": previous.id}
                for name in ("Tour Pool Customer", "Tour Pool Other")
            ]
        )
        (cls.customer | other).tier_id = tier_b
        rule = cls.env["customer.pool.rule"].with_context(active_test=False).search([("company_id", "=", company.id)])
        rows = [(partner.id, previous.id) for partner in cls.customer | other]
        today = fields.Date.context_today(cls.customer)
        cls.env["customer.pool.job"]._recall_batch(rule, rows, today, "Tour", "en_US")
        cls.env.invalidate_all()

    def test_claim_from_the_pool_tour(self):
        self.assertTrue(self.customer.in_pool)
        self.start_tour(
            "/odoo/action-customer_tiering.res_partner_action_pool",
            "customer_tiering_pool_claim",
            login="pool_tour_user",
        )
        self.env.invalidate_all()
        self.assertEqual(self.customer.user_id, self.salesperson)
        self.assertFalse(self.customer.in_pool)
