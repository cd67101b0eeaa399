from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..sql import company_value, customer_sales, purchase


class TierSummaryReport(models.AbstractModel):
    """The KPIs the method judges itself by, for one company and period."""

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
        days = (date_to - date_from).days + 1
        previous = (fields.Date.subtract(date_from, days=days), fields.Date.subtract(date_from, days=1))
        tiers = self.env["customer.tier"].search([("company_id", "=", company.id)], order="sequence, id")
        customers, clv, at_risk, stages = self._tier_figures(company)
        revenue = self._revenue_by_tier(company, date_from, date_to)
        total_revenue = sum(revenue.values()) or 0.0
        buyers, retained = self._retention(company, previous, (date_from, date_to))
        return {
            "doc_ids": docids,
            "doc_model": "customer.tier.summary.wizard",
            "docs": wizard,
            "company": company,
            "currency": company.currency_id,
            "date_from": date_from,
            "date_to": date_to,
            "tiers": tiers,
            "tier_rows": [
                {
                    "tier": tier,
                    "customers": customers.get(tier, 0),
                    "revenue": revenue.get(tier.id, 0.0),
                    "share": revenue.get(tier.id, 0.0) / total_revenue if total_revenue else 0.0,
                    "clv": clv.get(tier, 0.0),
                    "at_risk": at_risk.get(tier, 0),
                }
                for tier in tiers
            ],
            "total_revenue": total_revenue,
            "stages": stages,
            "stage_labels": dict(self.env["res.partner"]._fields["lifecycle_stage"]._description_selection(self.env)),
            "moves": self._moves(company, date_from, date_to, tiers),
            "previous_buyers": buyers,
            "retained": retained,
            "retention_rate": retained / buyers if buyers else 0.0,
            "points": self._points(company, date_from, date_to),
        }

    def _tier_figures(self, company):
        """Customers, predicted CLV and customers at high risk per tier, and
        customers per stage, grouped by the customer analysis view."""
        Analysis = self.env["customer.tiering.analysis"]
        domain = [("company_id", "=", company.id), ("tier_id", "!=", False)]
        groups = Analysis._read_group(domain, ["tier_id"], ["__count", "clv_predicted:sum"])
        at_risk = Analysis._read_group(domain + [("churn_risk_level", "=", "high")], ["tier_id"], ["__count"])
        stages = Analysis._read_group(domain, ["lifecycle_stage"], ["__count"])
        return (
            {tier: count for tier, count, _clv in groups},
            {tier: clv for tier, _count, clv in groups},
            dict(at_risk),
            dict(stages),
        )

    def _revenue_by_tier(self, company, date_from, date_to):
        """{tier id: untaxed revenue net of credit notes in the period}, by the customers' current tier."""
        self.env["account.move"].flush_model()
        self.env["res.partner"].flush_model(["tier_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT %(tier)s, sum(m.amount_untaxed_signed)
                  FROM account_move m JOIN res_partner p ON p.id = m.commercial_partner_id
                 WHERE m.company_id = %(company)s AND %(sales)s
                   AND m.invoice_date BETWEEN %(date_from)s AND %(date_to)s
                 GROUP BY 1
                """,
                tier=company_value("p", "tier_id", company, "int"),
                company=company.id,
                sales=customer_sales("m"),
                date_from=date_from,
                date_to=date_to,
            )
        )
        return dict(rows)

    def _retention(self, company, previous, current):
        """(customers who bought in the previous period, how many of them bought again in this one):
        who made a purchase, as the nightly job counts purchase days."""
        self.env["account.move"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                WITH buyers AS (
                    SELECT DISTINCT m.commercial_partner_id AS id FROM account_move m
                     WHERE m.company_id = %(company)s AND %(sales)s AND %(purchase)s
                       AND m.invoice_date BETWEEN %(previous_from)s AND %(previous_to)s
                )
                SELECT count(*), count(*) FILTER (WHERE EXISTS (
                           SELECT 1 FROM account_move m
                            WHERE m.commercial_partner_id = buyers.id AND m.company_id = %(company)s
                              AND %(sales)s AND %(purchase)s
                              AND m.invoice_date BETWEEN %(current_from)s AND %(current_to)s))
                  FROM buyers
                """,
                company=company.id,
                sales=customer_sales("m"),
                purchase=purchase("m"),
                previous_from=previous[0],
                previous_to=previous[1],
                current_from=current[0],
                current_to=current[1],
            )
        )
        return rows[0]

    def _moves(self, company, date_from, date_to, tiers):
        """{(from tier, to tier): count} of the moves between tiers in the period."""
        groups = self.env["customer.tier.history"]._read_group(
            [
                ("company_id", "=", company.id),
                ("old_tier_id", "!=", False),
                ("date", ">=", fields.Datetime.to_datetime(date_from)),
                ("date", "<", fields.Datetime.to_datetime(fields.Date.add(date_to, days=1))),
            ],
            ["old_tier_id", "new_tier_id"],
            ["__count"],
        )
        return {(old.id, new.id): count for old, new, count in groups}

    def _points(self, company, date_from, date_to):
        """Points issued, used and expired in the period, on the company's tier cards."""
        groups = (
            self.env["loyalty.history"]
            .sudo()
            ._read_group(
                [
                    ("card_id.company_id", "=", company.id),
                    ("card_id.is_tier_card", "=", True),
                    ("create_date", ">=", fields.Datetime.to_datetime(date_from)),
                    ("create_date", "<", fields.Datetime.to_datetime(fields.Date.add(date_to, days=1))),
                ],
                ["points_kind"],
                ["issued:sum", "used:sum"],
            )
        )
        by_kind = {kind: (issued, used) for kind, issued, used in groups}
        spent = sum(used for kind, (_issued, used) in by_kind.items() if kind not in ("expire",))
        return {
            "issued": sum(issued for issued, _used in by_kind.values()),
            "used": spent,
            "expired": by_kind.get("expire", (0.0, 0.0))[1],
        }
