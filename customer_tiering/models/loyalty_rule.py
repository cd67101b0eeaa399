from odoo import api, models
from odoo.exceptions import ValidationError


class LoyaltyRule(models.Model):
    _inherit = "loyalty.rule"

    @api.constrains("program_id", "active")
    def _check_not_on_tier_program(self):
        """The tiering points programs earn on invoices only: an order rule
        there would pay every order's points a second time."""
        programs = self.sudo().filtered("active").program_id
        if not programs:
            return
        config = (
            self.env["customer.tiering.config"].sudo().search([("loyalty_program_id", "in", programs.ids)], limit=1)
        )
        if config:
            raise ValidationError(
                self.env._(
                    "%(program)s is the points program of %(company)s: points on this program come from invoices, "
                    "computed by Customer Tiering; a rule here would make every order earn twice.",
                    program=config.loyalty_program_id.name,
                    company=config.company_id.name,
                )
            )
