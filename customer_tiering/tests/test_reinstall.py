import json

from odoo.tests import TransactionCase, tagged

from odoo.addons.customer_tiering import _uninstall_hook
from odoo.addons.customer_tiering.models.loyalty_program import KEPT_PROGRAMS
from odoo.addons.customer_tiering.models.res_partner import SALESPERSON_INDEX

from .common import partner_reloptions


@tagged("post_install", "-at_install")
class TestReinstall(TransactionCase):
    """Uninstalling keeps the customers' points; reinstalling takes the same
    program back instead of making a second one."""

    def test_reinstall_takes_back_the_program_and_its_cards(self):
        company = self.env["res.company"].create({"name": "Reinstalled Co"})
        Config = self.env["customer.tiering.config"]
        config = Config._for_companies(company)
        program = config.loyalty_program_id
        partner = self.env["res.partner"].create({"name": "Faithful Buyer", "is_company": True})
        self.env["customer.loyalty.ledger"].with_company(company)._adjust(partner, 40.0, "Welcome", key="adjust:re")
        card = partner.with_company(company).tier_card_id

        _uninstall_hook(self.env)
        kept = json.loads(self.env["ir.config_parameter"].get_param(KEPT_PROGRAMS))
        self.assertEqual(kept[str(company.id)], program.id)
        self.assertEqual(partner_reloptions(self.env), {}, "res_partner's storage settings are PostgreSQL's again")
        self.env.cr.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [SALESPERSON_INDEX])
        self.assertFalse(self.env.cr.fetchall(), "nor does it keep the add-on's salesperson index")
        # What the uninstall removes: the settings, and the columns of the add-on.
        config.sudo().unlink()
        card.is_tier_card = False

        config = Config._for_companies(company)
        self.assertEqual(config.loyalty_program_id, program)
        self.assertEqual(self.env["loyalty.program"].search_count([("company_id", "=", company.id)]), 1)
        self.assertTrue(card.is_tier_card)
        self.assertEqual(partner.with_company(company).loyalty_points, 40.0)
        kept = json.loads(self.env["ir.config_parameter"].get_param(KEPT_PROGRAMS) or "{}")
        self.assertNotIn(str(company.id), kept, "a program is taken back once")

    def test_a_deleted_kept_program_is_replaced(self):
        company = self.env["res.company"].create({"name": "Cleaned Up Co"})
        config = self.env["customer.tiering.config"]._for_companies(company)
        _uninstall_hook(self.env)
        program = config.loyalty_program_id
        config.sudo().unlink()
        program.action_archive()
        program.unlink()
        config = self.env["customer.tiering.config"]._for_companies(company)
        self.assertTrue(config.loyalty_program_id)
        self.assertNotEqual(config.loyalty_program_id, program)
