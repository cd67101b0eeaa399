from odoo import fields, models


class CustomerCareLog(models.Model):
    """One care touch per customer, occasion and year: the unique key makes
    a re-run, a retry or a concurrent run send nothing twice."""

    _name = "customer.care.log"
    _description = "Customer Care Log"
    _order = "id desc"
    _rec_name = "occasion"

    partner_id = fields.Many2one("res.partner", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    occasion = fields.Char(
        required=True,
        readonly=True,
        help="birthday, care:<care date>, dormancy:<last purchase>, tier:<tier history row>, expiring:<expiry day>, "
        "last_chance:<expiry day>, entry:<tier>:<promotion day>",
    )
    year = fields.Integer(required=True, readonly=True)
    channel = fields.Selection(
        [("activity", "Activity"), ("email", "Email"), ("coupon", "Coupon")], required=True, readonly=True
    )
    date = fields.Date(required=True, readonly=True)

    _sql_constraints = [
        (
            "occasion_uniq",
            "unique(partner_id, company_id, occasion, year)",
            "A customer gets one care touch per occasion and year.",
        ),
    ]
