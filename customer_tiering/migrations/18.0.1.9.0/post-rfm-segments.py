from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """1.9 adds the named RFM segments: the companies that have none get the
    standard ones, named in every installed language. Creating them makes
    each company's next run full, which places every customer in its
    segment: an incremental run would place only those whose sales changed."""
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    env["customer.rfm.segment"]._create_defaults(env["res.company"].search([]))
