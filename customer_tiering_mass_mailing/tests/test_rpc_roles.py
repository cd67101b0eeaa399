import inspect
from ast import literal_eval
from itertools import count
from xmlrpc.client import Fault

from odoo import SUPERUSER_ID
from odoo.models import regex_private
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.base.controllers.rpc import RPC_FAULT_CODE_ACCESS_ERROR
from odoo.addons.customer_tiering.tests.test_rpc_matrix import DENIED, OK, RpcOutcomes

ROLES = ("portal", "user", "salesperson", "tiering_user", "tiering_manager", "mailing_user", "admin")
# Contact Creation for all but the plain user, as Odoo gives new users by default.
GROUPS = {
    "portal": "base.group_portal",
    "user": "base.group_user",
    "salesperson": "base.group_partner_manager,sales_team.group_sale_salesman",
    "tiering_user": "base.group_partner_manager,customer_tiering.group_customer_tiering_user",
    "tiering_manager": "base.group_partner_manager,customer_tiering.group_customer_tiering_manager",
    "mailing_user": "base.group_partner_manager,mass_mailing.group_mass_mailing_user",
    "admin": "base.group_system,base.group_partner_manager,customer_tiering.group_customer_tiering_manager,"
    "mass_mailing.group_mass_mailing_user",
}
MAILING = (DENIED,) * 5 + (OK, OK)
MANAGERS = (DENIED,) * 4 + (OK, DENIED, OK)

#: (model, method, arguments as a function of the test, what each role of
#: ROLES gets). Every role but the administrator works in the first company only.
MATRIX = [
    # Saved filters are Email Marketing's; those of a tier or segment are for its company's users.
    (
        "mailing.filter",
        "search_read",
        lambda t: [[("customer_tiering_key", "!=", False)], ["name", "mailing_domain"]],
        MAILING,
    ),
    ("mailing.filter", "read", lambda t: [t.filter_ours.ids, ["name", "customer_tier_id"]], MAILING),
    ("mailing.filter", "read", lambda t: [t.filter_theirs.ids, ["name"]], (DENIED,) * 6 + (OK,)),
    ("mailing.filter", "create", lambda t: [t.filter_values()], MAILING),
    ("mailing.filter", "unlink", lambda t: [t.own_filter().ids], MAILING),
    # New Mailing on selected contacts, for Email Marketing users.
    ("res.partner", "action_new_mailing", lambda t: [t.selection.ids], MAILING),
    ("mailing.mailing", "read", lambda t: [t.mailing.ids, ["audience_company_id", "total"]], MAILING),
    # Whoever edits a company's contact renames its filters, mailing rights or not.
    (
        "res.partner",
        "write",
        lambda t: [t.env.company.partner_id.ids, {"lang": "en_US"}],
        (DENIED, DENIED, OK, OK, OK, OK, OK),
    ),
    # Tiers and segments change with tiering managers, their filters following without mailing rights.
    ("customer.tier", "create", lambda t: [{"name": "RPC tier", "code": f"R{next(t.codes)}"}], MANAGERS),
    ("customer.tier", "write", lambda t: [t.tier_renamed.ids, {"name": f"Renamed {next(t.codes)}"}], MANAGERS),
    ("customer.tier", "unlink", lambda t: [t.fresh_tier().ids], MANAGERS),
    ("customer.rfm.segment", "create", lambda t: [{"name": "RPC segment", "active": False}], MANAGERS),
    ("customer.rfm.segment", "write", lambda t: [t.segment_ours.ids, {"name": f"Stars {next(t.codes)}"}], MANAGERS),
]


