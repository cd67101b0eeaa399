from datetime import date

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools.translate import LazyTranslate

from ..translations import translate_field

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

#: Lunar festivals move every year: their Gregorian dates, to seed the next one.
FESTIVALS = (
    (
        _lt("Spring Festival"),
        ("2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03", "2031-01-23", "2032-02-11"),
    ),
    (
        _lt("Mid-Autumn Festival"),
        ("2026-09-25", "2027-09-15", "2028-10-03", "2029-09-22", "2030-09-12", "2031-10-01", "2032-09-19"),
    ),
)


class CustomerCareDate(models.Model):
    """A dated occasion (a holiday) on which customers get care touches."""

    _name = "customer.care.date"
    _description = "Customer Care Date"
    _order = "date, id"

    name = fields.Char(string="Occasion", required=True, translate=True)
    date = fields.Date(required=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)

    @api.model
    def _create_defaults(self, companies):
        """The next Spring Festival and Mid-Autumn Festival, for companies without care dates."""
        today = fields.Date.context_today(self)
        with_dates = self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).company_id
        upcoming = [
            (name, next(day for day in map(date.fromisoformat, days) if day >= today))
            for name, days in FESTIVALS
            if date.fromisoformat(days[-1]) >= today
        ]
        missing = companies - with_dates
        dates = self.create(
            [
                {"name": name._translate("en_US"), "date": day, "company_id": company.id}
                for company in missing
                for name, day in upcoming
            ]
        )
        translate_field(self.env, dates, "name", [name for _company in missing for name, _day in upcoming])
        return dates

    def action_copy_next_year(self):
        """Next year's occasions, to adjust where the date moves (lunar festivals)."""
        copies = self.env["customer.care.date"]
        for care_date in self:
            copies |= care_date.copy({"date": care_date.date + relativedelta(years=1)})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "list",
            "domain": [("id", "in", copies.ids)],
            "name": self.env._("Next Year's Care Dates"),
        }
