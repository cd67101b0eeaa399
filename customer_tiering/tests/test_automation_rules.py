from unittest.mock import patch

from odoo import Command
from odoo.tests import freeze_time, tagged

from .. import automation
from .common import TieringInvoiceCommon

JOB_LOGGER = "odoo.addons.customer_tiering.models.customer_tiering_job"


@tagged("post_install", "-at_install")
@freeze_time("2024-07-01")
class TestAutomationRules(TieringInvoiceCommon):
    """Automation Rules and the ``_on_tiering_changed`` hook for the values
    the nightly job writes in SQL."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.big = Partner.create({"name": "Big Co", "is_company": True})
        cls.buyer = Partner.create({"name": "Big Co Buyer", "parent_id": cls.big.id})
        cls.mid = Partner.create({"name": "Mid Co", "is_company": True})
        cls.small = Partner.create({"name": "Small Co", "is_company": True})
        # window 10000: Big -> A, Mid -> B, Small -> C
        cls.post_invoice(cls.buyer, 8000.0, "2024-05-01")
        cls.post_invoice(cls.mid, 1500.0, "2024-04-01")
        cls.post_invoice(cls.small, 500.0, "2024-03-01")
        cls.other_data = cls.setup_other_company(name="Other Co")
        cls.other_customer = Partner.create({"name": "Other Co Customer", "is_company": True})
        cls.post_invoice(cls.other_customer, 9000.0, "2024-06-01", company=cls.other_data)

    def rule(self, model="res.partner", trigger="on_write", fields=(), code="", **values):
        """An automation rule with one "Execute Code" action, as a user creates
        it in Settings > Technical > Automation Rules."""
        model_id = self.env["ir.model"]._get_id(model)
        rule = self.env["base.automation"].create(
            {
                "name": "Tiering rule",
                "model_id": model_id,
                "trigger": trigger,
                "trigger_field_ids": [Command.set([self.field(model, name).id for name in fields])],
                "action_server_ids": [
                    Command.create({"name": "Mark", "model_id": model_id, "state": "code", "code": code})
                ],
                **values,
            }
        )
        # as base_automation's own create leaves it
        self.assertEqual(rule.trigger, trigger)
        return rule

    def field(self, model, name):
        return self.env["ir.model.fields"]._get(model, name)

    def tier_a_rule(self, **values):
        return self.rule(
            fields=["tier_id"],
            filter_domain=f"[('tier_id', '=', {self.tier_a.id})]",
            code="records.write({'ref': 'tier A'})",
            **values,
        )

    def marked(self, *partners):
        return [partner.name for partner in partners if partner.ref]

    def test_rule_runs_on_exactly_the_moved_customers(self):
        self.tier_a_rule()
        self.run_cron()
        self.assertEqual(self.big.tier_id, self.tier_a)
        self.assertEqual(self.buyer.tier_id, self.tier_a)
        self.assertEqual(self.other_customer.with_company(self.other_data["company"]).tier_id.code, "A")
        everyone = (self.big, self.buyer, self.mid, self.small, self.other_customer)
        self.assertEqual(self.marked(*everyone), ["Big Co"], "entities only, in their own company's tier")
        self.big.ref = False
        self.run_full()
        self.assertFalse(self.marked(self.big), "a customer who stays in A does not trigger the rule again")

    def test_pre_domain_on_the_old_value(self):
        self.tier_a_rule(filter_pre_domain=f"[('tier_id', '=', {self.tier_b.id})]")
        self.run_cron()
        self.assertFalse(self.marked(self.big, self.mid, self.small), "no one came from B")
        self.post_invoice(self.mid, 50000.0, "2024-06-30")
        self.run_full()
        self.assertEqual((self.mid.tier_id, self.big.tier_id), (self.tier_a, self.tier_b))
        self.assertEqual(self.marked(self.big, self.buyer, self.mid, self.small), ["Mid Co"], "B to A only")

    def test_rule_on_history_creation(self):
        self.rule(
            model="customer.tier.history",
            trigger="on_create",
            code="for record in records: record.partner_id.write({'ref': (record.partner_id.ref or '') + 'H'})",
        )
        self.run_cron()
        history = self.env["customer.tier.history"].search([("company_id", "=", self.company.id)])
        self.assertEqual(history.partner_id, self.big | self.mid | self.small)
        self.assertEqual([partner.ref for partner in (self.big, self.mid, self.small)], ["H", "H", "H"])
        self.assertFalse(self.buyer.ref)
        self.run_full()
        self.assertEqual(self.big.ref, "H", "no new history row, no new run")

    def test_hook_receives_old_and_new_values(self):
        calls = []

        def record(partners, changes):
            calls.append((partners.env.company, changes))

        with patch.object(self.registry["res.partner"], "_on_tiering_changed", autospec=True, side_effect=record):
            self.run_cron()
            first = dict(calls)[self.company]
            big = first.partners[self.big.id]
            self.assertEqual(big["tier_id"], (False, self.tier_a.id))
            self.assertEqual(big["lifecycle_stage"], (False, self.big.lifecycle_stage))
            self.assertEqual(big["churn_risk_level"], (False, self.big.churn_risk_level))
            self.assertNotIn(self.buyer.id, first.partners, "contacts follow their entity")
            self.assertNotIn(self.other_customer.id, first.partners)
            tier_history = self.env["customer.tier.history"].search([("company_id", "=", self.company.id)])
            self.assertEqual(sorted(first.tier_history_ids), sorted(tier_history.ids))
            calls.clear()
            old_risk = self.big.churn_risk_level
            self.post_invoice(self.mid, 50000.0, "2024-06-30")
            self.run_full()
        second = dict(calls)[self.company]
        self.assertEqual(second.partners[self.big.id]["tier_id"], (self.tier_a.id, self.tier_b.id))
        self.assertEqual(second.partners[self.mid.id]["tier_id"], (self.tier_b.id, self.tier_a.id))
        if "churn_risk_level" in second.partners[self.big.id]:
            self.assertEqual(second.partners[self.big.id]["churn_risk_level"], (old_risk, self.big.churn_risk_level))
        for values in second.partners.values():
            for old, new in values.values():
                self.assertNotEqual(old, new, "only the fields that changed")

    def test_failing_rule_keeps_the_committed_tiers(self):
        self.rule(fields=["tier_id"], code="records.write({'ref': 'half done'})\nraise UserError('boom')")
        with self.assertLogs(JOB_LOGGER, "ERROR") as logs:
            self.run_cron()
        self.assertIn(str(self.big.id), logs.output[0])
        self.assertEqual(
            (self.big.tier_id, self.mid.tier_id, self.buyer.tier_id), (self.tier_a, self.tier_b, self.tier_a)
        )
        self.assertEqual(len(self.history(self.big)), 1)
        self.assertFalse(self.marked(self.big, self.mid, self.small), "the hook's own work is rolled back")

    def test_no_rule_costs_only_the_lookup(self):
        self.env["base.automation"].search([]).unlink()
        BaseAutomation = self.registry["base.automation"]
        seen = []
        hook = type(self.env["customer.tiering.job"])._call_tiering_hook

        def call_hook(job, company, changes):
            seen.append(changes)
            return hook(job, company, changes)

        with (
            patch.object(automation, "find_rules", wraps=automation.find_rules) as find_rules,
            patch.object(self.registry["customer.tiering.job"], "_call_tiering_hook", call_hook),
            patch.object(BaseAutomation, "_filter_pre") as filter_pre,
            patch.object(BaseAutomation, "_process") as process,
        ):
            self.run_cron()
        self.assertTrue(seen and all(changes.partners for changes in seen))
        self.assertEqual(find_rules.call_count, len(seen), "one lookup per run of a company, one chunk each here")
        self.assertFalse(filter_pre.called or process.called)
        with self.assertQueryCount(0):
            self.env["res.partner"]._on_tiering_changed(seen[0])
        # the savepoint around the hook, for an integrator's override that fails
        with self.assertQueryCount(2):
            self.env["customer.tiering.job"]._call_tiering_hook(self.company, seen[0])
