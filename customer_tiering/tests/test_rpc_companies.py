from odoo.tests import HttpCase, new_test_user, tagged

from .test_rpc_matrix import DENIED, OK, REFUSED, RpcOutcomes, pooled_customers

ROLES = ("portal", "user", "salesperson", "tiering_user", "tiering_manager", "admin")
GROUPS = {
    "portal": "base.group_portal",
    "user": "base.group_user",
    "salesperson": "base.group_partner_manager,sales_team.group_sale_salesman",
    "tiering_user": "base.group_user,customer_tiering.group_customer_tiering_user",
    "tiering_manager": "base.group_partner_manager,customer_tiering.group_customer_tiering_manager",
    "admin": "base.group_system,base.group_partner_manager,sales_team.group_sale_manager,"
    "customer_tiering.group_customer_tiering_manager",
}

#: (model, method, arguments as a function of the test, what each role of
#: ROLES gets). Every role but the administrator works in the first company
#: only; "theirs" are the second company's records.
MATRIX = [
    # The own company's customers and their tiering values.
    ("res.partner", "read", lambda t: [[t.ours.id], ["name"]], (DENIED, OK, OK, OK, OK, OK)),
    ("res.partner", "read", lambda t: [[t.ours.id], ["tier_id", "loyalty_points"]], (DENIED, OK, OK, OK, OK, OK)),
    ("res.partner", "write", lambda t: [[t.ours.id], {"tier_id": t.tier_ours.id}], (DENIED,) * 4 + (OK, OK)),
    ("customer.tier", "read", lambda t: [[t.tier_ours.id], ["name"]], (DENIED, OK, OK, OK, OK, OK)),
    ("customer.tiering.config", "read", lambda t: [[t.config_ours.id], ["method"]], (DENIED,) * 3 + (OK,) * 3),
    ("customer.tier.history", "read", lambda t: [t.history_ours.ids, ["reason"]], (DENIED,) * 3 + (OK,) * 3),
    ("customer.service.policy", "read", lambda t: [t.policy_ours.ids, ["name"]], (DENIED,) * 3 + (OK,) * 3),
    ("loyalty.card", "read", lambda t: [t.card_ours.ids, ["points"]], (DENIED, DENIED, OK, OK, OK, OK)),
    ("loyalty.card", "read", lambda t: [t.gift_card.ids, ["code"]], (DENIED, DENIED, OK, DENIED, DENIED, OK)),
    ("loyalty.history", "read", lambda t: [t.card_ours.history_ids.ids, ["issued"]], (DENIED, DENIED, OK, OK, OK, OK)),
    # The other company's: nobody but the administrator, who works in both.
    ("res.partner", "read", lambda t: [[t.theirs.id], ["name"]], (DENIED,) * 5 + (OK,)),
    ("res.partner", "write", lambda t: [[t.theirs.id], {"phone": "+86 10 5555 0199"}], (DENIED,) * 5 + (OK,)),
    ("customer.tier", "read", lambda t: [[t.tier_theirs.id], ["name"]], (DENIED,) * 5 + (OK,)),
    ("customer.tier", "write", lambda t: [[t.tier_theirs.id], {"name": "Theirs A"}], (DENIED,) * 5 + (OK,)),
    ("customer.tiering.config", "read", lambda t: [[t.config_theirs.id], ["method"]], (DENIED,) * 5 + (OK,)),
    ("customer.tiering.config", "write", lambda t: [[t.config_theirs.id], {"window_months": 6}], (DENIED,) * 5 + (OK,)),
    ("customer.tier.history", "read", lambda t: [t.history_theirs.ids, ["reason"]], (DENIED,) * 5 + (OK,)),
    # RFM segments and their history: each company's own.
    ("customer.rfm.segment", "read", lambda t: [t.segment_ours.ids, ["name"]], (DENIED, OK, OK, OK, OK, OK)),
    ("customer.rfm.segment", "write", lambda t: [t.segment_ours.ids, {"color": 4}], (DENIED,) * 4 + (OK, OK)),
    ("customer.rfm.segment", "read", lambda t: [t.segment_theirs.ids, ["name"]], (DENIED,) * 5 + (OK,)),
    ("customer.rfm.segment", "write", lambda t: [t.segment_theirs.ids, {"color": 4}], (DENIED,) * 5 + (OK,)),
    (
        "customer.rfm.segment.history",
        "read",
        lambda t: [t.segment_history_ours.ids, ["new_segment_id"]],
        (DENIED,) * 3 + (OK,) * 3,
    ),
    (
        "customer.rfm.segment.history",
        "read",
        lambda t: [t.segment_history_theirs.ids, ["new_segment_id"]],
        (DENIED,) * 5 + (OK,),
    ),
    ("customer.service.policy", "read", lambda t: [t.policy_theirs.ids, ["name"]], (DENIED,) * 5 + (OK,)),
    ("loyalty.card", "read", lambda t: [t.card_theirs.ids, ["points"]], (DENIED,) * 5 + (OK,)),
    # The pools: claimed by salespeople, assigned by managers, each company's own; rules and history per company.
    ("res.partner", "action_pool_claim", lambda t: [[t.pooled_ours.id]], (DENIED, DENIED, OK, DENIED, DENIED, REFUSED)),
    ("res.partner", "action_pool_claim", lambda t: [[t.pooled_theirs.id]], (DENIED,) * 5 + (REFUSED,)),
    ("res.partner", "action_pool_assign", lambda t: [[t.pooled_spare.id]], (DENIED,) * 4 + (OK, OK)),
    ("res.partner", "action_pool_assign", lambda t: [[t.pooled_theirs.id]], (DENIED,) * 5 + (OK,)),
    ("customer.pool.rule", "read", lambda t: [t.pool_rule_ours.ids, ["name"]], (DENIED,) * 3 + (OK,) * 3),
    ("customer.pool.rule", "write", lambda t: [t.pool_rule_ours.ids, {"warning_days": 5}], (DENIED,) * 4 + (OK, OK)),
    ("customer.pool.rule", "read", lambda t: [t.pool_rule_theirs.ids, ["name"]], (DENIED,) * 5 + (OK,)),
    ("customer.pool.rule", "write", lambda t: [t.pool_rule_theirs.ids, {"warning_days": 5}], (DENIED,) * 5 + (OK,)),
    ("customer.pool.history", "read", lambda t: [t.pool_history_ours.ids, ["action"]], (DENIED,) * 3 + (OK,) * 3),
    ("customer.pool.history", "read", lambda t: [t.pool_history_theirs.ids, ["action"]], (DENIED,) * 5 + (OK,)),
    # Satisfaction: each company's scores and survey policies.
    (
        "res.partner",
        "read",
        lambda t: [[t.ours.id], ["nps_score", "nps_category", "csat_score"]],
        (DENIED, OK, OK, OK, OK, OK),
    ),
    (
        "customer.satisfaction.policy",
        "read",
        lambda t: [t.satisfaction_ours.ids, ["name"]],
        (DENIED,) * 3 + (OK,) * 3,
    ),
    (
        "customer.satisfaction.policy",
        "write",
        lambda t: [t.satisfaction_ours.ids, {"interval_days": 60}],
        (DENIED,) * 4 + (OK, OK),
    ),
    ("customer.satisfaction.policy", "read", lambda t: [t.satisfaction_theirs.ids, ["name"]], (DENIED,) * 5 + (OK,)),
    (
        "customer.satisfaction.policy",
        "write",
        lambda t: [t.satisfaction_theirs.ids, {"interval_days": 60}],
        (DENIED,) * 5 + (OK,),
    ),
    # A tier of the other company on an own customer: refused for all who may write tiers.
    (
        "res.partner",
        "write",
        lambda t: [[t.ours.id], {"tier_id": t.tier_theirs.id}],
        (DENIED,) * 4 + (REFUSED, REFUSED),
    ),
]


