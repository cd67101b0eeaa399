"""Every figure of the Tier Summary, the Lifecycle Funnel and the cohort
table, on a small history whose numbers are worked out by hand.

The report period is the second half of 2025; the previous period, of the
same length, runs from 2024-12-29 to 2025-06-30. Points are one per unit of
currency (multiplier 1 for every tier and for no tier).

========  ==========================  ================================  ==========================
customer  purchases (untaxed)         tier history                      stage history
========  ==========================  ================================  ==========================
Eve       600 2024-10-31, 700 05-05,  → B 2024-11-01, B → A 2026-01-10  new, active 2025-01-15,
          300 07-20                   (after the period)                loyal 2025-07-21
Anna      1000 02-10, 2000 08-05      → B 02-11, B → A 09-01            new 02-11, active 06-01
          less a credit note of 500
Bob       3000 03-01, 400 11-20       → A 03-02, A → C 10-01            new, active 06-01,
                                                                        sleeping 10-01,
                                                                        reactivated 11-21
Cleo      200 03-20                   → C 03-21, C → none 12-01         new 03-21, churned 12-01
Dan       800 09-10, 100 10-10        → C 09-11                         new 09-11, active 2026-01-05
          (cancelled)                                                   (after the period)
========  ==========================  ================================  ==========================

Points besides: Bob redeems 100 on 2025-03-15 and Eve 250 on 2025-10-15;
the expiry of 2025-11-30 (12 months) expires 350 of Eve's oldest points;
Anna gets 50 by hand on 2025-12-15 and Bob loses 30 on 2025-12-16.
"""

from datetime import date, datetime

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import SQL

from ..models.customer_lifecycle_history import STAGES
from .common import TieringInvoiceCommon

PERIOD = {"date_from": "2025-07-01", "date_to": "2025-12-31"}


