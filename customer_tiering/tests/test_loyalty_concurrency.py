import threading
from contextlib import closing
from datetime import date

from psycopg2 import errors

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import TransactionCase, tagged

CONCURRENCY_ERRORS = (errors.SerializationFailure, errors.UniqueViolation)


@tagged("post_install", "-at_install")
class TestLoyaltyConcurrency(TransactionCase):
    """Two real transactions award the same invoice at once: one issuance.

    The data is committed (each transaction must see it), then removed.
    """

    def setUp(self):
        super().setUp()
        with self.committed_env() as env:
            config = env["customer.tiering.config"]._for_companies(env.ref("base.main_company")).sudo()
            self.program_id = config.loyalty_program_id.id
            # Post with points switched off, so that only the racing transactions award.
            config.loyalty_program_id = False
            partner = env["res.partner"].create({"name": "Concurrent Customer", "is_company": True})
            move = env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": date.today(),
                    "invoice_line_ids": [
                        Command.create({"name": "Goods", "quantity": 1, "price_unit": 120.0, "tax_ids": []})
                    ],
                }
            )
            move.action_post()
            config.write({"loyalty_program_id": self.program_id, "points_start_date": date(2020, 1, 1)})
            self.partner_id, self.move_id = partner.id, move.id
        self.addCleanup(self.cleanup)

    def committed_env(self):
        cursor = self.registry.cursor()
        return _EnvContext(cursor)

    def cleanup(self):
        with self.committed_env() as env:
            env["loyalty.card"].search([("partner_id", "=", self.partner_id)]).unlink()
            move = env["account.move"].browse(self.move_id)
            move.button_draft()
            move.unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def award(self, env):
        env["customer.loyalty.ledger"]._award_documents(env["account.move"].browse(self.move_id))

    def race(self, first, second):
        """Run ``second`` while ``first`` holds its uncommitted work, then commit both."""
        outcome = {}

        def run_second():
            with closing(self.registry.cursor()) as cr:
                try:
                    second(thread_env(self.registry, cr))
                    cr.commit()  # pylint: disable=invalid-commit
                    outcome["second"] = "committed"
                except CONCURRENCY_ERRORS as error:
                    cr.rollback()
                    outcome["second"] = type(error).__name__

        with closing(self.registry.cursor()) as cr:
            first(api.Environment(cr, SUPERUSER_ID, {}))
            thread = threading.Thread(target=run_second)
            thread.start()
            thread.join(1.0)
            self.assertTrue(thread.is_alive(), "the second transaction must wait for the first")
            cr.commit()  # pylint: disable=invalid-commit
        thread.join(30)
        self.assertFalse(thread.is_alive())
        return outcome["second"]

    def assert_awarded_once(self):
        with self.committed_env() as env:
            cards = env["loyalty.card"].search([("partner_id", "=", self.partner_id), ("is_tier_card", "=", True)])
            entries = env["loyalty.history"].search(
                [("order_model", "=", "account.move"), ("order_id", "=", self.move_id)]
            )
            self.assertEqual(len(cards), 1, "one card per customer and program")
            self.assertEqual(len(entries), 1)
            self.assertEqual(cards.points, 120.0)
            self.assertEqual(entries.issued, 120.0)

    def test_two_transactions_create_card_and_award_once(self):
        self.race(self.award, self.award)
        self.assert_awarded_once()

    def test_catch_up_racing_a_posting_awards_once(self):
        with self.committed_env() as env:  # the card exists: the race is on the entry alone
            program = env["loyalty.program"].browse(self.program_id)
            env["customer.loyalty.ledger"]._tier_cards(program, [self.partner_id])

        def catch_up(env):
            config = env["customer.tiering.config"]._for_companies(env.ref("base.main_company"))
            env["customer.loyalty.ledger"]._catch_up(config)

        self.race(self.award, catch_up)
        self.assert_awarded_once()


def thread_env(registry, cr):
    """A superuser environment on ``cr`` for a thread of the test. It is given
    its registry: api.Environment would look it up by database name under
    Registry's class lock, which Odoo's test runner holds while the tests run,
    so another thread would wait for it forever."""
    cr.transaction = api.Transaction(registry)
    return api.Environment(cr, SUPERUSER_ID, {})


class _EnvContext:
    """A superuser environment on a cursor that commits on success."""

    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        self.cursor.__enter__()
        return api.Environment(self.cursor, SUPERUSER_ID, {})

    def __exit__(self, *exc):
        return self.cursor.__exit__(*exc)
