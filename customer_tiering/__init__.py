from . import models, report, wizard


def _post_init_hook(env):
    """Give the companies that existed before the install their tiers and settings."""
    env["res.company"].search([])._customer_tiering_setup()
