from odoo import api, models
from odoo.tools import SQL

from odoo.addons.customer_tiering.models.customer_sale import ID_SOURCES

from .pos_order import pos_sales

#: The point of sale orders' number in the sales view's ids (see ID_SOURCES).
POS_SOURCE = 1


class CustomerSale(models.Model):
    """Point of sale orders as customer sales: those paid or posted without
    an invoice (an invoiced order counts once, through its invoice), of the
    customer's commercial entity, by their day at the till
    (``pos.order.customer_sale_date``). The amount is untaxed, in the
    company's currency: the order's currency converted at the order's rate,
    as Odoo's own point of sale analysis converts it. A refund order is a
    return: negative, and no purchase. An order is a purchase when it would
    be invoiced as an invoice rather than a credit note (a total of zero or
    more, as ``pos.order._prepare_invoice_vals`` decides), so that invoicing
    it later does not change the customer's purchase days."""

    _inherit = "customer.sale"
    _depends = {
        "pos.order": [
            "state",
            "account_move",
            "company_id",
            "partner_id",
            "commercial_partner_id",
            "customer_sale_date",
            "amount_total",
            "amount_tax",
            "currency_rate",
            "user_id",
            "write_date",
        ],
    }

    @api.model
    def _sale_sources(self):
        sources = super()._sale_sources()
        sources["pos.order"] = SQL(
            """
            SELECT (o.id::int8 * %(sources)s + %(source)s) AS id, 'pos.order'::varchar AS source,
                   o.id AS res_id, o.company_id, o.partner_id, o.commercial_partner_id,
                   o.customer_sale_date AS date,
                   ((o.amount_total - o.amount_tax) / COALESCE(NULLIF(o.currency_rate, 0), 1.0))::numeric AS amount,
                   (o.amount_total >= 0) AS is_purchase, o.user_id,
                   o.write_date::timestamp AS write_date
              FROM pos_order o
             WHERE %(sales)s AND o.commercial_partner_id IS NOT NULL
            """,
            sources=ID_SOURCES,
            source=POS_SOURCE,
            sales=pos_sales("o"),
        )
        return sources

    @api.model
    def _changed_queries(self, company, since):
        # Orders of any state: one invoiced since moves from this source to
        # the invoices', and is found by both.
        queries = super()._changed_queries(company, since)
        queries["pos.order"] = SQL(
            """
            SELECT o.commercial_partner_id FROM pos_order o
             WHERE o.write_date >= %(since)s AND o.commercial_partner_id IS NOT NULL
               AND o.company_id = %(company)s
            """,
            since=since,
            company=company,
        )
        return queries