@tagged("post_install", "-at_install")
class TestRpcCompanies(RpcOutcomes, HttpCase):
    """What each role reads and writes over XML-RPC, in its own company and
    in the other."""

    LOGIN_PREFIX = "mc_"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_ours = cls.env.company
        cls.company_theirs = cls.env["res.company"].create({"name": "Theirs Ltd"})
        cls.env.user.company_ids |= cls.company_theirs
        for role in ROLES:
            companies = cls.company_ours | (cls.company_theirs if role == "admin" else cls.env["res.company"])
            new_test_user(
                cls.env,
                login=f"mc_{role}",
                password=f"mc_{role}_pw",
                groups=GROUPS[role],
                company_id=cls.company_ours.id,
                company_ids=companies.ids,
            )
        Config = cls.env["customer.tiering.config"]
        cls.config_ours = Config._for_companies(cls.company_ours)
        cls.config_theirs = Config._for_companies(cls.company_theirs)
        Tier = cls.env["customer.tier"]
        cls.tier_ours = Tier.search([("company_id", "=", cls.company_ours.id)], order="sequence", limit=1)
        cls.tier_theirs = Tier.search([("company_id", "=", cls.company_theirs.id)], order="sequence", limit=1)
        Partner = cls.env["res.partner"]
        cls.ours = Partner.create({"name": "Ours Co", "is_company": True, "company_id": cls.company_ours.id})
        cls.theirs = Partner.create({"name": "Theirs Co", "is_company": True, "company_id": cls.company_theirs.id})
        cls.ours.with_company(cls.company_ours).sudo().tier_id = cls.tier_ours
        cls.theirs.with_company(cls.company_theirs).sudo().tier_id = cls.tier_theirs
        History = cls.env["customer.tier.history"]
        cls.history_ours = History.search([("partner_id", "=", cls.ours.id)])
        cls.history_theirs = History.search([("partner_id", "=", cls.theirs.id)])
        Segment = cls.env["customer.rfm.segment"]
        cls.segment_ours = Segment.search([("company_id", "=", cls.company_ours.id)], limit=1)
        cls.segment_theirs = Segment.search([("company_id", "=", cls.company_theirs.id)], limit=1)
        cls.segment_history_ours, cls.segment_history_theirs = cls.env["customer.rfm.segment.history"].create(
            [
                {"partner_id": partner.id, "company_id": segment.company_id.id, "new_segment_id": segment.id}
                for partner, segment in ((cls.ours, cls.segment_ours), (cls.theirs, cls.segment_theirs))
            ]
        )
        Policy = cls.env["customer.service.policy"]
        cls.policy_ours = Policy.search([("company_id", "=", cls.company_ours.id)], limit=1)
        cls.policy_theirs = Policy.search([("company_id", "=", cls.company_theirs.id)], limit=1)
        Ledger = cls.env["customer.loyalty.ledger"]
        Ledger.with_company(cls.company_ours)._adjust(cls.ours, 10.0, "Seed", key="adjust:mc")
        Ledger.with_company(cls.company_theirs)._adjust(cls.theirs, 10.0, "Seed", key="adjust:mc")
        cls.card_ours = cls.ours.with_company(cls.company_ours).tier_card_id
        cls.card_theirs = cls.theirs.with_company(cls.company_theirs).tier_card_id
        Rule = cls.env["customer.pool.rule"].with_context(active_test=False)
        cls.pool_rule_ours = Rule.search([("company_id", "=", cls.company_ours.id)])
        cls.pool_rule_theirs = Rule.search([("company_id", "=", cls.company_theirs.id)])
        cls.pooled_ours, cls.pooled_spare = pooled_customers(cls.env, cls.pool_rule_ours, ["Pooled Ours", "Spare Ours"])
        [cls.pooled_theirs] = pooled_customers(cls.env, cls.pool_rule_theirs, ["Pooled Theirs"])
        PoolHistory = cls.env["customer.pool.history"]
        cls.pool_history_ours = PoolHistory.search([("partner_id", "=", cls.pooled_ours.id)])
        cls.pool_history_theirs = PoolHistory.search([("partner_id", "=", cls.pooled_theirs.id)])
        Satisfaction = cls.env["customer.satisfaction.policy"].with_context(active_test=False)
        cls.satisfaction_ours = Satisfaction.search([("company_id", "=", cls.company_ours.id)])
        cls.satisfaction_theirs = Satisfaction.search([("company_id", "=", cls.company_theirs.id)])
        program = cls.env["loyalty.program"].create({"name": "Gift Cards", "program_type": "gift_card"})
        cls.gift_card = cls.env["loyalty.card"].create({"program_id": program.id, "points": 100.0})

    def test_every_role_in_both_companies(self):
        self.assertTrue(self.history_ours and self.history_theirs and self.policy_ours and self.policy_theirs)
        self.assertTrue(self.card_ours and self.card_theirs)
        self.assertTrue(self.segment_ours and self.segment_theirs)
        self.assertTrue(self.pool_history_ours and self.pool_history_theirs)
        self.assertTrue(self.satisfaction_ours and self.satisfaction_theirs)
        self.assertEqual(self.wrong_outcomes(MATRIX, ROLES), [])
