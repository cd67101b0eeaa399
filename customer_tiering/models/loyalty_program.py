import json

from odoo import Command, api, models
from odoo.tools import SQL
from odoo.tools.translate import LazyTranslate

from ..translations import translate_field

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

PROGRAM_NAME = _lt("Customer Rewards")
POINT_NAME = _lt("Points")
#: {company id: program id} of the programs an uninstall left, for a reinstall to take back.
KEPT_PROGRAMS = "customer_tiering.kept_programs"


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

    @api.model
    def _keep_tier_programs(self, configs):
        programs = {str(config.company_id.id): config.loyalty_program_id.id for config in configs}
        self.env["ir.config_parameter"].sudo().set_param(KEPT_PROGRAMS, json.dumps(programs))

    @api.model
    def _tier_programs(self, companies):
        """A points program per company, in the order of ``companies``: the
        one an uninstall left, with its cards and balances, or a new one."""
        parameter = self.env["ir.config_parameter"].sudo()
        kept = json.loads(parameter.get_param(KEPT_PROGRAMS) or "{}")
        programs = {company: self.browse(kept.pop(str(company.id), None)).exists() for company in companies}
        parameter.set_param(KEPT_PROGRAMS, json.dumps(kept) if kept else False)
        for program in programs.values():
            program._mark_tier_cards()
        missing = [company for company, program in programs.items() if not program]
        programs.update(zip(missing, self._create_tier_programs(missing), strict=True))
        return self.union(*(programs[company] for company in companies))

    def _mark_tier_cards(self):
        """After a reinstall, each customer's oldest card of the program is its tier card again."""
        if self:
            self.env["loyalty.card"].flush_model()
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE loyalty_card SET is_tier_card = true
                     WHERE id IN (SELECT min(id) FROM loyalty_card
                                   WHERE program_id = %s AND partner_id IS NOT NULL GROUP BY partner_id)
                    """,
                    self.id,
                )
            )
            self.env["loyalty.card"].invalidate_model(["is_tier_card"])

    @api.model
    def _create_tier_programs(self, companies):
        """One *Customer Rewards* program per company, in the order of ``companies``.

        Points come from posted invoices, never from sale orders, so the
        program has no earning rule: an order only spends them.
        """
        programs = self.with_context(lang="en_US").create(
            [
                {
                    "name": PROGRAM_NAME._translate("en_US"),
                    "program_type": "loyalty",
                    "company_id": company.id,
                    "applies_on": "both",
                    "trigger": "auto",
                    "portal_visible": True,
                    "portal_point_name": POINT_NAME._translate("en_US"),
                    "rule_ids": [],
                    "communication_plan_ids": [],
                    "reward_ids": [
                        Command.create(
                            {
                                "reward_type": "discount",
                                "discount": 10,
                                "discount_mode": "percent",
                                "discount_applicability": "order",
                                "required_points": 100,
                            }
                        )
                    ],
                }
                for company in companies
            ]
        )
        for field, text in (("name", PROGRAM_NAME), ("portal_point_name", POINT_NAME)):
            translate_field(self.env, programs, field, [text] * len(programs))
        return programs
