from odoo import api, fields, models


class CustomerCareFestivalDate(models.Model):
    """A festival's Gregorian date in one year."""

    _name = "customer.care.festival.date"
    _description = "Lunar Festival Date"
    _order = "date, id"
    _rec_name = "date"

    festival_id = fields.Many2one("customer.care.festival", required=True, index=True, ondelete="cascade")
    date = fields.Date(required=True)
    year = fields.Integer(compute="_compute_year", store=True)

    _sql_constraints = [
        ("festival_year_uniq", "unique(festival_id, year)", "A festival has one date a year."),
    ]

    @api.depends("date")
    def _compute_year(self):
        for festival_date in self:
            festival_date.year = festival_date.date.year if festival_date.date else 0

    @api.model
    def _dates(self, festivals, years):
        """{(festival id, year): date} of ``festivals`` in ``years``."""
        rows = self.search([("festival_id", "in", festivals.ids), ("year", "in", list(years))])
        return {(row.festival_id.id, row.year): row.date for row in rows}
