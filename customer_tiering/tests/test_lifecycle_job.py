from datetime import date
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import freeze_time, tagged

from odoo.addons.customer_tiering.engine import btyd

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestLifecycleJob(TieringInvoiceCommon):
    """A customer built from real posted invoices moves through new, active,
    sleeping and reactivated as the clock moves forward and the cron runs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({"name": "Lifecycle Co", "is_company": True})
        cls.prospect = cls.env["res.partner"].create({"name": "Prospect Co", "is_company": True})
        cls.env["sale.order"].create({"partner_id": cls.prospect.id})

    def run_at(self, day):
        with freeze_time(day):
            self.run_cron()
        self.customer.invalidate_recordset()

    def test_stages_over_time(self):
        self.post_invoice(self.customer, 100.0, "2024-01-01")
        self.run_at("2024-01-10")
        self.assertEqual(self.customer.lifecycle_stage, "new")
        self.assertEqual(self.customer.lifecycle_stage_since, date(2024, 1, 10))
        self.assertEqual(self.prospect.lifecycle_stage, "potential")

        self.post_invoice(self.customer, 100.0, "2024-02-01")
        self.post_invoice(self.customer, 100.0, "2024-03-01")
        self.run_at("2024-03-05")
        self.assertEqual(self.customer.lifecycle_stage, "active")
        self.assertEqual(self.customer.churn_risk_level, "low")
        # every 30 days: overdue by half an interval (the default share) 45 days after the last purchase
        self.assertEqual(self.customer.dormancy_date, date(2024, 4, 15))
        self.assertFalse(self.prospect.dormancy_date)

        # usual interval 30 days; 75 days of silence is 1.5 intervals overdue: P(alive) = e^-1.5
        self.run_at("2024-05-15")
        self.assertEqual(self.customer.lifecycle_stage, "sleeping")
        self.assertAlmostEqual(self.customer.p_alive, 0.2231, places=4)
        # no purchase in 90 days: (1 - e^-1.5) + e^-1.5 * e^-3
        self.assertAlmostEqual(self.customer.churn_risk, 0.788, places=3)
        # 75 / 30 = 2.5 intervals silent: late by more than the sleeping share (docs/risk.md)
        self.assertEqual(self.customer.churn_risk_level, "high")
        self.customer.invalidate_recordset(["message_ids"])
        tracking = self.customer.message_ids.tracking_value_ids.filtered(lambda t: t.field_id.name == "lifecycle_stage")
        self.assertEqual(
            tracking.mapped(lambda t: (t.old_value_char, t.new_value_char)),
            [("Active", "Sleeping"), ("New", "Active")],
            "stage moves are tracked in the chatter, the first stage only in the history",
        )

        self.post_invoice(self.customer, 100.0, "2024-05-20")
        self.run_at("2024-05-21")
        self.assertEqual(self.customer.lifecycle_stage, "reactivated")
        self.assertEqual(self.customer.lifecycle_stage_since, date(2024, 5, 21))
        # every 140 / 3 days now: ceil(70) days after the new purchase, moved by the incremental run
        self.assertEqual(self.customer.dormancy_date, date(2024, 7, 29))

        history = self.env["customer.lifecycle.history"].search([("partner_id", "=", self.customer.id)], order="id")
        self.assertEqual(
            [(h.old_stage or False, h.new_stage) for h in history],
            [(False, "new"), ("new", "active"), ("active", "sleeping"), ("sleeping", "reactivated")],
        )

    def test_fit_on_record_and_scores(self):
        self.post_invoice(self.customer, 100.0, "2024-01-01")
        self.post_invoice(self.customer, 300.0, "2024-02-01")
        self.run_at("2024-02-10")
        fit = self.env["customer.churn.model"].search([("company_id", "=", self.company.id)], limit=1)
        self.assertEqual(fit.method, "heuristic")
        self.assertFalse(fit.converged)
        self.assertEqual((fit.n_customers, fit.n_repeaters, fit.churn_horizon_days), (1, 1, 90))
        self.assertIn("200", fit.message)
        self.assertGreater(self.customer.clv_predicted, 0)
        self.assertEqual(self.customer.clv_historic, 400.0)
        self.assertAlmostEqual(
            self.customer.value_at_risk, round(self.customer.clv_predicted * self.customer.churn_risk), delta=1
        )
        self.assertGreater(self.customer.expected_purchases_90d, 0)

    def test_invalid_thresholds_are_refused(self):
        for values in (
            {"risk_medium": 0.9},
            {"risk_high": 1.0},
            {"stage_churned_p_alive": 0.6},
            {"churn_horizon_days": 0},
            {"clv_discount_rate": -0.1},
            {"stage_new_days": -5},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                self.config.write(values)

    def test_fitted_model_is_used_and_recorded(self):
        """With enough repeat customers the job scores with the fitted model of
        the company's chosen method (fits stubbed: the engine tests cover them)."""
        self.config.write({"churn_method": "bgnbd", "churn_min_repeaters": 1})
        count = btyd.CountModel("bgnbd", r=0.5, alpha=30.0, a=0.8, b=2.5, log_likelihood=-12.5, converged=True)
        spend = btyd.SpendModel(p=6.0, q=4.0, gamma=15.0, log_likelihood=-3.0, converged=True)
        self.post_invoice(self.customer, 100.0, "2024-01-01")
        self.post_invoice(self.customer, 100.0, "2024-02-01")
        with (
            patch.object(btyd, "fit_count_model", return_value=count) as fit_count,
            patch.object(btyd, "fit_spend_model", return_value=spend),
        ):
            self.run_at("2024-03-01")
        self.assertEqual(fit_count.call_args.args[3], "bgnbd")
        fit = self.env["customer.churn.model"].search([("company_id", "=", self.company.id)], limit=1)
        self.assertEqual(
            (fit.method, fit.converged, fit.r, fit.alpha, fit.p, fit.gamma), ("bgnbd", True, 0.5, 30.0, 6.0, 15.0)
        )
        expected = btyd.p_alive(count, [1], [31], [60])[0]
        self.assertAlmostEqual(self.customer.p_alive, expected, places=4)

    def test_sale_order_makes_a_prospect_potential_until_invoiced(self):
        self.run_at("2024-01-10")
        self.assertEqual(self.prospect.lifecycle_stage, "potential")
        order = self.env["sale.order"].search([("partner_id", "=", self.prospect.id)])
        order.write({"order_line": [Command.create({"product_id": self.product_a.id, "product_uom_qty": 1})]})
        self.post_invoice(self.prospect, 100.0, "2024-01-15")
        self.run_at("2024-01-20")
        self.prospect.invalidate_recordset()
        self.assertEqual(self.prospect.lifecycle_stage, "new")
