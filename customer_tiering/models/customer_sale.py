from odoo import api, fields, models
from odoo.tools import SQL

from ..sql import customer_documents, customer_sales, purchase

#: Each source's number in the view's ids (``res_id * ID_SOURCES + number``):
#: room for this many sources, whose documents keep their own ids.
ID_SOURCES = 8


class CustomerSale(models.Model):
    """A customer's sales, whatever made them: the one definition every job
    and report reads (the nightly tiering, RFM, lifecycle, churn and CLV,
    the follow-ups, the satisfaction surveys, the cohorts, the dashboards
    and the reports).

    A view, the UNION ALL of ``_sale_sources``: here posted customer
    invoices and credit notes; a glue add-on appends another source (point
    of sale orders: customer_tiering_pos). Each source yields the same typed
    columns, so that PostgreSQL flattens the view: a query's conditions go
    down into each source, the columns it does not read are never computed,
    and each source is read from its own covering index."""

    _name = "customer.sale"
    _description = "Customer Sale"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "res_id"
    #: What the view reads, flushed before a query (``_flush_sources``, and
    #: Odoo's own search on the model).
    _depends = {
        "account.move": [
            "state",
            "move_type",
            "company_id",
            "partner_id",
            "commercial_partner_id",
            "invoice_date",
            "amount_untaxed_signed",
            "invoice_user_id",
            "write_date",
        ],
    }

    source = fields.Char(readonly=True, help="Model of the document the sale comes from.")
    res_id = fields.Integer(string="Document ID", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    commercial_partner_id = fields.Many2one("res.partner", string="Commercial Entity", readonly=True)
    date = fields.Date(readonly=True)
    amount = fields.Float(
        string="Untaxed Amount",
        readonly=True,
        help="Untaxed, in the company's currency; negative for returns.",
    )
    is_purchase = fields.Boolean(
        string="Purchase",
        readonly=True,
        help="A purchase, not a return: the days with one are the customer's purchase days.",
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)

    @api.model
    def _sale_sources(self):
        """{source model: the SELECT of its sales}, each with the account
        moves' columns, in their order and of their exact types (else
        PostgreSQL could not flatten the view): id (``res_id * ID_SOURCES``
        plus the source's number), source, res_id, company_id, partner_id,
        commercial_partner_id, date, amount (numeric: untaxed, in company
        currency, negative for returns), is_purchase, user_id, write_date.
        Extended by the glue add-ons, each adding its own source."""
        return {
            "account.move": SQL(
                """
                SELECT (m.id::int8 * %(sources)s + 0) AS id, 'account.move'::varchar AS source,
                       m.id AS res_id, m.company_id, m.partner_id, m.commercial_partner_id,
                       m.invoice_date AS date, m.amount_untaxed_signed::numeric AS amount,
                       (%(purchase)s) AS is_purchase, m.invoice_user_id AS user_id,
                       m.write_date::timestamp AS write_date
                  FROM account_move m
                 WHERE %(sales)s
                """,
                sources=ID_SOURCES,
                purchase=purchase("m"),
                sales=customer_sales("m"),
            )
        }

    @api.model
    def _changed_queries(self, company, since):
        """{source model: the SELECT of the commercial entities whose
        documents of ``company`` (an id) were written since ``since``}, as
        the incremental run looks for them: the documents of any state, for
        a sale that stopped being one (an invoice reset to draft) changes
        its customer too."""
        return {
            "account.move": SQL(
                """
                SELECT m.commercial_partner_id FROM account_move m
                 WHERE m.write_date >= %(since)s AND %(documents)s
                   AND m.company_id = %(company)s AND m.commercial_partner_id IS NOT NULL
                """,
                since=since,
                documents=customer_documents("m"),
                company=company,
            )
        }

    @api.model
    def _flush_sources(self):
        """Write what is pending on the sources' documents, before reading
        the view in SQL."""
        for model, field_names in self._depends.items():
            self.env[model].flush_model(field_names)

    @api.model
    def _view_query(self, sources=None):
        """The view's SELECT: the UNION ALL of ``sources`` (default:
        ``_sale_sources``). PostgreSQL cannot flatten a source with a WHERE
        into the query: it plans it on its own, where an index's order is
        kept only when asked for. Each source of several is asked for the
        order of the sales indexes, so that the nightly read merges the
        sources' index-only scans (Merge Append) and groups them without a
        sort; a single source needs none, and is flattened."""
        sources = self._sale_sources() if sources is None else sources
        if len(sources) == 1:
            return next(iter(sources.values()))
        return SQL("\nUNION ALL\n").join(
            SQL("(SELECT * FROM (%s) source ORDER BY commercial_partner_id, date)", query) for query in sources.values()
        )

    @api.model
    def _no_sale(self, condition):
        """The SQL condition that no sale ``s`` meets ``condition`` (on the
        view's columns of ``s``): one NOT EXISTS per source, which
        PostgreSQL runs as anti joins through each source's own index. A
        join with the view itself reads every sale: the sources it cannot
        flatten take no join condition."""
        return SQL(" AND ").join(
            SQL("NOT EXISTS (SELECT 1 FROM (%s) s WHERE %s)", query, condition)
            for query in self._sale_sources().values()
        )

    @api.model
    def _per_source(self, build):
        """The UNION of ``build(sales)`` over the sources, ``sales`` being
        one source's sales (a subquery with the view's columns): for the
        queries that join the sales to other rows, which a join with the
        view would make read every sale (see ``_no_sale``)."""
        return SQL("\nUNION\n").join(build(SQL("(%s)", query)) for query in self._sale_sources().values())

    @api.model
    def _create_view(self, sources=None):
        """Create or replace the view. Its columns never change, whatever
        the sources: the report views built on it stay (a view must be
        dropped, with those on it, to change its columns), and see the
        sources added or removed since."""
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS %s",
                SQL.identifier(self._table),
                self._view_query(sources),
            )
        )

    def init(self):
        self._create_view()

    @api.model
    def _drop_view(self):
        """Drop the view, with the report views built on it, before an
        uninstall: Odoo drops each model's view alone, without CASCADE,
        and may come to this one while a report view still reads it."""
        self.env.cr.execute(SQL("DROP VIEW IF EXISTS %s CASCADE", SQL.identifier(self._table)))
