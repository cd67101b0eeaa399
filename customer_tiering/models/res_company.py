from odoo import api, models


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies._customer_tiering_setup()
        return companies

    def _customer_tiering_setup(self):
        """Default tiers, segments, settings, policies and survey, for new companies and at install."""
        self.env["customer.tier"].sudo()._create_defaults(self)
        self.env["customer.rfm.segment"].sudo()._create_defaults(self)
        self.env["customer.tiering.config"]._for_companies(self)
        self.env["customer.service.policy"].sudo()._create_defaults(self)
        self.env["customer.care.date"].sudo()._create_defaults(self)
        self.env["customer.pool.rule"].sudo()._create_defaults(self)
        self.env["customer.satisfaction.policy"].sudo()._create_defaults(self)
        self.env["res.partner"]._create_tiering_indexes(self)
