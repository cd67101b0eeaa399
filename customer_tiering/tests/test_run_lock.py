from odoo.tests import tagged
from odoo.tools import SQL

from ..models.customer_tiering_lock import _job_key
from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestRunLock(TieringInvoiceCommon):
    """A run that finds another run of the same job and company skips it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.classified_customers({"Locked Out": []})["Locked Out"]
        cls.post_invoice(cls.customer, 500.0, "2026-06-01")

    def other_run(self, job):
        """Another worker's connection holding ``job`` for the company until the returned release()."""
        cr = self.registry.cursor()
        key = (_job_key(job), self.company.id)
        cr.execute("SELECT pg_advisory_lock(%s, %s)", key)

        def release():
            cr.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            cr.close()

        self.addCleanup(lambda: cr.closed or release())
        return release

    def test_reclassification_skips_a_company_being_reclassified(self):
        release = self.other_run("reclassify")
        self.run_cron()
        self.assertFalse(self.customer.tier_id)
        self.assertEqual(self.config.action_reclassify()["params"]["type"], "warning")
        release()
        self.assertEqual(self.config.action_reclassify()["params"]["type"], "success")
        self.assertTrue(self.customer.tier_id)

    def test_followup_run_skips_a_company_being_followed_up(self):
        self.customer.write({"tier_id": self.tier_a.id, "user_id": self.env.user.id})
        release = self.other_run("followup")
        self.env.ref("customer_tiering.ir_cron_followup").method_direct_trigger()
        self.assertFalse(self.customer.activity_ids)
        release()
        self.env.ref("customer_tiering.ir_cron_followup").method_direct_trigger()
        self.assertTrue(self.customer.activity_ids)

    def test_lock_is_released_after_the_run(self):
        Lock = self.env["customer.tiering.lock"]
        with Lock._exclusive("loyalty", self.company) as acquired:
            self.assertTrue(acquired)
        with self.registry.cursor() as cr:
            key = (_job_key("loyalty"), self.company.id)
            cr.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            self.assertTrue(cr.fetchone()[0], "another worker may now run")
            cr.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def test_runs_compile_no_query_and_give_the_setting_back(self):
        """A run turns PostgreSQL's JIT compilation off, and back to the
        server's setting for whatever uses the connection next; a skipped
        run leaves it alone."""

        def jit():
            return self.env.execute_query(SQL("SHOW jit"))[0][0]

        Lock = self.env["customer.tiering.lock"]
        before = jit()
        with Lock._exclusive("loyalty", self.company) as acquired:
            self.assertTrue(acquired)
            self.assertEqual(jit(), "off")
        self.assertEqual(jit(), before)
        release = self.other_run("loyalty")
        with Lock._exclusive("loyalty", self.company) as acquired:
            self.assertFalse(acquired)
            self.assertEqual(jit(), before)
        release()

    def test_runs_plan_afresh(self):
        """A run drops the plans its connection cached before: a plan made
        under other conditions is made again under the current ones."""

        def plan():
            return "\n".join(row[0] for row in self.env.execute_query(SQL("EXPLAIN EXECUTE tiering_probe(1)")))

        cr = self.env.cr
        cr.execute("SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off")
        cr.execute("PREPARE tiering_probe(int) AS SELECT id FROM res_partner WHERE id = $1")
        # A prepared statement outlives the test's transaction, the settings do not.
        self.addCleanup(cr.execute, "DEALLOCATE tiering_probe")
        self.assertIn("Index", plan())
        cr.execute("SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off")
        cr.execute("SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off")
        self.assertIn("Index", plan(), "the cached plan")
        with self.env["customer.tiering.lock"]._exclusive("followup", self.company) as acquired:
            self.assertTrue(acquired)
            self.assertIn("Seq Scan", plan(), "planned again")
