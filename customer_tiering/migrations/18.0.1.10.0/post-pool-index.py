from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """1.10 indexes each company's pooled customers, as a new company gets
    them: the Customer Pool list reads through it."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.partner"]._create_tiering_indexes(env["res.company"].search([]))
