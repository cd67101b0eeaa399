import re
from datetime import date

from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from .common import PosTieringCommon


@tagged("post_install", "-at_install")
@freeze_time("2024-07-01")
class TestPosSales(PosTieringCommon):
    """Point of sale orders as a customer's sales, after the nightly job's
    run: the same customers and figures as customer_tiering's own
    TestTieringJob, bought at the till."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.setup_other_currency("EUR", rates=[("2016-01-01", 2.0)])
        cls.eur_session = cls.open_session(cls.company_data, currency=cls.eur, name="Euro shop")
        Partner = cls.env["res.partner"]
        cls.big = Partner.create({"name": "Big Co", "is_company": True})
        cls.buyer = Partner.create({"name": "Big Co Buyer", "parent_id": cls.big.id})
        cls.mid = Partner.create({"name": "Mid Co", "is_company": True})
        cls.small = Partner.create({"name": "Small Co", "is_company": True})
        # Big: 6000 through its contact + 4000 EUR (= 2000 at 2 EUR per unit) -> 8000
        cls.ring_up(cls.buyer, 6000.0, "2024-05-01")
        cls.euro_order = cls.ring_up(cls.big, 4000.0, "2024-06-01", session=cls.eur_session)
        # Mid: 2000 invoiced at the till, 500 of it refunded at the till -> 1500
        cls.invoiced = cls.ring_up(cls.mid, 2000.0, "2024-04-01", invoice=True)
        cls.refund = cls.ring_up(cls.mid, 500.0, "2024-04-15", refund_of=cls.invoiced)
        # Small: 500 invoiced in the window, 10000 at the till long before it
        cls.post_invoice(cls.small, 500.0, "2024-03-01")
        cls.ring_up(cls.small, 10000.0, "2022-01-01")
        # an anonymous order is nobody's sale
        cls.ring_up(None, 3000.0, "2024-06-01")

    def test_orders_are_sales(self):
        self.assertEqual(self.euro_order.currency_rate, 2.0, "company currency to the order's")
        self.assertEqual(self.invoiced.state, "invoiced")
        self.assertTrue(self.invoiced.account_move)
        self.assertEqual(self.refund.state, "paid")
        sales = self.env["customer.sale"].search([("company_id", "=", self.company.id)])
        by_entity = {}
        for sale in sales:
            by_entity.setdefault(sale.commercial_partner_id, []).append(
                (sale.source, sale.date, sale.amount, sale.is_purchase)
            )
        self.assertEqual(
            sorted(by_entity[self.big]),
            [("pos.order", date(2024, 5, 1), 6000.0, True), ("pos.order", date(2024, 6, 1), 2000.0, True)],
            "the contact's order is its company's; the euro order in company currency",
        )
        self.assertEqual(
            sorted(by_entity[self.mid]),
            [("account.move", date(2024, 4, 1), 2000.0, True), ("pos.order", date(2024, 4, 15), -500.0, False)],
            "the invoiced order through its invoice only; the refund a return",
        )
        self.assertEqual(set(by_entity), {self.big, self.mid, self.small})
        big_sale = sales.filtered(lambda sale: sale.commercial_partner_id == self.big)[:1]
        self.assertEqual(self.env[big_sale.source].browse(big_sale.res_id).commercial_partner_id, self.big)

    def test_tiers_and_metrics(self):
        self.run_cron()
        # window 10000: Big 0% before -> A, Mid 80% before -> B, Small 95% before -> C
        self.assertEqual(self.big.tier_id, self.tier_a)
        self.assertEqual(self.mid.tier_id, self.tier_b)
        self.assertEqual(self.small.tier_id, self.tier_c)
        self.assertEqual(self.buyer.tier_id, self.tier_a, "a contact shows its entity's tier")
        self.assertEqual(self.big.revenue_window, 8000.0)
        self.assertEqual(self.big.purchase_count, 2)
        self.assertEqual(self.big.last_purchase_date, date(2024, 6, 1))
        self.assertEqual(self.mid.revenue_total, 1500.0, "invoiced once, net of the refund")
        self.assertEqual(self.mid.purchase_count, 1, "a refund is no purchase day")
        self.assertEqual(self.mid.last_purchase_date, date(2024, 4, 1))
        self.assertEqual(self.small.revenue_total, 10500.0)
        self.assertEqual(self.small.first_purchase_date, date(2022, 1, 1))
        self.assertEqual(self.small.last_purchase_date, date(2024, 3, 1))
        self.assertTrue(self.big.lifecycle_stage)
        self.assertGreater(self.big.rfm_m, self.mid.rfm_m)

    def test_incremental_run_sees_a_new_order(self):
        self.run_cron()
        self.assertTrue(self.config.incremental_reference, "the first run is a full one")
        first_full = self.config.last_full_run
        self.env.flush_all()
        for table in ("pos_order", "account_move"):
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET write_date = write_date - interval '2 days' WHERE company_id = %s",
                    SQL.identifier(table),
                    self.company.id,
                )
            )
        order = self.ring_up(self.small, 50000.0, "2024-07-01")
        affected = self.env["customer.tiering.job"]._affected(self.company, self.config, date(2024, 7, 2))
        self.assertIn(self.small.id, affected)
        self.assertNotIn(self.mid.id, affected)
        with freeze_time("2024-07-02"):
            self.run_cron()
        self.env.invalidate_all()
        self.assertEqual(self.config.last_full_run, first_full, "the second night is incremental")
        self.assertEqual(self.small.revenue_window, 50500.0)
        self.assertEqual(self.small.last_purchase_date, order.customer_sale_date)
        self.assertEqual(self.small.tier_id, self.tier_a)

    def test_other_company_orders_stay_there(self):
        other = self.setup_other_company(name="Other Shop Co")
        session = self.open_session(other, name="Other shop")
        self.ring_up(self.mid, 90000.0, "2024-06-20", session=session)
        self.run_cron()
        self.assertEqual(self.mid.revenue_total, 1500.0, "the other company's order is not this one's")
        partner = self.mid.with_company(other["company"])
        self.env["customer.tiering.job"]._reclassify(other["company"], full=True)
        self.env.invalidate_all()
        self.assertEqual(partner.revenue_total, 90000.0)
        self.assertEqual(partner.purchase_count, 1)

    def test_nightly_read_is_index_only_on_both_sources(self):
        """The nightly read, of every customer or of a few, reads the
        invoices and the orders from their covering indexes alone, merged in
        the indexes' order: no sort. (One slice, read by one process: the
        nightly read's slices are each read so, side by side.)"""
        job = self.env["customer.tiering.job"]
        settings = ("enable_seqscan", "enable_bitmapscan", "enable_indexscan")
        self.env.cr.execute("; ".join(f"SET LOCAL {setting} = off" for setting in settings))
        self.env.cr.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        self.addCleanup(self.env.cr.execute, "RESET max_parallel_workers_per_gather")
        self.addCleanup(self.env.cr.execute, "; ".join(f"SET LOCAL {setting} = on" for setting in settings))
        some = job._id_slices(SQL("s.commercial_partner_id"), 1, [self.mid.id, self.small.id])[0]
        for only in (SQL(), some):
            query = job._sales_query(self.company, date(2023, 7, 1), date(2024, 7, 1), only)
            plan = "\n".join(row[0] for row in self.env.execute_query(SQL("EXPLAIN %s", query)))
            self.assertIn("Index Only Scan using account_move_customer_sales_idx", plan)
            self.assertIn("Index Only Scan using pos_order_customer_sales_idx", plan)
            self.assertNotIn("move_type", plan, "the indexes' predicates are implied, not filtered again")
            self.assertNotIn("account_move IS NULL", plan)
            self.assertIn("Merge Append", plan)
            self.assertIsNone(re.search(r"(^|->)\s*Sort\s+\(", plan, re.MULTILINE), "read in the indexes' order")
