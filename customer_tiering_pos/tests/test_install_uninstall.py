from datetime import date

from odoo import Command
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.customer_tiering_pos import _uninstall_hook
from odoo.addons.customer_tiering_pos.models.pos_order import FOREIGN_INDEXES, SALES_COLUMNS

from .common import PosTieringCommon

#: The report views built on the sales view.
REPORT_VIEWS = ("customer_cohort_analysis", "customer_tiering_kpi")


@tagged("post_install", "-at_install")
@freeze_time("2024-07-01")
class TestInstallUninstall(PosTieringCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({"name": "Till Co", "is_company": True})
        cls.contact = cls.env["res.partner"].create({"name": "Till Co Buyer", "parent_id": cls.customer.id})
        cls.cashier = new_test_user(
            cls.env,
            login="ct_pos_shanghai",
            groups="base.group_user,point_of_sale.group_pos_user",
            tz="Asia/Shanghai",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        # 20:00 UTC is 04:00 the next day in Shanghai.
        cls.late = cls.ring_up(cls.contact, 100.0, "2024-05-01", user=cls.cashier, hour=20)
        cls.noon = cls.ring_up(cls.customer, 200.0, "2024-05-01")

    def test_sale_day_is_the_cashier_s(self):
        self.assertEqual(self.late.customer_sale_date, date(2024, 5, 2))
        self.assertEqual(self.noon.customer_sale_date, date(2024, 5, 1))
        self.assertEqual(self.late.commercial_partner_id, self.customer)

    def test_install_fills_the_columns_as_the_orm_computes_them(self):
        """On install, the columns are filled in SQL, not order by order:
        the same values as the ORM's."""
        orders = self.late | self.noon
        expected = [(o.commercial_partner_id.id, o.customer_sale_date) for o in orders]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE pos_order SET commercial_partner_id = NULL, customer_sale_date = NULL WHERE id = ANY(%s)",
                orders.ids,
            )
        )
        self.env.invalidate_all()
        self.env["pos.order"]._fill_sales_columns(list(SALES_COLUMNS))
        self.env.invalidate_all()
        self.assertEqual([(o.commercial_partner_id.id, o.customer_sale_date) for o in orders], expected)

    def test_uninstall_leaves_the_sales_view_without_orders(self):
        """After the hook, the sales view and the report views on it no
        longer read pos_order: the uninstall can drop the add-on's columns,
        and Point of Sale's own uninstall the table (with CASCADE), and the
        invoices are still sales, the reports still there."""
        invoice = self.post_invoice(self.customer, 700.0, "2024-06-01")
        self.env.flush_all()
        ours = ("customer_sale", *REPORT_VIEWS)
        dependents = SQL(
            """
            SELECT DISTINCT view.relname FROM pg_depend d
              JOIN pg_rewrite r ON r.oid = d.objid
              JOIN pg_class view ON view.oid = r.ev_class
             WHERE d.refobjid = 'pos_order'::regclass AND view.relname IN %s
            """,
            ours,
        )
        self.assertEqual(self.env.execute_query(dependents), [("customer_sale",)])
        _uninstall_hook(self.env)
        self.assertEqual(self.env.execute_query(dependents), [])
        left = self.env.execute_query(SQL("SELECT indexname FROM pg_indexes WHERE indexname IN %s", FOREIGN_INDEXES))
        self.assertEqual(left, [])
        for column in SALES_COLUMNS:
            self.env.cr.execute(SQL("ALTER TABLE pos_order DROP COLUMN %s", SQL.identifier(column)))
        self.env.cr.execute("DROP TABLE pos_order CASCADE")
        views = self.env.execute_query(SQL("SELECT relname FROM pg_class WHERE relname IN %s", REPORT_VIEWS))
        self.assertEqual(sorted(name for (name,) in views), sorted(REPORT_VIEWS))
        sales = self.env.execute_query(
            SQL("SELECT source, res_id, amount FROM customer_sale WHERE commercial_partner_id = %s", self.customer.id)
        )
        self.assertEqual(sales, [("account.move", invoice.id, 700.0)])
