import inspect
from xmlrpc.client import Fault

from odoo import fields
from odoo.models import regex_private
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.base.controllers.rpc import RPC_FAULT_CODE_ACCESS_ERROR, RPC_FAULT_CODE_WARNING

OK, DENIED, REFUSED = "ok", "access error", "user error"
ROLES = ("user", "salesperson", "manager")
# Salespeople and managers have Contact Creation, as Odoo gives new users by default.
GROUPS = {
    "user": "base.group_user",
    "salesperson": "base.group_partner_manager,sales_team.group_sale_salesman,"
    "customer_tiering.group_customer_tiering_user",
    "manager": "base.group_partner_manager,sales_team.group_sale_manager,"
    "customer_tiering.group_customer_tiering_manager",
}

#: (model, method, arguments as a function of the test, what a plain user,
#: a salesperson and a manager get). Rows run in order, the manager last.
MATRIX = [
    # Customers: everyone internal reads; only managers change tiering values.
    ("res.partner", "read", lambda t: [[t.partner.id], ["tier_id", "lifecycle_stage", "loyalty_points"]], (OK, OK, OK)),
    ("res.partner", "search_count", lambda t: [[("tier_id", "=", t.tier_b.id)]], (OK, OK, OK)),
    ("res.partner", "write", lambda t: [[t.partner.id], {"phone": "+86 21 5555 0101"}], (DENIED, OK, OK)),
    ("res.partner", "write", lambda t: [[t.partner.id], {"birthday": "1980-05-01"}], (DENIED, OK, OK)),
    ("res.partner", "write", lambda t: [[t.partner.id], {"tier_id": t.tier_a.id}], (DENIED, DENIED, OK)),
    (
        "res.partner",
        "write",
        lambda t: [[t.partner.id], {"tier_locked": True, "tier_lock_reason": "Key"}],
        (DENIED, DENIED, OK),
    ),
    ("res.partner", "write", lambda t: [[t.partner.id], {"churn_risk": 0.0}], (DENIED, DENIED, OK)),
    ("res.partner", "create", lambda t: [{"name": "New Co", "is_company": True}], (DENIED, OK, OK)),
    ("res.partner", "create", lambda t: [{"name": "Tiered Co", "tier_id": t.tier_a.id}], (DENIED, DENIED, OK)),
    ("res.partner", "action_apply_tier_resources", lambda t: [[t.partner.id]], (DENIED, DENIED, OK)),
    ("res.partner", "action_view_points_card", lambda t: [[t.partner.id]], (DENIED, OK, OK)),
    ("res.partner", "action_adjust_points", lambda t: [[t.partner.id]], (DENIED, DENIED, OK)),
    ("res.partner", "action_view_tier_history", lambda t: [[t.partner.id]], (DENIED, OK, OK)),
    # Odoo's coupon generation, for sales managers as on the program.
    ("res.partner", "action_generate_coupons", lambda t: [[t.partner.id]], (DENIED, DENIED, OK)),
    ("customer.rfm.segment", "action_generate_coupons", lambda t: [[t.segment.id]], (DENIED, DENIED, OK)),
    # The public pool: salespeople claim (the manager comes second: already claimed), managers assign.
    ("res.partner", "action_pool_claim", lambda t: [[t.pooled.id]], (DENIED, OK, REFUSED)),
    ("res.partner", "action_pool_assign", lambda t: [[t.pooled_spare.id]], (DENIED, DENIED, OK)),
    ("res.partner", "write", lambda t: [[t.pooled_spare.id], {"in_pool": False}], (DENIED, DENIED, DENIED)),
    ("customer.pool.assign", "create", lambda t: [t.pool_assign_values()], (DENIED, DENIED, OK)),
    ("customer.pool.assign", "action_assign", lambda t: [[t.pool_assign_id()]], (DENIED, DENIED, OK)),
    # The manager-only wizards' abstract parent (the points adjustment's and the pool assignment's
    # create, rows of their own): no records of its own, so no one creates one, not even a manager.
    ("customer.tiering.manager.mixin", "create", lambda t: [{}], (DENIED, DENIED, DENIED)),
    ("customer.pool.rule", "search_read", lambda t: [[], ["name"]], (DENIED, OK, OK)),
    (
        "customer.pool.rule",
        "create",
        lambda t: [{"name": "Matrix pool rule", "untouched_days": 60}],
        (DENIED, DENIED, OK),
    ),
    ("customer.pool.rule", "write", lambda t: [[t.pool_rule.id], {"warning_days": 5}], (DENIED, DENIED, OK)),
    ("customer.pool.rule", "unlink", lambda t: [[t.spare_pool_rule.id]], (DENIED, DENIED, OK)),
    ("customer.pool.history", "search_read", lambda t: [[], ["action"]], (DENIED, OK, OK)),
    ("customer.pool.history", "create", lambda t: [t.pool_history_values()], (DENIED, DENIED, DENIED)),
    ("customer.pool.history", "write", lambda t: [t.pool_history.ids, {"reason": "Forged"}], (DENIED, DENIED, DENIED)),
    ("customer.pool.history", "unlink", lambda t: [t.pool_history.ids], (DENIED, DENIED, DENIED)),
    # Satisfaction: scores read by every employee, written by survey answers only; policies set by managers.
    (
        "res.partner",
        "read",
        lambda t: [[t.partner.id], ["nps_score", "nps_category", "csat_score", "satisfaction_date"]],
        (OK, OK, OK),
    ),
    ("res.partner", "write", lambda t: [[t.partner.id], {"nps_category": "promoter"}], (DENIED, DENIED, DENIED)),
    ("customer.satisfaction.policy", "search_read", lambda t: [[], ["name", "channel"]], (DENIED, OK, OK)),
    (
        "customer.satisfaction.policy",
        "create",
        lambda t: [{"name": "Matrix survey", "survey_id": t.satisfaction_policy.survey_id.id}],
        (DENIED, DENIED, OK),
    ),
    (
        "customer.satisfaction.policy",
        "write",
        lambda t: [t.satisfaction_policy.ids, {"interval_days": 60}],
        (DENIED, DENIED, OK),
    ),
    ("customer.satisfaction.policy", "unlink", lambda t: [t.spare_satisfaction_policy.ids], (DENIED, DENIED, OK)),
    (
        "customer.service.policy",
        "write",
        lambda t: [[t.policy.id], {"nps_category": "detractor"}],
        (DENIED, DENIED, OK),
    ),
    (
        "customer.tiering.analysis",
        "read_group",
        lambda t: [[], ["nps:avg", "csat_score:avg", "respondent_count:sum"], ["user_id"]],
        (DENIED, OK, OK),
    ),
    # Tiers: read by every employee, changed by managers.
    ("customer.tier", "search_read", lambda t: [[], ["name", "code"]], (OK, OK, OK)),
    ("customer.tier", "write", lambda t: [[t.tier_a.id], {"name": "Key Accounts"}], (DENIED, DENIED, OK)),
    ("customer.tier", "create", lambda t: [{"name": "D", "code": "D", "sequence": 40}], (DENIED, DENIED, OK)),
    ("customer.tier", "unlink", lambda t: [[t.spare_tier.id]], (DENIED, DENIED, OK)),
    ("customer.tier", "action_view_partners", lambda t: [[t.tier_b.id]], (OK, OK, OK)),
    # RFM segments: read by every employee (the partner form shows them), set by managers; placed by the job.
    (
        "res.partner",
        "read",
        lambda t: [[t.partner.id], ["rfm_segment_id", "rfm_segment_playbook"]],
        (OK, OK, OK),
    ),
    ("res.partner", "write", lambda t: [[t.partner.id], {"rfm_segment_id": t.segment.id}], (DENIED, DENIED, OK)),
    ("customer.rfm.segment", "search_read", lambda t: [[], ["name", "playbook"]], (OK, OK, OK)),
    ("customer.rfm.segment", "write", lambda t: [[t.segment.id], {"name": "Stars"}], (DENIED, DENIED, OK)),
    # Overlapping another segment: refused with the reason.
    ("customer.rfm.segment", "write", lambda t: [[t.segment.id], {"r_min": 1}], (DENIED, DENIED, REFUSED)),
    ("customer.rfm.segment", "create", lambda t: [{"name": "Spare", "active": False}], (DENIED, DENIED, OK)),
    ("customer.rfm.segment", "unlink", lambda t: [[t.spare_segment.id]], (DENIED, DENIED, OK)),
    ("customer.rfm.segment", "action_view_partners", lambda t: [[t.segment.id]], (OK, OK, OK)),
    # Settings: read by tiering users, changed and run by managers.
    ("customer.tiering.config", "read", lambda t: [[t.config.id], ["method"]], (DENIED, OK, OK)),
    ("customer.tiering.config", "write", lambda t: [[t.config.id], {"cutoff_a": 0.7}], (DENIED, DENIED, OK)),
    ("customer.tiering.config", "action_open_current", lambda t: [], (DENIED, OK, OK)),
    ("customer.tiering.config", "action_reclassify", lambda t: [[t.config.id]], (DENIED, DENIED, OK)),
    ("customer.tiering.config", "unlink", lambda t: [[t.config.id]], (DENIED, DENIED, DENIED)),
    # Histories and fits: written by the jobs only.
    ("customer.tier.history", "search_read", lambda t: [[], ["new_tier_id"]], (DENIED, OK, OK)),
    ("customer.tier.history", "create", lambda t: [t.history_values()], (DENIED, DENIED, DENIED)),
    ("customer.tier.history", "write", lambda t: [[t.history.id], {"reason": "manual"}], (DENIED, DENIED, DENIED)),
    ("customer.tier.history", "unlink", lambda t: [[t.history.id]], (DENIED, DENIED, DENIED)),
    ("customer.rfm.segment.history", "search_read", lambda t: [[], ["new_segment_id"]], (DENIED, OK, OK)),
    ("customer.rfm.segment.history", "create", lambda t: [t.segment_history_values()], (DENIED, DENIED, DENIED)),
    (
        "customer.rfm.segment.history",
        "write",
        lambda t: [[t.segment_history.id], {"new_segment_id": False}],
        (DENIED, DENIED, DENIED),
    ),
    ("customer.rfm.segment.history", "unlink", lambda t: [[t.segment_history.id]], (DENIED, DENIED, DENIED)),
    ("customer.lifecycle.history", "search_read", lambda t: [[], ["new_stage"]], (DENIED, OK, OK)),
    ("customer.lifecycle.history", "create", lambda t: [t.stage_values()], (DENIED, DENIED, DENIED)),
    ("customer.churn.model", "search_read", lambda t: [[], ["method"]], (DENIED, DENIED, OK)),
    ("customer.churn.model", "create", lambda t: [{"method": "bgnbd"}], (DENIED, DENIED, DENIED)),
    # Service policies and care dates: read by tiering users, set by managers.
    ("customer.service.policy", "search_read", lambda t: [[], ["name"]], (DENIED, OK, OK)),
    ("customer.service.policy", "create", lambda t: [{"name": "Weekly", "cadence_days": 7}], (DENIED, DENIED, OK)),
    ("customer.service.policy", "write", lambda t: [[t.policy.id], {"cadence_days": 14}], (DENIED, DENIED, OK)),
    ("customer.service.policy", "action_view_activities", lambda t: [[t.policy.id]], (DENIED, OK, OK)),
    ("customer.service.policy", "unlink", lambda t: [[t.policy.id]], (DENIED, DENIED, OK)),
    ("customer.care.date", "search_read", lambda t: [[], ["name"]], (DENIED, OK, OK)),
    ("customer.care.date", "create", lambda t: [{"name": "Founding Day", "date": "2030-05-01"}], (DENIED, DENIED, OK)),
    ("customer.care.date", "action_copy_next_year", lambda t: [[t.care_date.id]], (DENIED, DENIED, OK)),
    ("customer.care.date", "unlink", lambda t: [[t.care_date.id]], (DENIED, DENIED, OK)),
    # The festival table: shared by every company, read by tiering users, kept by managers.
    ("customer.care.festival.date", "search_read", lambda t: [[], ["festival_id", "date"]], (DENIED, OK, OK)),
    (
        "customer.care.festival.date",
        "create",
        lambda t: [{"festival_id": t.env.ref("customer_tiering.care_festival_spring").id, "date": "2051-02-11"}],
        (DENIED, DENIED, OK),
    ),
    (
        "customer.care.festival",
        "write",
        lambda t: [[t.env.ref("customer_tiering.care_festival_spring").id], {"sequence": 5}],
        (DENIED, DENIED, OK),
    ),
    # Tier card communications still to send: written and sent by the ledger only, read by managers.
    ("customer.loyalty.communication", "search_read", lambda t: [[], ["trigger"]], (DENIED, DENIED, OK)),
    (
        "customer.loyalty.communication",
        "create",
        lambda t: [{"card_id": t.partner.tier_card_id.id, "company_id": t.env.company.id, "trigger": "create"}],
        (DENIED, DENIED, DENIED),
    ),
    ("customer.care.log", "search_read", lambda t: [[], ["occasion"]], (DENIED, OK, OK)),
    ("customer.care.log", "create", lambda t: [t.care_log_values()], (DENIED, DENIED, DENIED)),
    ("customer.care.log", "write", lambda t: [[t.care_log.id], {"year": 2031}], (DENIED, DENIED, DENIED)),
    # Points: adjusted by managers through the wizard; entries never change.
    ("customer.points.adjustment", "create", lambda t: [t.adjustment_values()], (DENIED, DENIED, OK)),
    ("customer.points.adjustment", "action_apply", lambda t: [[t.adjustment_id()]], (DENIED, DENIED, OK)),
    ("loyalty.history", "search_read", lambda t: [[("id", "=", t.entry.id)], ["issued"]], (DENIED, OK, OK)),
    ("loyalty.history", "write", lambda t: [[t.entry.id], {"issued": 1e6}], (DENIED, REFUSED, REFUSED)),
    ("loyalty.history", "unlink", lambda t: [[t.entry.id]], (DENIED, REFUSED, REFUSED)),
    # Only the add-on sets the ledger columns: a forged key would count an invoice twice or never.
    (
        "loyalty.history",
        "create",
        lambda t: [{"card_id": t.entry.card_id.id, "description": "Forged", "points_key": "void:1:0"}],
        (DENIED, DENIED, DENIED),
    ),
    ("loyalty.history", "write", lambda t: [[t.entry.id], {"points_date": "2020-01-01"}], (DENIED, DENIED, DENIED)),
    # Reports.
    ("customer.tiering.analysis", "read_group", lambda t: [[], ["revenue_window:sum"], ["tier_id"]], (DENIED, OK, OK)),
    (
        "customer.tiering.analysis",
        "read_group",
        lambda t: [[], ["customer_count:sum"], ["rfm_segment_id", "tier_id"]],
        (DENIED, OK, OK),
    ),
    ("customer.cohort.analysis", "search_read", lambda t: [[], ["cohort", "retention_rate"]], (DENIED, OK, OK)),
    ("customer.tier.summary.wizard", "create", lambda t: [{}], (DENIED, DENIED, OK)),
    ("customer.tier.summary.wizard", "action_print", lambda t: [[t.summary_id()]], (DENIED, DENIED, OK)),
    # The jobs are not callable remotely, not even by a manager.
    ("customer.tiering.job", "_cron_reclassify", lambda t: [], (DENIED, DENIED, DENIED)),
    (
        "customer.loyalty.ledger",
        "_adjust",
        lambda t: [t.partner.id, 1e6, "RPC", "adjust:rpc"],
        (DENIED, DENIED, DENIED),
    ),
]

