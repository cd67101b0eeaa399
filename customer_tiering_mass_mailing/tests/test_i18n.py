import io
from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import trans_export

I18N = Path(__file__).parents[1] / "i18n"
MODULE = "customer_tiering_mass_mailing"


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    """Every user-visible string is exported and translated into Simplified
    Chinese, and a Chinese company's filters are named in Chinese."""

    def exported_msgids(self):
        buffer = io.BytesIO()
        trans_export(False, [MODULE], buffer, "po", self.env.cr)
        return {entry.msgid for entry in polib.pofile(buffer.getvalue().decode()) if entry.msgid}

    def test_pot_is_up_to_date(self):
        shipped = {entry.msgid for entry in polib.pofile(str(I18N / f"{MODULE}.pot")) if entry.msgid}
        self.assertEqual(self.exported_msgids() - shipped, set(), f"regenerate i18n/{MODULE}.pot")

    def test_zh_cn_is_complete(self):
        translated = {entry.msgid for entry in polib.pofile(str(I18N / "zh_CN.po")) if entry.msgstr}
        self.assertEqual(self.exported_msgids() - translated, set(), "untranslated strings in i18n/zh_CN.po")

    def test_chinese_company_gets_chinese_filters(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        modules = self.env["ir.module.module"].search([("name", "in", ["customer_tiering", MODULE])])
        modules._update_translations(["zh_CN"])
        company = self.env["res.company"].create({"name": "上海公司"})
        company.partner_id.lang = "zh_CN"
        Filter = self.env["mailing.filter"]
        tier_a = self.env["customer.tier"].search([("company_id", "=", company.id), ("code", "=", "A")])
        self.assertEqual(Filter.search([("customer_tier_id", "=", tier_a.id)]).name, "层级：A 类·重点客户（上海公司）")
        # The stage and risk filters serve every company: named in the first one's language.
        first = self.env["res.company"].search([], limit=1)
        first.partner_id.lang = "zh_CN"
        Filter._tiering_sync_all()
        sleeping = Filter.search([("customer_tiering_key", "=", "lifecycle_stage:sleeping")])
        self.assertEqual(sleeping.name, "生命周期阶段：沉睡")
        high = Filter.search([("customer_tiering_key", "=", "churn_risk_level:high")])
        self.assertEqual(high.name, "流失风险：高")
        first_tier = self.env["customer.tier"].search([("company_id", "=", first.id)], limit=1)
        self.assertTrue(Filter.search([("customer_tier_id", "=", first_tier.id)]).name.startswith("层级："))
        partner = self.env["res.partner"].create({"name": "上海客户"})
        self.assertEqual(partner.with_context(lang="zh_CN").action_new_mailing()["name"], "新建群发邮件")
