from odoo import SUPERUSER_ID, api

from odoo.addons.customer_tiering.models.customer_tier import DEFAULT_TIERS


def migrate(cr, version):
    """1.1 adds loyalty points: give the existing companies their points
    program, and the default tiers their default multipliers."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    configs = env["customer.tiering.config"].search([("loyalty_program_id", "=", False)])
    programs = env["loyalty.program"]._create_tier_programs(configs.company_id)
    for config, program in zip(configs, programs, strict=True):
        config.loyalty_program_id = program
    tiers = env["customer.tier"].with_context(active_test=False)
    for code, *_rest, multiplier in DEFAULT_TIERS:
        tiers.search([("code", "=", code)]).points_multiplier = multiplier
