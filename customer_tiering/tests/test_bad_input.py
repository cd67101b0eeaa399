from datetime import date
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import Form, freeze_time, tagged

from ..bounds import CONFIG_BOUNDS, POLICY_BOUNDS, TIER_BOUNDS
from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestExtremeDates(TieringInvoiceCommon):
    """Dates at the ends of Odoo's range: the night completes, and means what
    the user meant."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.classified_customers(
            {"Strategic": [(5000.0, "2026-05-01")], "Steady": [(3000.0, "2026-04-01")]}
        )

    def test_lock_until_the_end_of_time_is_a_lock_forever(self):
        strategic = self.customers["Strategic"]
        strategic.write({"tier_locked": True, "tier_lock_until": "9999-12-31", "tier_id": self.tier_c.id})
        newcomer = self.env["res.partner"].create({"name": "Newcomer", "is_company": True})
        self.post_invoice(newcomer, 800.0, "2026-07-01")
        self.run_cron()
        self.assertTrue(newcomer.tier_id, "the newcomer who bought today gets a tier")
        self.run_full()
        self.assertEqual(strategic.tier_id, self.tier_c, "a lock until 9999-12-31 holds")
        self.assertTrue(strategic.tier_locked)
        self.assertEqual(strategic.tier_lock_until, date(9999, 12, 31))

    def test_invoices_dated_by_mistake_in_far_years(self):
        ancient = self.env["res.partner"].create({"name": "Typo 0025", "is_company": True})
        self.post_invoice(ancient, 700.0, "0025-03-01")
        self.post_invoice(ancient, 900.0, "2026-06-01")
        future = self.env["res.partner"].create({"name": "Typo 9000", "is_company": True})
        self.post_invoice(future, 600.0, "9000-01-01")
        self.run_full()
        self.assertEqual(ancient.revenue_total, 1600.0)
        self.assertTrue(ancient.tier_id)
        self.assertEqual(ancient.last_purchase_date, date(2026, 6, 1))
        self.assertFalse(future.tier_id, "a sale dated in the future is not a sale yet")
        self.run_cron()


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestCompanyIsolation(TieringInvoiceCommon):
    """One company's failing run is rolled back, shown to its managers and
    stops no other company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company(name="Second Co")
        cls.company_2 = cls.company_data_2["company"]
        cls.env.user.company_ids |= cls.company_2
        cls.config_2 = cls.env["customer.tiering.config"]._for_companies(cls.company_2).sudo()
        cls.buyer = cls.env["res.partner"].create({"name": "Buyer", "is_company": True})
        cls.buyer_2 = cls.env["res.partner"].create({"name": "Second Buyer", "is_company": True})
        cls.post_invoice(cls.buyer, 1000.0, "2026-06-01")
        cls.post_invoice(cls.buyer_2, 1000.0, "2026-06-01", company=cls.company_data_2)
        cls.manager = cls.env["res.users"].create(
            {
                "name": "Tiering Manager",
                "login": "isolation_manager",
                "company_id": cls.company.id,
                "company_ids": [(6, 0, cls.company.ids)],
                "groups_id": [(6, 0, cls.env.ref("customer_tiering.group_customer_tiering_manager").ids)],
            }
        )

    def _failing_for(self, company):
        Job = self.env.registry["customer.tiering.job"]
        original = Job._reclassify_company

        def reclassify(job, config, full=False):
            if config.company_id == company:
                job.env["res.partner"].browse(self.buyer.id).with_company(company).sudo().write(
                    {"tier_lock_reason": "written before the failure"}
                )
                raise ValueError("boom")
            return original(job, config, full)

        return patch.object(Job, "_reclassify_company", reclassify)

    def test_a_failing_company_stops_no_other(self):
        with self._failing_for(self.company), self.assertLogs("odoo.addons.customer_tiering", "ERROR"):
            self.run_cron()
        self.assertFalse(self.buyer.with_company(self.company).tier_id)
        self.assertFalse(self.buyer.with_company(self.company).tier_lock_reason, "the failed run is rolled back")
        self.assertTrue(self.buyer_2.with_company(self.company_2).tier_id, "the next company still ran")
        self.assertEqual(self.config.last_run_status, "failed")
        self.assertEqual(self.config.last_run_failed_job, "reclassify")
        self.assertIn("boom", self.config.last_run_error)
        self.assertEqual(self.config_2.last_run_status, "done")
        notified = self.env["mail.message"].search(
            [("model", "=", "customer.tiering.config"), ("res_id", "=", self.config.id)]
        )
        self.assertEqual(len(notified), 1)
        self.assertIn(self.manager.partner_id, notified.partner_ids)
        self.assertIn("boom", notified.body)

        with self._failing_for(self.company), self.assertLogs("odoo.addons.customer_tiering", "ERROR"):
            self.run_cron()
        self.assertEqual(
            self.env["mail.message"].search_count(
                [("model", "=", "customer.tiering.config"), ("res_id", "=", self.config.id)]
            ),
            1,
            "the same failure again notifies nobody again",
        )
        self.run_cron()
        self.assertTrue(self.buyer.with_company(self.company).tier_id)
        self.assertEqual(self.config.last_run_status, "done")
        self.assertFalse(self.config.last_run_error)

    def test_reclassify_now_says_why_it_failed(self):
        with self._failing_for(self.company), self.assertLogs("odoo.addons.customer_tiering", "ERROR"):
            action = self.config.with_company(self.company).action_reclassify()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("boom", action["params"]["message"])


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestConcurrentLock(TieringInvoiceCommon):
    """A manager who locks a customer while the run computes keeps the lock
    and the tier: the run writes only what it read as it still is."""

    def test_a_lock_set_during_the_run_survives(self):
        customers = self.classified_customers({"Big": [(9000.0, "2026-05-01")], "Small": [(100.0, "2026-05-01")]})
        big, small = customers["Big"], customers["Small"]
        self.assertEqual((big.tier_id, small.tier_id), (self.tier_a, self.tier_c))
        self.post_invoice(small, 50000.0, "2026-06-01")  # small would become A, big drop
        Job = self.env.registry["customer.tiering.job"]
        write_changes = Job._write_changes

        def manager_locks_meanwhile(job, company, changed, prior, *args):
            # what a manager's transaction commits after the run read the customers
            big.write({"tier_locked": True, "tier_lock_until": "2026-12-31", "tier_id": self.tier_a.id})
            small.write({"tier_locked": True, "tier_id": self.tier_b.id})
            big.flush_recordset()
            small.flush_recordset()
            return write_changes(job, company, changed, prior, *args)

        rows = len(self.history(big) | self.history(small))
        with patch.object(Job, "_write_changes", manager_locks_meanwhile):
            self.run_full()
        self.assertEqual((big.tier_id, small.tier_id), (self.tier_a, self.tier_b), "the manager's tiers stay")
        self.assertTrue(big.tier_locked and small.tier_locked)
        self.assertEqual(len(self.history(big) | self.history(small)), rows + 1, "only the manager's move is logged")
        self.run_full()
        self.assertEqual((big.tier_id, small.tier_id), (self.tier_a, self.tier_b), "the locks hold")
        self.assertEqual(small.revenue_total, 50100.0, "the next run writes the rest of the locked customer")


