from ast import literal_eval
from datetime import date, timedelta
from unittest.mock import patch

from odoo.tests import freeze_time, tagged

from odoo.addons.customer_tiering.engine import btyd

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestRiskLevel(TieringInvoiceCommon):
    """The risk level relative to each customer's own rhythm through the
    nightly job, and the lists built on it (docs/risk.md)."""

    def run_at(self, day):
        with freeze_time(day):
            self.run_cron()
        self.env.invalidate_all()

    def customer(self, name, days, amount=100.0):
        partner = self.env["res.partner"].create({"name": name, "is_company": True})
        for day in days:
            self.post_invoice(partner, amount, day)
        return partner

    def test_quarterly_buyer_through_the_nightly_job(self):
        """Five purchases 91 days apart, scored by a fitted MBG/NBD model
        (stubbed: the engine tests cover the fits). 45 days after the last
        one, P(no purchase in 90 days) is 53%, medium under the old rule;
        against its expected interval of (30 + 364) / 4.5 = 87.6 days it is
        low. 95 days after, its next order is due: medium."""
        self.config.write({"churn_method": "mbgnbd", "churn_min_repeaters": 1})
        count = btyd.CountModel("mbgnbd", r=0.5, alpha=30.0, a=0.8, b=2.5, log_likelihood=-12.5, converged=True)
        spend = btyd.SpendModel(p=6.0, q=4.0, gamma=15.0, log_likelihood=-3.0, converged=True)
        first = date(2024, 1, 1)
        quarterly = self.customer("Quarterly Co", [first + timedelta(days=91 * n) for n in range(5)])
        last = first + timedelta(days=364)
        with (
            patch.object(btyd, "fit_count_model", return_value=count),
            patch.object(btyd, "fit_spend_model", return_value=spend),
        ):
            self.run_at(last + timedelta(days=45))
            self.assertAlmostEqual(quarterly.churn_risk, 0.5268, places=4)
            self.assertAlmostEqual(quarterly.p_alive, 0.8332, places=4)
            self.assertEqual(quarterly.churn_risk_level, "low")
            self.assertEqual(quarterly.lifecycle_stage, "active")
            self.run_at(last + timedelta(days=95))
        self.assertEqual(quarterly.churn_risk_level, "medium")
        self.assertEqual(quarterly.lifecycle_stage, "active")
        self.assertTrue(quarterly.suggested_action.startswith("Check in"))

    def test_at_risk_and_win_back_lists(self):
        """Heuristic scores (few repeat customers): every buyer's interval is
        its own mean interval. Customers at Risk lists those still buying
        whose next order is late, by revenue at risk; Win-back those who
        stopped buying, which the win-back policy targets within a year."""
        monthly = [date(2023, 1, 1), date(2023, 1, 31), date(2023, 3, 2)]
        late_big = self.customer("Late Big", monthly, 5000.0)
        late_small = self.customer("Late Small", monthly, 50.0)
        on_rhythm = self.customer("On Rhythm", [date(2023, 2, 9), date(2023, 3, 11), date(2023, 4, 10)])
        sleeping = self.customer("Sleeping", [date(2023, 1, 15), date(2023, 2, 14)])
        lapsed = self.customer("Lapsed", [date(2022, 1, 1), date(2022, 1, 31)])
        ours = late_big | late_small | on_rhythm | sleeping | lapsed
        self.run_at("2023-04-10")  # 39 days after the late ones' last purchase: 1.3 intervals
        self.assertEqual(
            {partner.name: (partner.lifecycle_stage, partner.churn_risk_level) for partner in ours},
            {
                "Late Big": ("active", "medium"),
                "Late Small": ("active", "medium"),
                "On Rhythm": ("active", "low"),
                "Sleeping": ("sleeping", "high"),  # 55 days: 1.83 intervals
                "Lapsed": ("churned", "high"),
            },
        )

        def listed(xmlid):
            action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
            domain = literal_eval(action["domain"]) + [("id", "in", ours.ids)]
            return self.env["res.partner"].search(domain, order="value_at_risk desc")

        self.assertEqual(listed("customer_tiering.res_partner_action_at_risk"), late_big | late_small)
        self.assertGreater(late_big.value_at_risk, late_small.value_at_risk)
        self.assertEqual(set(listed("customer_tiering.res_partner_action_win_back")), {sleeping, lapsed})
        win_back = self.env["customer.service.policy"].search(
            [("company_id", "=", self.company.id), ("stage_ids", "!=", False)]
        )
        with freeze_time("2023-04-10"):
            self.assertEqual(late_big.suggested_action, "Check in: the next order is late (39 days)")
            self.assertEqual(on_rhythm.suggested_action, "Keep the usual rhythm")
            self.assertEqual(sleeping.suggested_action, "Win back: no purchase for 55 days; call and ask what changed")
            targeted = self.env["res.partner"].search(win_back._customer_domain() + [("id", "in", ours.ids)])
        self.assertEqual(targeted, sleeping, "lapsed customers who bought within the year")

    def test_buying_status_search(self):
        self.assertEqual(
            self.env["res.partner"]._search_buying_status("in", ["buying", "lapsed"]),
            [("lifecycle_stage", "in", ["new", "active", "loyal", "reactivated", "sleeping", "churned"])],
        )
        with self.assertRaises(NotImplementedError):
            self.env["res.partner"]._search_buying_status("!=", "buying")
