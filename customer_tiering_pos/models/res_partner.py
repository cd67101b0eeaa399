from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    tier_points_multiplier = fields.Float(
        compute="_compute_tier_points_multiplier",
        compute_sudo=True,
        help="The points multiplier of the tier of the commercial entity in the current company: the till shows the "
        "points a sale will earn.",
    )

    @api.depends_context("company")
    def _compute_tier_points_multiplier(self):
        for partner in self:
            tier = partner.commercial_partner_id.with_company(self.env.company).tier_id
            partner.tier_points_multiplier = tier.points_multiplier if tier else 1.0

    @api.model
    def _load_pos_data_fields(self, config_id):
        # The till finds a contact's points on its commercial entity's tier card,
        # and shows the points a sale earns with its tier's multiplier.
        return [*super()._load_pos_data_fields(config_id), "commercial_partner_id", "tier_points_multiplier"]
