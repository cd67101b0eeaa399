from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import api, fields, models

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
        """{user: {"due": n, "overdue": n, "at_risk": partners, "moves": history}}."""
        sections = defaultdict(lambda: {"due": 0, "overdue": 0, "at_risk": [], "moves": []})
        Activity = self.env["mail.activity"]
        policy_activities = [("service_policy_id.company_id", "=", config.company_id.id)]
        for key, domain in (
            ("due", [("date_deadline", ">=", today), ("date_deadline", "<=", today + timedelta(days=7))]),
            ("overdue", [("date_deadline", "<", today)]),
        ):
            for user, count in Activity._read_group(policy_activities + domain, ["user_id"], ["__count"]):
                sections[user][key] = count
        at_risk = self.env["res.partner"].search(
            [("is_tiering_entity", "=", True), ("churn_risk_level", "=", "high"), ("user_id", "!=", False)],
            order="value_at_risk desc",
        )
        for partner in at_risk:
            sections[partner.user_id]["at_risk"].append(partner)
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

    def _digest_body(self, data):
        items = [
            self.env._("Follow-ups due in the next 7 days: %s", data["due"]),
            self.env._("Overdue follow-ups: %s", data["overdue"]),
            self.env._("Customers at high churn risk: %s", len(data["at_risk"])),
        ]
        body = Markup("<p>%s</p><ul>%s</ul>") % (
            self.env._("Your customers this week"),
            Markup().join(Markup("<li>%s</li>") % item for item in items),
        )
        if data["at_risk"]:
            rows = [
                self.env._("%(customer)s: value at risk %(value)s", customer=p.name, value=round(p.value_at_risk))
                for p in data["at_risk"][:TOP_AT_RISK]
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
