from odoo import api, fields, models
from odoo.tools import SQL, create_index


class CustomerTieringSchedule(models.Model):
    """The days on which the nightly jobs next look at a customer, per
    company and commercial entity. They move with most customers' every
    invoice, and the jobs look them up by day, so they are indexed: kept on
    res_partner, each move would rewrite the partner in all its thirty-odd
    indexes. Here a move updates a narrow row, and the partner's own
    changes stay heap-only updates (see ``res.partner.init``)."""

    _name = "customer.tiering.schedule"
    _description = "Customer Tiering Schedule"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", readonly=True)
    # What res.partner shows as its tiering_review_date and dormancy_date.
    review_date = fields.Date(string="Next Review", readonly=True)
    dormancy_date = fields.Date(string="Due to Sleep On", readonly=True)
    tier_resources_pending = fields.Boolean(
        readonly=True,
        help="The customer moved to another tier, whose salesperson and pricelist are still to be applied.",
    )

    _sql_constraints = [
        ("partner_company_uniq", "unique(partner_id, company_id)", "A customer has one schedule per company."),
    ]

    def init(self):
        # Vacuumed once 1% of it changed, as res_partner: a night rewrites a
        # few percent of the rows, whose dead versions the look-ups by day
        # would otherwise wade through for weeks.
        self.env.cr.execute(
            SQL(
                "ALTER TABLE %s SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01)",
                SQL.identifier(self._table),
            )
        )
        create_index(
            self.env.cr,
            f"{self._table}_company_tier_resources_pending_index",
            self._table,
            ["company_id"],
            where="tier_resources_pending",
        )
        # The incremental run reads the reviews due, the care job a range of dormancy days.
        for fname in ("review_date", "dormancy_date"):
            create_index(
                self.env.cr,
                f"{self._table}_company_{fname}_index",
                self._table,
                ["company_id", fname],
                where=f"{fname} IS NOT NULL",
            )

    @api.model
    def _review_on(self, partner_ids, company, day):
        """Have the next run of ``company`` review the commercial entities
        among ``partner_ids`` on ``day``; their contacts only mirror them."""
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        entities = SQL(
            "SELECT id, %s::date FROM res_partner WHERE id = ANY(%s) AND id = commercial_partner_id",
            day,
            list(partner_ids),
        )
        self._upsert(company, entities, ["review_date"])
        self.env["res.partner"].invalidate_model(["tiering_review_date"])

    @api.model
    def _upsert(self, company, rows, fnames):
        """Store the days of ``rows`` (a query of partner ids and the values
        of ``fnames``) in ``company``'s schedules, created as needed."""
        self.flush_model()
        columns = SQL(", ").join(SQL.identifier(fname) for fname in fnames)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_tiering_schedule (partner_id, %(columns)s, company_id,
                                                       create_uid, create_date, write_uid, write_date)
                SELECT r.*, %(company)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM (%(rows)s) AS r
                    ON CONFLICT (partner_id, company_id)
                    DO UPDATE SET %(updates)s, write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
                """,
                columns=columns,
                rows=rows,
                updates=SQL(", ").join(SQL("%s = EXCLUDED.%s", *[SQL.identifier(fname)] * 2) for fname in fnames),
                company=company.id,
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        self.invalidate_model(fnames)
