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
