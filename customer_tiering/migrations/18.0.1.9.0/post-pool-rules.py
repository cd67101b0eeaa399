from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """1.9 adds the public customer pool: the companies that have no pool
    rule get the default one, archived, named in every installed language.
    No customer goes to the pool until a manager activates a rule."""
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    env["customer.pool.rule"]._create_defaults(env["res.company"].search([]))
