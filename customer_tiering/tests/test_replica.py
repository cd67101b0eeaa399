"""Replica-ready: the screens' reads and the add-on's read-only entry points
run in a read-only transaction, and Odoo routes them to a read-only replica.

Odoo 18 serves ``/web/dataset/call_kw`` from a replica (``--db_replica_host``)
when the called method is ``@api.readonly``; a call that then writes fails
on the replica and is silently run again on the primary. Here a read-only
transaction stands in for the replica: Odoo's test cursor for read-only
requests (``registry.cursor(readonly=True)`` in test mode), which PostgreSQL
itself keeps from writing. The real replica: scripts/replica_check.sh.
"""

import contextlib
import inspect
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

from psycopg2 import errors

from odoo import Command, api, fields
from odoo.models import regex_private
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.web.controllers import dataset

from . import screens
from .common import TieringInvoiceCommon

MANAGER = (
    "base.group_user,base.group_partner_manager,sales_team.group_sale_manager,"
    "customer_tiering.group_customer_tiering_manager"
)
#: The add-on's public methods marked @api.readonly: buttons that only open a view.
READONLY = {
    ("res.partner", "action_view_points_card"),
    ("res.partner", "action_view_tier_history"),
    ("customer.tier", "action_view_partners"),
    ("customer.rfm.segment", "action_view_partners"),
    ("customer.service.policy", "action_view_activities"),
}


class EnvClient:
    """The screens' calls made in-process on ``env``, as the web client's RPC would."""

    def __init__(self, env):
        self.env = env
        self.calls = []

    def action(self, screen, xmlid):
        return self.env["ir.actions.actions"]._for_xml_id(xmlid)

    def call(self, screen, model, method, args, kwargs):
        self.calls.append((screen, model, method))
        return api.call_kw(self.env[model], method, args, kwargs)


class RpcClient:
    """The screens' calls over the web client's routes, in ``case``'s session."""

    def __init__(self, case):
        self.case = case
        self.calls = []

    def action(self, screen, xmlid):
        return self.case.make_jsonrpc_request("/web/action/load", {"action_id": xmlid})

    def call(self, screen, model, method, args, kwargs):
        self.calls.append((screen, model, method))
        params = {"model": model, "method": method, "args": args, "kwargs": kwargs}
        return self.case.make_jsonrpc_request(f"/web/dataset/call_kw/{model}/{method}", params)


@tagged("post_install", "-at_install")
class TestReplicaReady(TieringInvoiceCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ct_replica_manager",
            password="ct_replica_manager_pw",
            groups=MANAGER,
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        today = fields.Date.context_today(cls.env.user)
        months = [today - timedelta(days=30 * n) for n in range(24)]
        customers = cls.classified_customers(
            {
                "Replica Steady Co": [(5000.0, day) for day in months[:12]],
                "Replica Late Co": [(3000.0, day) for day in months[3:12]],
                "Replica Lapsed Co": [(800.0, months[20])],
            }
        )
        cls.partner = customers["Replica Late Co"]
        # A customer of Customers at Risk, whose first row opens the partner form.
        cls.partner.with_company(cls.company).write({"lifecycle_stage": "active", "churn_risk_level": "high"})
        cls.env.flush_all()

    @contextlib.contextmanager
    def read_only_env(self, user):
        """An environment of ``user`` on a read-only transaction, as a request
        routed to the replica gets in tests."""
        self.env.flush_all()
        with contextlib.closing(self.registry.cursor(readonly=True)) as cr:
            yield api.Environment(cr, user.id, {"allowed_company_ids": self.company.ids})

    def routed_read_only(self, model, method):
        """Odoo's own decision for ``/web/dataset/call_kw`` (web's ``_call_kw_readonly``)."""
        request = SimpleNamespace(
            get_json_data=lambda: {"params": {"model": model, "method": method}}, registry=self.registry
        )
        with patch.object(dataset, "request", request):
            return dataset.DataSet._call_kw_readonly(None)

    @mute_logger("odoo.sql_db")
    def test_the_read_only_transaction_refuses_writes(self):
        """What the other tests rely on: a write fails there."""
        # The read-only transaction is left first: assertRaises rolls back to a savepoint of its own.
        with self.assertRaises(errors.ReadOnlySqlTransaction), self.read_only_env(self.manager) as env:
            env["res.partner"].browse(self.partner.id).write({"phone": "+86 21 5555 0199"})
            env.flush_all()

    def test_screens_read_in_a_read_only_transaction(self):
        with self.read_only_env(self.manager) as env:
            client = EnvClient(env)
            screens.open_screens(client)
        opened = {screen for screen, _model, _method in client.calls}
        self.assertEqual(opened, set(screens.ACTIONS) | {screens.PARTNER_FORM})
        self.assertIn((screens.PARTNER_FORM, "res.partner", "web_read"), client.calls)

    def test_read_only_entry_points_in_a_read_only_transaction(self):
        records = {
            "res.partner": self.partner,
            "customer.tier": self.tier_a,
            "customer.rfm.segment": self.env["customer.rfm.segment"].search(
                [("company_id", "=", self.company.id)], limit=1
            ),
            "customer.service.policy": self.env["customer.service.policy"].search(
                [("company_id", "=", self.company.id)], limit=1
            ),
        }
        with self.read_only_env(self.manager) as env:
            for model, method in sorted(READONLY):
                with self.subTest(model=model, method=method):
                    action = getattr(env[model].browse(records[model].id), method)()
                    self.assertEqual(action["type"], "ir.actions.act_window")

    def test_public_methods_routed_to_the_replica_are_the_read_only_ones(self):
        """Every public method of the add-on: routed read-only exactly when it is in READONLY."""
        defined = {
            (model_name, name)
            for model_name in self.env.registry
            for cls in type(self.env[model_name]).__mro__
            if cls.__module__.startswith("odoo.addons.customer_tiering.")
            for name, member in vars(cls).items()
            if inspect.isfunction(member) and not regex_private.match(name)
        }
        self.assertTrue(defined >= READONLY)
        routed = {key for key in defined if self.routed_read_only(*key)}
        self.assertEqual(routed, READONLY)

    def test_web_client_calls_run_read_only_over_rpc(self):
        """The screens' calls over ``/web/dataset/call_kw`` and the read-only
        buttons over ``/web/dataset/call_button``: each runs once, on a
        read-only transaction exactly when Odoo routes it to the replica (a
        write would have failed and been run again on the primary)."""
        served = []
        call_kw = dataset.call_kw

        def recording_call_kw(model, name, args, kwargs):
            mode = model.env.execute_query(SQL("SHOW transaction_read_only"))[0][0]
            served.append((model._name, name, mode))
            return call_kw(model, name, args, kwargs)

        self.authenticate("ct_replica_manager", "ct_replica_manager_pw")
        client = RpcClient(self)
        with patch.object(dataset, "call_kw", recording_call_kw):
            screens.open_screens(client)
            for model, method in sorted(READONLY):
                record = self.partner if model == "res.partner" else self.env[model].search([], limit=1)
                client.calls.append((None, model, method))
                params = {"model": model, "method": method, "args": [record.ids], "kwargs": {}}
                self.make_jsonrpc_request(f"/web/dataset/call_button/{model}/{method}", params)
        expected = [
            (model, method, "on" if screens.routed_to_replica(method) or (model, method) in READONLY else "off")
            for _screen, model, method in client.calls
        ]
        self.assertEqual(served, expected)
        self.assertIn(("customer.tiering.analysis", "read_group", "on"), served)
