from odoo.tests import HttpCase, new_test_user, tagged

from .test_rpc_matrix import DENIED, OK, REFUSED, RpcOutcomes

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
    ("customer.service.policy", "read", lambda t: [t.policy_theirs.ids, ["name"]], (DENIED,) * 5 + (OK,)),
    ("loyalty.card", "read", lambda t: [t.card_theirs.ids, ["points"]], (DENIED,) * 5 + (OK,)),
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
        Policy = cls.env["customer.service.policy"]
        cls.policy_ours = Policy.search([("company_id", "=", cls.company_ours.id)], limit=1)
        cls.policy_theirs = Policy.search([("company_id", "=", cls.company_theirs.id)], limit=1)
        Ledger = cls.env["customer.loyalty.ledger"]
        Ledger.with_company(cls.company_ours)._adjust(cls.ours, 10.0, "Seed", key="adjust:mc")
        Ledger.with_company(cls.company_theirs)._adjust(cls.theirs, 10.0, "Seed", key="adjust:mc")
        cls.card_ours = cls.ours.with_company(cls.company_ours).tier_card_id
        cls.card_theirs = cls.theirs.with_company(cls.company_theirs).tier_card_id
        program = cls.env["loyalty.program"].create({"name": "Gift Cards", "program_type": "gift_card"})
        cls.gift_card = cls.env["loyalty.card"].create({"program_id": program.id, "points": 100.0})

    def test_every_role_in_both_companies(self):
        self.assertTrue(self.history_ours and self.history_theirs and self.policy_ours and self.policy_theirs)
        self.assertTrue(self.card_ours and self.card_theirs)
        self.assertEqual(self.wrong_outcomes(MATRIX, ROLES), [])
