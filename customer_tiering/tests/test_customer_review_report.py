import shutil
import subprocess
import unicodedata
from datetime import date
from pathlib import Path
from unittest.mock import patch

import polib
from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from ..report import ir_actions_report
from .common import TieringInvoiceCommon

REPORT = "customer_tiering.report_customer_review"
ZH_CN_PO = Path(__file__).parents[1] / "i18n" / "zh_CN.po"


@tagged("post_install", "-at_install")
class TestCustomerReview(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.points_start_date = fields.Date.today() - relativedelta(years=2)
        cls.customer = cls.env["res.partner"].create({"name": "Reviewed Customer", "is_company": True})
        cls.contact = cls.env["res.partner"].create({"name": "Buyer", "parent_id": cls.customer.id})
        this_month = fields.Date.today().replace(day=1)
        cls.post_invoice(cls.customer, 1234.0, this_month)
        cls.post_invoice(cls.customer, 34.0, this_month, move_type="out_refund")
        cls.post_invoice(cls.customer, 777.0, this_month - relativedelta(months=2))
        cls.post_invoice(cls.customer, 999.0, this_month - relativedelta(months=13))
        cls.cron.method_direct_trigger()
        cls.customer.activity_schedule("mail.mail_activity_data_call", summary="Discuss the spring order")

    def render(self, partners):
        html, _format = self.env["ir.actions.report"]._render_qweb_html(REPORT, partners.ids)
        return html.decode()

    def test_review_page(self):
        html = self.render(self.contact)
        self.assertIn("Customer Review", html)
        self.assertIn("Reviewed Customer", html, "a contact prints its commercial entity")
        self.assertIn(self.customer.tier_id.name, html)
        self.assertIn("1,200.00", html, "this month, net of the credit note")
        self.assertIn("777.00", html)
        self.assertNotIn("999.00", html, "older than 12 months")
        self.assertIn("Discuss the spring order", html)
        self.assertIn(f"{self.customer.loyalty_points:,.2f}", html)

    def test_one_page_per_customer(self):
        other = self.env["res.partner"].create({"name": "Second Customer", "is_company": True})
        html = self.render(self.customer | other)
        self.assertEqual(html.count("o_customer_review_break"), 1, "a page break between the two customers")
        # Odoo prints each layout article as its own document, so each customer starts a page.
        for partner in self.customer | other:
            self.assertIn(f'data-oe-model="res.partner" data-oe-id="{partner.id}"', html)
        self.assertLess(html.index("Reviewed Customer"), html.index("o_customer_review_break"))
        self.assertLess(html.index("o_customer_review_break"), html.index("Second Customer"))

    def test_month_labels_in_the_reader_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        review = self.env["report.customer_tiering.report_customer_review"]
        months = [date(2026, 1, 1), date(2026, 10, 1)]
        self.assertEqual(review.with_context(lang="en_US")._month_labels(months), ["Jan 2026", "Oct 2026"])
        self.assertEqual(review.with_context(lang="zh_CN")._month_labels(months), ["2026年1月", "2026年10月"])

    def test_cjk_reader_gets_a_cjk_font(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        review = self.env["report.customer_tiering.report_customer_review"]
        self.assertIsNone(review.with_context(lang="en_US")._page_style(), "others keep the company font")
        self.assertTrue(review.with_context(lang="zh_CN")._page_style().startswith('font-family: "Noto Sans CJK SC"'))

    def test_long_follow_up_list_is_cut(self):
        for number in range(6):
            self.customer.activity_schedule("mail.mail_activity_data_call", summary=f"Extra call {number}")
        html = self.render(self.customer)
        self.assertEqual(sum(f"Extra call {number}" in html for number in range(6)), 4, "five rows in all")
        self.assertIn("and 2 more open follow-ups", html)


@tagged("post_install", "-at_install")
class TestCustomerReviewSplit(TransactionCase):
    """Where wkhtmltopdf cannot take several documents, the review is printed customer by customer."""

    def test_version_of_the_patched_build(self):
        self.assertTrue(ir_actions_report.is_patched_qt_version("wkhtmltopdf 0.12.6.1 (with patched qt)\n"))
        self.assertFalse(ir_actions_report.is_patched_qt_version("wkhtmltopdf 0.12.6\n"))

    def test_split_only_this_report_and_only_without_patched_qt(self):
        reports = self.env["ir.actions.report"]
        company = self.env["res.partner"].create({"name": "Split Co", "is_company": True})
        contact = self.env["res.partner"].create({"name": "Split Buyer", "parent_id": company.id})
        other = self.env["res.partner"].create({"name": "Split Other", "is_company": True})
        ids = [contact.id, company.id, other.id]
        with (
            patch.object(ir_actions_report, "wkhtmltopdf_has_patched_qt", return_value=False),
            patch.object(type(reports), "get_wkhtmltopdf_state", return_value="ok"),
        ):
            self.assertEqual(reports._customer_review_split(REPORT, ids), [company.id, other.id])
            self.assertIsNone(reports._customer_review_split(REPORT, [company.id]), "one customer: one call")
            self.assertIsNone(reports._customer_review_split("base.report_irmodulereference", ids))
        with patch.object(ir_actions_report, "wkhtmltopdf_has_patched_qt", return_value=True):
            self.assertIsNone(reports._customer_review_split(REPORT, ids), "the patched build prints them at once")


def pdf_tool(name):
    path = shutil.which(name)
    if not path:
        raise AssertionError(f"{name} not found: install poppler-utils (make test does)")
    return path


def pdf_pages(pdf):
    """The PDF's text page by page, read by poppler's pdftotext.

    NFKC folds the CJK radicals pdftotext reads for some ideographs (⽉ for 月)."""
    text = subprocess.run(
        [pdf_tool("pdftotext"), "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    pages = unicodedata.normalize("NFKC", text).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_page_count(pdf):
    info = subprocess.run([pdf_tool("pdfinfo"), "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def zh_cn_translation(msgid):
    """The shipped Simplified Chinese of a report label."""
    entry = polib.pofile(str(ZH_CN_PO)).find(msgid)
    return entry.msgstr if entry else ""


@tagged("post_install", "-at_install")
class TestCustomerReviewPdf(HttpCase):
    """The real PDF, by wkhtmltopdf, read back as text: Chinese labels and dates, one page per customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        cls.seller = new_test_user(
            cls.env,
            login="review_zh_seller",
            groups="base.group_user,customer_tiering.group_customer_tiering_user",
            lang="zh_CN",
        )

    def customer(self, name, moves=0):
        """A customer of the Chinese salesperson, with ``moves`` tier and stage moves and open follow-ups."""
        partner = self.env["res.partner"].create({"name": name, "is_company": True, "user_id": self.seller.id})
        tiers = self.env["customer.tier"].search([("company_id", "=", self.env.company.id)], order="sequence")
        for number in range(moves):
            old, new = tiers[number % len(tiers)], tiers[(number + 1) % len(tiers)]
            self.env["customer.tier.history"].create(
                {
                    "partner_id": partner.id,
                    "company_id": self.env.company.id,
                    "old_tier_id": old.id,
                    "new_tier_id": new.id,
                    "reason": "computed",
                }
            )
            self.env["customer.lifecycle.history"].create(
                {"partner_id": partner.id, "company_id": self.env.company.id, "old_stage": "new", "new_stage": "active"}
            )
            partner.activity_schedule(
                "mail.mail_activity_data_call", summary=f"跟进电话 {number}", user_id=self.seller.id
            )
        return partner

    def render_pdf(self, partners):
        pdf, report_format = (
            self.env["ir.actions.report"]
            .with_user(self.seller)
            .with_context(lang="zh_CN", force_report_rendering=True)
            ._render_qweb_pdf(REPORT, partners.ids)
        )
        self.assertEqual(report_format, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        return pdf

    def test_chinese_pdf(self):
        pdf = self.render_pdf(self.customer("上海远东贸易有限公司"))
        (page,) = pdf_pages(pdf)
        self.assertIn("上海远东贸易有限公司", page)
        for label in ("Revenue, Last 12 Months", "Tier History", "Lifecycle History", "Open Follow-ups"):
            translation = zh_cn_translation(label)
            self.assertRegex(translation, "[\u4e00-\u9fff]", f"{label!r} has a Chinese translation")
            self.assertIn(unicodedata.normalize("NFKC", translation), page, f"{label!r} printed in Chinese")
        today = fields.Date.context_today(self.seller)
        self.assertIn(f"{today.year}年{today.month}月", page, "this month, the Chinese way")
        last_year = today.replace(day=1) - relativedelta(months=11)
        self.assertIn(f"{last_year.year}年{last_year.month}月", page, "and 11 months earlier")
        self.assertNotIn("一月", page, "no month name before the year")

    def test_several_customers_one_page_each(self):
        # Full histories and more follow-ups than shown: each review still fits one page.
        first, second = self.customer("上海远东贸易有限公司", moves=7), self.customer("广州南方电子有限公司", moves=7)
        pdf = self.render_pdf(first | second)
        self.assertEqual(pdf_page_count(pdf), 2)
        first_page, second_page = pdf_pages(pdf)
        self.assertIn("上海远东贸易有限公司", first_page)
        self.assertNotIn("广州南方电子有限公司", first_page)
        self.assertIn("广州南方电子有限公司", second_page)
        self.assertNotIn("上海远东贸易有限公司", second_page)
