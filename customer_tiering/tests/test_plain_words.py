import babel.dates

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestPlainWords(TransactionCase):
    """Labels a sales team reads without a statistics course."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in ("en_US", "zh_CN"):
            cls.env["res.lang"]._activate_lang(lang)
        cls.company = cls.env["res.company"].create({"name": "Plain Words Co"})

    def test_customer_figures_have_plain_names(self):
        strings = {
            name: description["string"]
            for name, description in self.env["res.partner"]
            .with_context(lang="en_US")
            .fields_get(["p_alive", "value_at_risk", "revenue_window"], ["string"])
            .items()
        }
        self.assertEqual(
            strings,
            {
                "p_alive": "Still Buying (probability)",
                "value_at_risk": "Revenue at Risk",
                "revenue_window": "Recent Revenue",
            },
        )

    # ------------------------------------------------------------ model fits
    def fit(self, **values):
        return self.env["customer.churn.model"].create(
            {"company_id": self.company.id, "fit_date": "2026-06-01 02:00:00", "converged": True, **values}
        )

    def test_fit_summary_says_what_the_fit_means(self):
        older = self.fit(method="mbgnbd", r=1.5, alpha=67.5, a=0.5, b=4.5)
        latest = self.fit(method="mbgnbd", r=2.0, alpha=60.0, a=0.5, b=4.5)
        for p_alive in (0.9, 0.5, 0.4):
            partner = self.env["res.partner"].create({"name": f"Buyer {p_alive}", "is_company": True})
            partner.with_company(self.company).p_alive = p_alive
        # Another company's scores are not this fit's.
        self.env["res.partner"].create({"name": "Elsewhere", "is_company": True}).p_alive = 0.0
        en = latest.with_context(lang="en_US")
        self.assertEqual(en.purchase_interval_days, 30.0, "purchase rate r / alpha = 1/30 per day")
        self.assertAlmostEqual(en.still_buying_share, 0.6)
        self.assertEqual(en.summary, "A typical customer buys every 30 days; 60% of customers are still buying.")
        older = older.with_context(lang="en_US")
        self.assertEqual(older.summary, "A typical customer buys every 45 days.", "the scores are the latest fit's")
        self.assertEqual(older.still_buying_share, 0.0)
        heuristic = self.fit(method="heuristic", converged=False)
        self.assertEqual(
            heuristic.with_context(lang="en_US").summary,
            "Too few repeat customers for a model: each customer's own rhythm is used; "
            "60% of customers are still buying.",
        )
        self.assertFalse(heuristic.purchase_interval_days)

    def test_fit_parameters_explain_themselves(self):
        descriptions = self.env["customer.churn.model"].fields_get(
            ["r", "alpha", "a", "b", "p", "q", "gamma"], ["help"]
        )
        for name, description in descriptions.items():
            self.assertTrue(description.get("help"), name)

    # ------------------------------------------------------------ month labels
    def test_month_groups_read_as_the_language_writes_a_month(self):
        partner = self.env["res.partner"].create({"name": "Monthly Buyer", "is_company": True})
        self.env["customer.lifecycle.history"].create(
            {"partner_id": partner.id, "company_id": self.company.id, "new_stage": "active", "date": "2026-01-15 10:00"}
        )
        domain = [("partner_id", "=", partner.id)]

        def label(lang, granularity):
            history = self.env["customer.lifecycle.history"].with_context(lang=lang)
            [group] = history.read_group(domain, ["date"], [f"date:{granularity}"])
            return group[f"date:{granularity}"]

        self.assertEqual(label("zh_CN", "month"), "2026年1月")
        self.assertEqual(label("zh_CN", "quarter"), "2026年第1季度")
        self.assertEqual(label("en_US", "month"), "January 2026")
        self.assertEqual(label("en_US", "quarter"), "Q1 2026")
        # Pivots group lazily=False: the same labels.
        [group] = (
            self.env["customer.lifecycle.history"]
            .with_context(lang="zh_CN")
            .read_group(domain, ["date"], ["date:month", "new_stage"], lazy=False)
        )
        self.assertEqual(group["date:month"], "2026年1月")
        # Other modules' models keep Odoo's own labels.
        [group] = (
            self.env["res.partner"]
            .with_context(lang="zh_CN")
            .read_group([("id", "=", partner.id)], ["create_date"], ["create_date:month"])
        )
        expected = babel.dates.format_date(partner.create_date, "MMMM yyyy", locale="zh_CN")
        self.assertEqual(group["create_date:month"], expected)
