from odoo import Command, api, models
from odoo.tools.translate import LazyTranslate

from ..translations import translate_field

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

PROGRAM_NAME = _lt("Customer Rewards")
POINT_NAME = _lt("Points")


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

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
