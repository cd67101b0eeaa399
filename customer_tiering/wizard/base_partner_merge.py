import json

from odoo import fields, models
from odoo.tools import SQL

from ..models.res_partner import PROTECTED_FIELDS


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _merge_loyalty_cards(self, src_partners, dst_partner):
        """Tier cards first: one card keeps every ledger entry of the merged customers."""
        self.env["customer.loyalty.ledger"].sudo()._merge_tier_cards(src_partners, dst_partner)
        return super()._merge_loyalty_cards(src_partners, dst_partner)

    def _update_reference_fields(self, src_partners, dst_partner):
        """Odoo's merge copies the merged partners' company-dependent values
        onto the survivor, in SQL, where it has none (with the reference
        fields); then every stored field, through a write that only tiering
        managers may make for the tiering values (``_update_values``): a
        salesperson's merge failed.
        The tiering values are not copied: the next run recomputes the
        survivor from all their sales. A lock, which no run recomputes, is
        kept: the strongest of the merged customers' locks, in each company,
        with a history row."""
        locks = _strongest_locks(src_partners | dst_partner)
        kept = _company_values(dst_partner)
        result = super()._update_reference_fields(src_partners, dst_partner)
        _restore_company_values(dst_partner, kept)
        for company, lock in locks.items():
            dst_partner.sudo().with_company(company).with_context(tier_history_reason="merge")._keep_lock(lock)
        # The merge moves documents in SQL, unseen by the incremental runs: the survivor is reviewed next night.
        Schedule = self.env["customer.tiering.schedule"].sudo()
        today = fields.Date.context_today(self)
        # The merged partners' purchase months leave Retention by Cohort with
        # them: their rows there are recomputed now, with the survivor's,
        # for the merged partners are gone by the next run.
        Cohort = self.env["customer.cohort.month"].sudo()
        entities = [*src_partners.ids, dst_partner.id, *dst_partner.commercial_partner_id.ids]
        for config in self.env["customer.tiering.config"].sudo().search([]):  # pylint: disable=no-search-all  # one per company
            Schedule._review_on(dst_partner.commercial_partner_id.ids, config.company_id, today)
            if config.cohort_months_built:
                Cohort._refresh(config.company_id, entities)
        return result

    def _update_values(self, src_partners, dst_partner):
        return super()._update_values(src_partners, dst_partner.with_context(customer_tiering_merge=True))


def _tiering_columns(partner):
    return sorted(name for name in PROTECTED_FIELDS if partner._fields[name].company_dependent)


def _company_values(partner):
    """The partner's stored tiering values of every company, as they are in its row."""
    columns = _tiering_columns(partner)
    partner.flush_recordset(columns)
    row = partner.env.execute_query(
        SQL("SELECT %s FROM res_partner WHERE id = %s", SQL(", ").join(map(SQL.identifier, columns)), partner.id)
    )[0]
    return dict(zip(columns, row, strict=True))


def _restore_company_values(partner, values):
    partner.env.execute_query(
        SQL(
            "UPDATE res_partner SET %s WHERE id = %s",
            SQL(", ").join(
                SQL("%s = %s::jsonb", SQL.identifier(column), value if value is None else json.dumps(value))
                for column, value in values.items()
            ),
            partner.id,
        )
    )
    partner.invalidate_recordset(list(values))


def _strongest_locks(partners):
    """{company: the strongest lock among ``partners`` there}: a lock without
    an end before one with an end, a later end before an earlier one; the
    locks that ended already are none."""
    env = partners.env
    today = fields.Date.context_today(partners)
    locks = {}
    for company in env["res.company"].sudo().search([]):  # pylint: disable=no-search-all
        held = [
            partner
            for partner in partners.sudo().with_company(company)
            if partner.tier_locked and (not partner.tier_lock_until or partner.tier_lock_until >= today)
        ]
        if held:
            strongest = max(held, key=lambda p: (not p.tier_lock_until, p.tier_lock_until or today))
            locks[company] = {
                "tier_locked": True,
                "tier_lock_until": strongest.tier_lock_until,
                "tier_lock_reason": strongest.tier_lock_reason,
                "tier_id": strongest.tier_id.id,
            }
    return locks
