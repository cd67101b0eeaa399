from odoo import api, fields, models
from odoo.tools import SQL

#: Each commercial entity's cohort and purchase months, per company: what
#: the incremental run takes back out of ``customer_cohort_month`` before it
#: adds an entity's months again. A plain table, owned by the model below.
CUSTOMER_TABLE = "customer_cohort_customer"


class CustomerCohortMonth(models.Model):
    """What *Retention by Cohort* (``customer.cohort.analysis``) shows, as of
    the last nightly run: per company, cohort (month of first purchase) and
    month, the commercial entities of the cohort with a purchase that month.
    A few hundred rows per company, whatever the number of sales.

    The nightly job keeps it (``customer.tiering.job._reclassify_company``):
    a full run rebuilds a company's rows, an incremental run recomputes the
    changed customers only. Next to it, ``customer_cohort_customer`` keeps
    each entity's cohort and purchase months, so that an entity's old
    months are taken out before its new ones are added."""

    _name = "customer.cohort.month"
    _description = "Customer Cohort Month"
    _log_access = False
    _order = "company_id, cohort, month"

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", readonly=True)
    cohort = fields.Date(string="First Purchase Month", required=True, readonly=True)
    month = fields.Date(required=True, readonly=True)
    active_customers = fields.Integer(string="Buying Customers", required=True, readonly=True)

    _sql_constraints = [
        ("company_cohort_month_uniq", "unique(company_id, cohort, month)", "One row per cohort and month."),
    ]

    def init(self):
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %(table)s (
                    company_id int4 NOT NULL REFERENCES res_company(id) ON DELETE CASCADE,
                    partner_id int4 NOT NULL,
                    cohort date NOT NULL,
                    months date[] NOT NULL,
                    PRIMARY KEY (company_id, partner_id)
                )
                """,
                table=SQL.identifier(CUSTOMER_TABLE),
            )
        )

    @api.model
    def _drop_customer_table(self):
        """Before an uninstall: Odoo drops the model's own table only."""
        self.env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(CUSTOMER_TABLE)))

    @api.model
    def _entity_months(self, company_id, ids=None):
        """SELECT company_id, partner_id, cohort, months: each commercial
        entity's purchase months (of ``ids`` only, when given) in the
        company, as the cohort view counts them: the months with a purchase
        (``customer.sale.is_purchase``) of the document's commercial entity."""
        only = SQL("AND s.commercial_partner_id = ANY(%s)", list(ids)) if ids is not None else SQL()
        return SQL(
            """
            SELECT company_id, partner_id, min(month) AS cohort, array_agg(month ORDER BY month) AS months
              FROM (SELECT DISTINCT s.company_id, s.commercial_partner_id AS partner_id,
                           date_trunc('month', s.date)::date AS month
                      FROM customer_sale s
                     WHERE s.is_purchase AND s.company_id = %(company)s %(only)s) purchases
             GROUP BY company_id, partner_id
            """,
            company=company_id,
            only=only,
        )

    @api.model
    def _refresh(self, company, ids=None):
        """Recompute the company's rows: all of them (``ids`` None: the full
        run), or the commercial entities ``ids`` only (the incremental run),
        each entity's former months taken out and its current ones added."""
        self.env["customer.sale"]._flush_sources()
        self.flush_model()
        company_id = company.id
        table = SQL.identifier(CUSTOMER_TABLE)
        built = self.env.execute_query(
            SQL("SELECT cohort_months_built FROM customer_tiering_config WHERE company_id = %s", company_id)
        )
        if not (built and built[0][0]):
            ids = None  # never built (a new install, an upgrade): rebuilt whole, whatever the run
        if ids is None:
            self.env.cr.execute(
                SQL(
                    """
                    DELETE FROM %(table)s WHERE company_id = %(company)s;
                    DELETE FROM customer_cohort_month WHERE company_id = %(company)s;
                    INSERT INTO %(table)s (company_id, partner_id, cohort, months) %(entities)s;
                    INSERT INTO customer_cohort_month (company_id, cohort, month, active_customers)
                    SELECT c.company_id, c.cohort, m.month, count(*)
                      FROM %(table)s c, unnest(c.months) AS m(month)
                     WHERE c.company_id = %(company)s
                     GROUP BY 1, 2, 3;
                    UPDATE customer_tiering_config SET cohort_months_built = true WHERE company_id = %(company)s;
                    """,
                    table=table,
                    company=company_id,
                    entities=self._entity_months(company_id),
                )
            )
        else:
            ids = sorted(set(ids))
            if not ids:
                return
            # What the entities counted for, taken out...
            self.env.cr.execute(
                SQL(
                    """
                    WITH old AS (
                        DELETE FROM %(table)s WHERE company_id = %(company)s AND partner_id = ANY(%(ids)s)
                        RETURNING cohort, months
                    ), delta AS (
                        SELECT o.cohort, m.month, count(*) AS n FROM old o, unnest(o.months) AS m(month) GROUP BY 1, 2
                    )
                    UPDATE customer_cohort_month a SET active_customers = a.active_customers - d.n
                      FROM delta d
                     WHERE a.company_id = %(company)s AND a.cohort = d.cohort AND a.month = d.month
                    """,
                    table=table,
                    company=company_id,
                    ids=ids,
                )
            )
            # ... and what they count for now, added.
            self.env.cr.execute(
                SQL(
                    """
                    WITH fresh AS (
                        INSERT INTO %(table)s (company_id, partner_id, cohort, months) %(entities)s
                        RETURNING cohort, months
                    ), delta AS (
                        SELECT f.cohort, m.month, count(*) AS n FROM fresh f, unnest(f.months) AS m(month) GROUP BY 1, 2
                    )
                    INSERT INTO customer_cohort_month (company_id, cohort, month, active_customers)
                    SELECT %(company)s, cohort, month, n FROM delta
                        ON CONFLICT (company_id, cohort, month)
                        DO UPDATE SET active_customers
                                      = customer_cohort_month.active_customers + EXCLUDED.active_customers
                    """,
                    table=table,
                    company=company_id,
                    entities=self._entity_months(company_id, ids),
                )
            )
            self.env.cr.execute(
                SQL(
                    "DELETE FROM customer_cohort_month WHERE company_id = %s AND active_customers <= 0",
                    company_id,
                )
            )
        self.invalidate_model()
        self.env["customer.tiering.config"].invalidate_model(["cohort_months_built"])
        self.env["customer.cohort.analysis"].invalidate_model()