#: Public methods of the add-on that are overrides of Odoo's, whose access
#: Odoo checks; the add-on only adds to what they do.
CORE_OVERRIDES = {
    ("account.move", "button_draft"),  # voids the points: test_loyalty_points
    ("res.company", "create"),  # gives the company its tiers: test_config
    ("sale.order", "action_confirm"),  # Odoo's Confirm button; earns on confirmation: test_ledger_earn_modes
}


def pooled_customers(env, rule, names):
    """Customers of ``names``, recalled to the pool of ``rule``'s company from the current user."""
    Partner = env["res.partner"].with_company(rule.company_id)
    partners = Partner.create(
        [{"name": name, "is_company": True, "company_id": rule.company_id.id, "user_id": env.uid} for name in names]
    )
    rows = [(partner.id, env.uid) for partner in partners]
    today = fields.Date.context_today(partners)
    env["customer.pool.job"].with_company(rule.company_id)._recall_batch(rule, rows, today, "Seed", "en_US")
    env.invalidate_all()
    return partners


class RpcOutcomes:
    """What each role gets over XML-RPC, for a matrix of (model, method,
    arguments as a function of the test, what each role gets): the users
    are ``<LOGIN_PREFIX><role>``, with that and ``_pw`` as password."""

    LOGIN_PREFIX = "rpc_"

    def outcome(self, role, model, method, args):
        """What ``role`` gets calling ``model.method(*args)`` over XML-RPC."""
        login = f"{self.LOGIN_PREFIX}{role}"
        password = f"{login}_pw"
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, login, password, {})
        try:
            self.xmlrpc_object.execute_kw(self.env.cr.dbname, uid, password, model, method, args)
        except Fault as fault:
            codes = {RPC_FAULT_CODE_ACCESS_ERROR: DENIED, RPC_FAULT_CODE_WARNING: REFUSED}
            self.assertIn(fault.faultCode, codes, fault.faultString)
            return codes[fault.faultCode]
        return OK

    def wrong_outcomes(self, matrix, roles):
        """The rows of ``matrix`` where a role got other than it should."""
        wrong = []
        for model, method, arguments, expected in matrix:
            for role, wanted in zip(roles, expected, strict=True):
                got = self.outcome(role, model, method, arguments(self))
                if got != wanted:
                    wrong.append(f"{model}.{method}{arguments(self)[:1]} as {role}: {got}, expected {wanted}")
        return wrong


