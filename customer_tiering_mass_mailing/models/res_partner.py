from odoo import models

#: A company's partner's fields its tier and segment filters are named with or in.
COMPANY_NAMING_FIELDS = {"name", "lang"}


class ResPartner(models.Model):
    _inherit = "res.partner"

    def write(self, vals):
        result = super().write(vals)
        # Renaming a company writes its partner's name; its language is the filters' language.
        if vals.keys() & COMPANY_NAMING_FIELDS:
            companies = self.env["res.company"].sudo().search([("partner_id", "in", self.ids)])
            if companies:
                self.env["mailing.filter"]._tiering_sync_companies(companies)
        return result

    def action_new_mailing(self):
        """A new mailing to these contacts, as they were selected: the
        people chosen in a list, not their companies. Unlike the coupons of
        customer_tiering's Generate Coupons, which belong to the commercial
        entity (its points card), an email goes to an address: selecting a
        contact person means writing to that person, and a company is
        written to when it is selected itself. The Contacts filters do the
        same: a company's contacts carry its tier, stage and risk."""
        # What the form creates: Email Marketing users, as on its own menu.
        self.env["mailing.mailing"].check_access("create")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("New Mailing"),
            "res_model": "mailing.mailing",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
            "context": {
                "default_mailing_type": "mail",
                "default_mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
                "default_mailing_domain": repr([("id", "in", self.ids)]),
                "default_audience_company_id": self.env.company.id,
            },
        }