@tagged("post_install", "-at_install")
class TestReportFigures(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.write({"points_start_date": date(2024, 1, 1), "points_per_currency": 1.0})
        cls.tiers.write({"points_multiplier": 1.0})
        Partner = cls.env["res.partner"]
        cls.eve, cls.anna, cls.bob, cls.cleo, cls.dan = (
            Partner.create({"name": name, "is_company": True}) for name in ("Eve", "Anna", "Bob", "Cleo", "Dan")
        )
        cls._purchases()
        cls._tier_history()
        cls._stage_history()
        cls._points()

    @classmethod
    def _purchases(cls):
        for partner, amount, day in [
            (cls.eve, 600.0, "2024-10-31"),
            (cls.anna, 1000.0, "2025-02-10"),
            (cls.bob, 3000.0, "2025-03-01"),
            (cls.cleo, 200.0, "2025-03-20"),
            (cls.eve, 700.0, "2025-05-05"),
            (cls.eve, 300.0, "2025-07-20"),
            (cls.dan, 800.0, "2025-09-10"),
            (cls.bob, 400.0, "2025-11-20"),
        ]:
            cls.post_invoice(partner, amount, day)
        cls.credit_note(cls.post_invoice(cls.anna, 2000.0, "2025-08-05"), 500.0)
        cls.post_invoice(cls.dan, 100.0, "2025-10-10").button_draft()  # cancelled: its points reversed

    @classmethod
    def _tier_history(cls):
        """The rows the nightly job and a manual change would have written, on those nights."""
        a, b, c = cls.tier_a, cls.tier_b, cls.tier_c
        cls.env["customer.tier.history"].sudo().create(
            [
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "old_tier_id": old.id,
                    "new_tier_id": new.id,
                    "date": datetime.fromisoformat(when),
                    "reason": "computed",
                }
                for partner, old, new, when in [
                    (cls.eve, a.browse(), b, "2024-11-01 02:00"),
                    (cls.anna, a.browse(), b, "2025-02-11 02:00"),
                    (cls.bob, a.browse(), a, "2025-03-02 02:00"),
                    (cls.cleo, a.browse(), c, "2025-03-21 02:00"),
                    (cls.anna, b, a, "2025-09-01 02:00"),
                    (cls.dan, a.browse(), c, "2025-09-11 02:00"),
                    (cls.bob, a, c, "2025-10-01 02:00"),
                    (cls.cleo, c, a.browse(), "2025-12-01 02:00"),
                    (cls.eve, b, a, "2026-01-10 02:00"),
                ]
            ]
        )

    @classmethod
    def _stage_history(cls):
        cls.env["customer.lifecycle.history"].sudo().create(
            [
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "old_stage": old,
                    "new_stage": new,
                    "date": datetime.fromisoformat(when),
                }
                for partner, old, new, when in [
                    (cls.eve, False, "new", "2024-11-01 02:00"),
                    (cls.eve, "new", "active", "2025-01-15 02:00"),
                    (cls.anna, False, "new", "2025-02-11 02:00"),
                    (cls.bob, False, "new", "2025-03-02 02:00"),
                    (cls.cleo, False, "new", "2025-03-21 02:00"),
                    (cls.anna, "new", "active", "2025-06-01 02:00"),
                    (cls.bob, "new", "active", "2025-06-01 02:00"),
                    (cls.eve, "active", "loyal", "2025-07-21 02:00"),
                    (cls.dan, False, "new", "2025-09-11 02:00"),
                    (cls.bob, "active", "sleeping", "2025-10-01 02:00"),
                    (cls.bob, "sleeping", "reactivated", "2025-11-21 02:00"),
                    (cls.cleo, "new", "churned", "2025-12-01 02:00"),
                    (cls.dan, "new", "active", "2026-01-05 02:00"),
                ]
            ]
        )

    @classmethod
    def _points(cls):
        cls._redeem(cls.bob, 100.0, "2025-03-15 10:00")
        cls._redeem(cls.eve, 250.0, "2025-10-15 10:00")
        Ledger = cls.env["customer.loyalty.ledger"].sudo()
        cls.config.points_expiry_months = 12
        Ledger._expire(cls.config, date(2025, 11, 30))
        with freeze_time("2025-12-15"):
            Ledger._adjust(cls.anna, 50.0, "Trade fair", "adjust:test:anna")
        with freeze_time("2025-12-16"):
            Ledger._adjust(cls.bob, -30.0, "Correction", "adjust:test:bob")

    @classmethod
    def _redeem(cls, partner, points, when):
        """The line a confirmed sale order writes when it spends points on a
        reward, recorded at ``when``."""
        card = cls.card(partner)
        order = cls.quotation(partner)
        line = (
            cls.env["loyalty.history"]
            .sudo()
            .create(
                {
                    "card_id": card.id,
                    "order_model": "sale.order",
                    "order_id": order.id,
                    "description": f"Order {order.name}",
                    "used": points,
                }
            )
        )
        card.sudo().points -= points
        cls.env.flush_all()
        cls.env.cr.execute(
            SQL("UPDATE loyalty_history SET create_date = %s WHERE id = %s", datetime.fromisoformat(when), line.id)
        )
        cls.env.invalidate_all()

    @classmethod
    def card(cls, partner):
        return cls.env["loyalty.card"].search([("partner_id", "=", partner.id), ("is_tier_card", "=", True)])

    def summary(self, **period):
        period = {**PERIOD, **period}
        return self.env["report.customer_tiering.report_tier_summary"]._summary(
            self.company, date.fromisoformat(period["date_from"]), date.fromisoformat(period["date_to"])
        )

    # ------------------------------------------------------------ Tier Summary

    def test_the_ledger_balances(self):
        """The data is what the story says: the cards hold what the ledger's
        lines add up to, and Eve's oldest points expired."""
        balances = {
            partner.name: self.card(partner).points for partner in (self.eve, self.anna, self.bob, self.cleo, self.dan)
        }
        self.assertEqual(balances, {"Eve": 1000.0, "Anna": 2550.0, "Bob": 3270.0, "Cleo": 200.0, "Dan": 800.0})

    def test_period_figures(self):
        values = self.summary()
        self.assertEqual(values["previous_from"], date(2024, 12, 29))
        self.assertEqual(values["previous_to"], date(2025, 6, 30))
        self.assertEqual(
            [(row["tier"], row["revenue"]) for row in values["revenue_rows"]],
            [(self.tier_a, 0.0), (self.tier_b, 1800.0), (self.tier_c, 400.0)],
            "by the tier on the invoice date: Anna's 2000 less 500 and Eve's 300 in B, Bob's 400 in C",
        )
        self.assertEqual(values["revenue_without_tier"], 800.0, "Dan's first purchase, before any tier")
        self.assertEqual(values["total_revenue"], 3000.0, "the cancelled invoice is no sale")
        self.assertEqual(
            [round(row["share"], 4) for row in values["revenue_rows"]], [0.0, 0.6, 0.1333], "of the total revenue"
        )
        self.assertEqual(values["buyers"], 4, "Eve, Anna, Bob and Dan bought in the period")
        self.assertEqual(values["new_customers"], 1, "Dan")
        self.assertEqual(values["previous_buyers"], 4, "Anna, Bob, Cleo and Eve bought in the previous period")
        self.assertEqual(values["retained"], 3, "Cleo did not come back")
        self.assertEqual(values["retention_rate"], 0.75)

    def test_points_by_points_date(self):
        self.assertEqual(
            self.summary()["points"],
            {
                "issued": 3600.0,  # 300 + 2000 + 800 + 100 + 400
                "redeemed": 250.0,  # Eve's order; Bob's was in the previous period
                "reversed": 600.0,  # Anna's credit note, Dan's cancelled invoice
                "expired": 350.0,  # what Eve had left of her 600 of 2024-10-31
                "adjusted": 20.0,  # 50 - 30
                "net": 2420.0,
            },
        )
        self.assertEqual(
            self.summary(date_from="2024-12-29", date_to="2025-06-30")["points"],
            {"issued": 4900.0, "redeemed": 100.0, "reversed": 0.0, "expired": 0.0, "adjusted": 0.0, "net": 4800.0},
            "the previous period's: a credit note of August takes back August's points",
        )

    def test_ledger_shows_reversals_as_reversed(self):
        """The ledger's lines and groups, and the card's lines, tell a
        credit note's take-back from a redemption and an expiry."""
        History = self.env["loyalty.history"]
        cards = self.env["loyalty.card"].search([("partner_id", "in", (self.eve | self.anna | self.dan).ids)])
        period = [("card_id", "in", cards.ids), ("points_day", ">=", "2025-07-01"), ("points_day", "<=", "2025-12-31")]
        figures = ["points_issued", "points_redeemed", "points_reversed", "points_expired", "points_adjusted"]
        groups = History.read_group(period, [f"{fname}:sum" for fname in figures], ["points_movement"], lazy=False)
        self.assertEqual(
            {group["points_movement"]: [group[fname] for fname in figures] for group in groups},
            {
                "issued": [3200.0, 0.0, 0.0, 0.0, 0.0],  # Eve 300, Anna 2000, Dan 800 and 100
                "redeemed": [0.0, 250.0, 0.0, 0.0, 0.0],
                "reversed": [0.0, 0.0, 600.0, 0.0, 0.0],
                "expired": [0.0, 0.0, 0.0, 350.0, 0.0],
                "adjusted": [0.0, 0.0, 0.0, 0.0, 50.0],
            },
        )
        by_month = History.read_group(period, ["points_reversed:sum"], ["points_day:month"], lazy=False)
        self.assertEqual(
            [(group["points_day:month"], group["points_reversed"]) for group in by_month],
            [
                ("July 2025", 0.0),
                ("August 2025", 500.0),
                ("September 2025", 0.0),
                ("October 2025", 100.0),
                ("November 2025", 0.0),
                ("December 2025", 0.0),
            ],
        )
        refund = History.search([("card_id", "=", self.card(self.anna).id), ("points_kind", "=", "refund")])
        redemption = History.search([("card_id", "=", self.card(self.eve).id), ("points_kind", "=", False)])
        self.assertRecordValues(
            refund | redemption,
            [
                {
                    "points_movement": "reversed",
                    "points_day": date(2025, 8, 5),
                    "points_reversed": 500.0,
                    "points_redeemed": 0.0,
                },
                {
                    "points_movement": "redeemed",
                    "points_day": date(2025, 10, 15),
                    "points_reversed": 0.0,
                    "points_redeemed": 250.0,
                },
            ],
        )
        self.assertEqual(
            History.search([("points_movement", "=", "redeemed"), ("card_id", "in", cards.ids)]), redemption
        )

    def test_as_of_the_start_and_end(self):
        values = self.summary()
        a, b, c = self.tier_a.id, self.tier_b.id, self.tier_c.id
        self.assertEqual(
            values["migration"],
            {(b, b): 1, (b, a): 1, (a, c): 1, (c, None): 1, (None, c): 1},
            "Eve stays in B (her move to A is after the period), Anna B → A, Bob A → C, Cleo loses C, Dan new in C",
        )
        self.assertEqual(values["tier_moves"], 4)
        self.assertEqual(values["customers_start"], {a: 1, b: 2, c: 1})
        self.assertEqual(values["customers_end"], {a: 1, b: 1, c: 2})
        self.assertEqual(
            [(stage, count) for stage, _label, count in values["stages"]],
            [
                ("potential", 0),
                ("new", 1),  # Dan: his move to active is after the period
                ("active", 1),  # Anna
                ("loyal", 1),  # Eve
                ("sleeping", 0),  # Bob slept in October, came back in November
                ("churned", 1),  # Cleo
                ("reactivated", 1),  # Bob
            ],
            "in lifecycle order",
        )
        self.assertEqual(values["today_rows"], [], "no value of today under a past period")

    def test_printed_summary(self):
        wizard = self.env["customer.tier.summary.wizard"].create(
            {"date_from": date(2025, 7, 1), "date_to": date(2025, 12, 31)}
        )
        self.company.external_report_layout_id = self.env.ref("web.external_layout_standard")
        html, _format = self.env["ir.actions.report"]._render_qweb_html(
            "customer_tiering.report_tier_summary", wizard.ids, data=wizard.action_print()["data"]
        )
        html = html.decode()
        for text in (
            "3,000.00",
            "1,800.00",
            "2,420",
            "Reversed (credit notes, cancellations)",
            "New (no tier at the start)",
        ):
            self.assertIn(text, html)
        self.assertNotIn("Predicted CLV", html, "not historised: not printed for a past period")

    def test_today_figures_for_a_period_reaching_today(self):
        """A period that reaches today shows today's values of what has no
        history, as the customers hold them today."""
        self.classified_customers({"Today Buyer": [(900.0, date.today().replace(day=1))]})
        today = date.today()
        values = self.summary(date_from=today.replace(month=1, day=1).isoformat(), date_to=today.isoformat())
        customers = self.env["res.partner"].search([("tier_id", "!=", False)])
        self.assertTrue(customers)
        self.assertEqual(
            [(row["tier"], row["customers"], row["clv"], row["at_risk"]) for row in values["today_rows"]],
            [
                (
                    tier,
                    len(customers.filtered(lambda p, t=tier: p.tier_id == t)),
                    sum(customers.filtered(lambda p, t=tier: p.tier_id == t).mapped("clv_predicted")),
                    len(customers.filtered(lambda p, t=tier: p.tier_id == t and p.churn_risk_level == "high")),
                )
                for tier in self.tiers
            ],
        )

    # ------------------------------------------------------------ Lifecycle Funnel

    def test_funnel_in_lifecycle_order(self):
        for partner, stage in [
            (self.anna, "active"),
            (self.bob, "reactivated"),
            (self.cleo, "churned"),
            (self.dan, "new"),
            (self.eve, "loyal"),
        ]:
            partner.lifecycle_stage = stage
        self.env.flush_all()
        Analysis = self.env["customer.tiering.analysis"]
        groups = Analysis.web_read_group(
            [("company_id", "=", self.company.id), ("lifecycle_stage", "!=", False)],
            ["customer_count:sum"],
            ["lifecycle_stage"],
            lazy=False,
        )["groups"]
        self.assertEqual(
            [(group["lifecycle_stage"], group["customer_count"]) for group in groups],
            [("new", 1), ("active", 1), ("loyal", 1), ("churned", 1), ("reactivated", 1)],
            "from new to churned and back, not alphabetical",
        )
        self.assertEqual(
            [stage for stage, _label in STAGES][1:4], ["new", "active", "loyal"], "the stage vocabulary's order"
        )
        action = self.env.ref("customer_tiering.customer_tiering_analysis_action_funnel")
        pivot = self.env.ref("customer_tiering.customer_tiering_analysis_view_pivot_funnel")
        self.assertIn((pivot.id, "pivot"), [(view.view_id.id, view.view_mode) for view in action.view_ids])
        self.assertIn('<field name="lifecycle_stage" type="row"/>', pivot.arch)
        self.assertEqual(
            self.env.ref("customer_tiering.customer_tiering_menu_funnel").action, action, "the menu opens it"
        )

    # ------------------------------------------------------------ Retention by Cohort

    def test_cohort_table(self):
        """Every cohort has a row for every month up to the latest purchase
        month (November 2025); the cancelled invoice is no purchase."""
        cohorts = {
            # cohort: (size, last month number, {month number: buying customers})
            date(2024, 10, 1): (1, 13, {0: 1, 7: 1, 9: 1}),  # Eve
            date(2025, 2, 1): (1, 9, {0: 1, 6: 1}),  # Anna
            date(2025, 3, 1): (2, 8, {0: 2, 8: 1}),  # Bob and Cleo; Bob again in November
            date(2025, 9, 1): (1, 2, {0: 1}),  # Dan
        }
        expected = [
            (cohort, number, size, active.get(number, 0), active.get(number, 0) / size)
            for cohort, (size, last, active) in cohorts.items()
            for number in range(last + 1)
        ]
        rows = self.env["customer.cohort.analysis"].search([("company_id", "=", self.company.id)])
        self.assertEqual(
            [
                (row.cohort, row.months_since, row.cohort_customers, row.active_customers, row.retention_rate)
                for row in rows
            ],
            expected,
        )
        self.assertEqual(rows.mapped("month_number"), [str(number) for *_c, number, _s, _a, _r in expected])
        self.assertEqual(rows[0].churn_rate, 0.0)
        self.assertEqual(rows[1].churn_rate, 1.0)

    def test_cohort_totals_and_labels(self):
        Cohort = self.env["customer.cohort.analysis"]
        domain = [("company_id", "=", self.company.id)]
        by_month = Cohort.web_read_group(
            domain, ["retention_rate:avg", "churn_rate:avg"], ["month_number"], lazy=False
        )["groups"]
        self.assertEqual([group["month_number"] for group in by_month], [str(number) for number in range(14)])
        retention = {group["month_number"]: group["retention_rate"] for group in by_month}
        self.assertEqual(retention["0"], 1.0, "every cohort bought in its first month")
        self.assertEqual(retention["8"], 0.25, "of the 4 customers of the 3 cohorts 8 months old, Bob")
        self.assertEqual(retention["13"], 0.0)
        self.assertEqual(by_month[8]["churn_rate"], 0.75)
        by_cohort = Cohort.web_read_group(domain, ["retention_rate:avg"], ["cohort:month"], lazy=False)["groups"]
        self.assertAlmostEqual(
            by_cohort[2]["retention_rate"], 3 / 18, msg="March 2025: 3 purchases in 9 months of 2 customers"
        )
        (total,) = Cohort.read_group(domain, ["retention_rate:avg"], [])
        self.assertAlmostEqual(total["retention_rate"], 9 / 45, msg="9 customer-months with a purchase of 45")
        labels = dict(Cohort.with_context(lang="en_US").fields_get(["month_number"])["month_number"]["selection"])
        self.assertEqual((labels["0"], labels["8"]), ("Month 0", "Month 8"))
        pivot = self.env.ref("customer_tiering.customer_cohort_analysis_view_pivot")
        self.assertIn('<field name="month_number" type="col"/>', pivot.arch)
