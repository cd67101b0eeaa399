from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL


@tagged("post_install", "-at_install")
class TestSeededTranslations(TransactionCase):
    """The records the add-on creates in code read in Chinese for a Chinese
    user, whether Chinese was installed before them or after."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        cls.zh = cls.env(context={"lang": "zh_CN"})

    def seeded(self, company):
        """{(model, field): records} of ``company``'s seeded records."""
        program = self.env["customer.tiering.config"]._for_companies(company).loyalty_program_id
        every = self.env(context={"active_test": False})
        return {
            ("customer.tier", "name"): every["customer.tier"].search([("company_id", "=", company.id)]),
            ("customer.service.policy", "name"): every["customer.service.policy"].search(
                [("company_id", "=", company.id)]
            ),
            ("customer.care.date", "name"): every["customer.care.date"].search([("company_id", "=", company.id)]),
            ("loyalty.program", "name"): program,
            ("loyalty.program", "portal_point_name"): program,
            ("loyalty.reward", "description"): program.reward_ids,
        }

    def forget_translations(self, records, field):
        """The records as created before Chinese was installed: English only."""
        records.flush_recordset([field])
        self.env.execute_query(
            SQL(
                "UPDATE %(table)s SET %(field)s = jsonb_build_object('en_US', %(field)s->>'en_US') "
                "WHERE id = ANY(%(ids)s)",
                table=SQL.identifier(records._table),
                field=SQL.identifier(field),
                ids=records.ids,
            )
        )
        records.invalidate_recordset([field])

    def assert_chinese(self, company):
        seeded = self.seeded(company)
        tiers = seeded["customer.tier", "name"].with_env(self.zh)
        self.assertEqual(tiers.sorted("sequence").mapped("name"), ["A 类·重点客户", "B 类·成长客户", "C 类·普通客户"])
        policies = seeded["customer.service.policy", "name"].with_env(self.zh)
        self.assertIn("A 类客户：每月电话", policies.mapped("name"))
        care_dates = seeded["customer.care.date", "name"].with_env(self.zh)
        self.assertTrue(set(care_dates.mapped("name")) <= {"春节", "中秋节"})
        self.assertTrue(care_dates, "the next festivals are seeded from the festival table")
        program = seeded["loyalty.program", "name"].with_env(self.zh)
        self.assertEqual((program.name, program.portal_point_name), ("客户回馈", "积分"))
        reward = program.reward_ids
        english = reward.with_context(lang="en_US").description
        self.assertTrue(english.startswith("100 points = "), english)
        self.assertEqual(reward.description, program._reward_description(company.currency_id, "zh_CN"))
        self.assertNotEqual(reward.description, english, "the reward's description is translated")

    def test_language_installed_before_the_company(self):
        company = self.env["res.company"].create({"name": "Chengdu Trading"})
        self.assert_chinese(company)

    def test_language_installed_after_the_company(self):
        company = self.env["res.company"].create({"name": "Wuhan Trading"})
        seeded = self.seeded(company)
        for (_model, field), records in seeded.items():
            self.forget_translations(records, field)
        self.assertEqual(seeded["customer.tier", "name"].with_env(self.zh).mapped("name")[0], "A - Key customers")
        self.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        self.assert_chinese(company)

    def test_what_the_user_renamed_is_kept(self):
        company = self.env["res.company"].create({"name": "Xiamen Trading"})
        seeded = self.seeded(company)
        tier_a, tier_b = seeded["customer.tier", "name"].sorted("sequence")[:2]
        self.forget_translations(tier_a | tier_b, "name")
        tier_a.with_context(lang="en_US").name = "A - Strategic accounts"
        tier_b.update_field_translations("name", {"zh_CN": "B 类·潜力客户"})
        self.env["ir.module.module"].search([("name", "=", "customer_tiering")])._update_translations(["zh_CN"])
        self.assertEqual(tier_a.with_env(self.zh).name, "A - Strategic accounts", "renamed in English: left alone")
        self.assertEqual(tier_b.with_env(self.zh).name, "B 类·潜力客户", "the user's own Chinese name stays")
        # Loading the language with "overwrite existing terms": the catalogue wins, except over a renamed record.
        module = self.env["ir.module.module"].search([("name", "=", "customer_tiering")])
        module._update_translations(["zh_CN"], overwrite=True)
        tier_a.invalidate_recordset()
        tier_b.invalidate_recordset()
        self.assertEqual(tier_b.with_env(self.zh).name, "B 类·成长客户")
        self.assertEqual(tier_a.with_env(self.zh).name, "A - Strategic accounts")
