import logging
from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..translations import installed_langs

_logger = logging.getLogger(__name__)


class CustomerCareDate(models.Model):
    """A dated occasion (a holiday) on which customers get care touches.
    Each is one year's occurrence of a recurring occasion: a lunar festival
    of the festival table (``festival_id``), or a fixed day (same name, same
    month and day every year). The yearly roll-over (``_roll_over``) gives
    every company next year's occurrences."""

    _name = "customer.care.date"
    _description = "Customer Care Date"
    _order = "date, id"

    name = fields.Char(string="Occasion", required=True, translate=True)
    date = fields.Date(required=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    festival_id = fields.Many2one(
        "customer.care.festival",
        string="Lunar Festival",
        ondelete="restrict",
        help="Next year's date comes from this festival's dates; without one, the occasion keeps its month and day.",
    )
    active = fields.Boolean(default=True)

    @api.model
    def _release_festivals(self):
        """Unlink every care date from its festival, before an uninstall:
        Odoo deletes the festivals it loaded before the care dates, which
        ``ondelete="restrict"`` would refuse."""
        self.flush_model()
        self.env.cr.execute(SQL("UPDATE %s SET festival_id = NULL", SQL.identifier(self._table)))
        self.invalidate_model(["festival_id"])

    @api.model
    def _create_defaults(self, companies):
        """The next date of each active lunar festival, for companies without care dates."""
        today = fields.Date.context_today(self)
        with_dates = self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).company_id
        missing = companies - with_dates
        if not missing:
            return self.browse()
        upcoming = self.env["customer.care.festival"].sudo().search([("active", "=", True)])._next_dates(today)
        english = {festival: festival.with_context(lang="en_US").name for festival in upcoming}
        dates = self.create(
            [
                {"name": english[festival], "date": day, "company_id": company.id, "festival_id": festival.id}
                for company in missing
                for festival, day in upcoming.items()
            ]
        )
        langs = installed_langs(self.env)
        translations = {festival: festival._name_translations(langs) for festival in upcoming}
        for care_date in dates:
            if names := translations[care_date.festival_id]:
                care_date.update_field_translations("name", names)
        return dates

    def action_copy_next_year(self):
        """Next year's occasions: a lunar festival's from the festival table, the others on the same day."""
        copies, undated = self._copy_to_years([care_date.date.year + 1 for care_date in self])
        if undated:
            raise UserError(
                self.env._(
                    "The festival table has no date of %(festivals)s next year: add it in Festival Dates first.",
                    festivals=", ".join(undated.festival_id.mapped("name")),
                )
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "list",
            "domain": [("id", "in", copies.ids)],
            "name": self.env._("Next Year's Care Dates"),
        }

    def _copy_to_years(self, years):
        """Copy the i-th care date to ``years[i]``, with its name in every
        language: the one owner of "the same occasion another year", for
        the copy action and the roll-over. Returns (copies, the care dates
        whose festival has no date in the table that year)."""
        festival_dates = self.env["customer.care.festival.date"].sudo()._dates(self.festival_id, set(years))
        dated, undated = [], self.browse()
        for care_date, year in zip(self, years, strict=True):
            if care_date.festival_id:
                day = festival_dates.get((care_date.festival_id.id, year))
            else:
                # relativedelta: 29 February falls on the 28th in common years
                day = care_date.date + relativedelta(years=year - care_date.date.year)
            if day:
                dated.append((care_date, day))
            else:
                undated |= care_date
        originals = self.browse([care_date.id for care_date, _day in dated])
        vals_list = [dict(vals, date=day) for vals, (_date, day) in zip(originals.copy_data(), dated, strict=True)]
        copies = self.create(vals_list)
        for original, copy in zip(originals, copies, strict=True):
            original.copy_translations(copy)
        return copies, undated

    # ------------------------------------------------------------ roll-over
    @api.model
    def _cron_roll_over(self):
        """The yearly roll-over: next year's care dates, for every company."""
        self._roll_over(fields.Date.context_today(self).year + 1)

    @api.model
    def _roll_over(self, year):
        """Give every company, in one pass, the ``year`` occurrence of each
        recurring care date it has active in the year before: a lunar
        festival's from the festival table, a fixed day's on the same month
        and day. Idempotent: an occurrence the company has in ``year`` of
        the same festival (or, for a fixed day, of the same English name),
        archived or not, is never created again. An archived care date is
        not rolled over, nor are the care dates of an archived festival:
        archiving a date ends its occasion for that company. A festival
        without a date in ``year`` is logged, and its occurrences are made
        at the next run once a manager has added the date. Returns the new
        care dates."""
        every = self.sudo().with_context(active_test=False, lang="en_US")
        dates = every.search([("date", ">=", f"{year - 1}-01-01"), ("date", "<=", f"{year}-12-31")])
        existing = {care_date._occasion() for care_date in dates if care_date.date.year == year}
        sources = {}
        for care_date in dates:
            if (
                care_date.date.year == year - 1
                and care_date.active
                and (not care_date.festival_id or care_date.festival_id.active)
                and care_date._occasion() not in existing
            ):
                sources.setdefault(care_date._occasion(), care_date)
        sources = every.browse([care_date.id for care_date in sources.values()])
        copies, undated = sources._copy_to_years([year] * len(sources))
        companies = defaultdict(list)
        for care_date in undated:
            companies[care_date.festival_id].append(care_date.company_id.name)
        for festival, names in companies.items():
            _logger.warning(
                "Customer care roll-over: the festival table has no date of %s in %s, so %d companies (%s) get "
                "no %s care date yet: add the date in Customer Tiering > Configuration > Festival Dates, then "
                "run the scheduled action 'Customer Tiering: roll care dates over to next year' again",
                festival.name,
                year,
                len(names),
                ", ".join(sorted(names)),
                year,
            )
        _logger.info("Customer care roll-over to %s: %d care dates created", year, len(copies))
        return copies.with_env(self.env)

    def _occasion(self):
        """What makes two care dates the same occasion in different years, for the roll-over."""
        self.ensure_one()
        return self.company_id.id, self.festival_id.id or self.with_context(lang="en_US").name
