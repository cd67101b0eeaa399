from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import SQL

from ..sql import company_partner, company_value

TOP_AT_RISK = 10


class CustomerFollowupDigest(models.AbstractModel):
    """The weekly summary each salesperson gets: follow-ups due and overdue,
    customers at risk and tier changes, as one email or one activity."""

    _name = "customer.followup.digest"
    _description = "Customer Follow-up Digest"

    @api.model
    def _cron_digest(self):
        today = fields.Date.context_today(self)
        configs = self.env["customer.tiering.config"]._for_companies(self.env["res.company"].search([]))  # pylint: disable=no-search-all
        self.env["customer.tiering.lock"]._run_companies(
            "digest",
            configs.filtered(lambda c: c.digest_mode != "off"),
            lambda config: self.with_company(config.company_id)._send_digests(config, today),
        )

    def _send_digests(self, config, today):
        sections = self._sections(config, today)
        year, week, _weekday = today.isocalendar()
        for user, data in sections.items():
            if not (user.active and not user.share):
                continue
            body = self.with_context(lang=user.lang)._digest_body(data)
            partner = user.partner_id
            occasion = f"digest:{year}-W{week:02d}"
            if not self.env["customer.care.job"]._log(config, partner, occasion, today, config.digest_mode):
                continue
            subject = self.with_context(lang=user.lang).env._("Your customers this week")
            if config.digest_mode == "email":
                self.env["mail.mail"].sudo().create(
                    {
                        "subject": subject,
                        "body_html": body,
                        "email_to": user.email_formatted,
                        # the server default, not another company's address
                        "email_from": config.company_id.email_formatted or None,
                        "auto_delete": True,
                    }
                )
            else:
                followup = self.env["customer.followup.job"]
                followup._create_activities([followup._partner_activity(partner, user, subject, body, today)])

    def _sections(self, config, today):
        """{user: {"due": n, "overdue": n, "at_risk": partners, "at_risk_count": n, "moves": history}}:
        ``at_risk`` the TOP_AT_RISK most valuable of the ``at_risk_count``
        (``_top_at_risk``)."""
        sections = defaultdict(lambda: {"due": 0, "overdue": 0, "at_risk": [], "at_risk_count": 0, "moves": []})
        Activity = self.env["mail.activity"]
        policy_activities = [("service_policy_id.company_id", "=", config.company_id.id)]
        for key, domain in (
            ("due", [("date_deadline", ">=", today), ("date_deadline", "<=", today + timedelta(days=7))]),
            ("overdue", [("date_deadline", "<", today)]),
        ):
            for user, count in Activity._read_group(policy_activities + domain, ["user_id"], ["__count"]):
                sections[user][key] = count
        Partner, Users = self.env["res.partner"].with_company(config.company_id), self.env["res.users"]
        for user_id, partner_ids, count in self._top_at_risk(config):
            section = sections[Users.browse(user_id)]
            section["at_risk"], section["at_risk_count"] = Partner.browse(partner_ids), count
        moves = self.env["customer.tier.history"].search(
            [
                ("company_id", "=", config.company_id.id),
                ("date", ">=", fields.Datetime.to_datetime(today - timedelta(days=7))),
                ("old_tier_id", "!=", False),
                ("partner_id.user_id", "!=", False),
            ]
        )
        for move in moves:
            sections[move.partner_id.user_id]["moves"].append(move)
        return sections

    def _top_at_risk(self, config):
        """(salesperson id, ids of their TOP_AT_RISK customers at high churn
        risk with the most value at risk, how many they have) per salesperson:
        ranked per salesperson in SQL (``ROW_NUMBER``), not every customer at
        risk read to keep ten each. The customers: active commercial entities
        the company may see; their order: value at risk, highest first (as
        PostgreSQL sorts descending, a customer without one first), then as
        the partner lists order them (name, then newest)."""
        company = config.company_id
        Partner = self.env["res.partner"]
        Partner.flush_model(
            ["active", "is_company", "parent_id", "user_id", "complete_name", "company_id"]
            + ["churn_risk_level", "value_at_risk"]
        )
        return self.env.execute_query(
            SQL(
                """
                SELECT user_id, array_agg(id ORDER BY rank), max(total)
                  FROM (SELECT p.id, p.user_id,
                               ROW_NUMBER() OVER (PARTITION BY p.user_id
                                                  ORDER BY %(value)s DESC, p.complete_name, p.id DESC) AS rank,
                               count(*) OVER (PARTITION BY p.user_id) AS total
                          FROM res_partner p
                         WHERE p.active AND (p.is_company OR p.parent_id IS NULL) AND p.user_id IS NOT NULL
                           AND %(company_partner)s AND %(risk)s = 'high') ranked
                 WHERE rank <= %(top)s
                 GROUP BY user_id
                """,
                value=company_value("p", "value_at_risk", company, "float8"),
                company_partner=company_partner("p", company),
                risk=Partner._company_value_sql("churn_risk_level", company, "p"),
                top=TOP_AT_RISK,
            )
        )

    def _digest_body(self, data):
        items = [
            self.env._("Follow-ups due in the next 7 days: %s", data["due"]),
            self.env._("Overdue follow-ups: %s", data["overdue"]),
            self.env._("Customers at high churn risk: %s", data["at_risk_count"]),
        ]
        body = Markup("<p>%s</p><ul>%s</ul>") % (
            self.env._("Your customers this week"),
            Markup().join(Markup("<li>%s</li>") % item for item in items),
        )
        if data["at_risk"]:
            rows = [
                self.env._("%(customer)s: value at risk %(value)s", customer=p.name, value=round(p.value_at_risk))
                for p in data["at_risk"]
            ]
            body += _list(self.env._("Most valuable customers at risk"), rows)
        if data["moves"]:
            rows = [
                self.env._(
                    "%(customer)s: %(old)s → %(new)s",
                    customer=m.partner_id.name,
                    old=m.old_tier_id.name,
                    new=m.new_tier_id.name,
                )
                for m in data["moves"]
            ]
            body += _list(self.env._("Tier changes in the last 7 days"), rows)
        return body


def _list(title, rows):
    return Markup("<p>%s</p><ul>%s</ul>") % (escape(title), Markup().join(Markup("<li>%s</li>") % row for row in rows))
