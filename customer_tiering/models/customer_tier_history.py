from odoo import api, fields, models
from odoo.tools import SQL

REASONS = [
    ("computed", "Computed"),
    ("manual", "Manual"),
    ("lock_expired", "Lock expired"),
]


class CustomerTierHistory(models.Model):
    """Append-only log of tier changes, written by the job and by manual edits."""

    _name = "customer.tier.history"
    _description = "Customer Tier History"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    old_tier_id = fields.Many2one("customer.tier", string="Old Tier", ondelete="restrict", readonly=True)
    new_tier_id = fields.Many2one("customer.tier", string="New Tier", ondelete="restrict", readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    reason = fields.Selection(REASONS, required=True, readonly=True)
    user_id = fields.Many2one("res.users", string="By", readonly=True, default=lambda self: self.env.user)

    @api.model
    def _log_bulk(self, company, partner_ids, old_ids, new_ids, reasons):
        """Append history rows with one INSERT; the job logs whole chunks at once."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO customer_tier_history (partner_id, company_id, old_tier_id, new_tier_id, date, reason,
                                               user_id, create_uid, create_date, write_uid, write_date)
            SELECT v.partner_id, %(company)s, v.old_id, v.new_id, %(now)s, v.reason,
                   %(uid)s, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(partners)s::int4[], %(old)s::int4[], %(new)s::int4[], %(reasons)s::varchar[])
                   AS v(partner_id, old_id, new_id, reason)
            """,
                company=company.id,
                now=now,
                uid=self.env.uid,
                partners=partner_ids,
                old=old_ids,
                new=new_ids,
                reasons=reasons,
            )
        )
