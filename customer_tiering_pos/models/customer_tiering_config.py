from odoo import api, fields, models


class CustomerTieringConfig(models.Model):
    _inherit = "customer.tiering.config"

    # The program's own pos_ok, not a copy of it: unticking *Point of Sale* on
    # the program form shows here, and nothing can disagree.
    points_at_till = fields.Boolean(
        string="Spend Points at the Till",
        compute="_compute_points_at_till",
        inverse="_inverse_points_at_till",
        help="Customers see their points and spend them on rewards at every Point of Sale: a contact of a company "
        "customer spends the company's points. Off: the points program is not offered at the till at all. On by "
        "default, as Odoo offers every program at every Point of Sale.",
    )

    @api.depends("loyalty_program_id.pos_ok")
    def _compute_points_at_till(self):
        for config in self:
            config.points_at_till = config.loyalty_program_id.sudo().pos_ok

    def _inverse_points_at_till(self):
        for config in self:
            config._set_points_at_till(config.points_at_till)

    def _set_points_at_till(self, value):
        # The program, not the settings, is what the till reads: written as
        # superuser, as tiering managers need not manage loyalty programs.
        # On, the program is offered at every till (no Point of Sale listed);
        # off, pos_loyalty empties the list itself.
        programs = self.loyalty_program_id.sudo().filtered(lambda program: program.pos_ok != value)
        if programs:
            programs.write({"pos_ok": value, "pos_config_ids": [fields.Command.clear()]})

    def write(self, vals):
        # Not a tiering setting: whether points are spent at the till changes
        # no tier or points, so it must not make the next run a full one.
        if "points_at_till" not in vals:
            return super().write(vals)
        self.check_access("write")
        vals = dict(vals)
        value = bool(vals.pop("points_at_till"))
        res = super().write(vals) if vals else True
        self._set_points_at_till(value)
        return res
