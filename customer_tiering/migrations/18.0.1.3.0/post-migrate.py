from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """1.3 stores each customer's dormancy date, indexed per company. Only a
    full run computes it for every customer: the next run is one."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.partner"]._create_tiering_indexes(env["res.company"].search([]))
    cr.execute("UPDATE customer_tiering_config SET last_full_run = NULL")
