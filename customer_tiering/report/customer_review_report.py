from babel.dates import format_skeleton
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.misc import babel_locale_parse, get_lang

MONTHS = 12
# What fits one A4 page next to the key figures and the 12 months.
HISTORY_ROWS = 5
FOLLOWUP_ROWS = 5

# Chinese, Japanese and Korean readers get their own CJK font for the whole page:
# the company font (Lato) has no CJK glyphs, and the fallback wkhtmltopdf picks
# would be any CJK font, with the Japanese shapes of shared characters. The Noto
# fonts are Debian's fonts-noto-cjk; the others, the usual ones elsewhere.
CJK_FONTS = {
    "zh_CN": ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC"),
    "zh_SG": ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC"),
    "zh_TW": ("Noto Sans CJK TC", "Source Han Sans TC", "Microsoft JhengHei", "PingFang TC"),
    "zh_HK": ("Noto Sans CJK HK", "Noto Sans CJK TC", "Source Han Sans HC", "Microsoft JhengHei", "PingFang HK"),
    "ja_JP": ("Noto Sans CJK JP", "Source Han Sans JP", "Yu Gothic", "Hiragino Sans"),
    "ko_KR": ("Noto Sans CJK KR", "Source Han Sans KR", "Malgun Gothic", "Apple SD Gothic Neo"),
}


class CustomerReviewReport(models.AbstractModel):
    """Values of the *Customer Review* PDF: one commercial entity per page,
    in the current company and the reader's language."""

    _name = "report.customer_tiering.report_customer_review"
    _description = "Customer Review Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        partners = self.env["res.partner"].browse(docids).commercial_partner_id
        # Its figures are read in SQL: each customer must be one the user may read, in this company.
        partners.check_access("read")
        company = self.env.company
        first_month = fields.Date.context_today(self).replace(day=1) - relativedelta(months=MONTHS - 1)
        months = [first_month + relativedelta(months=offset) for offset in range(MONTHS)]
        revenue = self._monthly_revenue(partners, company, first_month)
        return {
            "doc_ids": partners.ids,
            "doc_model": "res.partner",
            "docs": partners.with_company(company),
            "company": company,
            "currency": company.currency_id,
            "months": months,
            "month_labels": self._month_labels(months),
            "revenue": {
                partner.id: [revenue.get((partner.id, month), 0.0) for month in months] for partner in partners
            },
            "tier_history": self._history("customer.tier.history", partners, company),
            "stage_history": self._history("customer.lifecycle.history", partners, company),
            "followups": {partner.id: partner.activity_ids.sorted("date_deadline") for partner in partners},
            "followup_rows": FOLLOWUP_ROWS,
            "more_followups": {partner.id: self._more_followups_label(partner.activity_ids) for partner in partners},
            "page_style": self._page_style(),
        }

    def _month_labels(self, months):
        """Each month as the reader's language writes a month: "January 2026", "2026年1月".

        A skeleton lets the locale order and word the parts; a fixed pattern such as
        "MMMM y" prints "一月 2026" in Chinese."""
        locale = babel_locale_parse(get_lang(self.env).code)
        return [format_skeleton("yMMM", month, locale=locale) for month in months]

    def _page_style(self):
        """The page's font for a CJK reader (see CJK_FONTS), else none: the company's font."""
        fonts = CJK_FONTS.get(get_lang(self.env).code)
        if not fonts:
            return None
        families = ", ".join(f'"{font}"' for font in fonts)
        return f"font-family: {families}, sans-serif;"

    def _more_followups_label(self, followups):
        """The line under the first FOLLOWUP_ROWS follow-ups, when there are more."""
        hidden = len(followups) - FOLLOWUP_ROWS
        return self.env._("and %(count)s more open follow-ups", count=hidden) if hidden > 0 else ""

    def _monthly_revenue(self, partners, company, first_month):
        """{(entity, month): untaxed revenue net of returns}, from one grouped query."""
        self.env["customer.sale"]._flush_sources()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT s.commercial_partner_id, date_trunc('month', s.date)::date, sum(s.amount)
                  FROM customer_sale s
                 WHERE s.commercial_partner_id = ANY(%s) AND s.company_id = %s AND s.date >= %s
                 GROUP BY 1, 2
                """,
                partners.ids,
                company.id,
                first_month,
            )
        )
        return {(partner_id, month): amount for partner_id, month, amount in rows}

    def _history(self, model, partners, company):
        records = self.env[model].search(
            [("partner_id", "in", partners.ids), ("company_id", "=", company.id)], order="date desc, id desc"
        )
        return {
            partner.id: records.filtered(lambda r, p=partner: r.partner_id == p)[:HISTORY_ROWS] for partner in partners
        }
