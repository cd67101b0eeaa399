from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from .common import TieringInvoiceCommon

#: What *Retention by Cohort* showed when it read every sale live, before
#: the nightly run kept its table: the reference the table must equal.
LIVE_COHORTS = """
    WITH purchases AS (
        SELECT s.company_id, s.commercial_partner_id AS partner_id,
               date_trunc('month', s.date)::date AS month
          FROM customer_sale s
         WHERE s.is_purchase AND s.company_id = %(company)s
         GROUP BY 1, 2, 3
    ), cohorts AS (
        SELECT company_id, partner_id, min(month) AS cohort FROM purchases GROUP BY 1, 2
    ), sizes AS (
        SELECT company_id, cohort, count(*) AS size FROM cohorts GROUP BY 1, 2
    ), activity AS (
        SELECT c.company_id, c.cohort, p.month, count(*) AS active
          FROM purchases p JOIN cohorts c USING (company_id, partner_id)
         GROUP BY 1, 2, 3
    ), months AS (
        SELECT s.company_id, s.cohort, s.size,
               generate_series(s.cohort, latest.month, interval '1 month')::date AS month
          FROM sizes s
          JOIN (SELECT company_id, max(month) AS month FROM purchases GROUP BY 1) latest USING (company_id)
    ), numbered AS (
        SELECT m.*, COALESCE(a.active, 0) AS active,
               ((extract(year FROM m.month) - extract(year FROM m.cohort)) * 12
                + extract(month FROM m.month) - extract(month FROM m.cohort))::int AS months_since
          FROM months m LEFT JOIN activity a USING (company_id, cohort, month)
    )
    SELECT company_id, cohort, month, months_since, months_since::text, size, active,
           active::float / size, 1 - active::float / size
      FROM numbered
     ORDER BY company_id, cohort, month
"""
FIELDS = [
    "company_id",
    "cohort",
    "month",
    "months_since",
    "month_number",
    "cohort_customers",
    "active_customers",
    "retention_rate",
    "churn_rate",
]


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestCohortTable(TieringInvoiceCommon):
    """Retention by Cohort reads the monthly table the nightly run keeps:
    after a full run, and after an incremental one, it shows what reading
    every sale live showed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company(name="Cohort Second Co")
        cls.company_2 = cls.company_data_2["company"]
        cls.env.user.company_ids |= cls.company_2
        Partner = cls.env["res.partner"]
        cls.alpha, cls.beta, cls.gamma, cls.dup = (
            Partner.create({"name": name, "is_company": True}) for name in ("Alpha", "Beta", "Gamma", "Alpha Dup")
        )
        cls.jane = Partner.create({"name": "Jane Buyer", "company_name": "Jane Trading Ltd"})
        cls.post_invoice(cls.alpha, 1000.0, "2026-01-10")
        cls.alpha_march = cls.post_invoice(cls.alpha, 500.0, "2026-03-05")
        cls.post_invoice(cls.beta, 200.0, "2026-01-20")
        cls.gamma_feb = cls.post_invoice(cls.gamma, 300.0, "2026-02-14")
        cls.post_invoice(cls.gamma, 300.0, "2026-04-14")
        cls.post_invoice(cls.dup, 100.0, "2025-12-01")
        cls.post_invoice(cls.dup, 100.0, "2026-05-01")
        cls.post_invoice(cls.jane, 400.0, "2026-02-01")
        # The same customer in the second company, in other months.
        cls.post_invoice(cls.alpha, 700.0, "2025-11-11", company=cls.company_data_2)
        cls.post_invoice(cls.beta, 700.0, "2026-06-11", company=cls.company_data_2)
        cls.cron.method_direct_trigger()

    def live(self, company):
        self.env["customer.sale"]._flush_sources()
        return [tuple(row) for row in self.env.execute_query(SQL(LIVE_COHORTS, company=company.id))]

    def shown(self, company):
        Cohort = self.env["customer.cohort.analysis"]
        Cohort.invalidate_model()
        rows = Cohort.search_read([("company_id", "=", company.id)], FIELDS)
        return [tuple(row[name][0] if name == "company_id" else row[name] for name in FIELDS) for row in rows]

    def pivot(self, company):
        """The pivot's cells: cohort × month number, with every measure."""
        groups = self.env["customer.cohort.analysis"].read_group(
            [("company_id", "=", company.id)],
            ["retention_rate:avg", "churn_rate:avg", "active_customers:sum", "cohort_customers:max"],
            ["cohort:month", "month_number"],
            lazy=False,
        )
        return [
            (
                group["cohort:month"],
                group["month_number"],
                round(group["retention_rate"], 9),
                round(group["churn_rate"], 9),
                group["active_customers"],
                group["cohort_customers"],
            )
            for group in groups
        ]

    def expected_pivot(self, company):
        cells = {}
        for _company, cohort, _month, _since, number, size, active, _rate, _churn in self.live(company):
            cells[(cohort, number)] = (size, active)
        ordered = sorted(cells.items(), key=lambda item: (item[0][0], int(item[0][1])))
        return [
            (number, round(active / size, 9), round(1 - active / size, 9), active, size)
            for (_cohort, number), (size, active) in ordered
        ]

    def assertShowsLive(self, company):
        live = self.live(company)
        self.assertTrue(live, "the company has cohorts")
        self.assertEqual(self.shown(company), live)
        self.assertEqual([cell[1:] for cell in self.pivot(company)], self.expected_pivot(company))

    def table_rows(self, company):
        return self.env["customer.cohort.month"].search_count([("company_id", "=", company.id)])

    def test_full_run_shows_what_the_live_query_showed(self):
        self.assertTrue(self.config.cohort_months_built)
        self.assertTrue(self.table_rows(self.company), "the report has its table")
        self.assertShowsLive(self.company)
        self.assertShowsLive(self.company_2)

    def test_it_shows_the_last_run(self):
        """Between runs, the report shows the sales as of the last run."""
        before = self.shown(self.company)
        self.post_invoice(self.beta, 50.0, "2026-06-20")
        self.assertEqual(self.shown(self.company), before, "read from the table, not live")
        self.assertNotEqual(self.live(self.company), before)
        self.run_cron()
        self.assertShowsLive(self.company)

    def test_incremental_run_follows_every_change(self):
        full = self.config.last_full_run
        self.post_invoice(self.beta, 50.0, "2026-06-20")  # a new month
        self.post_invoice(self.env["res.partner"].create({"name": "Newcomer"}), 80.0, "2026-06-02")
        self.credit_note(self.alpha_march, 500.0)  # a return is no purchase: March stays
        self.gamma_feb.button_draft()  # Gamma's first month goes: its cohort moves to April
        self.jane.create_company()  # a re-parented buyer
        self.post_invoice(self.jane, 90.0, "2026-06-03")
        Wizard = self.env["base.partner.merge.automatic.wizard"]
        wizard = Wizard.with_context(active_model="res.partner", active_ids=(self.alpha | self.dup).ids)
        wizard.create({"dst_partner_id": self.alpha.id}).action_merge()
        self.assertFalse(self.dup.exists())
        self.run_cron()
        self.assertEqual(self.config.last_full_run, full, "an incremental run")
        self.assertShowsLive(self.company)
        self.assertShowsLive(self.company_2)
        self.run_full()
        self.assertShowsLive(self.company)

    def test_only_the_changed_customers_are_recomputed(self):
        """An incremental refresh takes out an entity's former months and adds
        its current ones, and leaves the others' as they were."""
        Month = self.env["customer.cohort.month"]
        self.gamma_feb.button_draft()
        self.post_invoice(self.beta, 50.0, "2026-06-20")
        Month._refresh(self.company, [self.beta.id])
        live = self.live(self.company)
        self.assertNotEqual(self.shown(self.company), live, "Gamma's change is not taken yet")
        Month._refresh(self.company, [self.gamma.id])
        self.assertEqual(self.shown(self.company), live)
        Month._refresh(self.company, [self.gamma.id, self.beta.id])
        self.assertEqual(self.shown(self.company), live, "a refresh again changes nothing")

    def test_companies_do_not_mix(self):
        before = self.shown(self.company_2)
        self.post_invoice(self.alpha, 50.0, "2026-06-20")
        self.env["customer.cohort.month"]._refresh(self.company, [self.alpha.id])
        self.assertEqual(self.shown(self.company_2), before, "the other company's rows stay")
        self.env["customer.cohort.month"]._refresh(self.company_2)
        self.assertEqual(self.shown(self.company_2), before)
        self.assertShowsLive(self.company)
        self.assertEqual({row[0] for row in self.shown(self.company_2)}, {self.company_2.id})
