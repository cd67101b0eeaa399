from psycopg2 import IntegrityError

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestTieringConfig(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = cls.env["customer.tiering.config"]._for_companies(cls.env.company)
        cls.tier_a, cls.tier_b, cls.tier_c = cls.env["customer.tier"].search(
            [("company_id", "=", cls.env.company.id)], order="sequence"
        )

    def test_defaults(self):
        self.assertEqual(
            (
                self.config.method,
                self.config.window_months,
                self.config.cutoff_a,
                self.config.cutoff_b,
                self.config.demotion_grace_days,
            ),
            ("abc", 12, 0.80, 0.95, 0),
        )

    def test_invalid_settings_are_refused(self):
        for values in (
            {"cutoff_a": 0.0},
            {"cutoff_a": 0.96},
            {"cutoff_b": 1.5},
            {"cutoff_a": -0.1},
            {"window_months": 0},
            {"demotion_grace_days": -1},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                self.config.write(values)

    def test_overlapping_thresholds_are_refused(self):
        self.config.method = "threshold"
        with self.assertRaises(ValidationError):
            self.tier_b.min_revenue = self.tier_a.min_revenue
        self.config.method = "rfm"
        with self.assertRaises(ValidationError):
            self.tier_c.min_rfm_score = 13

    def test_switching_method_checks_the_tiers(self):
        self.tier_b.min_rfm_score = self.tier_a.min_rfm_score  # harmless under ABC
        with self.assertRaises(ValidationError):
            self.config.method = "rfm"

    def test_duplicate_code_is_refused(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            self.env["customer.tier"].create({"name": "Another A", "code": "A"})

    def test_one_config_per_company(self):
        self.assertEqual(self.env["customer.tiering.config"]._for_companies(self.env.company), self.config)
