import logging

from odoo import api, fields, models
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation
_logger = logging.getLogger(__name__)

#: The festivals the add-on ships (data/customer_care_festival_data.xml), by
#: code: their names come from the add-on's catalogue, in every language,
#: like the other records it seeds (see translations.translate_seeded).
FESTIVAL_NAMES = {
    "spring_festival": _lt("Spring Festival"),
    "mid_autumn": _lt("Mid-Autumn Festival"),
}


class CustomerCareFestival(models.Model):
    """A lunar festival, whose Gregorian date moves every year: its dates,
    one a year, are a table that managers extend. The table is shared by
    every company (the moon is the same for all), so it has no company and
    no company rule."""

    _name = "customer.care.festival"
    _description = "Lunar Festival"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(help="Technical code of the festivals the add-on ships.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    date_ids = fields.One2many("customer.care.festival.date", "festival_id", string="Dates")

    _sql_constraints = [
        ("code_uniq", "unique(code)", "Each festival code is used once."),
    ]

    def _next_dates(self, today):
        """{festival: its first date on or after ``today``} of the festivals
        that have one in the table; those that have none are logged."""
        dates = self.env["customer.care.festival.date"].search(
            [("festival_id", "in", self.ids), ("date", ">=", today)], order="date"
        )
        upcoming = {}
        for festival_date in dates:
            upcoming.setdefault(festival_date.festival_id, festival_date.date)
        for festival in self - self.browse([festival.id for festival in upcoming]):
            _logger.warning(
                "Customer care: the festival table has no date of %s after %s: add it in Customer Tiering > "
                "Configuration > Festival Dates",
                festival.name,
                today,
            )
        return upcoming

    def _name_translations(self, langs):
        """{lang: name} of the festival in ``langs`` where it has a name of its own."""
        self.ensure_one()
        english = self.with_context(lang="en_US").name
        names = {lang: self.with_context(lang=lang).name for lang in langs}
        return {lang: name for lang, name in names.items() if name and name != english}

    @api.model
    def _translate_defaults(self, langs, overwrite=False):
        """The shipped festivals' names in ``langs`` from the catalogue, unless the user changed them."""
        from ..translations import translate_untouched  # the translations module imports the models

        festivals = self.with_context(active_test=False).search([("code", "in", list(FESTIVAL_NAMES))])
        translate_untouched(festivals, "name", list(FESTIVAL_NAMES.values()), langs, overwrite)
