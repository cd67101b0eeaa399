import json
from datetime import date
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL
from odoo.tools.sql import table_exists

from odoo.addons.customer_tiering import FOREIGN_INDEXES, _post_init_hook, _uninstall_hook
from odoo.addons.customer_tiering.models.loyalty_program import KEPT_LEDGER, KEPT_PROGRAMS, KEPT_TIER_CARDS
from odoo.addons.customer_tiering.models.res_partner import SALESPERSON_INDEX

from .common import TieringInvoiceCommon, partner_reloptions


@tagged("post_install", "-at_install")
class TestReinstall(TransactionCase):
    """Uninstalling keeps the customers' points; reinstalling takes the same
    program back instead of making a second one."""

    def test_reinstall_takes_back_the_program_and_its_cards(self):
        company = self.env["res.company"].create({"name": "Reinstalled Co"})
        Config = self.env["customer.tiering.config"]
        config = Config._for_companies(company)
        program = config.loyalty_program_id
        partner = self.env["res.partner"].create({"name": "Faithful Buyer", "is_company": True})
        self.env["customer.loyalty.ledger"].with_company(company)._adjust(partner, 40.0, "Welcome", key="adjust:re")
        card = partner.with_company(company).tier_card_id

        _uninstall_hook(self.env)
        kept = json.loads(self.env["ir.config_parameter"].get_param(KEPT_PROGRAMS))
        self.assertEqual(kept[str(company.id)], program.id)
        self.assertEqual(partner_reloptions(self.env), {}, "res_partner's storage settings are PostgreSQL's again")
        self.env.cr.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [SALESPERSON_INDEX])
        self.assertFalse(self.env.cr.fetchall(), "nor does it keep the add-on's salesperson index")
        # What the uninstall removes: the settings, and the columns of the add-on.
        config.sudo().unlink()
        card.is_tier_card = False

        config = Config._for_companies(company)
        self.assertEqual(config.loyalty_program_id, program)
        self.assertEqual(self.env["loyalty.program"].search_count([("company_id", "=", company.id)]), 1)
        self.assertTrue(card.is_tier_card)
        self.assertEqual(partner.with_company(company).loyalty_points, 40.0)
        kept = json.loads(self.env["ir.config_parameter"].get_param(KEPT_PROGRAMS) or "{}")
        self.assertNotIn(str(company.id), kept, "a program is taken back once")

    def test_uninstall_leaves_no_index_of_the_add_on(self):
        """What the uninstall leaves of the add-on on other modules' tables:
        after the hook, and the add-on's own columns and views dropped as
        Odoo drops them, no index, storage setting or view of the add-on."""
        own = self.env["ir.model.data"].search([("module", "=", "customer_tiering"), ("model", "=", "ir.model.fields")])
        fields = (
            self.env["ir.model.fields"]
            .browse(own.mapped("res_id"))
            .filtered(lambda field: field.store and field.modules == "customer_tiering")
        )
        tables = {"account_move", "sale_order", "res_partner", "loyalty_card", "loyalty_history", "mail_activity"}
        columns = [(self.env[field.model]._table, field.name) for field in fields]
        views = [
            model._table
            for model in self.env.registry.values()
            if model._original_module == "customer_tiering" and not model._auto and not model._abstract
        ]
        self.assertTrue(views)
        self.env.flush_all()
        _uninstall_hook(self.env)
        for table, column in columns:
            if table in tables:
                self.env.cr.execute(
                    SQL("ALTER TABLE %s DROP COLUMN %s CASCADE", SQL.identifier(table), SQL.identifier(column))
                )
        # as Odoo drops them: each alone, without CASCADE, and maybe the
        # sales view before the report views that read it
        for view in sorted(views, key=lambda view: view != "customer_sale"):
            self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s", SQL.identifier(view)))
        left = self.env.execute_query(
            SQL("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN %s", tuple(tables))
        )
        theirs = [
            name
            for name, definition in left
            if name in FOREIGN_INDEXES
            or (
                # Odoo's own index of another module's property (property_stock_customer) is not the add-on's
                not name.startswith("res_partner__property_")
                and any(word in name for word in ("tier", "points", "customer_", "salesperson", "pool", "policy"))
            )
        ]
        self.assertEqual(theirs, [])
        self.assertEqual(partner_reloptions(self.env), {})

    def test_uninstall_can_delete_the_festivals_of_care_dates(self):
        """Odoo deletes the festivals it loaded while care dates, which
        refuse it (``ondelete="restrict"``), still point to them."""
        festivals = self.env["customer.care.festival"].with_context(active_test=False).search([])
        self.assertTrue(self.env["customer.care.date"].search([("festival_id", "in", festivals.ids)]))
        _uninstall_hook(self.env)
        festivals.unlink()
        self.assertFalse(festivals.exists())

    def test_a_kept_program_given_a_rule_hands_its_balances_to_a_new_one(self):
        company = self.env["res.company"].create({"name": "Customised Co"})
        config = self.env["customer.tiering.config"]._for_companies(company)
        program = config.loyalty_program_id
        partner = self.env["res.partner"].create({"name": "Kept Buyer", "is_company": True})
        self.env["customer.loyalty.ledger"].with_company(company)._adjust(partner, 40.0, "Welcome", key="adjust:r")
        _uninstall_hook(self.env)
        config.sudo().unlink()
        # While the add-on was away, someone made the program earn on orders.
        self.env["loyalty.rule"].create({"program_id": program.id, "reward_point_amount": 1})
        config = self.env["customer.tiering.config"]._for_companies(company)
        self.assertNotEqual(config.loyalty_program_id, program)
        self.assertEqual(partner.with_company(company).loyalty_points, 40.0, "no balance is lost")
        self.assertEqual(partner.with_company(company).tier_card_id.program_id, config.loyalty_program_id)

    def test_a_deleted_kept_program_is_replaced(self):
        company = self.env["res.company"].create({"name": "Cleaned Up Co"})
        config = self.env["customer.tiering.config"]._for_companies(company)
        _uninstall_hook(self.env)
        program = config.loyalty_program_id
        config.sudo().unlink()
        program.action_archive()
        program.unlink()
        config = self.env["customer.tiering.config"]._for_companies(company)
        self.assertTrue(config.loyalty_program_id)
        self.assertNotEqual(config.loyalty_program_id, program)


