from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..models.customer_lifecycle_history import STAGES
from ..models.loyalty_history import MOVEMENT_FIGURES

#: The Tier Summary's points figures, the ledger's own: {report key ("issued", ...): loyalty.history field}.
POINTS_FIGURES = {fname.removeprefix("points_"): fname for fname in MOVEMENT_FIGURES}


class TierSummaryReport(models.AbstractModel):
    """The KPIs the method judges itself by, for one company and period.

    Two kinds of figures, never mixed: what happened *in* the period
    (revenue, buyers, new customers, points by their own date, retention
    against the previous period of the same length) and where customers
    stood *at* the start and the end of the period, rebuilt from the tier
    and lifecycle histories. What is not historised (predicted CLV, churn
    risk) is only shown for a period that reaches today, as today's."""

    _name = "report.customer_tiering.report_tier_summary"
    _description = "Tier Summary Report"

    @api.model
    def _check_company_access(self, company):
        """The report is rendered for the company the client sends, from its
        URL too: only for a user who reads the company's tiering settings,
        in a company they are allowed in."""
        company.ensure_one()
        if not self.env.su and company not in self.env.user.company_ids:
            raise AccessError(
                self.env._("You are not allowed to see the Tier Summary of %(company)s.", company=company.name)
            )
        self.env["customer.tiering.config"].with_company(company)._for_companies(company).check_access("read")

    def _get_report_values(self, docids, data=None):
        wizard = self.env["customer.tier.summary.wizard"].browse(docids)
        company = self.env["res.company"].browse(data["company_id"]) if data else wizard.company_id
        self._check_company_access(company)
        date_from = fields.Date.to_date(data["date_from"]) if data else wizard.date_from
        date_to = fields.Date.to_date(data["date_to"]) if data else wizard.date_to
        return {
            "doc_ids": docids,
            "doc_model": "customer.tier.summary.wizard",
            "docs": wizard,
            **self._summary(company, date_from, date_to),
        }

    @api.model
    def _summary(self, company, date_from, date_to):
        """Every figure of the report, for ``company`` from ``date_from`` to ``date_to`` (both included)."""
        days = (date_to - date_from).days + 1
        previous = (fields.Date.subtract(date_from, days=days), fields.Date.subtract(date_from, days=1))
        tiers = self.env["customer.tier"].search([("company_id", "=", company.id)], order="sequence, id")
        revenue = self._revenue_by_tier(company, date_from, date_to)
        total_revenue = sum(revenue.values())
        migration = self._migration(company, date_from, date_to)
        retention = self._retention(company, previous, (date_from, date_to))
        today = fields.Date.context_today(self)
        stage_labels = dict(
            self.env["customer.lifecycle.history"]._fields["new_stage"]._description_selection(self.env)
        )
        stages = self._stages_as_of(company, date_to)

        def revenue_row(tier):
            amount = revenue.get(tier.id, 0.0)
            return {"tier": tier, "revenue": amount, "share": amount / total_revenue if total_revenue else 0.0}

        return {
            "company": company,
            "currency": company.currency_id,
            "date_from": date_from,
            "date_to": date_to,
            "previous_from": previous[0],
            "previous_to": previous[1],
            "tiers": tiers,
            # in the period
            "revenue_rows": [revenue_row(tier) for tier in tiers],
            "revenue_without_tier": revenue.get(None, 0.0),
            "total_revenue": total_revenue,
            "buyers": retention["buyers"],
            "new_customers": self._new_customers(company, date_from, date_to),
            "previous_buyers": retention["previous_buyers"],
            "retained": retention["retained"],
            "retention_rate": retention["retained"] / retention["previous_buyers"]
            if retention["previous_buyers"]
            else 0.0,
            "points": self._points(company, date_from, date_to),
            # at the start and the end of the period
            "migration": migration,
            "tier_moves": sum(count for (old, new), count in migration.items() if old != new),
            "customers_start": {
                tier.id: sum(count for (old, _new), count in migration.items() if old == tier.id) for tier in tiers
            },
            "customers_end": {
                tier.id: sum(count for (_old, new), count in migration.items() if new == tier.id) for tier in tiers
            },
            "stages": [(stage, stage_labels[stage], stages.get(stage, 0)) for stage, _label in STAGES],
            # today's values, which no history keeps: for a period reaching today only
            "today_rows": self._today_figures(company, tiers) if date_to >= today else [],
            "today": today,
        }

    def _revenue_by_tier(self, company, date_from, date_to):
        """{tier id, None for none: untaxed revenue net of returns in the
        period}, by the tier the customer had on the sale's date: the
        last tier history row of the customer written before that day
        ended. A customer's first purchases, before the nightly job first
        classified it, are of no tier."""
        self.env["customer.sale"]._flush_sources()
        self.env["customer.tier.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT t.tier_id, sum(s.amount)
                  FROM customer_sale s
                  LEFT JOIN LATERAL (
                        SELECT h.new_tier_id AS tier_id FROM customer_tier_history h
                         WHERE h.partner_id = s.commercial_partner_id AND h.company_id = %(company)s
                           AND h.date < s.date + 1
                         ORDER BY h.date DESC, h.id DESC
                         LIMIT 1) t ON TRUE
                 WHERE s.company_id = %(company)s
                   AND s.date BETWEEN %(date_from)s AND %(date_to)s
                 GROUP BY 1
                """,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
            )
        )
        return dict(rows)

    def _as_of(self, history, column, company, day):
        """The query of each customer's value of ``column`` in the history
        table ``history`` at the end of ``day``: the new value of its last
        row written before the next day began (``partner_id``, ``value``)."""
        return SQL(
            """
            SELECT DISTINCT ON (partner_id) partner_id, %(column)s AS value
              FROM %(history)s
             WHERE company_id = %(company)s AND date < %(until)s
             ORDER BY partner_id, date DESC, id DESC
            """,
            column=SQL.identifier(column),
            history=SQL.identifier(history),
            company=company.id,
            until=fields.Datetime.to_datetime(fields.Date.add(day, days=1)),
        )

    def _migration(self, company, date_from, date_to):
        """{(tier id at the start, tier id at the end): customers}, None for
        no tier, of every customer with a tier at either end of the period:
        where each customer stood when the period began, and where at its
        end, as the tier history has it. Rows sum to the customers per tier
        at the start (None: those without a tier then, mostly new
        customers), columns to those at the end (None: customers who lost
        their tier)."""
        self.env["customer.tier.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT s.value, e.value, count(*)
                  FROM (%(at_start)s) s FULL JOIN (%(at_end)s) e USING (partner_id)
                 WHERE s.value IS NOT NULL OR e.value IS NOT NULL
                 GROUP BY 1, 2
                """,
                at_start=self._as_of(
                    "customer_tier_history", "new_tier_id", company, fields.Date.subtract(date_from, days=1)
                ),
                at_end=self._as_of("customer_tier_history", "new_tier_id", company, date_to),
            )
        )
        return {(old, new): count for old, new, count in rows}

    def _stages_as_of(self, company, day):
        """{stage: customers in it at the end of ``day``}, as the lifecycle history has it."""
        self.env["customer.lifecycle.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                "SELECT value, count(*) FROM (%s) stages WHERE value IS NOT NULL GROUP BY 1",
                self._as_of("customer_lifecycle_history", "new_stage", company, day),
            )
        )
        return dict(rows)

    def _new_customers(self, company, date_from, date_to):
        """Customers whose first purchase ever in the company falls in the period."""
        self.env["customer.sale"]._flush_sources()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT count(*) FROM (
                    SELECT s.commercial_partner_id FROM customer_sale s
                     WHERE s.company_id = %(company)s AND s.is_purchase
                     GROUP BY 1
                    HAVING min(s.date) BETWEEN %(date_from)s AND %(date_to)s) first_purchases
                """,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
            )
        )
        return rows[0][0]

    def _retention(self, company, previous, current):
        """The customers who bought in the period, those who bought in the
        previous one and how many of them bought again in this one: who made
        a purchase, as the nightly job counts purchase days."""
        self.env["customer.sale"]._flush_sources()
        rows = self.env.execute_query(
            SQL(
                """
                WITH buyers AS (
                    SELECT s.commercial_partner_id AS id,
                           bool_or(s.date BETWEEN %(previous_from)s AND %(previous_to)s) AS previous,
                           bool_or(s.date BETWEEN %(current_from)s AND %(current_to)s) AS current
                      FROM customer_sale s
                     WHERE s.company_id = %(company)s AND s.is_purchase
                       AND s.date BETWEEN %(previous_from)s AND %(current_to)s
                     GROUP BY 1
                )
                SELECT count(*) FILTER (WHERE current), count(*) FILTER (WHERE previous),
                       count(*) FILTER (WHERE previous AND current)
                  FROM buyers
                """,
                company=company.id,
                previous_from=previous[0],
                previous_to=previous[1],
                current_from=current[0],
                current_to=current[1],
            )
        )
        buyers, previous_buyers, retained = rows[0]
        return {"buyers": buyers, "previous_buyers": previous_buyers, "retained": retained}

    def _points(self, company, date_from, date_to):
        """Points issued, used, reversed, expired and adjusted in the period
        on the company's tier cards, by the points' own date, as the ledger
        classifies its lines (``loyalty.history``'s movement figures)."""
        History = self.env["loyalty.history"].sudo()
        History.flush_model()
        self.env["loyalty.card"].flush_model(["company_id", "is_tier_card"])
        figures = list(POINTS_FIGURES.items())
        rows = self.env.execute_query(
            SQL(
                """
                SELECT %(sums)s
                  FROM loyalty_history h JOIN loyalty_card card ON card.id = h.card_id
                 WHERE card.company_id = %(company)s AND card.is_tier_card
                   AND %(day)s BETWEEN %(date_from)s AND %(date_to)s
                """,
                sums=SQL(", ").join(
                    SQL("COALESCE(sum(%s), 0)", History._field_to_sql("h", fname)) for _key, fname in figures
                ),
                company=company.id,
                day=History._field_to_sql("h", "points_day"),
                date_from=date_from,
                date_to=date_to,
            )
        )
        points = {key: value for (key, _fname), value in zip(figures, rows[0], strict=True)}
        points["net"] = (
            points["issued"] + points["adjusted"] - points["redeemed"] - points["reversed"] - points["expired"]
        )
        return points

    def _today_figures(self, company, tiers):
        """Predicted CLV and customers at high churn risk per tier, today:
        the nightly job keeps no history of them, so they cannot be rebuilt
        for a past date."""
        Analysis = self.env["customer.tiering.analysis"]
        domain = [("company_id", "=", company.id), ("tier_id", "!=", False)]
        groups = Analysis._read_group(domain, ["tier_id"], ["__count", "clv_predicted:sum"])
        at_risk = dict(Analysis._read_group(domain + [("churn_risk_level", "=", "high")], ["tier_id"], ["__count"]))
        by_tier = {tier: (count, clv) for tier, count, clv in groups}
        return [
            {
                "tier": tier,
                "customers": by_tier.get(tier, (0, 0.0))[0],
                "clv": by_tier.get(tier, (0, 0.0))[1],
                "at_risk": at_risk.get(tier, 0),
            }
            for tier in tiers
        ]
