from odoo.tools import SQL

from . import controllers, models, report, wizard

#: The indexes the add-on creates on other modules' tables, over their own
#: columns: the uninstall, which drops the add-on's columns (and the indexes
#: on them), would leave these behind.
FOREIGN_INDEXES = (
    "account_move_customer_write_date_idx",
    "account_move_customer_sales_idx",
    "sale_order_write_date_idx",
    "loyalty_history__card_id_index",
    models.res_partner.SALESPERSON_INDEX,
)


def _post_init_hook(env):
    """Give the companies that existed before the install their tiers and settings."""
    env["res.company"].search([])._customer_tiering_setup()


def _uninstall_hook(env):
    """Customers keep the points they earned: the Customer Rewards programs
    stay, as plain loyalty programs, and a reinstall takes them back, with
    the ledger's keys, kinds, dates and lots and the tier cards, kept in
    tables the uninstall does not drop. res_partner gets PostgreSQL's
    storage settings back, and the other modules' tables lose the add-on's
    indexes. The sales view and the care dates are readied for Odoo's own
    removal of the add-on's views and records, which would refuse them
    (``_drop_view``, ``_release_festivals``)."""
    env["loyalty.program"]._keep_tier_programs(env["customer.tiering.config"].search([]))
    env["loyalty.program"]._keep_tier_points()
    env["res.partner"]._reset_storage()
    env["customer.sale"]._drop_view()
    env["customer.cohort.month"]._drop_customer_table()
    env["customer.care.date"]._release_festivals()
    for index in FOREIGN_INDEXES:
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
