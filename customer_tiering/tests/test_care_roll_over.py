import importlib.util
from datetime import date
from pathlib import Path

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

MIGRATION = Path(__file__).parent.parent / "migrations" / "18.0.1.8.0" / "post-care-festivals.py"


@tagged("post_install", "-at_install")
class TestCareRollOver(TransactionCase):
    """Lunar festivals' dates come from the festival table, and each year's
    roll-over gives every company next year's care dates, once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.CareDate = cls.env["customer.care.date"]
        cls.spring = cls.env.ref("customer_tiering.care_festival_spring")
        cls.mid_autumn = cls.env.ref("customer_tiering.care_festival_mid_autumn")
        with freeze_time("2026-12-01"):
            cls.company = cls.env["res.company"].create({"name": "Hangzhou Tea"})
            cls.other = cls.env["res.company"].create({"name": "Suzhou Silk"})

    def dates(self, company, year, active_test=True):
        return self.CareDate.with_context(active_test=active_test).search(
            [("company_id", "=", company.id), ("date", ">=", date(year, 1, 1)), ("date", "<=", date(year, 12, 31))]
        )

    def occasions(self, company, year):
        return sorted((care_date.name, care_date.date) for care_date in self.dates(company, year))

    def test_known_festival_dates(self):
        festival_dates = self.env["customer.care.festival.date"]._dates(
            self.spring | self.mid_autumn, range(2024, 2051)
        )
        self.assertEqual(len(festival_dates), 54, "both festivals, every year from 2024 to 2050")
        for festival, year, day in [
            (self.spring, 2026, date(2026, 2, 17)),
            (self.spring, 2027, date(2027, 2, 6)),
            (self.spring, 2033, date(2033, 1, 31)),
            (self.mid_autumn, 2026, date(2026, 9, 25)),
            (self.mid_autumn, 2027, date(2027, 9, 15)),
        ]:
            self.assertEqual(festival_dates[festival.id, year], day)

    def test_roll_over_once_with_the_tables_dates(self):
        founding = self.CareDate.create({"name": "Founding Day", "date": "2027-05-01", "company_id": self.company.id})
        leap = self.CareDate.create({"name": "Leap Day", "date": "2028-02-29", "company_id": self.company.id})
        self.assertEqual(
            self.occasions(self.company, 2027),
            [
                ("Founding Day", date(2027, 5, 1)),
                ("Mid-Autumn Festival", date(2027, 9, 15)),
                ("Spring Festival", date(2027, 2, 6)),
            ],
        )
        created = self.CareDate._roll_over(2028)
        self.assertEqual(
            self.occasions(self.company, 2028),
            [
                ("Founding Day", date(2028, 5, 1)),
                ("Leap Day", date(2028, 2, 29)),
                ("Mid-Autumn Festival", date(2028, 10, 3)),
                ("Spring Festival", date(2028, 1, 26)),
            ],
        )
        self.assertEqual(
            self.dates(self.company, 2028).filtered("festival_id").festival_id, self.spring | self.mid_autumn
        )
        self.assertIn(founding.id, self.dates(self.company, 2027).ids, "this year's dates stay")
        self.assertFalse(self.CareDate._roll_over(2028), "a second run creates nothing")
        self.assertEqual(
            created.filtered(lambda d: d.company_id == self.company), self.dates(self.company, 2028) - leap
        )
        self.assertEqual(len(self.dates(self.company, 2028)), 4)
        self.CareDate._roll_over(2029)
        self.assertIn(("Leap Day", date(2029, 2, 28)), self.occasions(self.company, 2029), "29 Feb falls on the 28th")

    def test_archived_date_is_not_resurrected(self):
        """Archiving an occurrence ends the occasion for the company: the
        roll-over copies only active dates, and never makes again one the
        company has next year, archived or not."""
        spring_2027 = self.dates(self.company, 2027).filtered(lambda d: d.festival_id == self.spring)
        spring_2027.active = False
        mid_autumn_2028 = self.CareDate.create(
            {
                "name": "Mid-Autumn Festival",
                "date": "2028-10-03",
                "company_id": self.company.id,
                "festival_id": self.mid_autumn.id,
                "active": False,
            }
        )
        self.CareDate._roll_over(2028)
        self.assertFalse(self.dates(self.company, 2028), "neither festival comes back")
        self.assertEqual(self.dates(self.company, 2028, active_test=False), mid_autumn_2028)
        self.assertEqual(len(self.dates(self.other, 2028)), 2, "the other company's dates roll over")

    def test_companies_are_independent(self):
        self.CareDate.create({"name": "Silk Fair", "date": "2027-04-18", "company_id": self.other.id})
        self.dates(self.company, 2027).filtered(lambda d: d.festival_id == self.mid_autumn).unlink()
        self.CareDate._roll_over(2028)
        self.assertEqual(
            self.occasions(self.company, 2028),
            [("Spring Festival", date(2028, 1, 26))],
        )
        self.assertEqual(
            self.occasions(self.other, 2028),
            [
                ("Mid-Autumn Festival", date(2028, 10, 3)),
                ("Silk Fair", date(2028, 4, 18)),
                ("Spring Festival", date(2028, 1, 26)),
            ],
        )
        self.assertEqual(self.dates(self.company, 2028).company_id, self.company)

    def test_missing_year_is_logged(self):
        self.env.ref("customer_tiering.care_festival_spring_2028").unlink()
        with self.assertLogs("odoo.addons.customer_tiering.models.customer_care_date", "WARNING") as logs:
            self.CareDate._roll_over(2028)
        self.assertIn("no date of Spring Festival in 2028", logs.output[0])
        self.assertIn("Hangzhou Tea", logs.output[0])
        self.assertEqual(self.occasions(self.company, 2028), [("Mid-Autumn Festival", date(2028, 10, 3))])
        # Once a manager adds the date, the next run makes the missing ones only.
        self.env["customer.care.festival.date"].create({"festival_id": self.spring.id, "date": "2028-01-26"})
        self.CareDate._roll_over(2028)
        self.assertEqual(
            self.occasions(self.company, 2028),
            [("Mid-Autumn Festival", date(2028, 10, 3)), ("Spring Festival", date(2028, 1, 26))],
        )

    def test_cron_rolls_over_to_next_year(self):
        with freeze_time("2027-12-01"):
            self.env.ref("customer_tiering.ir_cron_care_dates_roll_over").method_direct_trigger()
        self.assertEqual(len(self.dates(self.company, 2028)), 2)
        self.assertEqual(len(self.dates(self.other, 2028)), 2)

    def test_defaults_after_2032(self):
        with freeze_time("2033-03-01"):
            company = self.env["res.company"].create({"name": "Ningbo Ports"})
        care_dates = self.CareDate.search([("company_id", "=", company.id)])
        self.assertEqual(
            sorted((care_date.name, care_date.date) for care_date in care_dates),
            [("Mid-Autumn Festival", date(2033, 9, 8)), ("Spring Festival", date(2034, 2, 19))],
        )

    def test_defaults_log_an_exhausted_table(self):
        self.env["customer.care.festival.date"].search(
            [("festival_id", "=", self.mid_autumn.id), ("year", ">=", 2050)]
        ).unlink()
        with (
            freeze_time("2049-10-01"),
            self.assertLogs("odoo.addons.customer_tiering.models.customer_care_festival", "WARNING") as logs,
        ):
            company = self.env["res.company"].create({"name": "Late Co"})
        self.assertIn("no date of Mid-Autumn Festival", logs.output[0])
        care_dates = self.CareDate.search([("company_id", "=", company.id)])
        self.assertEqual(care_dates.mapped("festival_id"), self.spring)

    def test_copy_next_year_uses_the_table(self):
        spring = self.dates(self.company, 2027).filtered(lambda d: d.festival_id == self.spring)
        founding = self.CareDate.create({"name": "Founding Day", "date": "2027-05-01", "company_id": self.company.id})
        action = (spring | founding).action_copy_next_year()
        copies = self.CareDate.search(action["domain"])
        self.assertEqual(sorted(copies.mapped("date")), [date(2028, 1, 26), date(2028, 5, 1)])

    def test_copy_next_year_without_a_table_date(self):
        spring = self.dates(self.company, 2027).filtered(lambda d: d.festival_id == self.spring)
        self.env.ref("customer_tiering.care_festival_spring_2028").unlink()
        with self.assertRaises(UserError):
            spring.action_copy_next_year()

    def test_migration_links_the_seeded_festivals(self):
        """Care dates seeded before the table existed become its festivals' occurrences, dates unchanged."""
        seeded = self.dates(self.company, 2027)
        seeded.festival_id = False
        renamed = self.CareDate.create(
            {"name": "Lantern Festival", "date": "2027-02-20", "company_id": self.company.id}
        )
        spec = importlib.util.spec_from_file_location("post_care_festivals", MIGRATION)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.migrate(self.env.cr, "18.0.1.7.0")
        seeded.invalidate_recordset()
        self.assertEqual(
            sorted((d.name, d.festival_id.code, d.date) for d in seeded),
            [
                ("Mid-Autumn Festival", "mid_autumn", date(2027, 9, 15)),
                ("Spring Festival", "spring_festival", date(2027, 2, 6)),
            ],
        )
        self.assertFalse(renamed.festival_id)