@tagged("post_install", "-at_install")
class TestReinstallKeepsPoints(TieringInvoiceCommon):
    """Uninstalling and reinstalling loses no balance and awards nothing again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.write({"points_start_date": date(2020, 1, 1), "points_expiry_months": 0})
        cls.program = cls.config.loyalty_program_id
        cls.customer = cls.env["res.partner"].create({"name": "Loyal Since Long Ltd", "is_company": True})

    def uninstall(self):
        """The uninstall hook, then the database as a reinstall finds it: the
        add-on's columns come back empty, and its settings are gone."""
        _uninstall_hook(self.env)
        self.env.flush_all()
        self.env.cr.execute(
            """
            UPDATE loyalty_history
               SET points_kind = NULL, points_key = NULL, points_date = NULL, points_lot_id = NULL,
                   points_note = NULL;
            UPDATE loyalty_card SET is_tier_card = false;
            """
        )
        self.env.invalidate_all()
        self.env["customer.tiering.config"].sudo().search([]).unlink()

    def reinstall(self):
        _post_init_hook(self.env)
        self.config = self.env["customer.tiering.config"]._for_companies(self.company).sudo()
        self.assertEqual(self.config.loyalty_program_id, self.program)
        self.config.points_expiry_months = 0

    def card(self, partner=None):
        """The customer's tier card, archived or not."""
        partner = partner or self.customer
        domain = [("partner_id", "=", partner.id), ("program_id", "=", self.program.id), ("is_tier_card", "=", True)]
        return self.env["loyalty.card"].with_context(active_test=False).search(domain)

    def ledger(self):
        """Every points entry as the ledger reads it."""
        self.env.flush_all()
        return self.env.execute_query(
            SQL(
                """
                SELECT id, card_id, points_kind, points_key, points_date, points_lot_id, points_note
                  FROM loyalty_history WHERE card_id IN (SELECT id FROM loyalty_card WHERE program_id = %s)
                 ORDER BY id
                """,
                self.program.id,
            )
        )

    def test_reinstall_restores_the_ledger(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        self.credit_note(invoice, 200.0)
        self.credit_note(invoice, 100.0).button_draft()  # gives back what it took
        self.env["customer.loyalty.ledger"]._adjust(self.customer, 15.0, "Welcome", key="adjust:welcome")
        self.post_invoice(self.customer, 600.0, "2026-03-03").button_cancel()
        ledger, card, points = self.ledger(), self.card(), self.card().points
        self.assertEqual(len(ledger), 7)
        self.assertTrue(all(key and kind and day for _id, _card, kind, key, day, _lot, _note in ledger))
        self.assertTrue(any(lot for *_entry, lot in ledger), "reversals name the entry they take back")

        self.uninstall()
        self.assertFalse(self.card())
        self.reinstall()
        self.assertEqual(self.ledger(), ledger, "every entry's kind, key, date and lot are back")
        self.assertEqual(self.card(), card)
        self.assertEqual(card.points, points)
        for table in (KEPT_LEDGER, KEPT_TIER_CARDS):
            self.assertFalse(table_exists(self.env.cr, table), "the copies are dropped once restored")

    def test_cancelling_an_invoice_from_before_voids_what_it_earned(self):
        invoice = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        self.post_invoice(self.customer, 300.0, "2026-03-05")
        self.assertEqual(self.card().points, 1300.0)
        self.uninstall()
        self.reinstall()
        invoice.button_cancel()
        self.assertEqual(self.card().points, 300.0)
        void = self.env["loyalty.history"].search([("order_id", "=", invoice.id), ("points_kind", "=", "void")])
        self.assertEqual((void.used, void.points_key), (1000.0, f"void:{invoice.id}:0"))

    def test_opting_in_again_awards_nothing_twice(self):
        invoices = self.post_invoice(self.customer, 1000.0, "2026-03-01") | self.post_invoice(
            self.customer, 400.0, "2026-04-01"
        )
        ledger = self.ledger()
        self.uninstall()
        self.reinstall()
        self.config.points_start_date = date(2020, 1, 1)  # the admin moves the start back again
        cron = self.env.ref("customer_tiering.ir_cron_loyalty")
        cron.method_direct_trigger()
        cron.method_direct_trigger()
        self.assertEqual(self.ledger(), ledger, "no entry added")
        self.assertEqual(self.card().points, 1400.0)
        self.assertEqual(
            self.env["loyalty.history"].search_count([("order_id", "in", invoices.ids), ("points_kind", "=", "earn")]),
            2,
        )

    def merged(self):
        """The customer and a duplicate whose card is older, merged into the customer."""
        duplicate = self.env["res.partner"].create({"name": "Loyal Since Long (duplicate)", "is_company": True})
        self.post_invoice(duplicate, 50.0, "2026-03-01")
        emptied = self.card(duplicate)
        invoice = self.post_invoice(self.customer, 200.0, "2026-03-02")
        live = self.card()
        self.assertLess(emptied.id, live.id)
        self.env["base.partner.merge.automatic.wizard"]._merge(
            (self.customer | duplicate).ids, dst_partner=self.customer, extra_checks=False
        )
        self.assertEqual(emptied.with_context(active_test=False).partner_id, self.customer)
        self.assertFalse(emptied.active)
        self.assertEqual(live.points, 250.0)
        return live, emptied, invoice

    def test_merged_customer_keeps_its_live_card(self):
        live, emptied, invoice = self.merged()
        self.uninstall()
        self.reinstall()
        self.assertEqual(self.card(), live, "not the archived, emptied card")
        self.assertFalse(emptied.is_tier_card)
        self.assertEqual(self.customer.with_company(self.company).loyalty_points, 250.0)
        invoice.button_cancel()
        self.assertEqual(live.points, 50.0)

    def test_without_kept_cards_the_active_card_with_the_entries_is_the_tier_card(self):
        """An uninstall by an earlier version kept no tier cards."""
        live, emptied, _invoice = self.merged()
        self.uninstall()
        self.env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(KEPT_TIER_CARDS)))
        self.reinstall()
        self.assertEqual(self.card(), live)
        self.assertFalse(emptied.is_tier_card)

    def test_a_second_uninstall_keeps_what_the_first_kept(self):
        """Reinstalled by a version that did not restore the ledger, then uninstalled again."""
        first = self.post_invoice(self.customer, 1000.0, "2026-03-01")
        self.uninstall()
        self.assertTrue(table_exists(self.env.cr, KEPT_LEDGER))
        with patch.object(type(self.env["loyalty.program"]), "_restore_tier_points", lambda self: None):
            self.reinstall()
        self.assertFalse(self.env["loyalty.history"].search([("order_id", "=", first.id)]).points_key)
        self.config.points_start_date = date(2026, 4, 1)
        second = self.post_invoice(self.customer, 500.0, "2026-04-02")
        self.uninstall()
        self.reinstall()
        self.assertEqual(
            self.env["loyalty.history"]
            .search([("order_id", "in", (first | second).ids)], order="id")
            .mapped("points_key"),
            [f"post:{first.id}:0", f"post:{second.id}:0"],
        )
        self.assertEqual(self.card().points, 1500.0)
