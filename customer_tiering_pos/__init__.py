from odoo.tools import SQL

from . import models
from .models.pos_order import FOREIGN_INDEXES


def _uninstall_hook(env):
    """The sales view without the point of sale orders: its POS source reads
    columns the uninstall drops, and a later uninstall of Point of Sale,
    which drops pos_order with CASCADE, would drop the view and every
    report view built on it. Then the add-on's indexes on pos_order go."""
    Sale = env["customer.sale"]
    sources = Sale._sale_sources()
    sources.pop("pos.order", None)
    Sale._create_view(sources)
    for index in FOREIGN_INDEXES:
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
