"""The SQL fragments every job, report and the points ledger share.

Each concept has one definition here, so that the nightly run, the ledger
and the reports cannot drift apart on what a sale is, how a company's value
of a company-dependent field is read, or which documents earn points.
"""

from odoo.tools import SQL

#: Customer invoices and credit notes: the documents a customer's sales are made of.
CUSTOMER_DOCUMENT_TYPES = ("out_invoice", "out_refund")
#: Of those, the one that is a purchase: a day with one is a purchase day.
PURCHASE_TYPE = "out_invoice"


def _column(table, column):
    return SQL.identifier(table, column) if table else SQL.identifier(column)


def customer_documents(move=None):
    """The condition that makes the ``account_move`` row ``move`` (an alias,
    none for an index's predicate) a customer document, whatever its state:
    the predicate of the add-on's partial indexes on ``account_move``, which
    a query's condition must contain, as this very text, to use them."""
    return SQL("%s IN %s", _column(move, "move_type"), CUSTOMER_DOCUMENT_TYPES)


def customer_sales(move):
    """The condition that makes the ``account_move`` row ``move`` (an alias)
    one of a customer's sales: a posted customer invoice or credit note of a
    commercial entity. Its amount is ``amount_untaxed_signed``: untaxed, in
    company currency, negative for credit notes. It implies the predicate of
    the partial indexes (``customer_documents``). The invoices' source of
    ``customer.sale``, which the jobs and reports read: a glue add-on adds
    its own sources there (the point of sale orders)."""
    return SQL(
        "(%(move)s.state = 'posted' AND %(documents)s AND %(move)s.commercial_partner_id IS NOT NULL)",
        move=SQL.identifier(move),
        documents=customer_documents(move),
    )


def purchase(move):
    """The condition that makes the customer sale ``move`` (an alias) a
    purchase: an invoice, not a credit note (``customer.sale.is_purchase``). A customer's purchase days are
    the days of its purchases (the nightly job's frequency, first and last
    purchase; the cohorts' and the retention's buying customers), while its
    revenue is that of all its sales, net of credit notes."""
    return SQL("%s = %s", SQL.identifier(move, "move_type"), PURCHASE_TYPE)


def company_value(table, column, company, cast=None):
    """A company's value of a company-dependent field, as the add-on stores
    them: ``{"<company id>": value}`` in a jsonb column, read as text.
    ``company`` is an SQL expression (a column, or a parameter), or a
    company (record or id), whose key is then passed as text; ``cast`` an
    SQL type name. To read values: a query that must match the per-company
    partner indexes uses ``indexed_company_value`` instead."""
    if not isinstance(company, SQL):
        key = SQL("%s", str(getattr(company, "id", company)))
    else:
        key = SQL("(%s)::text", company)
    value = SQL("(%s ->> %s)", _column(table, column), key)
    return SQL("(%s)::%s", value, SQL(cast)) if cast else value


def set_company_value(table, column, company, value):
    """The assignment, in an UPDATE of ``table`` (an alias, or None), of
    ``company``'s value of a company-dependent field, keeping the other
    companies' values: what ``company_value`` reads. ``value`` is an SQL
    expression or a value passed as a parameter (None stores null)."""
    value = value if isinstance(value, SQL) else SQL("%s", value)
    return SQL(
        "%s = COALESCE(%s, '{}'::jsonb) || jsonb_build_object(%s, %s)",
        SQL.identifier(column),
        _column(table, column),
        str(getattr(company, "id", company)),
        value,
    )


def indexed_company_value(table, column, company, cast=None):
    """A company's value of a company-dependent field as Odoo's own domains
    and groupings write it, ``(column->'<company id>'->>0)::type``, as
    PostgreSQL sees it once it has dropped the cast to varchar that a
    comparison with text makes redundant: the expression the per-company
    partner indexes are built on, and which a query must repeat to use
    them. The same value as ``company_value``, for one company (a record or
    id) only; ``table`` may be None (an index's expression). Dates stay ISO
    text: a cast to date is not immutable, so not indexable."""
    value = SQL("((%s -> %s) ->> 0)", _column(table, column), str(getattr(company, "id", company)))
    return SQL("(%s)::%s", value, SQL(cast)) if cast else value


def points_eligible(move, start, date=None):
    """Whether the customer document ``move`` (an alias) counts for points
    from the start date ``start`` (an SQL expression): an invoice, or a
    credit note without an origin, by its own date; a credit note of an
    invoice when that invoice counts, by its date, or counted already (an
    earlier install, an earlier start date): it can only take back what the
    invoice earned.

    A document of another source of points (a sale order, a point of sale
    order: ``customer.loyalty.ledger._earning_sources``) gives its own
    ``date`` (an SQL expression) and counts by it, as an invoice does."""
    if date is not None:
        return SQL("(%s >= %s)", date, start)
    return SQL(
        """(CASE WHEN %(move)s.move_type = 'out_refund' AND %(move)s.reversed_entry_id IS NOT NULL
                 THEN (SELECT origin.invoice_date FROM account_move origin
                        WHERE origin.id = %(move)s.reversed_entry_id) >= %(start)s
                      OR EXISTS (SELECT 1 FROM loyalty_history counted
                                  WHERE counted.order_model = 'account.move'
                                    AND counted.order_id = %(move)s.reversed_entry_id
                                    AND counted.points_key IS NOT NULL)
                 ELSE %(move)s.invoice_date >= %(start)s END)""",
        move=SQL.identifier(move),
        start=start,
    )


def company_partner(partner, company):
    """The condition that makes the ``res_partner`` row ``partner`` (an alias)
    one that ``company`` (a record) may see, as Odoo's record rule on
    partners has it: the company's own, or shared. The jobs read as
    superuser, past the rules: this keeps another company's customers out.
    ``company_partner_domain`` is the same as a domain."""
    return SQL(
        "(%(p)s.company_id IS NULL OR %(p)s.company_id = %(company)s)",
        p=SQL.identifier(partner),
        company=company.id,
    )


def company_partner_domain(company):
    """``company_partner`` as a domain on res.partner."""
    return [("company_id", "in", [False, company.id])]


def tier_stage_domain(tiers, stages):
    """The customers in one of ``tiers`` and one of the lifecycle ``stages``
    (their ``ir.model.fields.selection`` records), as the policies and rules
    that pick customers by both hold them; empty: any."""
    domain = []
    if tiers:
        domain.append(("tier_id", "in", tiers.ids))
    if stages:
        domain.append(("lifecycle_stage", "in", stages.mapped("value")))
    return domain
