from odoo import api, models
from odoo.osv import expression


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"

    @api.model
    def _load_pos_data_fields(self, config_id):
        return [*super()._load_pos_data_fields(config_id), "is_tier_card"]

    @api.model
    def _load_pos_data_domain(self, data):
        """pos_loyalty's (every card of the till's programs), with, of a
        tiering points program, only the tier cards of the customers the till
        loads: the program has a card per customer with points, too many to
        send to every till, and the till fetches the card of any other
        customer it selects or finds. A card of the program that is no tier
        card holds no tier points and is never used at the till."""
        domain = super()._load_pos_data_domain(data)
        tier_programs = [program["id"] for program in data["loyalty.program"]["data"] if program.get("is_tier_program")]
        if not tier_programs:
            return domain
        partners = data.get("res.partner", {}).get("data", [])
        entities = list({partner["commercial_partner_id"] for partner in partners} - {False})
        return expression.AND(
            [
                domain,
                [
                    "|",
                    ("program_id", "not in", tier_programs),
                    "&",
                    ("is_tier_card", "=", True),
                    ("partner_id", "in", entities),
                ],
            ]
        )