@tagged("post_install", "-at_install")
@freeze_time("2026-07-01")
class TestSettingsFuzz(TieringInvoiceCommon):
    """Every numeric setting and partner tiering field fed its boundary and
    absurd values: a clear refusal, or a night that completes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.classified_customers(
            {"Big": [(9000.0, "2025-05-01"), (900.0, "2026-05-01")], "Small": [(100.0, "2026-06-01")]}
        )

    def night(self):
        """The nightly crons, as their user runs them."""
        self.run_full()
        env = self.env(user=self.cron.user_id)
        env["customer.loyalty.ledger"]._cron_loyalty()
        env["customer.followup.job"]._cron_followup()
        self.assertNotEqual(self.config.last_run_status, "failed", self.config.last_run_error)

    def test_absurd_settings_are_refused_by_name(self):
        for bounds, records in (
            (CONFIG_BOUNDS, self.config),
            (TIER_BOUNDS, self.tier_c),
            (POLICY_BOUNDS, self.env["customer.service.policy"].search([], limit=1)),
        ):
            for fname, (lowest, highest) in bounds.items():
                label = records._fields[fname]._description_string(self.env)
                for value in (-1, -1e9, 1e9, highest * 2 + 1):
                    if lowest <= value <= highest:
                        continue
                    with (
                        self.subTest(field=fname, value=value),
                        self.assertRaises(ValidationError) as refused,
                        self.env.cr.savepoint(),
                    ):
                        records.write({fname: value})
                    self.assertIn(label, str(refused.exception))

    def test_every_setting_at_its_bounds_completes_a_night(self):
        for end in (0, 1):
            with self.subTest(end=end):
                self.config.write(
                    {
                        fname: bounds[end]
                        for fname, bounds in CONFIG_BOUNDS.items()
                        if fname not in ("cutoff_a", "cutoff_b")
                    }
                )
                self.tier_c.write(
                    {fname: bounds[end] for fname, bounds in TIER_BOUNDS.items() if fname != "min_revenue"}
                )
                self.night()

    def test_the_form_refuses_too(self):
        with self.assertRaises(ValidationError), Form(self.config) as form:
            form.window_months = 1_000_000_000

    def test_partner_dates_at_the_ends_of_odoos_range(self):
        big, small = self.customers["Big"], self.customers["Small"]
        for lock_until, birthday in (
            ("9999-12-31", "0001-01-01"),
            ("0001-01-01", "9999-12-31"),
            ("2028-02-29", "2000-02-29"),
        ):
            with self.subTest(lock_until=lock_until):
                big.write({"tier_locked": True, "tier_lock_until": lock_until})
                small.write({"birthday": birthday})
                self.night()
                self.env["customer.care.job"]._run_care(self.config, date(2027, 2, 28))

    def test_import_of_a_lock_forever(self):
        result = self.env["res.partner"].load(
            ["name", "is_company", "tier_locked", "tier_lock_until"], [["Imported", "1", "1", "9999-12-31"]]
        )
        self.assertFalse(result["messages"], result["messages"])
        imported = self.env["res.partner"].browse(result["ids"])
        self.assertEqual(imported.tier_lock_until, date(9999, 12, 31))
        newcomer = self.env["res.partner"].create({"name": "Newcomer", "is_company": True})
        self.post_invoice(imported, 500.0, "2026-06-15")
        self.post_invoice(newcomer, 500.0, "2026-06-15")
        self.night()
        self.assertTrue(newcomer.tier_id, "the night completes")
        self.assertTrue(imported.tier_locked, "and the imported lock holds")
        self.assertFalse(imported.tier_id)
