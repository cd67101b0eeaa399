from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CustomerTierSummaryWizard(models.TransientModel):
    _name = "customer.tier.summary.wizard"
    _description = "Print the Tier Summary"

    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    date_from = fields.Date(
        string="From", required=True, default=lambda self: fields.Date.context_today(self).replace(month=1, day=1)
    )
    date_to = fields.Date(string="To", required=True, default=fields.Date.context_today)

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        if any(wizard.date_from > wizard.date_to for wizard in self):
            raise ValidationError(self.env._("The period must start before it ends."))

    def action_print(self):
        self.ensure_one()
        return self.env.ref("customer_tiering.action_report_tier_summary").report_action(
            self, data={"company_id": self.company_id.id, "date_from": self.date_from, "date_to": self.date_to}
        )
