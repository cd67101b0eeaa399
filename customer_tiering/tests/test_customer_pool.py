from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from ..models import customer_pool_job as pool_job
from .common import TieringInvoiceCommon
from .test_migrations import _migration

INVOICE_DAY = date(2026, 3, 2)
#: The rule of the tests: back to the pool after 30 days without a touch, warned 3 days before.
UNTOUCHED, WARNING = 30, 3


@tagged("post_install", "-at_install")
class TestCustomerPool(TieringInvoiceCommon):
    """The public pool (公海): warning, recall, claim and assignment."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "base.group_user,sales_team.group_sale_salesman"
        company = {"company_id": cls.company.id, "company_ids": [cls.company.id]}
        cls.seller = new_test_user(cls.env, login="pool_seller", groups=groups, **company)
        cls.rival = new_test_user(cls.env, login="pool_rival", groups=groups, **company)
        cls.manager = new_test_user(
            cls.env, login="pool_manager", groups=f"{groups},customer_tiering.group_customer_tiering_manager", **company
        )
        Rule = cls.env["customer.pool.rule"].with_context(active_test=False)
        cls.rule = Rule.search([("company_id", "=", cls.company.id)])
        cls.rule.write(
            {
                "active": True,
                "untouched_days": UNTOUCHED,
                "no_order_days": 0,
                "warning_days": WARNING,
                "exempt_best_tier": False,
                "cooldown_days": 10,
                "daily_claim_limit": 2,
                "max_claimed": 3,
            }
        )
        cls.customer = cls.customer_of(cls.seller, "Idle Customer", cls.tier_b)
        cls.post_invoice(cls.customer, 500.0, INVOICE_DAY)
        cls.cron = cls.env.ref("customer_tiering.ir_cron_pool")

    @classmethod
    def customer_of(cls, user, name, tier):
        partner = cls.env["res.partner"].create({"name": name, "is_company": True, "user_id": user.id})
        partner.tier_id = tier
        return partner

    def run_pool(self, day):
        with freeze_time(day):
            self.env["customer.pool.job"].with_user(self.cron.user_id)._cron_pool()
        self.env.invalidate_all()

    def warnings(self, partner=None):
        return self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", (partner or self.customer).id)]
        )

    def history(self, partner=None, action=None):
        domain = [("partner_id", "=", (partner or self.customer).id)]
        return self.env["customer.pool.history"].search(domain + ([("action", "=", action)] if action else []))

    def pooled(self, name, previous, day=INVOICE_DAY):
        """A customer recalled from ``previous`` on ``day``."""
        partner = self.customer_of(previous, name, self.tier_b)
        with freeze_time(day):
            job = self.env["customer.pool.job"]
            job._recall_batch(self.rule, [(partner.id, previous.id)], day, "Test", "en_US")
        self.env.invalidate_all()
        return partner

    def claim(self, partner, user, day):
        with freeze_time(datetime.combine(day, datetime.min.time()) + timedelta(hours=10)):
            return partner.with_user(user).action_pool_claim()

    # ------------------------------------------------------------ rules

    def test_default_rule_is_archived_in_every_company(self):
        other = self.env["res.company"].create({"name": "Pool Defaults Ltd"})
        rule = self.env["customer.pool.rule"].with_context(active_test=False).search([("company_id", "=", other.id)])
        self.assertRecordValues(
            rule,
            [
                {
                    "active": False,
                    "untouched_days": 90,
                    "no_order_days": 180,
                    "warning_days": 7,
                    "exempt_best_tier": True,
                }
            ],
        )
        self.assertEqual(self.env["customer.pool.rule"].search_count([("company_id", "=", other.id)]), 0)

    def test_rule_needs_a_condition_and_bounds(self):
        with self.assertRaises(ValidationError):
            self.rule.write({"untouched_days": 0, "no_order_days": 0, "no_opportunity_days": 0})
        with self.assertRaises(ValidationError):
            self.rule.write({"warning_days": -1})

    # ------------------------------------------------------------ warning and recall

    def test_recall_at_the_days_boundary_after_one_warning(self):
        due = INVOICE_DAY + timedelta(days=UNTOUCHED)
        self.run_pool(due - timedelta(days=WARNING + 1))
        self.assertFalse(self.warnings(), "not yet within the warning days")
        self.run_pool(due - timedelta(days=WARNING))
        warning = self.warnings()
        self.assertRecordValues(warning, [{"user_id": self.seller.id, "date_deadline": due, "automated": True}])
        self.assertIn("goes back to the public customer pool", warning.note)
        self.assertEqual(self.customer.pool_recall_date, due)
        self.run_pool(due - timedelta(days=WARNING - 1))
        self.run_pool(due - timedelta(days=1))
        self.assertEqual(len(self.warnings()), 1, "warned once per recall")
        self.assertEqual(self.customer.user_id, self.seller, "day N-1: still the salesperson's")
        self.assertFalse(self.customer.in_pool)
        self.run_pool(due)
        self.assertRecordValues(self.customer, [{"user_id": False, "in_pool": True, "pool_since": due}])
        self.assertRecordValues(
            self.history(),
            [{"action": "released", "previous_user_id": self.seller.id, "rule_id": self.rule.id, "user_id": False}],
        )
        self.assertIn(self.rule.name, self.history().reason)
        note = self.customer.message_ids.filtered(lambda m: "Back to the public customer pool" in (m.body or ""))
        self.assertEqual(len(note), 1)
        self.assertIn(self.seller.name, note.body)
        self.assertEqual(self.customer.pool_previous_user_id, self.seller)
        self.run_pool(due + timedelta(days=1))
        self.assertEqual(len(self.history()), 1, "a pooled customer is not recalled again")

    def test_recall_removes_the_open_warning(self):
        """The warning is moot once the customer is recalled: removed, not
        marked done (a done to-do would be a touch); the salesperson's other
        activities on the customer stay."""
        others = [self.customer_of(self.seller, f"Warned {n}", self.tier_c) for n in range(2)]
        partners = self.customer.union(*others)
        due = INVOICE_DAY + timedelta(days=UNTOUCHED)
        self.run_pool(due - timedelta(days=WARNING))
        warnings = self.env["mail.activity"].search([("res_model", "=", "res.partner"), ("res_id", "in", partners.ids)])
        self.assertEqual(len(warnings), 3)
        self.assertEqual(warnings.pool_rule_id, self.rule)
        own = self.customer.activity_schedule(
            "mail.mail_activity_data_todo", summary="Send the brochure", user_id=self.seller.id
        )
        self.run_pool(due)
        self.assertEqual(set(partners.mapped("in_pool")), {True})
        self.assertFalse(warnings.with_context(active_test=False).exists(), "removed, not kept as done")
        self.assertEqual(self.warnings(), own, "the salesperson's own to-do stays")
        done = [("model", "=", "res.partner"), ("res_id", "in", partners.ids), ("mail_activity_type_id", "!=", False)]
        self.assertFalse(self.env["mail.message"].search(done), "nothing posted as done")

    def test_touch_after_the_warning_keeps_the_customer(self):
        due = INVOICE_DAY + timedelta(days=UNTOUCHED)
        self.run_pool(due - timedelta(days=WARNING))
        self.assertTrue(self.warnings())
        self.post_invoice(self.customer, 100.0, due - timedelta(days=1))
        self.run_pool(due)
        self.assertEqual(self.customer.user_id, self.seller)
        self.assertFalse(self.history())

    def test_backlog_is_warned_before_its_recall(self):
        """A customer long overdue when the rule starts gets the full warning days."""
        late = INVOICE_DAY + timedelta(days=UNTOUCHED * 3)
        self.run_pool(late)
        self.assertEqual(self.warnings().date_deadline, late + timedelta(days=WARNING))
        self.run_pool(late + timedelta(days=WARNING - 1))
        self.assertEqual(self.customer.user_id, self.seller)
        self.run_pool(late + timedelta(days=WARNING))
        self.assertTrue(self.customer.in_pool)

    def test_exempt_customers_are_never_recalled(self):
        locked = self.customer_of(self.seller, "Locked Customer", self.tier_b)
        locked.write({"tier_locked": True, "tier_lock_reason": "Key account"})
        best = self.customer_of(self.seller, "Best Customer", self.tier_a)
        self.rule.exempt_best_tier = True
        late = INVOICE_DAY + timedelta(days=UNTOUCHED * 3)
        for offset in (0, WARNING, WARNING + 1):
            self.run_pool(late + timedelta(days=offset))
        self.assertTrue(self.customer.in_pool, "the other customer is recalled")
        for partner in locked | best:
            self.assertEqual(partner.user_id, self.seller)
            self.assertFalse(partner.in_pool or self.warnings(partner) or self.history(partner))

    def test_first_matching_rule_decides(self):
        """A tier-B rule before the catch-all keeps tier B customers for longer."""
        self.rule.copy({"name": "Tier B: a year", "sequence": 1, "tier_ids": self.tier_b.ids, "untouched_days": 365})
        other_tier = self.customer_of(self.seller, "Tier C Co", self.tier_c)
        untiered = self.env["res.partner"].create({"name": "No Tier Co", "is_company": True, "user_id": self.seller.id})
        late = INVOICE_DAY + timedelta(days=UNTOUCHED * 2)
        self.run_pool(late)
        self.assertFalse(self.warnings())
        for partner in other_tier | untiered:
            self.assertEqual(self.warnings(partner).user_id, self.seller, "the catch-all rule's customers")

    def test_rules_of_one_company_leave_the_other_alone(self):
        other = self.setup_other_company(name="Pool Other Ltd")["company"]
        theirs_seller = new_test_user(
            self.env, login="pool_theirs", groups="base.group_user,sales_team.group_sale_salesman",
            company_id=other.id, company_ids=[other.id],
        )  # fmt: skip
        theirs = self.env["res.partner"].create(
            {"name": "Their Customer", "is_company": True, "company_id": other.id, "user_id": theirs_seller.id}
        )
        late = INVOICE_DAY + timedelta(days=UNTOUCHED * 3)
        for offset in (0, WARNING):
            self.run_pool(late + timedelta(days=offset))
        self.assertTrue(self.customer.in_pool)
        self.assertEqual(theirs.user_id, theirs_seller, "the other company's rule is archived")
        self.assertFalse(self.warnings(theirs))
        self.assertFalse(self.customer.with_company(other).in_pool, "in the pool of its own company only")

    def test_recall_in_batches_as_the_bench_runs_it(self):
        """The bench's call: no warning, several customers, batches of two."""
        others = [self.customer_of(self.seller, f"Bulk {n}", self.tier_c) for n in range(4)]
        self.rule.warning_days = 0
        day = INVOICE_DAY + timedelta(days=UNTOUCHED)
        job = self.env["customer.pool.job"].with_user(self.cron.user_id).with_company(self.company)
        with patch.object(pool_job, "BATCH", 2), freeze_time(day):
            warned, recalled = job._run_rules(self.rule, day)
        self.env.invalidate_all()
        self.assertEqual((warned, recalled), (0, 5))
        partners = self.customer.union(*others)
        self.assertEqual(set(partners.mapped("in_pool")), {True})
        self.assertFalse(partners.user_id)
        self.assertEqual(len(self.env["customer.pool.history"].search([("partner_id", "in", partners.ids)])), 5)
        notes = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "in", partners.ids), ("body", "ilike", "public customer pool")]
        )
        self.assertEqual(sorted(notes.mapped("res_id")), sorted(partners.ids))
        self.assertEqual(notes.subtype_id, self.env.ref("mail.mt_note"))

    def test_migration_seeds_the_default_rule(self):
        other = self.env["res.company"].create({"name": "Pool Migrated Ltd"})
        Rule = self.env["customer.pool.rule"].with_context(active_test=False)
        Rule.search([("company_id", "=", other.id)]).unlink()
        _migration("18.0.1.9.0", "post-pool-rules")(self.env.cr, "18.0.1.8.0")
        self.assertEqual(len(Rule.search([("company_id", "=", other.id)])), 1)
        self.assertEqual(len(Rule.search([("company_id", "=", self.company.id)])), 1, "no second rule")

    # ------------------------------------------------------------ claim

    def test_claim_by_another_salesperson(self):
        pooled = self.pooled("Pooled Co", self.seller)
        self.assertTrue(self.claim(pooled, self.rival, INVOICE_DAY))
        self.assertRecordValues(pooled, [{"user_id": self.rival.id, "in_pool": False, "pool_since": False}])
        self.assertRecordValues(self.history(pooled, "claimed"), [{"user_id": self.rival.id}])
        self.assertTrue(pooled.message_ids.filtered(lambda m: "Claimed from the pool" in (m.body or "")))
        with self.assertRaisesRegex(UserError, "not in the customer pool"):
            self.claim(pooled, self.seller, INVOICE_DAY)

    def test_cooldown_of_the_previous_salesperson(self):
        pooled = self.pooled("Cooldown Co", self.seller)
        with self.assertRaisesRegex(UserError, "was recalled from you"):
            self.claim(pooled, self.seller, INVOICE_DAY + timedelta(days=9))
        self.claim(pooled, self.seller, INVOICE_DAY + timedelta(days=10))
        self.assertEqual(pooled.user_id, self.seller)

    def test_daily_claim_limit(self):
        first, second, third = (self.pooled(f"Daily {n}", self.seller) for n in range(3))
        self.claim(first, self.rival, INVOICE_DAY)
        self.claim(second, self.rival, INVOICE_DAY)
        with self.assertRaisesRegex(UserError, "most a salesperson may claim in a day"):
            self.claim(third, self.rival, INVOICE_DAY)
        self.claim(third, self.rival, INVOICE_DAY + timedelta(days=1))
        self.assertEqual(third.user_id, self.rival)

    def test_cap_on_claimed_customers_held(self):
        pooled = [self.pooled(f"Held {n}", self.seller) for n in range(4)]
        for n, partner in enumerate(pooled[:3]):
            self.claim(partner, self.rival, INVOICE_DAY + timedelta(days=n))
        with self.assertRaisesRegex(UserError, "most a salesperson may hold"):
            self.claim(pooled[3], self.rival, INVOICE_DAY + timedelta(days=5))
        pooled[0].user_id = self.seller  # reassigned: no longer held by the rival
        self.claim(pooled[3], self.rival, INVOICE_DAY + timedelta(days=5))

    def test_simultaneous_claims_give_the_customer_once(self):
        """The second of two claims that both passed the checks finds the
        conditional UPDATE empty: it is refused, and the first keeps it."""
        pooled = self.pooled("Raced Co", self.seller)
        self.claim(pooled, self.rival, INVOICE_DAY + timedelta(days=20))
        with self.assertRaisesRegex(UserError, "taken from the pool by someone else"):
            pooled.with_user(self.seller)._pool_take(self.seller, "claimed", "Raced")
        self.assertEqual(pooled.user_id, self.rival)
        self.assertEqual(len(self.history(pooled, "claimed")), 1)

    def test_only_salespeople_claim(self):
        pooled = self.pooled("Guarded Co", self.seller)
        clerk = new_test_user(self.env, login="pool_clerk", groups="base.group_user")
        with self.assertRaises(AccessError):
            pooled.with_user(clerk).action_pool_claim()
        with self.assertRaises(AccessError):
            pooled.with_user(self.rival).write({"in_pool": False})

    # ------------------------------------------------------------ assign

    def test_managers_assign(self):
        pooled = self.pooled("Assigned Co", self.seller)
        with self.assertRaises(AccessError):
            pooled.with_user(self.rival).action_pool_assign()
        action = pooled.with_user(self.manager).action_pool_assign()
        self.assertEqual(action["res_model"], "customer.pool.assign")
        wizard = (
            self.env["customer.pool.assign"]
            .with_user(self.manager)
            .create({"partner_ids": pooled.ids, "user_id": self.seller.id})
        )
        wizard.action_assign()
        self.assertRecordValues(pooled, [{"user_id": self.seller.id, "in_pool": False}])
        self.assertRecordValues(self.history(pooled, "assigned"), [{"user_id": self.seller.id}])
        with self.assertRaisesRegex(UserError, "not in the customer pool"):
            pooled.with_user(self.manager).with_context(pool_assign_user_id=self.rival.id).action_pool_assign()

    def test_managers_wizards_share_one_check(self):
        """The assignment and points wizards check the manager group in one
        place (customer.tiering.manager.mixin), each refusing in its own words."""
        mixin = type(self.env["customer.tiering.manager.mixin"])
        wizards = {
            "customer.pool.assign": (
                "assign customers from the pool",
                {"partner_ids": self.customer.ids, "user_id": self.seller.id},
            ),
            "customer.points.adjustment": (
                "adjust loyalty points",
                {"partner_id": self.customer.id, "points": 5.0, "reason": "Goodwill"},
            ),
        }
        for model, (message, values) in wizards.items():
            with self.subTest(model=model):
                Wizard = self.env[model]
                self.assertIs(type(Wizard)._check_manager, mixin._check_manager)
                self.assertIs(type(Wizard).create, mixin.create)
                with self.assertRaisesRegex(AccessError, f"Only Customer Tiering managers can {message}"):
                    Wizard.with_user(self.rival).create(values)
                self.assertTrue(Wizard.with_user(self.manager).create(values))

    def test_claimed_customer_starts_a_new_cycle(self):
        """A claim counts as the start: the new salesperson gets the rule's full days."""
        pooled = self.pooled("Fresh Start Co", self.seller)
        claimed_on = INVOICE_DAY + timedelta(days=100)
        self.claim(pooled, self.rival, claimed_on)
        self.run_pool(claimed_on + timedelta(days=UNTOUCHED - WARNING - 1))
        self.assertFalse(self.warnings(pooled))
        self.run_pool(claimed_on + timedelta(days=UNTOUCHED - WARNING))
        self.assertEqual(self.warnings(pooled).user_id, self.rival)
