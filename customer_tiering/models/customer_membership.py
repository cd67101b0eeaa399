from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools.misc import format_date, formatLang

from ..engine.frames import window_exit

#: History lines the membership page lists, newest first.
HISTORY_LINES = 20


@dataclass
class Goal:
    """What a customer must still buy for a tier (``amount``, in company
    currency), and the last day of purchases that count (``deadline``;
    None: whenever)."""

    tier: models.Model
    amount: float
    deadline: date | None = None
    text: str = ""


@dataclass
class Membership:
    """What the portal's My Membership page shows a customer."""

    entity: models.Model
    company: models.Model
    currency: models.Model
    window_months: int = 0
    tier: models.Model = None
    tier_since: date | None = None
    tier_since_text: str = ""
    counted_text: str = ""
    next_goal: Goal | None = None
    keep_goal: Goal | None = None
    card: models.Model = None
    expiry_schedule: list = field(default_factory=list)
    history: models.Model = None


class CustomerMembership(models.AbstractModel):
    """The membership a portal user may see: their commercial entity's tier,
    progress and points in a company, read with superuser rights but only
    ever for the entity of the user who asks (``_membership_of``)."""

    _name = "customer.membership"
    _description = "Customer Membership"

    @api.model
    def _membership_of(self, user, company):
        """The ``Membership`` ``user`` sees in ``company``, or None: the
        customer's own, or for a contact of a company customer the
        company's when the settings let contacts see it."""
        config = self.env["customer.tiering.config"].sudo().search([("company_id", "=", company.id)])
        entity = self._entity_of(user, config)
        if not entity:
            return None
        today = fields.Date.context_today(self)
        membership = Membership(
            entity=entity, company=company, currency=company.currency_id, window_months=config.window_months
        )
        if config.show_tier_to_customers:
            self._add_tier(membership, config, today)
            self._describe_goals(membership)
        self._add_points(membership, config, today)
        return membership if membership.tier or membership.card else None

    def _entity_of(self, user, config):
        partner = user.sudo().partner_id
        entity = partner.commercial_partner_id
        if not config or not entity.active:
            return None
        if partner != entity and not config.contacts_see_company_points:
            return None
        return entity

    # ------------------------------------------------------------ tier
    def _add_tier(self, membership, config, today):
        entity = membership.entity.with_company(config.company_id).sudo()
        membership.tier = entity.tier_id
        membership.tier_since = entity.tier_since
        if membership.tier and config.method == "threshold":
            self._add_goals(membership, config, today)

    def _add_goals(self, membership, config, today):
        """For the revenue thresholds method, what reaches the tier above and
        what keeps the current one: the other methods rank customers
        against each other, so they cannot promise an amount."""
        tiers = config.sudo()._active_tiers()
        tier = membership.tier
        window_start = today - relativedelta(months=config.window_months)
        sales = (
            self.env["customer.tiering.job"]
            .sudo()
            ._window_sales(config.company_id, membership.entity, window_start, today)
        )
        better = tiers.filtered(lambda t: (t.sequence, t.id) < (tier.sequence, tier.id))
        if better:
            membership.next_goal = self._goal(better[-1], sales, config.window_months, today)
        if tier.min_revenue > 0:
            membership.keep_goal = self._goal(tier, sales, config.window_months, today, keep=True)

    def _goal(self, tier, sales, months, today, keep=False):
        """What to buy for ``tier``, and by when. To reach it: before the
        first sale leaves the window, enough to reach its threshold without
        that sale. To keep it: before the first review whose window would
        no longer reach the threshold, what is missing then."""
        window = relativedelta(months=months)

        def counted(review):
            return sum(amount for day, amount in sales if day > review - window)

        reviews = sorted({window_exit(day, window) for day, _amount in sales})
        if keep:
            review = next((day for day in reviews if counted(day) < tier.min_revenue), None)
        else:
            review = reviews[0] if reviews else None
        amount = tier.min_revenue - (counted(review) if review else sum(amount for _day, amount in sales))
        return Goal(tier=tier, amount=max(amount, 0.0), deadline=review and review - timedelta(days=1))

    def _describe_goals(self, membership):
        """The goals as the customer reads them, in their language: one
        sentence each, so that translators can order its parts."""
        env = self.env
        if membership.tier_since:
            membership.tier_since_text = env._(
                "Member of this tier since %(date)s", date=format_date(env, membership.tier_since)
            )
        membership.counted_text = env._(
            "Counted: what you bought in the last %(months)s months, before taxes.", months=membership.window_months
        )

        def bold(value):
            return Markup("<strong>%s</strong>") % value

        def money(amount):
            return bold(formatLang(env, amount, currency_obj=membership.currency))

        if goal := membership.next_goal:
            values = {"amount": money(goal.amount), "tier": bold(goal.tier.name)}
            if not goal.amount:
                text = env._("You qualify for %(tier)s: it applies at the next review.")
            elif goal.deadline:
                values["date"] = bold(format_date(env, goal.deadline))
                text = env._("Spend %(amount)s more by %(date)s to reach %(tier)s.")
            else:
                text = env._("Spend %(amount)s more to reach %(tier)s.")
            goal.text = Markup(escape(text)) % values
        if (goal := membership.keep_goal) and goal.amount and goal.deadline:
            goal.text = Markup(escape(env._("%(amount)s by %(date)s keeps %(tier)s."))) % {
                "amount": money(goal.amount),
                "date": bold(format_date(env, goal.deadline)),
                "tier": bold(goal.tier.name),
            }

    # ------------------------------------------------------------ points
    def _add_points(self, membership, config, today):
        program = config.loyalty_program_id
        if not program:
            return
        card = (
            self.env["loyalty.card"]
            .sudo()
            .search(
                [
                    ("program_id", "=", program.id),
                    ("is_tier_card", "=", True),
                    ("partner_id", "=", membership.entity.id),
                ],
                limit=1,
            )
        )
        if not card:
            return
        membership.card = card
        ledger = self.env["customer.loyalty.ledger"].sudo()
        membership.expiry_schedule = ledger._expiry_schedule(card, config, today)
        membership.history = (
            self.env["loyalty.history"]
            .sudo()
            .search([("card_id", "=", card.id)], order="points_date desc, id desc", limit=HISTORY_LINES)
        )