@tagged("post_install", "-at_install")
class TestRpcMatrix(RpcOutcomes, HttpCase):
    """Every public method and write of the add-on, through XML-RPC, as a
    plain user, a salesperson and a tiering manager."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for role in ROLES:
            new_test_user(cls.env, login=f"rpc_{role}", password=f"rpc_{role}_pw", groups=GROUPS[role])
        company = cls.env.company
        cls.tier_a, cls.tier_b = cls.env["customer.tier"].search(
            [("company_id", "=", company.id)], order="sequence", limit=2
        )
        cls.spare_tier = cls.env["customer.tier"].create({"name": "Spare", "code": "S", "sequence": 90})
        cls.partner = cls.env["res.partner"].create({"name": "Matrix Co", "is_company": True})
        cls.partner.sudo().tier_id = cls.tier_b
        cls.history = cls.env["customer.tier.history"].search([("partner_id", "=", cls.partner.id)])
        cls.config = cls.env["customer.tiering.config"]._for_companies(company)
        cls.policy = cls.env["customer.service.policy"].create({"name": "Matrix policy", "cadence_days": 30})
        cls.care_date = cls.env["customer.care.date"].create({"name": "Matrix day", "date": "2030-06-01"})
        cls.env["customer.loyalty.ledger"]._adjust(cls.partner, 50.0, "Seed", key="adjust:matrix")
        cls.entry = cls.partner.tier_card_id.history_ids
        cls.care_log = cls.env["customer.care.log"].create(
            {
                "partner_id": cls.partner.id,
                "company_id": company.id,
                "occasion": "birthday",
                "year": 2029,
                "date": "2029-05-01",
                "channel": "activity",
            }
        )
        cls.manager = cls.env["res.users"].search([("login", "=", "rpc_manager")])
        Segment = cls.env["customer.rfm.segment"]
        cls.segment = Segment.search([("company_id", "=", company.id)], limit=1)
        cls.spare_segment = Segment.create({"name": "Spare segment", "active": False})
        cls.segment_history = cls.env["customer.rfm.segment.history"].create(
            {"partner_id": cls.partner.id, "company_id": company.id, "new_segment_id": cls.segment.id}
        )
        cls.salesperson = cls.env["res.users"].search([("login", "=", "rpc_salesperson")])
        Rule = cls.env["customer.pool.rule"].with_context(active_test=False)
        cls.pool_rule = Rule.search([("company_id", "=", company.id)])
        cls.spare_pool_rule = cls.pool_rule.copy({"name": "Spare pool rule"})
        cls.pooled, cls.pooled_spare = pooled_customers(cls.env, cls.pool_rule, ["Pooled Co", "Pooled Spare Co"])
        cls.pool_history = cls.env["customer.pool.history"].search([("partner_id", "=", cls.pooled.id)])
        Satisfaction = cls.env["customer.satisfaction.policy"].with_context(active_test=False)
        cls.satisfaction_policy = Satisfaction.search([("company_id", "=", company.id)])
        cls.spare_satisfaction_policy = cls.satisfaction_policy.copy({"name": "Spare survey policy"})

    def history_values(self):
        return {"partner_id": self.partner.id, "company_id": self.env.company.id, "reason": "manual"}

    def segment_history_values(self):
        return {"partner_id": self.partner.id, "company_id": self.env.company.id, "new_segment_id": self.segment.id}

    def stage_values(self):
        return {"partner_id": self.partner.id, "company_id": self.env.company.id, "new_stage": "loyal"}

    def care_log_values(self):
        return {
            "partner_id": self.partner.id,
            "company_id": self.env.company.id,
            "occasion": "birthday",
            "year": 2030,
            "date": "2030-05-01",
        }

    def adjustment_values(self):
        return {"partner_id": self.partner.id, "points": 5.0, "reason": "Goodwill"}

    # Wizards are made by the manager: a plain user or salesperson cannot make one.
    def adjustment_id(self):
        return self.env["customer.points.adjustment"].with_user(self.manager).create(self.adjustment_values()).id

    def summary_id(self):
        return self.env["customer.tier.summary.wizard"].with_user(self.manager).create({}).id

    def pool_history_values(self):
        return {"partner_id": self.partner.id, "company_id": self.env.company.id, "action": "released"}

    def pool_assign_values(self):
        return {"partner_ids": [(6, 0, self.pooled_spare.ids)], "user_id": self.salesperson.id}

    def pool_assign_id(self):
        return self.env["customer.pool.assign"].with_user(self.manager).create(self.pool_assign_values()).id

    def test_every_role_gets_exactly_its_rights(self):
        self.assertEqual(self.wrong_outcomes(MATRIX, ROLES), [])
        self.assertEqual(self.partner.loyalty_points, 55.0, "only the manager's adjustment counted")
        self.assertEqual(self.entry.issued, 50.0, "no one changed the points entry")

    def test_matrix_covers_every_public_method(self):
        """A public method added to the add-on must get a row here."""
        covered = {(model, method) for model, method, *_rest in MATRIX} | CORE_OVERRIDES
        defined = {
            (model_name, name)
            for model_name in self.env.registry
            for cls in type(self.env[model_name]).__mro__
            if cls.__module__.startswith("odoo.addons.customer_tiering.")
            for name, member in vars(cls).items()
            if inspect.isfunction(member) and not regex_private.match(name)
        }
        self.assertTrue(defined)
        self.assertEqual(defined - covered, set())
