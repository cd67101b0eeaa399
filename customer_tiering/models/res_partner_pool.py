from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_date

from ..sql import company_value, set_company_value
from .res_partner import INTERNAL, MANAGER_GROUP

SALESPERSON_GROUP = "sales_team.group_sale_salesman"
#: Written by the pool job and the claim and assign actions only.
POOL_FIELDS = {"in_pool", "pool_since", "pool_recall_date"}


# The public pool's side of the partner, apart from the tiering values of res_partner.py.
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # Company-dependent: a customer shared by two companies is in each one's pool on its own.
    in_pool = fields.Boolean(
        string="In Customer Pool",
        company_dependent=True,
        readonly=True,
        copy=False,
        index=False,
        help="In the public customer pool (公海): no salesperson, any salesperson may claim it.",
        groups=INTERNAL,
    )
    pool_since = fields.Date(
        string="In Pool Since", company_dependent=True, readonly=True, copy=False, index=False, groups=INTERNAL
    )
    pool_recall_date = fields.Date(
        string="Pool Recall On",
        company_dependent=True,
        readonly=True,
        copy=False,
        index=False,
        help="The day its salesperson was warned the customer goes back to the pool, unless followed up.",
        groups=INTERNAL,
    )
    pool_previous_user_id = fields.Many2one(
        "res.users",
        string="Previous Salesperson",
        compute="_compute_pool_previous_user_id",
        help="The salesperson the customer was last recalled from.",
        groups=INTERNAL,
    )

    @api.depends_context("company")
    def _compute_pool_previous_user_id(self):
        History = self.env["customer.pool.history"].sudo()
        rows = History.search(
            [("partner_id", "in", self.ids), ("company_id", "=", self.env.company.id), ("action", "=", "released")],
            order="date desc, id desc",
        )
        previous = {}
        for row in rows:
            previous.setdefault(row.partner_id.id, row.previous_user_id)
        for partner in self:
            partner.pool_previous_user_id = previous.get(partner.id, self.env["res.users"])

    @api.model
    def _create_tiering_indexes(self, companies):
        """And per company, an index of its pooled customers: the Customer
        Pool list reads a few hundred of a million partners, by the
        condition Odoo's domain ``in_pool = True`` makes, which PostgreSQL
        matches to the index's predicate. It covers what the list filters
        on, for its count from the index alone."""
        result = super()._create_tiering_indexes(companies)
        for company in companies:
            pooled = self._company_value_sql("in_pool", company)
            self._create_company_index(pool_index(company), "in_pool", company, SQL("WHERE %s", pooled))
        return result

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_pool_write(vals)
        return super().create(vals_list)

    def _check_pool_write(self, vals):
        if POOL_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(self.env._("Customers enter and leave the pool by the pool's own actions only."))

    def write(self, vals):
        if self.env.context.get("customer_tiering_merge"):
            # A merge copies the merged partners' values: the survivor keeps its own place in the pool.
            vals = {field: value for field, value in vals.items() if field not in POOL_FIELDS}
        self._check_pool_write(vals)
        return super().write(vals)

    # ---------------------------------------------------------------- claim

    def action_pool_claim(self):
        """Claim pooled customers as the current user's (salespeople): each
        within the cooldown after its recall from this user, the daily claim
        limit and the cap on claimed customers held, of its pool rule."""
        self.check_access("read")
        if not self.env.user.has_group(SALESPERSON_GROUP):
            raise AccessError(self.env._("Only salespeople can claim customers from the pool."))
        user, company = self.env.user, self.env.company
        self._serialize_claims(user, company)
        for partner in self:
            rule = self.env["customer.pool.rule"]._for_partner(partner, company)
            partner._check_pool_claim(user, company, rule)
            partner._pool_take(user, "claimed", self.env._("Claimed from the pool by %s", user.name))
        return True

    def _check_pool_claim(self, user, company, rule):
        """Refuse the claim of this customer by ``user`` with a UserError saying why."""
        self.ensure_one()
        partner = self.sudo().with_company(company)
        if not partner.in_pool:
            raise UserError(self.env._("%s is not in the customer pool: someone may have claimed it.", partner.name))
        History = self.env["customer.pool.history"].sudo()
        released = History.search(
            [("partner_id", "=", self.id), ("company_id", "=", company.id), ("action", "=", "released")],
            order="date desc, id desc",
            limit=1,
        )
        if rule.cooldown_days and released.previous_user_id == user:
            until = released.date + timedelta(days=rule.cooldown_days)
            if fields.Datetime.now() < until:
                raise UserError(
                    self.env._(
                        "%(customer)s was recalled from you: you can claim it again from %(date)s.",
                        customer=partner.name,
                        date=format_date(self.env, fields.Datetime.context_timestamp(self, until)),
                    )
                )
        if rule.daily_claim_limit:
            claimed = History.search_count(
                [
                    ("user_id", "=", user.id),
                    ("company_id", "=", company.id),
                    ("action", "=", "claimed"),
                    ("date", ">=", self._start_of_today(user)),
                ]
            )
            if claimed >= rule.daily_claim_limit:
                raise UserError(
                    self.env._(
                        "You have claimed %(count)s customers today, the most a salesperson may claim in a day: "
                        "claim more tomorrow.",
                        count=claimed,
                    )
                )
        if rule.max_claimed:
            held = self._claimed_held(user, company)
            if held >= rule.max_claimed:
                raise UserError(
                    self.env._(
                        "You hold %(count)s customers claimed from the pool, the most a salesperson may hold: "
                        "follow them up, or ask your manager to reassign some, before claiming more.",
                        count=held,
                    )
                )

    @api.model
    def _serialize_claims(self, user, company):
        """Make the claims of ``user`` in ``company`` one at a time, before
        they count the user's claims: two at once would each count the
        claims committed before it, and both pass the last place under a
        limit. A lock alone would not do: the second claim, which waits for
        it, counts from its transaction's snapshot (REPEATABLE READ), taken
        before the first committed. So each claim rewrites, unchanged, the
        row of the user's membership of the company: the second waits for
        the first's row lock, then PostgreSQL refuses it as a concurrent
        update, and Odoo retries the request in a fresh transaction, which
        counts the first claim. The row exists: ``company`` is one of the
        user's (``env.company``)."""
        self.env.cr.execute(
            SQL(
                "UPDATE res_company_users_rel SET user_id = user_id WHERE cid = %s AND user_id = %s",
                company.id,
                user.id,
            )
        )

    @api.model
    def _start_of_today(self, user):
        """The UTC time at which ``user``'s day began, in the user's time zone."""
        tz = pytz.timezone(user.tz or "UTC")
        start = tz.localize(datetime.combine(datetime.now(tz).date(), time.min))
        return start.astimezone(pytz.utc).replace(tzinfo=None)

    @api.model
    def _claimed_held(self, user, company):
        """How many customers ``user`` claimed from the pool of ``company`` and still holds."""
        self.env["customer.pool.history"].flush_model()
        self.env["res.partner"].flush_model(["user_id"])
        [(count,)] = self.env.execute_query(
            SQL(
                """
                SELECT count(DISTINCT h.partner_id) FROM customer_pool_history h
                  JOIN res_partner p ON p.id = h.partner_id
                 WHERE h.action = 'claimed' AND h.user_id = %(user)s AND h.company_id = %(company)s
                   AND p.user_id = %(user)s
                """,
                user=user.id,
                company=company.id,
            )
        )
        return count

    def _pool_take(self, user, action, reason):
        """Give this pooled customer to ``user``, out of the pool, with its
        history row and chatter note. The UPDATE is conditional on the
        customer being in the pool still: of two salespeople claiming it at
        once, the second waits for the first's row lock, then finds it gone
        and is refused."""
        self.ensure_one()
        company = self.env.company
        self.env["res.partner"].flush_model(["user_id", "in_pool", "pool_since"])
        rows = self.env.execute_query(
            SQL(
                """
                UPDATE res_partner
                   SET user_id = %(user)s,
                       %(in_pool)s,
                       %(pool_since)s,
                       write_uid = %(uid)s, write_date = %(now)s
                 WHERE id = %(id)s AND COALESCE(%(pooled)s, false)
             RETURNING id
                """,
                user=user.id,
                pooled=company_value(None, "in_pool", company, "boolean"),
                in_pool=set_company_value(None, "in_pool", company, False),
                pool_since=set_company_value(None, "pool_since", company, None),
                uid=self.env.uid,
                now=self.env.cr.now(),
                id=self.id,
            )
        )
        self.invalidate_recordset(["user_id", "in_pool", "pool_since"])
        if not rows:
            raise UserError(self.env._("%s was just taken from the pool by someone else.", self.sudo().name))
        self.env["customer.pool.history"].sudo().create(
            {
                "partner_id": self.id,
                "company_id": company.id,
                "action": action,
                "user_id": user.id,
                "reason": reason,
            }
        )
        self.sudo()._message_log(body=reason)

    # ---------------------------------------------------------------- assign

    def action_pool_assign(self):
        """Managers give pooled customers to a salesperson: the one of the
        context's ``pool_assign_user_id``, without the claim limits; without
        it, the wizard to choose one."""
        self.check_access("read")
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only Customer Tiering managers can assign customers from the pool."))
        user_id = self.env.context.get("pool_assign_user_id")
        if not user_id:
            action = self.env["ir.actions.act_window"]._for_xml_id("customer_tiering.customer_pool_assign_action")
            action["context"] = {"default_partner_ids": self.ids}
            return action
        user = self.env["res.users"].browse(user_id).exists()
        if not user or user.share or company_not_allowed(user, self.env.company):
            raise UserError(self.env._("Assign pooled customers to a salesperson of %s.", self.env.company.name))
        for partner in self:
            if not partner.sudo().in_pool:
                raise UserError(self.env._("%s is not in the customer pool.", partner.sudo().name))
            reason = self.env._(
                "Assigned from the pool to %(user)s by %(manager)s", user=user.name, manager=self.env.user.name
            )
            partner._pool_take(user, "assigned", reason)
        return True


def pool_index(company):
    """The name of ``company``'s index of its pooled customers."""
    return f"res_partner_in_pool_company_{company.id}_index"


def company_not_allowed(user, company):
    return company not in user.sudo().company_ids
