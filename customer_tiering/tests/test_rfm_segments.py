import importlib.util
from pathlib import Path

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, freeze_time, tagged

from .common import TieringInvoiceCommon

STANDARD_NAMES = [
    "Champions",
    "Loyal",
    "Potential loyalist",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
]
MIGRATION = Path(__file__).parent.parent / "migrations" / "18.0.1.9.0" / "post-rfm-segments.py"


def segments_of(env, company, active_test=True):
    return env["customer.rfm.segment"].with_context(active_test=active_test).search([("company_id", "=", company.id)])


@tagged("post_install", "-at_install")
class TestSegmentSetup(TransactionCase):
    """The standard segments of every company, and the ranges managers may give them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "Segment Co"})
        cls.segments = segments_of(cls.env, cls.company)
        cls.by_name = {segment.name: segment for segment in cls.segments}

    def test_a_new_company_gets_the_standard_segments(self):
        self.assertEqual(self.segments.mapped("name"), STANDARD_NAMES)
        champions = self.by_name["Champions"]
        self.assertEqual(
            [champions[name] for name in ("r_min", "r_max", "f_min", "f_max", "m_min", "m_max")], [5, 5, 4, 5, 1, 5]
        )
        self.assertIn("Reward them", champions.playbook)
        self.assertEqual(len(set(self.segments.mapped("color"))), 11, "each segment has its own colour")

    def test_migration_seeds_the_companies_without_segments(self):
        other = self.env["res.company"].create({"name": "Unsegmented Co"})
        segments_of(self.env, other).unlink()
        spec = importlib.util.spec_from_file_location("post_rfm_segments", MIGRATION)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        config = self.env["customer.tiering.config"]._for_companies(other).sudo()
        config.last_full_run = "2026-11-30 02:00:00"
        module.migrate(self.env.cr, "18.0.1.8.0")
        config.invalidate_recordset()
        self.assertEqual(segments_of(self.env, other).mapped("name"), STANDARD_NAMES)
        self.assertEqual(len(segments_of(self.env, self.company, active_test=False)), 11, "no second set")
        self.assertFalse(config.last_full_run, "the next run places every customer")

    def test_ranges_outside_1_to_5_are_refused(self):
        for field, value in (("r_min", 0), ("f_max", 6), ("m_min", -1)):
            with self.assertRaisesRegex(ValidationError, "within 1 to 5"):
                self.by_name["Lost"].write({field: value})

    def test_lowest_above_highest_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "lowest score cannot be above its highest"):
            self.by_name["Champions"].write({"f_min": 5, "f_max": 4})

    def test_overlapping_an_active_segment_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "Loyal and Champions overlap|Champions and Loyal overlap"):
            self.by_name["Loyal"].r_max = 5
        with self.assertRaisesRegex(ValidationError, "Champions and Everyone overlap: a customer scoring R 5, F 4"):
            self.env["customer.rfm.segment"].create({"name": "Everyone", "company_id": self.company.id})

    def test_narrowing_then_widening_moves_a_boundary(self):
        self.by_name["Champions"].m_min = 4
        self.by_name["Loyal"].write({"r_max": 5, "m_max": 3})
        self.assertEqual(self.by_name["Loyal"].r_max, 5)

    def test_archived_and_other_companies_segments_do_not_count(self):
        self.by_name["Lost"].active = False
        lost_again = self.env["customer.rfm.segment"].create(
            {"name": "Gone", "company_id": self.company.id, "r_min": 1, "r_max": 1, "f_min": 1, "f_max": 2}
        )
        self.assertTrue(lost_again)
        with self.assertRaises(ValidationError):
            self.by_name["Lost"].active = True
        # Every company has its own Champions, with the same ranges.
        other = segments_of(self.env, self.env["res.company"].create({"name": "Twin Co"}))
        self.assertEqual(len(other), 11)

    def test_changing_ranges_makes_the_next_run_full(self):
        config = self.env["customer.tiering.config"]._for_companies(self.company).sudo()
        config.last_full_run = "2026-11-30 02:00:00"
        self.by_name["Lost"].write({"name": "Gone", "playbook": "<p>Nothing.</p>", "sequence": 200})
        self.assertTrue(config.last_full_run, "names and playbooks place no customer")
        self.by_name["Lost"].m_max = 4
        self.assertFalse(config.last_full_run)
        config.last_full_run = "2026-11-30 02:00:00"
        self.by_name["Hibernating"].active = False
        self.assertFalse(config.last_full_run)


@tagged("post_install", "-at_install")
@freeze_time("2024-07-01")
class TestSegmentAssignment(TieringInvoiceCommon):
    """The nightly job places customers in segments from their R and F
    scores, and logs each change once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Five buyers, each with a score of its own on R and on F (quintiles of five).
        plan = {
            "Ace": (5, "2024-06-30"),  # R 5, F 5: Champions
            "Bee": (1, "2024-06-20"),  # R 4, F 1: Promising
            "Cid": (4, "2024-01-10"),  # R 1, F 4: At risk
            "Dot": (2, "2024-06-10"),  # R 3, F 2: About to sleep
            "Eve": (3, "2024-03-01"),  # R 2, F 3: At risk
        }
        Partner = cls.env["res.partner"]
        cls.customers = {name: Partner.create({"name": name, "is_company": True}) for name in plan}
        for name, (count, last) in plan.items():
            for _invoice in range(count - 1):
                cls.post_invoice(cls.customers[name], 100.0, "2023-12-01")
            cls.post_invoice(cls.customers[name], 100.0, last)
        cls.contact = Partner.create({"name": "Ace Buyer", "parent_id": cls.customers["Ace"].id})
        cls.prospect = Partner.create({"name": "Prospect", "customer_rank": 1})
        cls.segment = {segment.name: segment for segment in segments_of(cls.env, cls.company)}

    def segment_names(self):
        self.env.invalidate_all()
        return {name: partner.rfm_segment_id.name or None for name, partner in self.customers.items()}

    def segment_history(self):
        return self.env["customer.rfm.segment.history"].search(
            [("company_id", "=", self.company.id), ("partner_id", "in", [p.id for p in self.customers.values()])],
            order="id",
        )

    def test_nightly_placement_and_history(self):
        self.run_cron()
        expected = {"Ace": "Champions", "Bee": "Promising", "Cid": "At risk", "Dot": "About to sleep", "Eve": "At risk"}
        self.assertEqual(self.segment_names(), expected)
        for partner in self.customers.values():
            self.assertEqual(partner.rfm_segment_id.company_id, self.company)
        self.assertEqual(self.contact.rfm_segment_id, self.segment["Champions"], "a contact shows its entity's")
        self.assertFalse(self.prospect.rfm_segment_id, "no purchase, no scores, no segment")
        self.assertIn("Reward them", self.customers["Ace"].rfm_segment_playbook)
        history = self.segment_history()
        self.assertFalse(history, "a first placement is not a move")
        self.assertFalse(self.tracked(), "nor in the chatter")
        self.assertEqual(self.segment["At risk"].partner_count, 2)

        # Unchanged scores: nothing written, nothing logged.
        self.run_full()
        self.assertEqual(self.segment_history(), history)

        # Eve buys again today: R 5 and F 4 (tied with Cid), and Ace's R drops to 4.
        self.post_invoice(self.customers["Eve"], 100.0, "2024-07-01")
        self.run_full()
        after = self.segment_names()
        self.assertEqual(after["Eve"], "Champions")
        moved = {name for name in expected if after[name] != expected[name]}
        new_rows = self.segment_history() - history
        self.assertEqual(
            {(h.partner_id.name, h.old_segment_id.name, h.new_segment_id.name) for h in new_rows},
            {(name, expected[name], after[name]) for name in moved},
        )
        self.assertFalse(self.tracked(), "segment moves are in the history, not the chatter")

    def tracked(self):
        """The partners whose chatter tracks a segment change."""
        values = self.env["mail.tracking.value"].search(
            [("field_id.name", "=", "rfm_segment_id"), ("field_id.model", "=", "res.partner")]
        )
        return self.env["res.partner"].browse(values.mail_message_id.mapped("res_id"))

    def test_archived_segment_frees_its_customers_on_the_next_run(self):
        self.run_cron()
        self.segment["At risk"].active = False
        with freeze_time("2024-07-02"):
            self.run_cron()  # incremental by default: the change made it full
        names = self.segment_names()
        self.assertEqual((names["Cid"], names["Eve"]), (None, None))
        freed = self.segment_history().filtered(lambda row: not row.new_segment_id)
        self.assertEqual(freed.partner_id, self.customers["Cid"] | self.customers["Eve"])
        self.assertEqual(freed.old_segment_id, self.segment["At risk"])

    def test_each_company_places_by_its_own_segments(self):
        company_2 = self.setup_other_company(name="Segments Two")
        self.env.user.company_ids |= company_2["company"]
        ace = self.customers["Ace"]
        self.post_invoice(ace, 100.0, "2024-06-01", company=company_2)
        theirs = segments_of(self.env, company_2["company"])
        theirs.filtered(lambda segment: segment.name == "Champions").write({"name": "Top"})
        self.run_cron()
        mine = ace.with_company(self.company).rfm_segment_id
        other = ace.with_company(company_2["company"]).rfm_segment_id
        self.assertEqual(mine, self.segment["Champions"])
        self.assertEqual(other.company_id, company_2["company"])
        self.assertIn(other, theirs)
        self.assertEqual(other.name, "Top", "one buyer: R, F and M of 5 in the second company")
        rows = self.env["customer.rfm.segment.history"].search([("partner_id", "=", ace.id)])
        self.assertFalse(rows, "first placements, in either company, are not moves")

    def test_a_customer_segment_is_one_of_the_companys_own(self):
        other = self.setup_other_company(name="Segments Three")["company"]
        theirs = segments_of(self.env, other)[:1]
        with self.assertRaisesRegex(ValidationError, "belongs to Segments Three"):
            self.customers["Ace"].with_company(self.company).write({"rfm_segment_id": theirs.id})
