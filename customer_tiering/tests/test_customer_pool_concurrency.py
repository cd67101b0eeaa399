import threading
from contextlib import closing

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from .test_loyalty_concurrency import CONCURRENCY_ERRORS, thread_env

#: The limits of the tests' rule, all off but the one a test races on.
NO_LIMITS = {"cooldown_days": 0, "daily_claim_limit": 0, "max_claimed": 0}


@tagged("post_install", "-at_install")
class TestCustomerPoolConcurrency(TransactionCase):
    """One salesperson claims two pooled customers in two real transactions
    at once: the second claim waits for the first and counts it, so the
    claim limits hold. Without that, each transaction counts the claims
    committed before it and both pass the last free place.

    The data is committed (each transaction must see it), then removed."""

    def setUp(self):
        super().setUp()
        with self.committed_env() as env:
            self.company_id = env.ref("base.main_company").id
            # The administrator is a salesperson of the main company: no user to create and remove.
            self.user_id = env.ref("base.user_admin").id
            rule = (
                env["customer.pool.rule"]
                .with_context(active_test=False)
                .search([("company_id", "=", self.company_id)], order="sequence, id", limit=1)
            )
            self.rule_id = rule.id
            self.rule_values = rule.read(["active", *NO_LIMITS])[0]
            rule.write({"active": True, **NO_LIMITS})
            partners = env["res.partner"].create(
                [{"name": f"Raced Pool Customer {n}", "is_company": True, "user_id": self.user_id} for n in range(2)]
            )
            env["customer.pool.job"].with_company(self.company_id)._recall_batch(
                rule, [(partner.id, self.user_id) for partner in partners], env.cr.now().date(), "Test", "en_US"
            )
            self.partner_ids = partners.ids
        self.addCleanup(self.cleanup)

    def committed_env(self):
        return _CommittedEnv(self.registry.cursor())

    def cleanup(self):
        with self.committed_env() as env:
            env["res.partner"].browse(self.partner_ids).unlink()
            values = {key: value for key, value in self.rule_values.items() if key != "id"}
            env["customer.pool.rule"].browse(self.rule_id).write(values)

    def set_limit(self, limit, claimed_before):
        """The rule's ``limit`` one above what the user claimed before the test."""
        with self.committed_env() as env:
            env["customer.pool.rule"].browse(self.rule_id).write({limit: claimed_before(env) + 1})

    def claimer(self, partner_id):
        def claim(env):
            env = env(user=self.user_id, context={"allowed_company_ids": [self.company_id]})
            env["res.partner"].browse(partner_id).action_pool_claim()

        return claim

    def race(self, first, second):
        """Run ``second`` while ``first`` holds its uncommitted claim, then
        commit both. A concurrency error of ``second`` is retried in a fresh
        transaction, as Odoo retries the request. Returns what ``second``
        ended with: "committed" or the error of its last attempt."""
        outcome = {}

        def run_second():
            for _attempt in range(2):
                with closing(self.registry.cursor()) as cr:
                    try:
                        second(thread_env(self.registry, cr))
                        cr.commit()  # pylint: disable=invalid-commit
                        outcome["second"] = "committed"
                        return
                    except CONCURRENCY_ERRORS as error:
                        cr.rollback()
                        outcome["second"] = error
                    except UserError as error:
                        cr.rollback()
                        outcome["second"] = error
                        return

        with closing(self.registry.cursor()) as cr:
            first(api.Environment(cr, SUPERUSER_ID, {}))
            thread = threading.Thread(target=run_second)
            thread.start()
            thread.join(1.0)
            self.assertTrue(thread.is_alive(), "the second claim must wait for the first")
            cr.commit()  # pylint: disable=invalid-commit
        thread.join(30)
        self.assertFalse(thread.is_alive())
        return outcome["second"]

    def claimed(self):
        """The test's customers the user holds, and those still in the pool."""
        with self.committed_env() as env:
            partners = env["res.partner"].with_company(self.company_id).browse(self.partner_ids)
            return (
                partners.filtered(lambda p: p.user_id.id == self.user_id).ids,
                partners.filtered("in_pool").ids,
            )

    def test_concurrent_claims_stay_within_the_held_cap(self):
        def held(env):
            return env["res.partner"]._claimed_held(
                env["res.users"].browse(self.user_id), env["res.company"].browse(self.company_id)
            )

        self.set_limit("max_claimed", held)
        first, second = self.partner_ids
        outcome = self.race(self.claimer(first), self.claimer(second))
        self.assertIsInstance(outcome, UserError)
        self.assertIn("most a salesperson may hold", str(outcome))
        self.assertEqual(self.claimed(), ([first], [second]))

    def test_concurrent_claims_stay_within_the_daily_limit(self):
        def claimed_today(env):
            user = env["res.users"].browse(self.user_id)
            return env["customer.pool.history"].search_count(
                [
                    ("user_id", "=", self.user_id),
                    ("company_id", "=", self.company_id),
                    ("action", "=", "claimed"),
                    ("date", ">=", env["res.partner"]._start_of_today(user)),
                ]
            )

        self.set_limit("daily_claim_limit", claimed_today)
        first, second = self.partner_ids
        outcome = self.race(self.claimer(first), self.claimer(second))
        self.assertIsInstance(outcome, UserError)
        self.assertIn("most a salesperson may claim in a day", str(outcome))
        self.assertEqual(self.claimed(), ([first], [second]))


class _CommittedEnv:
    """A superuser environment on a cursor that commits on success."""

    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        self.cursor.__enter__()
        return api.Environment(self.cursor, SUPERUSER_ID, {})

    def __exit__(self, *exc):
        return self.cursor.__exit__(*exc)
