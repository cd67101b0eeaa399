import datetime

import babel.dates

from odoo import models
from odoo.tools.misc import get_lang

#: Month and quarter groups labelled by the locale's own pattern (CLDR
#: skeletons): "January 2026" in English, "2026年1月" in Chinese, where
#: Odoo's fixed "MMMM yyyy" reads "一月 2026".
SKELETONS = {"month": "yMMMM", "quarter": "yQQQ"}
#: Models of other modules whose groups the add-on's own views show by month.
OTHER_MODELS = {"loyalty.history"}


class Base(models.AbstractModel):
    _inherit = "base"

    def _read_group_format_result(self, rows_dict, lazy_groupby):
        """The add-on's models label month and quarter groups (lists,
        pivots, graphs) the way the user's language writes a month; other
        modules' models keep Odoo's labels."""
        if self._original_module != "customer_tiering" and self._name not in OTHER_MODELS:
            return super()._read_group_format_result(rows_dict, lazy_groupby)
        skeletons = {group: skeleton for group in lazy_groupby if (skeleton := self._date_group_skeleton(group))}
        values = {group: [row[group] for row in rows_dict] for group in skeletons}
        result = super()._read_group_format_result(rows_dict, lazy_groupby)
        locale = get_lang(self.env).code
        for group, skeleton in skeletons.items():
            for row, value in zip(rows_dict, values[group], strict=True):
                # The group's start, in the user's time zone for datetimes.
                if isinstance(value, datetime.date):
                    row[group] = babel.dates.format_skeleton(skeleton, value, locale=locale)
        return result

    def _date_group_skeleton(self, group):
        """The label skeleton of a ``field:granularity`` date grouping, if relabelled."""
        field = self._fields.get(group.split(":")[0].split(".")[0])
        if not field or field.type not in ("date", "datetime"):
            return None
        return SKELETONS.get(group.split(":")[1] if ":" in group else "month")
