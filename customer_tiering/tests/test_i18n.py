import io
from pathlib import Path

import polib

from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools.translate import code_translations, trans_export

I18N = Path(__file__).parents[1] / "i18n"


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    """Every user-visible string is exported and has a Simplified Chinese translation."""

    def exported_msgids(self):
        buffer = io.BytesIO()
        trans_export(False, ["customer_tiering"], buffer, "po", self.env.cr)
        return {entry.msgid for entry in polib.pofile(buffer.getvalue().decode()) if entry.msgid}

    def test_pot_is_up_to_date(self):
        shipped = {entry.msgid for entry in polib.pofile(str(I18N / "customer_tiering.pot")) if entry.msgid}
        self.assertEqual(self.exported_msgids() - shipped, set(), "regenerate i18n/customer_tiering.pot")

    def test_zh_cn_is_complete(self):
        translated = {entry.msgid for entry in polib.pofile(str(I18N / "zh_CN.po")) if entry.msgstr}
        self.assertEqual(self.exported_msgids() - translated, set(), "untranslated strings in i18n/zh_CN.po")

    def test_chinese_user_sees_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        env = self.env(context={"lang": "zh_CN"})
        partner_fields = env["res.partner"].fields_get(
            ["tier_id", "revenue_window", "p_alive", "value_at_risk"], ["string"]
        )
        self.assertEqual(partner_fields["tier_id"]["string"], "层级")
        self.assertEqual(partner_fields["revenue_window"]["string"], "近期收入")
        self.assertEqual(partner_fields["p_alive"]["string"], "仍在购买概率")
        self.assertEqual(partner_fields["value_at_risk"]["string"], "风险收入")
        reasons = dict(env["customer.tier.history"].fields_get(["reason"], ["selection"])["reason"]["selection"])
        self.assertEqual(reasons["lock_expired"], "锁定到期")
        menu = env.ref("customer_tiering.customer_tiering_menu_root")
        self.assertEqual(menu.name, "客户分层")
        company = self.env["res.company"].create({"name": "Shanghai Co"})
        tier_a = env["customer.tier"].search([("company_id", "=", company.id), ("code", "=", "A")])
        self.assertEqual(tier_a.name, "A 类·重点客户", "tiers of new companies are named in every installed language")

    def test_chinese_user_gets_chinese_menus_selections_and_report(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        user = new_test_user(
            self.env,
            login="zh_cn_user",
            groups="base.group_user,customer_tiering.group_customer_tiering_user",
            lang="zh_CN",
        )
        env = self.env(user=user, context={"lang": user.lang})
        menus = env["ir.ui.menu"].search(
            [("id", "child_of", env.ref("customer_tiering.customer_tiering_menu_root").id)]
        )
        self.assertIn("我的跟进", menus.mapped("name"))
        self.assertIn("仪表板", menus.mapped("name"))
        stages = dict(env["res.partner"].fields_get(["lifecycle_stage"], ["selection"])["lifecycle_stage"]["selection"])
        self.assertEqual(stages["sleeping"], "沉睡")
        self.assertEqual(stages["active"], "活跃")
        partner = self.env["res.partner"].create({"name": "上海客户", "is_company": True})
        html, _format = env["ir.actions.report"]._render_qweb_html(
            "customer_tiering.report_customer_review", partner.ids
        )
        self.assertIn("客户评估", html.decode())
        self.assertIn("最近 12 个月收入", html.decode())


@tagged("post_install", "-at_install")
class TestWebClientTerms(TransactionCase):
    """The web client's catalogue is one flat table of every installed
    module's JavaScript terms (web/core/l10n/localization_service.js): a term
    of ours translated otherwise than by another module relabels that
    module's screens too (our "Share" once turned the dashboards' *Share*
    button into 占比)."""

    def test_no_term_contradicts_another_module(self):
        ours = {
            message["id"]: message["string"]
            for message in code_translations.get_web_translations("customer_tiering", "zh_CN")["messages"]
        }
        others = self.env["ir.module.module"].search([("state", "=", "installed"), ("name", "!=", "customer_tiering")])
        clashes = {}
        for module in others.mapped("name"):
            for message in code_translations.get_web_translations(module, "zh_CN")["messages"]:
                term = message["id"]
                if term in ours and message["string"] and message["string"] != ours[term]:
                    clashes[term] = (ours[term], module, message["string"])
        self.assertEqual(clashes, {}, "our JavaScript terms translated otherwise than another module's")