@tagged("post_install", "-at_install")
class TestRpcRoles(RpcOutcomes, HttpCase):
    """The filters, their sync and New Mailing through XML-RPC, for each role."""

    LOGIN_PREFIX = "mm_"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.company_2 = cls.env["res.company"].create({"name": "Second Co"})
        cls.users = {}
        for role in ROLES:
            both = role == "admin"
            cls.users[role] = new_test_user(
                cls.env,
                login=f"mm_{role}",
                password=f"mm_{role}_pw",
                groups=GROUPS[role],
                company_id=company.id,
                company_ids=(company | cls.company_2).ids if both else company.ids,
            )
        cls.codes = count(1)
        Tier = cls.env["customer.tier"]
        cls.tier_ours = Tier.search([("company_id", "=", company.id)], limit=1)
        cls.tier_renamed = Tier.create({"name": "To rename", "code": "TR", "company_id": company.id})
        tier_theirs = Tier.search([("company_id", "=", cls.company_2.id)], limit=1)
        Filter = cls.env["mailing.filter"]
        cls.filter_ours = Filter.search([("customer_tier_id", "=", cls.tier_ours.id)])
        cls.filter_theirs = Filter.search([("customer_tier_id", "=", tier_theirs.id)])
        cls.segment_ours = cls.env["customer.rfm.segment"].search([("company_id", "=", company.id)], limit=1)
        Partner = cls.env["res.partner"]
        entity = Partner.create({"name": "RPC Co", "is_company": True, "email": "co@rpc.example.com"})
        cls.selection = (
            entity
            | Partner.create({"name": "Ann", "parent_id": entity.id, "email": "ann@rpc.example.com"})
            | Partner.create({"name": "Bob", "email": "bob@rpc.example.com"})
        )
        cls.mailing = cls.env["mailing.mailing"].create(
            {"subject": "RPC", "mailing_model_id": cls.env["ir.model"]._get_id("res.partner")}
        )

    def filter_values(self, **values):
        return {
            "name": f"RPC filter {next(self.codes)}",
            "mailing_domain": "[('email', 'ilike', 'rpc.example.com')]",
            "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
            **values,
        }

    def own_filter(self):
        return self.env["mailing.filter"].create(self.filter_values())

    def fresh_tier(self):
        return self.env["customer.tier"].create({"name": "Spare", "code": f"S{next(self.codes)}"})

    def execute(self, role, model, method, args, context):
        login = f"mm_{role}"
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, login, f"{login}_pw", {})
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, uid, f"{login}_pw", model, method, args, {"context": context}
        )

    def test_every_role_gets_exactly_its_rights(self):
        self.assertEqual(self.wrong_outcomes(MATRIX, ROLES), [])
        # The tiering managers' (and the administrator's) changes reached the filters, saved by OdooBot.
        Filter = self.env["mailing.filter"]
        made = Filter.search([("customer_tier_id.name", "=", "RPC tier")])
        self.assertEqual(len(made), 2)
        self.assertEqual(made.create_uid.ids, [SUPERUSER_ID])
        renamed = Filter.search([("customer_tier_id", "=", self.tier_renamed.id)])
        self.assertEqual(renamed.name, f"Tier: {self.tier_renamed.name} ({self.env.company.name})")
        self.assertTrue(self.tier_renamed.name.startswith("Renamed"))
        segment_filter = Filter.search([("customer_rfm_segment_id", "=", self.segment_ours.id)])
        self.assertEqual(segment_filter.name, f"RFM Segment: {self.segment_ours.name} ({self.env.company.name})")
        # Of the tiers the roles were given to delete, five remain, with their filters.
        spares = self.env["customer.tier"].search([("name", "=", "Spare")])
        self.assertEqual(len(spares), 5)
        self.assertEqual(Filter.search([("customer_tier_id.name", "=", "Spare")]).customer_tier_id, spares)

    def test_new_mailing_opens_a_mailing_to_the_selection(self):
        """The mailing user's New Mailing, then the mailing its form saves, all over XML-RPC."""
        action = self.execute("mailing_user", "res.partner", "action_new_mailing", [self.selection.ids], {})
        self.assertEqual((action["res_model"], action["view_mode"]), ("mailing.mailing", "form"))
        context = action["context"]
        mailing_id = self.execute("mailing_user", "mailing.mailing", "create", [{"subject": "Hello"}], context)
        (mailing,) = self.execute("mailing_user", "mailing.mailing", "read", [[mailing_id]], {})
        self.assertEqual(literal_eval(mailing["mailing_domain"]), [("id", "in", self.selection.ids)])
        self.assertEqual(mailing["mailing_model_real"], "res.partner")
        self.assertEqual(mailing["total"], len(self.selection))
        self.assertEqual(mailing["audience_company_id"][0], self.env.company.id)

    def test_server_action_runs_for_mailing_users_only(self):
        action = self.env.ref("customer_tiering_mass_mailing.res_partner_action_new_mailing")
        context = {"active_model": "res.partner", "active_ids": self.selection.ids}
        got = {}
        for role in ROLES:
            try:
                result = self.execute(role, "ir.actions.server", "run", [action.ids], context)
                got[role] = result["context"]["default_mailing_domain"]
            except Fault as fault:
                got[role] = fault.faultCode
        domain = repr([("id", "in", self.selection.ids)])
        self.assertEqual(got.pop("mailing_user"), domain)
        self.assertEqual(got.pop("admin"), domain)
        self.assertEqual(set(got.values()), {RPC_FAULT_CODE_ACCESS_ERROR}, "access error for every other role")

    def test_matrix_covers_every_public_method(self):
        """A public method added to the add-on must get a row here."""
        covered = {(model, method) for model, method, *_rest in MATRIX}
        defined = {
            (model_name, name)
            for model_name in self.env.registry
            # a mixin's methods are called on the models inheriting it, whose rows cover them
            if not self.env[model_name]._abstract
            for cls in type(self.env[model_name]).__mro__
            if cls.__module__.startswith("odoo.addons.customer_tiering_mass_mailing.")
            for name, member in vars(cls).items()
            if inspect.isfunction(member) and not regex_private.match(name)
        }
        self.assertTrue(defined)
        self.assertEqual(defined - covered, set())
