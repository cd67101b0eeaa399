from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """1.2 indexes each company's tier, stage and risk level on res.partner."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.partner"]._create_tiering_indexes(env["res.company"].search([]))
