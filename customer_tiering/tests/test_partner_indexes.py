from contextlib import contextmanager
from datetime import date

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from odoo.addons.customer_tiering.models.res_partner import INDEXED_FIELDS
from odoo.addons.customer_tiering.models.res_partner_pool import pool_index

from .common import partner_reloptions
from .test_migrations import _migration


@tagged("post_install", "-at_install")
class TestPartnerIndexes(TransactionCase):
    """The customer lists filter and group a million partners by tier, stage
    or risk from the per-company indexes: the SQL Odoo generates must match
    their expressions, and grouping by tier must not join every partner to
    its tier.

    The plans must not depend on other transactions, in this database or any
    other of the server. An index built while a table holds broken HOT chains
    (as the install leaves res_partner) is marked ``indcheckxmin``: the planner
    ignores it until its pg_index row is older than the planning transaction's
    snapshot xmin. That xmin is the oldest transaction id still running on the
    whole server, so one long transaction in another database hides the
    install's indexes from every test here, however long ago they were built.
    Hence, for each plan:

    - the index itself is checked in the catalog, which no snapshot hides:
      valid, ready, and defined on the expression Odoo's domains produce;
    - the plan is always taken on a temporary copy of the table (same columns
      and rows, analysed) with a copy of that index alone: an index built on
      an empty table has no broken HOT chain, so it serves the planning
      transaction at once, whatever runs elsewhere. It shows that Odoo's query
      can be answered from the index, i.e. that its expression and predicate
      match the index's;
    - the plan on the real table, with all its indexes and statistics, shows
      that the planner prefers that index (e.g. the tiered one over the plain
      one): asserted whenever PostgreSQL lets this transaction use the real
      index (no ``indcheckxmin``, or an index older than the snapshot's xmin),
      the usual case. With an older transaction running anywhere on the
      server it cannot be asserted, and the first two checks still hold."""

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

    # ------------------------------------------------------------ helpers

    def index_state(self, name):
        """(valid, ready, definition, usable now) of index ``name``: usable
        when PostgreSQL's planner would consider it for this transaction,
        i.e. not ``indcheckxmin`` or its pg_index row older than the
        snapshot's xmin (compared as ages from the same transaction)."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT i.indisvalid, i.indisready, pg_get_indexdef(i.indexrelid),
                       NOT i.indcheckxmin
                       OR age(i.xmin) > age(mod(pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
                                                4294967296)::text::xid)
                  FROM pg_index i
                  JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.relname = %s
                """,
                name,
            )
        )
        self.assertEqual(len(rows), 1, f"index {name} exists")
        return rows[0]

    def assert_index(self, name, *fragments):
        """Index ``name`` is valid and ready, its definition holds ``fragments``;
        returns whether this transaction's plans can use it."""
        valid, ready, definition, usable = self.index_state(name)
        self.assertTrue(valid and ready, f"{name} is valid and ready")
        for fragment in fragments:
            self.assertIn(fragment, definition)
        return usable

    def company_index_fragments(self, fname, company, tiered=False):
        """What the definition of ``company``'s index on ``fname`` holds: the
        expression Odoo's domains compare (the company's JSON value, typed as
        Odoo types it), the covered columns, and the tiered ones' predicate."""

        def value(name):
            expression = f"(({name} -> '{company.id}'::text) ->> 0)"
            casts = {"tier_id": "integer", "in_pool": "boolean"}
            return f"({expression})::{casts[name]}" if name in casts else expression

        fragments = [f"USING btree (({value(fname)}))", f"INCLUDE ({fname}, "]
        if tiered:
            fragments.append(f"WHERE ({value('tier_id')} IS NOT NULL)")
        return fragments

    def pool_index_fragments(self, company):
        """What the definition of ``company``'s index of its pooled customers
        holds: the covering index on the company's value of ``in_pool``, over
        the pooled customers only."""
        return [
            *self.company_index_fragments("in_pool", company),
            f"WHERE (((in_pool -> '{company.id}'::text) ->> 0))::boolean",
        ]

    @contextmanager
    def planner(self, *settings):
        """Planner ``settings`` (e.g. ``enable_seqscan``) off for the block."""
        for setting in settings:
            self.env.cr.execute(SQL("SELECT set_config(%s, 'off', true)", setting))
        try:
            yield
        finally:
            for setting in settings:
                self.env.cr.execute(SQL("SELECT set_config(%s, 'on', true)", setting))

    def explain(self, query, settings):
        with self.planner(*settings):
            return "\n".join(row[0] for row in self.env.execute_query(SQL("EXPLAIN %s", query)))

    def explain_on_copy(self, query, table, index, settings):
        """The plan of ``query`` with ``table`` replaced by a temporary copy
        (same columns and rows, analysed) holding only a copy of ``index``,
        whose name in the plan is translated back to ``index``'s. Temporary
        tables come first in the search path, so the query's unqualified name
        reads the copy; the savepoint's rollback drops it."""
        schema = self.env.execute_query(SQL("SELECT current_schema()"))[0][0]
        real, copy = SQL.identifier(schema, table), SQL.identifier(table)
        with self.env.cr.savepoint(flush=False) as savepoint:
            self.env.cr.execute(SQL("CREATE TEMP TABLE %s (LIKE %s INCLUDING INDEXES)", copy, real))
            self.env.cr.execute(SQL("INSERT INTO pg_temp.%s SELECT * FROM %s", copy, real))
            self.env.cr.execute(SQL("ANALYZE pg_temp.%s", copy))
            copied = self.copied_index(schema, table, index)
            plan = self.explain(query, settings)
            savepoint.rollback()
        return plan.replace(copied, index)

    def copied_index(self, schema, table, index):
        """The name of the copy of ``index`` on ``table``'s temporary copy,
        matched on the definition past the name and table; the copy's other
        indexes are dropped. The copy must serve this transaction at once."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT c.relname, n.nspname = %s, i.indcheckxmin, con.conname,
                       regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING ', '')
                  FROM pg_index i
                  JOIN pg_class c ON c.oid = i.indexrelid
                  JOIN pg_class t ON t.oid = i.indrelid
                  JOIN pg_namespace n ON n.oid = t.relnamespace
                  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = t.oid
                 WHERE t.relname = %s AND (n.nspname = %s OR n.oid = pg_my_temp_schema())
                """,
                schema,
                table,
                schema,
            )
        )
        definition = next(row[4] for row in rows if row[1] and row[0] == index)
        copied = [row for row in rows if not row[1] and row[4] == definition]
        self.assertEqual(len(copied), 1, f"{table}'s copy has a copy of {index}")
        self.assertFalse(copied[0][2], "the copied index serves this transaction at once")
        for name, is_real, _check, constraint, _definition in rows:
            if is_real or name == copied[0][0]:
                continue
            if constraint:
                self.env.cr.execute(
                    SQL("ALTER TABLE pg_temp.%s DROP CONSTRAINT %s", SQL.identifier(table), SQL.identifier(constraint))
                )
            else:
                self.env.cr.execute(SQL("DROP INDEX pg_temp.%s", SQL.identifier(name)))
        return copied[0][0]

    def assert_plan_uses(self, index, query, table, settings, usable):
        """``query`` is planned on ``index``: on the table's copy always, on
        the table itself when ``usable`` (see the class docstring)."""
        copy_plan = self.explain_on_copy(query, table, index, settings)
        self.assertIn(index, copy_plan, "Odoo's query can be answered from the index (planned on the copy)")
        if usable:
            self.assertIn(index, self.explain(query, settings), "the planner prefers the index (planned on the table)")

    def plan_uses(self, index, domain, usable):
        """Odoo's query for ``domain`` is planned on ``index`` when only index
        scans may answer."""
        query = self.partners._search(domain, order="id").select()
        self.assert_plan_uses(index, query, "res_partner", ["enable_seqscan", "enable_indexscan"], usable)

    # -------------------------------------------------------------- tests

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
        expected.add(pool_index(company))
        self.assertEqual(covering, dict.fromkeys(expected, True), "the lists' indexes cover them, and only them")
        self.assert_index(pool_index(company), *self.pool_index_fragments(company))
        for fname in INDEXED_FIELDS:
            with self.subTest(field=fname):
                fragments = self.company_index_fragments(fname, company)
                self.assert_index(f"res_partner_{fname}_company_{company.id}_index", *fragments)
                if fname != "tier_id":
                    fragments = self.company_index_fragments(fname, company, tiered=True)
                    self.assert_index(f"res_partner_{fname}_tiered_company_{company.id}_index", *fragments)

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
        index = "customer_tiering_schedule_company_dormancy_date_index"
        usable = self.assert_index(
            index, "USING btree (company_id, dormancy_date)", "WHERE (dormancy_date IS NOT NULL)"
        )
        self.assert_plan_uses(index, query, "customer_tiering_schedule", ["enable_seqscan"], usable)

    def test_filters_use_the_company_index(self):
        for fname, value in self.values.items():
            with self.subTest(field=fname):
                index = f"res_partner_{fname}_company_{self.company.id}_index"
                usable = self.assert_index(index, *self.company_index_fragments(fname, self.company))
                self.plan_uses(index, [(fname, "=", value)], usable)

    def test_customer_list_filters_use_the_tiered_index(self):
        customers = [("tier_id", "!=", False), ("is_tiering_entity", "=", True)]
        for fname in INDEXED_FIELDS[1:]:
            with self.subTest(field=fname):
                index = f"res_partner_{fname}_tiered_company_{self.company.id}_index"
                fragments = self.company_index_fragments(fname, self.company, tiered=True)
                usable = self.assert_index(index, *fragments)
                self.plan_uses(index, [*customers, (fname, "=", self.values[fname])], usable)

    def test_customer_pool_list_uses_the_pool_index(self):
        """The Customer Pool list's own domain, as its action holds it, reads
        the company's pooled customers from their index."""
        index = pool_index(self.company)
        usable = self.assert_index(index, *self.pool_index_fragments(self.company))
        action = self.env.ref("customer_tiering.res_partner_action_pool")
        domain = safe_eval(action.domain)
        self.plan_uses(index, domain, usable)

    def test_the_1_10_migration_creates_the_pool_index(self):
        company = self.env["res.company"].create({"name": "Pool Indexed Co"})
        self.env.cr.execute(SQL("DROP INDEX %s", SQL.identifier(pool_index(company))))
        _migration("18.0.1.10.0", "post-pool-index")(self.env.cr, "18.0.1.9.0")
        self.assert_index(pool_index(company), *self.pool_index_fragments(company))

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
