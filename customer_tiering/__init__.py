from . import models, report, wizard


def _post_init_hook(env):
    """Give the companies that existed before the install their tiers and settings."""
    env["res.company"].search([])._customer_tiering_setup()


def _uninstall_hook(env):
    """Customers keep the points they earned: the Customer Rewards programs
    stay, as plain loyalty programs, and a reinstall takes them back, with
    the ledger's keys, kinds, dates and lots and the tier cards, kept in
    tables the uninstall does not drop. res_partner gets PostgreSQL's
    storage settings back."""
    env["loyalty.program"]._keep_tier_programs(env["customer.tiering.config"].search([]))
    env["loyalty.program"]._keep_tier_points()
    env["res.partner"]._reset_storage()
