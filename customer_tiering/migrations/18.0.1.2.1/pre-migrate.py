def migrate(cr, version):
    """1.2.1 replaces the customer-document index by a covering one, built by
    ``account.move.init`` during the upgrade."""
    cr.execute("DROP INDEX IF EXISTS account_move_customer_partner_idx")
