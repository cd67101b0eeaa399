from datetime import date, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import TieringInvoiceCommon


@tagged("post_install", "-at_install")
class TestLoyaltyPoints(TieringInvoiceCommon):
    """Tier points earned on real invoices, on Odoo's own loyalty cards."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.points_start_date = date(2020, 1, 1)
        cls.program = cls.config.loyalty_program_id
        cls.customer = cls.env["res.partner"].create({"name": "Key Account Ltd", "is_company": True})
        cls.customer.tier_id = cls.tier_a
        cls.company_data_2 = cls.setup_other_company()

    def card(self, partner=None, company=None):
        return self.env["loyalty.card"].search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                (
                    "program_id",
                    "=",
                    self.env["customer.tiering.config"]._for_companies(company or self.company).loyalty_program_id.id,
                ),
                ("is_tier_card", "=", True),
            ]
        )

    def entries(self, move):
        return self.env["loyalty.history"].search(
            [("order_model", "=", "account.move"), ("order_id", "=", move.id)], order="id"
        )

    # ------------------------------------------------------------ earning
    def test_default_program(self):
        self.assertEqual(self.program.program_type, "loyalty")
        self.assertEqual(self.program.company_id, self.company)
        self.assertFalse(self.program.rule_ids, "points come from invoices, not from order rules")
        reward = self.program.reward_ids
        self.assertRecordValues(
            reward,
            [
                {
                    "reward_type": "discount",
                    "discount_mode": "per_point",
                    "discount": 0.01,
                    "discount_applicability": "order",
                    "required_points": 1000,
                    "discount_max_amount": 0,
                }
            ],
        )
        self.assertEqual(self.tiers.mapped("points_multiplier"), [2.0, 1.5, 1.0])
        self.assertEqual(self.config.points_per_currency, 1.0)

    def test_default_reward_gives_one_to_two_percent_back(self):
        """1 point per currency unit, times 1 (C) to 2 (A), each point worth
        0.01: 1% to 2% of what a customer buys comes back as a discount."""
        for tier, share in ((self.tier_a, 0.02), (self.tier_b, 0.015), (self.tier_c, 0.01)):
            customer = self.env["res.partner"].create({"name": f"Buyer {tier.code}", "is_company": True})
            customer.tier_id = tier
            self.post_invoice(customer, 5000.0, "2026-03-01")
            points = self.card(customer).points
            self.assertAlmostEqual(points * self.program.reward_ids.discount, 5000.0 * share, msg=tier.code)

    def test_small_purchase_earns_no_reward_yet(self):
        """An A customer buying 50 earns 100 points, worth 1: not enough to claim a reward."""
        self.post_invoice(self.customer, 50.0, "2026-03-01")
        card = self.card()
        self.assertEqual(card.points, 100.0)
        order = self.quotation(self.customer)
        order._update_programs_and_rewards()
        self.assertFalse(order._get_claimable_rewards().get(card))

    def test_reward_takes_what_the_points_are_worth(self):
        """5,000 bought at tier A: 10,000 points, 100 off the next order, 2% of 5,000."""
        self.post_invoice(self.customer, 5000.0, "2026-03-01")
        card = self.card()
        self.assertEqual(card.points, 10000.0)
        order = self.quotation(self.customer)
        order._update_programs_and_rewards()
        reward = self.program.reward_ids
        self.assertIn(reward, order._get_claimable_rewards()[card])
        self.assertFalse(order._apply_program_reward(reward, card).get("error"))
        self.assertAlmostEqual(sum(order.order_line.filtered("reward_id").mapped("price_total")), -100.0)
        order.action_confirm()
        self.assertEqual(card.points, 0.0, "the 10,000 points bought the 100 off")

    def test_invoice_earns_amount_times_multiplier(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        card = self.card()
        self.assertEqual(card.points, 2000.0, "untaxed 1000 × rate 1 × tier A 2.0")
        entry = self.entries(invoice)
        self.assertRecordValues(
            entry,
            [
                {
                    "card_id": card.id,
                    "points_kind": "earn",
                    "issued": 2000.0,
                    "used": 0.0,
                    "points_date": date(2026, 3, 1),
                }
            ],
        )
        self.assertEqual(self.customer.loyalty_points, 2000.0)
        self.assertEqual(self.customer.tier_card_id, card)

    def test_balance_moves_are_heap_only_updates(self):
        """An entry moves its card's balance without writing any indexed
        column: PostgreSQL keeps the card where it is and leaves its
        indexes alone. The entry, not the card, dates the move."""
        self.post_invoice(self.customer, 100.0, "2026-03-01")
        card = self.card()
        written = card.write_date

        def updates():
            self.env.cr.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'loyalty_card'"
            )
            return self.env.cr.fetchone()

        before = updates()
        self.post_invoice(self.customer, 50.0, "2026-03-02")
        after = updates()
        self.assertEqual(self.card().points, 300.0)
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (1, 1), "one heap-only update")
        card.invalidate_recordset(["write_date"])
        self.assertEqual(card.write_date, written)

    def test_contact_earns_on_entity_card_and_rounds_down(self):
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": self.customer.id})
        self.customer.tier_id = self.tier_b
        self.post_invoice(contact, 99.9, "2026-03-01")
        self.assertFalse(self.card(contact))
        self.assertEqual(self.card().points, 149.0, "99.9 × 1.5 = 149.85, rounded down")
        self.assertEqual(contact.loyalty_points, 149.0)

    def test_customer_without_tier_earns_base_rate(self):
        newcomer = self.env["res.partner"].create({"name": "Newcomer"})
        self.config.points_per_currency = 0.5
        self.post_invoice(newcomer, 301.0, "2026-03-01")
        self.assertEqual(self.card(newcomer).points, 150.0)

    def test_invoice_before_start_date_earns_nothing(self):
        self.config.points_start_date = date(2026, 1, 1)
        self.post_invoice(self.customer, 1000.0, "2025-12-31")
        self.assertFalse(self.card())

    # ------------------------------------------------------------ reversals
    def test_partial_credit_note_reverses_proportionally(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        self.customer.tier_id = self.tier_c  # the credit note takes back what the invoice earned
        refund = self.credit_note(invoice, 250.0)
        self.assertRecordValues(
            self.entries(refund),
            [{"points_kind": "refund", "issued": 0.0, "used": 500.0, "points_date": date(2026, 3, 1)}],
        )
        self.assertEqual(self.card().points, 1500.0)
        self.assertEqual(len(self.entries(invoice)), 1, "the invoice's own entry is kept")

    def test_cancel_reverses_exactly_and_repost_earns_again(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        invoice.button_cancel()
        self.assertRecordValues(
            self.entries(invoice),
            [
                {"points_kind": "earn", "issued": 2000.0, "used": 0.0, "points_key": f"post:{invoice.id}:0"},
                {"points_kind": "void", "issued": 0.0, "used": 2000.0, "points_key": f"void:{invoice.id}:0"},
            ],
        )
        self.assertEqual(self.card().points, 0.0)
        invoice.button_draft()
        invoice.invoice_line_ids.price_unit = 600.0
        invoice.action_post()
        self.env["customer.loyalty.ledger"]._award_documents(invoice)  # a counted document counts once
        self.assertEqual(self.entries(invoice)[-1].points_key, f"post:{invoice.id}:1")
        self.assertEqual(len(self.entries(invoice)), 3)
        self.assertEqual(self.card().points, 1200.0)

    def test_ledger_writes_in_the_company_language(self):
        """Descriptions are stored: they are written in the company's language,
        not in the language of whoever posted the document."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        self.env.company.partner_id.lang = "zh_CN"
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        refund = self.credit_note(invoice, 100.0)
        invoice_entry, refund_entry = self.entries(invoice), self.entries(refund)
        self.assertEqual(invoice_entry.description, f"发票 {invoice.name}")
        self.assertIn(refund.name, refund_entry.description)
        self.assertNotIn("Credit note", refund_entry.description)
        invoice.with_context(lang="en_US").button_cancel()
        self.assertNotIn("cancelled", self.entries(invoice)[-1].description)

    def test_reset_credit_note_gives_points_back(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        refund = self.credit_note(invoice, 100.0)
        self.assertEqual(self.card().points, 1800.0)
        refund.button_draft()
        self.assertEqual(self.entries(refund)[-1].issued, 200.0)
        self.assertEqual(self.card().points, 2000.0)

    # ------------------------------------------------------------ catch-up
    def test_catch_up_awards_missed_invoices_once(self):
        program = self.config.loyalty_program_id
        self.config.write({"loyalty_program_id": False, "points_expiry_months": 0})
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        old = self.post_invoice(self.customer, 100.0, "2019-06-01")
        self.config.loyalty_program_id = program
        cron = self.env.ref("customer_tiering.ir_cron_loyalty")
        cron.method_direct_trigger()
        cron.method_direct_trigger()
        self.assertEqual(len(self.entries(invoice)), 1)
        self.assertFalse(self.entries(old), "before the start date, until the admin opts in")
        self.assertEqual(self.card().points, 2000.0)
        self.config.points_start_date = date(2019, 1, 1)  # the admin opts in
        cron.method_direct_trigger()
        cron.method_direct_trigger()
        self.assertEqual(len(self.entries(old)), 1)
        self.assertEqual(self.card().points, 2200.0)

    def test_catch_up_voids_documents_cancelled_unseen(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        self.env.cr.execute("UPDATE account_move SET state = 'cancel' WHERE id = %s", [invoice.id])
        invoice.invalidate_recordset(["state"])
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.assertEqual(self.entries(invoice).mapped("points_kind"), ["earn", "void"])
        self.assertEqual(self.card().points, 0.0)

    def test_catch_up_checks_documents_written_since_it_looked(self):
        """A nightly catch-up reads the documents written since the last one
        looked; a full check of all of them comes with a new opt-in date,
        and as often as the full tiering run."""
        ledger = self.env["customer.loyalty.ledger"]
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        ledger._catch_up(self.config)
        self.assertTrue(self.config.points_full_check)
        checked = self.config.points_checked_since
        # Cancelled behind the ORM's back, and written before the last check looked.
        self.env.cr.execute(
            "UPDATE account_move SET state = 'cancel', write_date = %s WHERE id = %s",
            [checked - timedelta(hours=1), invoice.id],
        )
        invoice.invalidate_recordset(["state", "write_date"])
        ledger._catch_up(self.config)
        self.assertEqual(self.entries(invoice).mapped("points_kind"), ["earn"], "not written since: not read")
        self.config.points_start_date = date(2026, 1, 1)
        self.assertFalse(self.config.points_full_check, "a new opt-in date asks for a full check")
        ledger._catch_up(self.config)
        self.assertEqual(self.entries(invoice).mapped("points_kind"), ["earn", "void"])
        self.assertTrue(self.config.points_full_check)
        # Cancelled behind the ORM's back since: the nightly check voids it.
        other = self.post_invoice(self.customer, 300.0, "2026-03-02")
        self.env.cr.execute("UPDATE account_move SET state = 'cancel' WHERE id = %s", [other.id])
        other.invalidate_recordset(["state"])
        ledger._catch_up(self.config)
        self.assertFalse(self.config._points_full_check_due(fields.Date.today()))
        self.assertEqual(self.entries(other).mapped("points_kind"), ["earn", "void"])
        weekly = self.config.points_full_check.date() + timedelta(days=self.config.full_run_days)
        self.assertFalse(self.config._points_full_check_due(weekly - timedelta(days=1)))
        self.assertTrue(self.config._points_full_check_due(weekly))

    def test_ledger_key_is_a_database_constraint(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        entry = self.entries(invoice)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env.cr.execute(
                """INSERT INTO loyalty_history (card_id, description, issued, used, points_key)
                   VALUES (%s, 'again', 2000, 0, %s)""",
                [entry.card_id.id, entry.points_key],
            )
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env.cr.execute(
                """INSERT INTO loyalty_card (program_id, partner_id, code, points, is_tier_card)
                   VALUES (%s, %s, 'dup-card', 0, TRUE)""",
                [self.program.id, self.customer.id],
            )

    # ------------------------------------------------------------ redemption
    def test_sale_order_spends_points_on_reward(self):
        self.post_invoice(self.customer, 1000.0, "2026-03-01")
        card = self.card()
        order = self.quotation(self.customer)
        order._update_programs_and_rewards()
        claimable = order._get_claimable_rewards()
        reward = self.program.reward_ids
        self.assertIn(reward, claimable[card])
        self.assertFalse(order._apply_program_reward(reward, card).get("error"))
        order.action_confirm()
        # 2,000 points, worth 0.01 each, in steps of 1,000: 20 off, every point spent.
        self.assertEqual(card.points, 0.0)
        spent = self.env["loyalty.history"].search([("order_model", "=", "sale.order"), ("order_id", "=", order.id)])
        self.assertEqual(spent.used, 2000.0)
        self.assertAlmostEqual(sum(order.order_line.filtered("reward_id").mapped("price_total")), -20.0)

    def test_changing_the_order_customer_drops_the_card(self):
        self.post_invoice(self.customer, 1000.0, "2026-03-01")
        order = self.quotation(self.customer)
        order._update_programs_and_rewards()
        order._apply_program_reward(self.program.reward_ids, self.card())
        order.partner_id = self.env["res.partner"].create({"name": "Someone Else"})
        order._update_programs_and_rewards()
        self.assertFalse(order.applied_coupon_ids)
        self.assertFalse(order.order_line.filtered("reward_id"), "no reward paid with another customer's points")

    # ------------------------------------------------------------ merge
    def test_merge_keeps_every_entry_on_one_card(self):
        duplicate = self.env["res.partner"].create({"name": "Key Account (duplicate)", "is_company": True})
        self.post_invoice(self.customer, 100.0, "2026-03-01")  # 200 points at tier A
        invoice = self.post_invoice(duplicate, 50.0, "2026-03-02")  # 50 points without a tier
        entries = self.card().history_ids | self.card(duplicate).history_ids
        merger = new_test_user(
            self.env,
            login="points_merger",
            groups="base.group_erp_manager,base.group_partner_manager,account.group_account_invoice",
        )
        self.assertFalse(merger.has_group("customer_tiering.group_customer_tiering_manager"))
        self.env["base.partner.merge.automatic.wizard"].with_user(merger)._merge(
            (self.customer | duplicate).ids, dst_partner=self.customer, extra_checks=False
        )
        card = self.card()
        self.assertEqual(card.points, 250.0)
        self.assertEqual(card.history_ids, entries, "no entry lost or deleted")
        self.assertFalse(duplicate.exists())
        self.assertEqual(self.customer.tier_id, self.tier_a, "merging leaves company-dependent values to the job")
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.assertEqual(card.points, 250.0, "merged documents are not counted again")
        invoice.button_cancel()
        self.assertEqual(card.points, 200.0, "and still reverse exactly what they earned")

    # ------------------------------------------------------------ companies
    def test_two_companies_two_balances(self):
        company_2 = self.company_data_2["company"]
        self.env["customer.tiering.config"]._for_companies(company_2).sudo().points_start_date = date(2020, 1, 1)
        self.post_invoice(self.customer, 1000.0, "2026-03-01")
        self.post_invoice(self.customer, 300.0, "2026-03-01", company=self.company_data_2)
        self.assertEqual(self.card().points, 2000.0)
        self.assertEqual(self.card(company=company_2).points, 300.0, "no tier in the second company")
        self.assertEqual(self.customer.with_company(self.company).loyalty_points, 2000.0)
        self.assertEqual(self.customer.with_company(company_2).loyalty_points, 300.0)

    # ------------------------------------------------------------ expiry
    def test_expiry_at_its_boundary(self):
        self.post_invoice(self.customer, 500.0, "2024-01-15")  # 1000 points
        ledger = self.env["customer.loyalty.ledger"]
        with freeze_time("2026-01-14"):
            self.env.ref("customer_tiering.ir_cron_loyalty").method_direct_trigger()
        self.assertEqual(self.card().points, 1000.0, "still valid the day before 24 months")
        with freeze_time("2026-01-15"):
            self.env.ref("customer_tiering.ir_cron_loyalty").method_direct_trigger()
            self.env.ref("customer_tiering.ir_cron_loyalty").method_direct_trigger()
        self.assertEqual(self.card().points, 0.0)
        expired = self.card().history_ids.filtered(lambda h: h.points_kind == "expire")
        self.assertRecordValues(expired, [{"used": 1000.0, "points_key": "expire:2026-01-15"}])
        self.config.points_expiry_months = 0
        self.post_invoice(self.customer, 50.0, "2020-01-01")
        ledger._expire(self.config, date(2030, 1, 1))
        self.assertEqual(self.card().points, 100.0, "0 months: points never expire")

    def test_expiry_is_first_earned_first_expired(self):
        self.post_invoice(self.customer, 500.0, "2024-01-15")  # 1000 points
        self.post_invoice(self.customer, 250.0, "2025-06-01")  # 500 points
        self.env["customer.loyalty.ledger"]._adjust(self.customer, -1200.0, "Gift", key="adjust:fifo")
        ledger = self.env["customer.loyalty.ledger"]
        ledger._expire(self.config, date(2026, 1, 15))
        self.assertEqual(self.card().points, 300.0, "the 1,200 spent came from the oldest points")
        ledger._expire(self.config, date(2027, 6, 1))
        self.assertEqual(self.card().points, 0.0)

    def test_nightly_expiry_checks_the_cards_it_can_change(self):
        """Between full checks, expiry reads the cards with points the window
        start passed since the last run, and the cards written since the
        points run last looked: a card's excess grows in no other way."""
        other = self.env["res.partner"].create({"name": "Other Account", "is_company": True})
        self.post_invoice(self.customer, 500.0, "2024-01-15")  # 1000 points
        self.post_invoice(other, 100.0, "2024-06-01")  # 100 points, no tier
        ledger = self.env["customer.loyalty.ledger"]
        ledger._expire(self.config, date(2026, 1, 14))
        self.assertEqual(self.config.points_expired_until, date(2024, 1, 14))
        # An excess no entry explains, set behind the ORM's back on a card not written since.
        self.env.cr.execute("UPDATE loyalty_card SET points = points + 10 WHERE id = %s", [self.card(other).id])
        self.card(other).invalidate_recordset(["points"])
        later = fields.Datetime.now() + timedelta(hours=1)
        ledger._expire(self.config, date(2026, 1, 15), written_since=later)
        self.assertEqual(self.card().points, 0.0, "its points earned on the new window start expire")
        self.assertEqual(self.card(other).points, 110.0, "neither passed by the window nor written: not read")
        self.assertEqual(self.config.points_expired_until, date(2024, 1, 15))
        ledger._expire(self.config, date(2026, 1, 16), written_since=fields.Datetime.now() - timedelta(hours=1))
        self.assertEqual(self.card(other).points, 100.0, "written since the points run looked: read")
        # Again an excess, on a card last written long ago that then gets an entry.
        self.env.cr.execute(
            "UPDATE loyalty_card SET points = points + 10, write_date = '2020-01-01' WHERE id = %s",
            [self.card(other).id],
        )
        ledger._adjust(other, 5.0, "Bonus", key="adjust:bonus")
        ledger._expire(self.config, date(2026, 1, 17), written_since=fields.Datetime.now() - timedelta(hours=1))
        self.card(other).invalidate_recordset(["points"])
        self.assertEqual(self.card(other).points, 105.0, "an entry created since the points run looked: read")

    def test_nightly_expiry_reads_the_cards_written_since_the_last_expiry(self):
        """The cards the last points run wrote before its expiry were read by
        it: the next expiry starts from that expiry, not from the catch-up."""
        Ledger = type(self.env["customer.loyalty.ledger"])
        seen = []

        def expire(ledger, config, today, written_since=None):
            if config == self.config:
                seen.append(written_since)
            return expire.original(ledger, config, today, written_since)

        expire.original = Ledger._expire
        with patch.object(Ledger, "_expire", expire):
            self.env["customer.loyalty.ledger"]._cron_loyalty()
            stored = self.config.points_cards_checked_since
            self.assertTrue(stored)
            self.config.points_checked_since = stored - timedelta(days=1)
            self.env["customer.loyalty.ledger"]._cron_loyalty()
        self.assertEqual(seen, [False, stored], "a full check first, then the cards written since the expiry")

    # ------------------------------------------------------------ adjustments
    def test_manager_adjusts_with_reason_never_below_zero(self):
        self.post_invoice(self.customer, 100.0, "2026-03-01")  # 200 points
        wizard = self.env["customer.points.adjustment"].create(
            {"partner_id": self.customer.id, "points": -50.0, "reason": "Damaged parcel"}
        )
        self.assertEqual(wizard.balance, 200.0)
        wizard.action_apply()
        wizard.action_apply()  # a retried click counts once
        self.assertEqual(self.card().points, 150.0)
        entry = self.card().history_ids.filtered(lambda h: h.points_kind == "adjust")
        self.assertRecordValues(
            entry, [{"used": 50.0, "description": "Points adjustment", "points_note": "Damaged parcel"}]
        )
        self.assertIn("Damaged parcel", self.customer.message_ids[0].body)
        too_much = self.env["customer.points.adjustment"].create(
            {"partner_id": self.customer.id, "points": -151.0, "reason": "Too much"}
        )
        with self.assertRaisesRegex(UserError, "negative"):
            too_much.action_apply()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env["customer.points.adjustment"].create({"partner_id": self.customer.id, "points": 5.0})

    def test_plain_user_cannot_adjust_or_write_history(self):
        self.post_invoice(self.customer, 100.0, "2026-03-01")
        entry = self.card().history_ids
        user = new_test_user(self.env, login="points_plain", groups="base.group_user")
        salesman = new_test_user(
            self.env, login="points_sales", groups="base.group_user,sales_team.group_sale_salesman"
        )
        with self.assertRaises(AccessError):
            self.env["customer.points.adjustment"].with_user(user).create(
                {"partner_id": self.customer.id, "points": 10.0, "reason": "mine"}
            )
        with self.assertRaises(AccessError):
            entry.with_user(user).write({"issued": 1e6})
        with self.assertRaises(UserError):
            entry.with_user(salesman).write({"issued": 1e6})
        with self.assertRaises(UserError):
            entry.with_user(salesman).unlink()
        self.assertEqual(self.customer.with_user(user).loyalty_points, 200.0)

    def test_invalid_points_settings_are_refused(self):
        for values in ({"points_per_currency": -1}, {"points_rounding": 0}, {"points_expiry_months": -1}):
            with self.subTest(values=values), self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.config.write(values)
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.tier_a.points_multiplier = 0
