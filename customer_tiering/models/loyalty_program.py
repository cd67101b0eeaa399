import json

from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_amount
from odoo.tools.sql import column_exists, table_exists
from odoo.tools.translate import LazyTranslate

from ..translations import installed_langs, translate_field, translate_untouched

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

PROGRAM_NAME = _lt("Customer Rewards")
POINT_NAME = _lt("Points")
#: The default reward: each point is worth a hundredth of the currency (100
#: points = 1 unit off), spent in steps of REWARD_STEP points. With 1 point
#: per currency unit earned, times the tier multiplier (C 1.0 to A 2.0), a
#: customer gets 1% to 2% of their purchases back. A fixed value per point,
#: Odoo's "per point" discount, never a percentage of the order: what a
#: point buys does not grow with the size of the order.
POINT_VALUE = 0.01
REWARD_STEP = 1000
REWARD_DESCRIPTION = _lt("100 points = %(amount)s off the order, in steps of %(points)s points")
#: {company id: program id} of the programs an uninstall left, for a reinstall to take back.
KEPT_PROGRAMS = "customer_tiering.kept_programs"
#: Tables no model owns, so an uninstall keeps them: the ledger columns of
#: loyalty_history (the uninstall drops them) and the ids of the tier cards.
KEPT_LEDGER = "customer_tiering_kept_ledger"
KEPT_TIER_CARDS = "customer_tiering_kept_tier_cards"
#: The ledger's columns on loyalty_history, and what stands for one the database lacks.
LEDGER_COLUMNS = {
    "points_kind": SQL("NULL::varchar"),
    "points_key": SQL("NULL::varchar"),
    "points_date": SQL("NULL::date"),
    "points_lot_id": SQL("NULL::integer"),
    "points_note": SQL("NULL::text"),
}


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

    # Like Odoo's pricelist restriction: sale_order's program and trigger
    # domains keep a program with tiers off the orders of other customers.
    tier_ids = fields.Many2many(
        "customer.tier",
        string="Customer Tiers",
        domain="[('company_id', '=?', company_id)]",
        help="Only customers of these tiers, in the order's company, get this program. "
        "Leave empty for every customer.",
    )

    @api.model
    def _keep_tier_programs(self, configs):
        programs = {str(config.company_id.id): config.loyalty_program_id.id for config in configs}
        self.env["ir.config_parameter"].sudo().set_param(KEPT_PROGRAMS, json.dumps(programs))

    @api.model
    def _keep_tier_points(self):
        """Copy what the uninstall drops and the points need: each ledger
        entry's kind, key, date and lot, and which cards are tier cards,
        into tables of their own. What is there from an earlier uninstall
        stays, unless the database now says otherwise."""
        self.env.flush_all()
        cr = self.env.cr
        columns = {
            column: SQL.identifier(column) if column_exists(cr, "loyalty_history", column) else missing
            for column, missing in LEDGER_COLUMNS.items()
        }
        cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %(kept)s (
                    id integer PRIMARY KEY, card_id integer,
                    points_kind varchar, points_key varchar, points_date date, points_lot_id integer);
                ALTER TABLE %(kept)s ADD COLUMN IF NOT EXISTS points_note text;
                INSERT INTO %(kept)s (id, card_id, points_kind, points_key, points_date, points_lot_id, points_note)
                SELECT * FROM (SELECT id, card_id, %(kind)s AS kind, %(key)s AS key, %(date)s AS date, %(lot)s AS lot,
                                      %(note)s AS note
                                 FROM loyalty_history) entry
                 WHERE kind IS NOT NULL OR key IS NOT NULL OR date IS NOT NULL OR lot IS NOT NULL
                    ON CONFLICT (id) DO UPDATE
                   SET card_id = EXCLUDED.card_id,
                       points_kind = COALESCE(EXCLUDED.points_kind, %(kept)s.points_kind),
                       points_key = COALESCE(EXCLUDED.points_key, %(kept)s.points_key),
                       points_date = COALESCE(EXCLUDED.points_date, %(kept)s.points_date),
                       points_lot_id = COALESCE(EXCLUDED.points_lot_id, %(kept)s.points_lot_id),
                       points_note = COALESCE(EXCLUDED.points_note, %(kept)s.points_note)
                """,
                kept=SQL.identifier(KEPT_LEDGER),
                kind=columns["points_kind"],
                key=columns["points_key"],
                date=columns["points_date"],
                lot=columns["points_lot_id"],
                note=columns["points_note"],
            )
        )
        if column_exists(cr, "loyalty_card", "is_tier_card"):
            # A customer's tier card now replaces the one an earlier uninstall kept.
            cr.execute(
                SQL(
                    """
                    CREATE TABLE IF NOT EXISTS %(kept)s (id integer PRIMARY KEY);
                    DELETE FROM %(kept)s kept
                     USING loyalty_card card, loyalty_card tier
                     WHERE card.id = kept.id AND tier.is_tier_card AND tier.id != card.id
                       AND tier.program_id = card.program_id AND tier.partner_id = card.partner_id;
                    INSERT INTO %(kept)s (id) SELECT id FROM loyalty_card WHERE is_tier_card ON CONFLICT DO NOTHING;
                    """,
                    kept=SQL.identifier(KEPT_TIER_CARDS),
                )
            )

    @api.model
    def _restore_tier_points(self):
        """After a reinstall, give the ledger entries and tier cards that
        still exist what the uninstall kept of them, and drop the copies."""
        cr = self.env.cr
        kept_ledger, kept_cards = table_exists(cr, KEPT_LEDGER), table_exists(cr, KEPT_TIER_CARDS)
        if not (kept_ledger or kept_cards):
            return
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model()
        if kept_ledger:
            # An entry moved to another card since keeps its key unique the
            # way a merge does: prefixed with the card it came from.
            cr.execute(
                SQL(
                    """
                    UPDATE loyalty_history entry
                       SET points_kind = kept.points_kind,
                           points_key = CASE WHEN kept.card_id IS DISTINCT FROM entry.card_id
                                             THEN 'card' || kept.card_id || ':' || kept.points_key
                                             ELSE kept.points_key END,
                           points_date = kept.points_date,
                           points_note = kept.points_note,
                           points_lot_id = (SELECT lot.id FROM loyalty_history lot WHERE lot.id = kept.points_lot_id)
                      FROM %(kept)s kept
                     WHERE entry.id = kept.id
                       AND entry.points_kind IS NULL AND entry.points_key IS NULL
                       AND entry.points_date IS NULL AND entry.points_lot_id IS NULL;
                    DROP TABLE %(kept)s;
                    """,
                    kept=SQL.identifier(KEPT_LEDGER),
                )
            )
        if kept_cards:
            cr.execute(
                SQL(
                    """
                    UPDATE loyalty_card SET is_tier_card = true
                     WHERE id IN (
                           SELECT DISTINCT ON (card.program_id, card.partner_id) card.id
                             FROM %(kept)s kept
                             JOIN loyalty_card card ON card.id = kept.id
                            WHERE card.partner_id IS NOT NULL
                              AND NOT EXISTS (SELECT 1 FROM loyalty_card tier
                                               WHERE tier.is_tier_card AND tier.program_id = card.program_id
                                                 AND tier.partner_id = card.partner_id)
                            ORDER BY card.program_id, card.partner_id, card.active DESC, card.points DESC, card.id);
                    DROP TABLE %(kept)s;
                    """,
                    kept=SQL.identifier(KEPT_TIER_CARDS),
                )
            )
        self.env["loyalty.history"].invalidate_model()
        self.env["loyalty.card"].invalidate_model(["is_tier_card"])

    @api.model
    def _tier_programs(self, companies):
        """A points program per company, in the order of ``companies``: the
        one an uninstall left, with its cards, balances and ledger, or a new one."""
        parameter = self.env["ir.config_parameter"].sudo()
        kept = json.loads(parameter.get_param(KEPT_PROGRAMS) or "{}")
        programs = {company: self.browse(kept.pop(str(company.id), None)).exists() for company in companies}
        parameter.set_param(KEPT_PROGRAMS, json.dumps(kept) if kept else False)
        self._restore_tier_points()
        for program in programs.values():
            program._mark_tier_cards()
        # A kept program changed while the add-on was away (given a rule, or
        # another type or company) can no longer hold tier points: a new one
        # takes its cards' balances over.
        unfit = {company: program for company, program in programs.items() if program and not program._fits(company)}
        missing = [company for company, program in programs.items() if not program or company in unfit]
        programs.update(zip(missing, self._create_tier_programs(missing), strict=True))
        for company, old_program in unfit.items():
            self.env["customer.loyalty.ledger"].with_company(company)._change_program(old_program, programs[company])
        return self.union(*(programs[company] for company in companies))

    def _fits(self, company):
        """Whether the program can hold ``company``'s tier points: a loyalty
        program of that company alone, without earning rules."""
        self.ensure_one()
        return self.program_type == "loyalty" and self.company_id == company and not self.rule_ids

    def _mark_tier_cards(self):
        """For a program that has no tier card after a reinstall (an earlier
        version's uninstall kept none): each customer's active card with the
        most entries, then the highest balance, is its tier card."""
        if self:
            self.env["loyalty.card"].flush_model()
            self.env["loyalty.history"].flush_model()
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE loyalty_card SET is_tier_card = true
                     WHERE id IN (
                           SELECT DISTINCT ON (card.partner_id) card.id
                             FROM loyalty_card card
                             LEFT JOIN (SELECT card_id, count(*) AS entries FROM loyalty_history
                                         WHERE card_id IN (SELECT id FROM loyalty_card WHERE program_id = %(program)s)
                                         GROUP BY card_id) ledger ON ledger.card_id = card.id
                            WHERE card.program_id = %(program)s AND card.partner_id IS NOT NULL AND card.active
                            ORDER BY card.partner_id, COALESCE(ledger.entries, 0) DESC, card.points DESC, card.id)
                       AND NOT EXISTS (SELECT 1 FROM loyalty_card WHERE program_id = %(program)s AND is_tier_card)
                    """,
                    program=self.id,
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
                                "discount": POINT_VALUE,
                                "discount_mode": "per_point",
                                "discount_applicability": "order",
                                "required_points": REWARD_STEP,
                                "description": self._reward_description(company.currency_id, "en_US"),
                            }
                        )
                    ],
                }
                for company in companies
            ]
        )
        for field, text in (("name", PROGRAM_NAME), ("portal_point_name", POINT_NAME)):
            translate_field(self.env, programs, field, [text] * len(programs))
        programs._translate_default_rewards(installed_langs(self.env))
        return programs

    @api.model
    def _reward_description(self, currency, lang):
        """The default reward's description in ``lang``: what 100 points buy."""
        env = self.with_context(lang=lang).env
        return REWARD_DESCRIPTION._translate(lang) % {
            "amount": format_amount(env, 100 * POINT_VALUE, currency, lang_code=lang),
            "points": f"{REWARD_STEP:,}",
        }

    def _translate_default_rewards(self, langs, overwrite=False):
        """Describe the default rewards of these programs in ``langs``,
        where they are still described as created (in English) and have no
        description of their own in that language."""
        for currency, programs in self.grouped("currency_id").items():
            description = (
                self._reward_description(currency, "en_US"),
                {lang: self._reward_description(currency, lang) for lang in langs},
            )
            translate_untouched(programs.sudo().reward_ids, "description", [description], langs, overwrite)

    @api.model
    def _translate_tier_programs(self, langs, overwrite=False):
        """The tiering points programs and their rewards in ``langs``, where
        the user has changed neither their English names nor given them a
        translation: a language installed after the add-on gets them too."""
        configs = self.env["customer.tiering.config"].sudo().with_context(active_test=False).search([])  # pylint: disable=no-search-all
        programs = configs.loyalty_program_id.sudo()
        translate_untouched(programs, "name", [PROGRAM_NAME], langs, overwrite)
        translate_untouched(programs, "portal_point_name", [POINT_NAME], langs, overwrite)
        programs._translate_default_rewards(langs, overwrite)

    @api.constrains("program_type", "company_id")
    def _check_tier_program_type_and_company(self):
        """A company's tiering points program stays a loyalty program of that company."""
        configs = self.env["customer.tiering.config"].sudo().search([("loyalty_program_id", "in", self.ids)])
        for config in configs:
            program = config.loyalty_program_id
            if program.program_type != "loyalty" or program.company_id != config.company_id:
                raise ValidationError(
                    self.env._(
                        "%(program)s is the points program of %(company)s: its type and company cannot change. "
                        "Choose another points program in the tiering settings first.",
                        program=program.name,
                        company=config.company_id.name,
                    )
                )
