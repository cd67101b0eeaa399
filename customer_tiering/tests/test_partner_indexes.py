from datetime import date

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from odoo.addons.customer_tiering.models.res_partner import INDEXED_FIELDS

from .common import partner_reloptions


@tagged("post_install", "-at_install")
class TestPartnerIndexes(TransactionCase):
    """The customer lists filter and group a million partners by tier, stage
    or risk from the per-company indexes: the SQL Odoo generates must match
    their expressions, and grouping by tier must not join every partner to
    its tier."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # PostgreSQL hides an index from the transaction that built it: the
        # plans use the main company's, built at install.
        cls.company = cls.env.ref("base.main_company")
        cls.partners = cls.env["res.partner"].with_company(cls.company)
        cls.tier_a, cls.tier_b, cls.tier_c = cls.env["customer.tier"].search(
            [("company_id", "=", cls.company.id)], order="sequence"
        )
        cls.values = {"tier_id": cls.tier_b.id, "lifecycle_stage": "sleeping", "churn_risk_level": "high"}

    def plan(self, domain):
        """The plan of Odoo's query for ``domain`` when only index scans may answer."""
        query = self.partners._search(domain, order="id")
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute("SET LOCAL enable_indexscan = off")
        self.env.cr.execute(SQL("EXPLAIN %s", query.select()))
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.env.cr.execute("SET LOCAL enable_seqscan = on")
        self.env.cr.execute("SET LOCAL enable_indexscan = on")
        return plan

    def test_new_companies_get_their_indexes(self):
        company = self.env["res.company"].create({"name": "Indexed Co"})
        self.env.cr.execute(
            "SELECT indexname, indexdef LIKE '%%INCLUDE%%' FROM pg_indexes WHERE tablename = 'res_partner' "
            "AND indexname LIKE %s",
            [f"%company_{company.id}_index"],
        )
        covering = dict(self.env.cr.fetchall())
        expected = {f"res_partner_{fname}_company_{company.id}_index" for fname in INDEXED_FIELDS}
        expected |= {f"res_partner_{fname}_tiered_company_{company.id}_index" for fname in INDEXED_FIELDS[1:]}
        self.assertEqual(covering, dict.fromkeys(expected, True), "the lists' indexes cover them, and only them")

    def test_partners_are_vacuumed_after_a_night_of_writes(self):
        """Vacuumed once 1% of the partners changed, so that the nightly
        writes leave the lists' index-only scans for a vacuum's time only;
        pages left a tenth free for the nightly writes' heap-only updates."""
        self.assertEqual(
            partner_reloptions(self.env),
            {"autovacuum_vacuum_scale_factor": "0.01", "autovacuum_analyze_scale_factor": "0.01", "fillfactor": "90"},
        )

    def test_dormancy_warnings_read_a_range_of_the_dormancy_index(self):
        config = self.env["customer.tiering.config"]._for_companies(self.company)
        query = self.env["customer.care.job"]._about_to_sleep_query(config, date(2026, 7, 16))
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute(SQL("EXPLAIN %s", query))
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.env.cr.execute("SET LOCAL enable_seqscan = on")
        self.assertIn("customer_tiering_schedule_company_dormancy_date_index", plan)

    def test_filters_use_the_company_index(self):
        for fname, value in self.values.items():
            with self.subTest(field=fname):
                self.assertIn(f"{fname}_company_{self.company.id}_index", self.plan([(fname, "=", value)]))

    def test_customer_list_filters_use_the_tiered_index(self):
        customers = [("tier_id", "!=", False), ("is_tiering_entity", "=", True)]
        for fname in INDEXED_FIELDS[1:]:
            with self.subTest(field=fname):
                plan = self.plan([*customers, (fname, "=", self.values[fname])])
                self.assertIn(f"{fname}_tiered_company_{self.company.id}_index", plan)

    def test_grouping_by_tier_orders_tiers_without_joining_them(self):
        # A tier added later but placed first: ordered by sequence, not by id.
        tier_s = (
            self.env["customer.tier"]
            .with_company(self.company)
            .create({"name": "Strategic", "code": "S", "sequence": 1, "company_id": self.company.id})
        )
        tiers = [tier_s, self.tier_a, self.tier_b, self.tier_b, self.env["customer.tier"]]
        partners = self.partners.create([{"name": f"Grouped {index}", "is_company": True} for index in range(5)])
        for partner, tier in zip(partners, tiers, strict=True):
            partner.sudo().tier_id = tier
        tier_s.active = False  # an archived tier keeps its place
        domain = [("id", "in", partners.ids)]
        groups = self.partners._read_group(domain, ["tier_id"], ["__count"], order="tier_id ASC")
        self.assertEqual(groups, [(tier_s, 1), (self.tier_a, 1), (self.tier_b, 2), (self.env["customer.tier"], 1)])
        groups = self.partners._read_group(domain, ["tier_id"], ["__count"], order="tier_id DESC", limit=2)
        self.assertEqual(groups, [(self.env["customer.tier"], 1), (self.tier_b, 2)])
        groups = self.partners._read_group(domain, ["tier_id"], ["__count"], offset=1, limit=2)
        self.assertEqual(groups, [(self.tier_a, 1), (self.tier_b, 2)])
        web = self.partners.web_read_group(domain, ["tier_id"], ["tier_id"])
        self.assertEqual(
            [group["tier_id"] and group["tier_id"][0] for group in web["groups"]],
            [tier_s.id, self.tier_a.id, self.tier_b.id, False],
        )
        # One query on the partners, without a join to order the tiers, then the few tiers.
        with self.assertQueries(
            [
                'SELECT ("res_partner"."tier_id"->%s->>0)::int4, COUNT(*) FROM "res_partner" '
                'WHERE (("res_partner"."active" = %s) AND ("res_partner"."id" IN %s)) '
                'GROUP BY ("res_partner"."tier_id"->%s->>0)::int4 '
                'ORDER BY ("res_partner"."tier_id"->%s->>0)::int4 ASC',
                'SELECT "customer_tier"."id" FROM "customer_tier" '
                'LEFT JOIN "res_company" AS "customer_tier__company_id" '
                'ON ("customer_tier"."company_id" = "customer_tier__company_id"."id") '
                'WHERE ("customer_tier"."id" IN %s) '
                'ORDER BY "customer_tier__company_id"."sequence", "customer_tier__company_id"."name", '
                '"customer_tier"."sequence", "customer_tier"."id"',
            ],
            flush=False,
        ):
            self.partners._read_group(domain, ["tier_id"], ["__count"])
