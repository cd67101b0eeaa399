from odoo import api, fields, models


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

    is_tier_program = fields.Boolean(
        string="Tiering Points Program",
        compute="_compute_is_tier_program",
        help="The points program of a company's tiering settings: at the till, a customer's points are those of "
        "its commercial entity's tier card.",
    )
    # What the till needs to show the points a sale will earn, as the points
    # ledger computes them (customer.loyalty.ledger._earn_entry).
    tier_points_rate = fields.Float(string="Points per Currency Unit at the Till", compute="_compute_is_tier_program")
    tier_points_rounding = fields.Float(string="Points Rounding at the Till", compute="_compute_is_tier_program")
    tier_points_excluded_product_ids = fields.Json(
        string="Products Earning No Points", compute="_compute_is_tier_program"
    )

    def _compute_is_tier_program(self):
        configs = self.env["customer.tiering.config"].sudo().search([("loyalty_program_id", "in", self.ids)])
        by_program = {config.loyalty_program_id: config for config in configs}
        for program in self:
            config = by_program.get(program)
            program.is_tier_program = bool(config)
            program.tier_points_rate = config.points_per_currency if config else 0.0
            program.tier_points_rounding = config.points_rounding if config else 0.0
            program.tier_points_excluded_product_ids = config._points_excluded_products().ids if config else []

    @api.model
    def _load_pos_data_fields(self, config_id):
        # The till tells the tier program apart to look its card up by entity,
        # and shows the points a sale will earn.
        return [
            *super()._load_pos_data_fields(config_id),
            "is_tier_program",
            "tier_points_rate",
            "tier_points_rounding",
            "tier_points_excluded_product_ids",
        ]
