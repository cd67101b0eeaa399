from odoo import SUPERUSER_ID, api

from odoo.addons.customer_tiering.models.customer_tier import DEFAULT_TIERS


def migrate(cr, version):
    """1.1 adds loyalty points, service policies and care dates: give the
    existing companies their points program, default policies and care
    dates, and the default tiers their default multipliers and care
    channels."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    configs = env["customer.tiering.config"].search([("loyalty_program_id", "=", False)])
    programs = env["loyalty.program"]._create_tier_programs(configs.company_id)
    for config, program in zip(configs, programs, strict=True):
        config.loyalty_program_id = program
    companies = env["res.company"].search([])
    env["customer.service.policy"]._create_defaults(companies)
    env["customer.care.date"]._create_defaults(companies)
    tiers = env["customer.tier"].with_context(active_test=False)
    for code, *_rest, care_channel, multiplier in DEFAULT_TIERS:
        tiers.search([("code", "=", code)]).write({"care_channel": care_channel, "points_multiplier": multiplier})
