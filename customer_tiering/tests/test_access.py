from xmlrpc.client import Fault

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.base.controllers.rpc import RPC_FAULT_CODE_ACCESS_ERROR


@tagged("post_install", "-at_install")
class TestTieringAccess(HttpCase):
    """A plain user reads tiers but changes nothing; a manager may."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(
            cls.env,
            login="tier_user",
            password="tier_user_pw",
            groups="base.group_user,base.group_partner_manager,customer_tiering.group_customer_tiering_user",
        )
        cls.manager = new_test_user(
            cls.env,
            login="tier_manager",
            password="tier_manager_pw",
            groups="base.group_user,base.group_partner_manager,customer_tiering.group_customer_tiering_manager",
        )
        cls.tier_a, cls.tier_b = cls.env["customer.tier"].search(
            [("company_id", "=", cls.env.company.id)], order="sequence", limit=2
        )
        cls.partner = cls.env["res.partner"].create({"name": "Strategic Co", "is_company": True})
        cls.partner.sudo().tier_id = cls.tier_b
        cls.config = cls.env["customer.tiering.config"]._for_companies(cls.env.company)

    def rpc(self, login, password, model, method, *args):
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, login, password, {})
        return self.xmlrpc_object.execute_kw(self.env.cr.dbname, uid, password, model, method, list(args))

    def test_user_reads_tiers(self):
        partner = self.partner.with_user(self.user)
        self.assertEqual(partner.tier_id, self.tier_b)
        self.assertEqual(partner.tier_id.code, "B")
        history = self.env["customer.tier.history"].with_user(self.user).search([("partner_id", "=", self.partner.id)])
        self.assertEqual(history.new_tier_id, self.tier_b)
        self.assertEqual(self.config.with_user(self.user).method, "abc")
        [values] = self.rpc("tier_user", "tier_user_pw", "res.partner", "read", [self.partner.id], ["tier_id"])
        self.assertEqual(values["tier_id"][0], self.tier_b.id)

    def test_user_cannot_change_tier_lock_or_settings(self):
        partner = self.partner.with_user(self.user)
        for values in (
            {"tier_id": self.tier_a.id},
            {"tier_locked": True},
            {"tier_lock_until": "2030-01-01"},
            {"tier_lock_reason": "mine"},
            {"revenue_total": 1e9},
            {"purchase_count": 99},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                partner.write(values)
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.user).create({"name": "Sneaky", "tier_id": self.tier_a.id})
        with self.assertRaises(AccessError):
            self.config.with_user(self.user).write({"cutoff_a": 0.5})
        with self.assertRaises(AccessError):
            self.config.with_user(self.user).action_reclassify()
        with self.assertRaises(AccessError):
            self.tier_a.with_user(self.user).write({"name": "Mine"})
        with self.assertRaises(AccessError):
            self.env["customer.tier.history"].with_user(self.user).create(
                {
                    "partner_id": self.partner.id,
                    "company_id": self.env.company.id,
                    "reason": "manual",
                }
            )
        self.assertEqual(self.partner.tier_id, self.tier_b)

    def test_user_gets_access_error_through_rpc(self):
        calls = [
            ("res.partner", "write", [self.partner.id], {"tier_id": self.tier_a.id}),
            ("res.partner", "write", [self.partner.id], {"tier_locked": True}),
            ("res.partner", "write", [self.partner.id], {"revenue_window": 1e9}),
            ("customer.tiering.config", "write", [self.config.id], {"cutoff_a": 0.5}),
            ("customer.tiering.config", "action_reclassify", [self.config.id]),
            ("customer.tier", "create", {"name": "D", "code": "D"}),
            ("customer.service.policy", "create", {"name": "Mine", "cadence_days": 7}),
            ("customer.care.date", "create", {"name": "Mine", "date": "2030-01-01"}),
        ]
        for model, method, *args in calls:
            with self.subTest(model=model, method=method), self.assertRaises(Fault) as caught:
                self.rpc("tier_user", "tier_user_pw", model, method, *args)
            self.assertEqual(caught.exception.faultCode, RPC_FAULT_CODE_ACCESS_ERROR, caught.exception.faultString)
        self.assertEqual(self.partner.tier_id, self.tier_b)

    def test_user_may_still_edit_other_partner_fields(self):
        self.partner.with_user(self.user).write({"phone": "+1 555 0100"})
        contact = (
            self.env["res.partner"].with_user(self.user).create({"name": "New Buyer", "parent_id": self.partner.id})
        )
        self.assertEqual(contact.tier_id, self.tier_b, "a new contact follows its entity's tier")

    def test_manager_locks_and_overrides_through_rpc(self):
        self.rpc(
            "tier_manager",
            "tier_manager_pw",
            "res.partner",
            "write",
            [self.partner.id],
            {"tier_locked": True, "tier_lock_reason": "Strategic", "tier_id": self.tier_a.id},
        )
        self.partner.invalidate_recordset()
        self.assertEqual(self.partner.tier_id, self.tier_a)
        history = self.env["customer.tier.history"].search([("partner_id", "=", self.partner.id)], limit=1)
        self.assertEqual(
            (history.old_tier_id, history.new_tier_id, history.reason), (self.tier_b, self.tier_a, "manual")
        )
        self.assertEqual(history.create_uid, self.manager)
        self.rpc(
            "tier_manager", "tier_manager_pw", "customer.tiering.config", "write", [self.config.id], {"cutoff_a": 0.7}
        )
        self.rpc("tier_manager", "tier_manager_pw", "customer.tiering.config", "action_reclassify", [self.config.id])
        self.config.invalidate_recordset()
        self.assertEqual(self.config.cutoff_a, 0.7)
        self.assertTrue(self.config.last_run)

    def test_points_adjustment_through_rpc(self):
        adjustment = {"partner_id": self.partner.id, "points": 30.0, "reason": "Welcome gift"}
        with self.assertRaises(Fault) as caught:
            self.rpc("tier_user", "tier_user_pw", "customer.points.adjustment", "create", adjustment)
        self.assertEqual(caught.exception.faultCode, RPC_FAULT_CODE_ACCESS_ERROR, caught.exception.faultString)
        wizard_id = self.rpc("tier_manager", "tier_manager_pw", "customer.points.adjustment", "create", adjustment)
        self.rpc("tier_manager", "tier_manager_pw", "customer.points.adjustment", "action_apply", [wizard_id])
        self.assertEqual(self.partner.loyalty_points, 30.0)
        [entry] = self.partner.tier_card_id.history_ids.ids
        [values] = self.rpc("tier_user", "tier_user_pw", "res.partner", "read", [self.partner.id], ["loyalty_points"])
        self.assertEqual(values["loyalty_points"], 30.0)
        for login in ("tier_user", "tier_manager"):
            with self.subTest(login=login), self.assertRaises(Fault):
                self.rpc(login, f"{login}_pw", "loyalty.history", "write", [entry], {"issued": 1e6})
        self.assertEqual(self.partner.tier_card_id.history_ids.issued, 30.0)

    def test_manager_creates_policies_through_rpc(self):
        policy_id = self.rpc(
            "tier_manager",
            "tier_manager_pw",
            "customer.service.policy",
            "create",
            {"name": "Weekly call for A", "cadence_days": 7, "tier_ids": [self.tier_a.id]},
        )
        policy = self.env["customer.service.policy"].browse(policy_id)
        self.assertEqual((policy.company_id, policy.tier_ids), (self.env.company, self.tier_a))
        [values] = self.rpc("tier_user", "tier_user_pw", "customer.service.policy", "read", [policy_id], ["name"])
        self.assertEqual(values["name"], "Weekly call for A")

    def test_portal_user_reads_nothing_of_the_add_on(self):
        portal = new_test_user(self.env, login="tier_portal", password="tier_portal_pw", groups="base.group_portal")
        portal.partner_id.parent_id = self.partner
        own_company = self.partner.with_user(portal)
        for field in ("tier_id", "churn_risk", "clv_predicted", "loyalty_points", "lifecycle_stage"):
            with self.subTest(field=field), self.assertRaises(AccessError):
                own_company.read([field])
        self.assertEqual(own_company.read(["name"])[0]["name"], "Strategic Co", "the partner itself stays readable")
        for model in ("customer.tier", "customer.tier.history", "customer.service.policy", "customer.tiering.analysis"):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(portal).search([])
        with self.assertRaises(Fault) as caught:
            self.rpc("tier_portal", "tier_portal_pw", "res.partner", "read", [self.partner.id], ["tier_id"])
        self.assertEqual(caught.exception.faultCode, RPC_FAULT_CODE_ACCESS_ERROR, caught.exception.faultString)

    def test_tiering_user_reads_no_gift_card(self):
        """Gift-card codes are bearer credentials: a tiering user outside Sales
        reads the tier cards and their ledger, not the gift cards."""
        adjustment = self.env["customer.points.adjustment"].create(
            {"partner_id": self.partner.id, "points": 30.0, "reason": "Welcome gift"}
        )
        adjustment.action_apply()
        tier_card = self.partner.tier_card_id
        program = self.env["loyalty.program"].create({"name": "Gift Cards", "program_type": "gift_card"})
        gift_card = self.env["loyalty.card"].create({"program_id": program.id, "points": 100.0})
        gift_card.history_ids = [(0, 0, {"description": "Sold", "issued": 100.0})]
        for model, gift, tier in (
            ("loyalty.card", gift_card, tier_card),
            ("loyalty.history", gift_card.history_ids, tier_card.history_ids),
        ):
            with self.subTest(model=model):
                found = self.rpc("tier_user", "tier_user_pw", model, "search", [("id", "in", (gift | tier).ids)])
                self.assertEqual(found, tier.ids)
                with self.assertRaises(Fault) as caught:
                    self.rpc("tier_user", "tier_user_pw", model, "read", gift.ids, ["id"])
                self.assertEqual(caught.exception.faultCode, RPC_FAULT_CODE_ACCESS_ERROR)
        seller = new_test_user(
            self.env,
            login="tier_seller",
            groups="sales_team.group_sale_salesman,customer_tiering.group_customer_tiering_user",
        )
        self.assertEqual(gift_card.with_user(seller).read(["code"])[0]["code"], gift_card.code, "Sales reads them")

    def test_policies_show_their_stages_and_risk_levels(self):
        """A policy's stages and risk levels are selection values, which Odoo
        lets only administrators read: tiering users read those, no other."""
        Selection = self.env["ir.model.fields.selection"]
        stage = Selection.search([("field_id.model", "=", "res.partner"), ("field_id.name", "=", "lifecycle_stage")])
        risk = Selection.search([("field_id.model", "=", "res.partner"), ("field_id.name", "=", "churn_risk_level")])
        policy = self.env["customer.service.policy"].create(
            {
                "name": "Win back",
                "cadence_days": 7,
                "stage_ids": [(6, 0, stage[:1].ids)],
                "risk_level_ids": [(6, 0, risk[-1:].ids)],
            }
        )
        values = policy.stage_ids | policy.risk_level_ids
        self.assertEqual(len(values), 2)
        for login in ("tier_user", "tier_manager"):
            with self.subTest(login=login):
                [read] = self.rpc(login, f"{login}_pw", "customer.service.policy", "read", policy.ids, ["stage_ids"])
                self.assertEqual(read["stage_ids"], policy.stage_ids.ids)
                names = self.rpc(login, f"{login}_pw", "ir.model.fields.selection", "read", values.ids, ["name"])
                self.assertEqual(len(names), len(values))
        other = self.env["ir.model.fields.selection"].search([("field_id.name", "=", "type")], limit=1)
        with self.assertRaises(Fault):
            self.rpc("tier_user", "tier_user_pw", "ir.model.fields.selection", "read", other.ids, ["name"])
        self.assertTrue(self.env.ref("base.user_admin").has_group("customer_tiering.group_customer_tiering_user"))
        self.assertTrue(
            self.env["ir.model.fields.selection"].with_user(self.env.ref("base.user_admin")).search_count([]) > 100,
            "administrators still read every selection value",
        )
