from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import SQL, html2plaintext, html_sanitize

from .customer_lifecycle_history import STAGES
from .res_partner import RISK_LEVELS


class MailActivity(models.Model):
    _inherit = "mail.activity"

    service_policy_id = fields.Many2one(
        "customer.service.policy",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The follow-up policy that created this activity.",
    )
    # The pool job's warnings, found by this at the recall, when they are moot;
    # deleting the rule deletes them, as the recall they announce is its own.
    pool_rule_id = fields.Many2one(
        "customer.pool.rule",
        index="btree_not_null",
        ondelete="cascade",
        readonly=True,
        help="The pool rule whose warning this activity is: the customer goes back to the pool unless followed up.",
    )
    # What a salesperson needs next to a follow-up, read from its customer's
    # commercial entity in the current company (not stored: the nightly job
    # moves tiers and points without touching the activities).
    followup_partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        compute="_compute_followup_partner",
        help="The commercial entity of the customer this activity is about.",
    )
    partner_tier_id = fields.Many2one("customer.tier", string="Tier", compute="_compute_followup_partner")
    # The tier badge widget paints the badge in the record's ``tier_color``.
    tier_color = fields.Integer(compute="_compute_followup_partner")
    partner_lifecycle_stage = fields.Selection(STAGES, string="Stage", compute="_compute_followup_partner")
    partner_churn_risk_level = fields.Selection(RISK_LEVELS, string="Risk", compute="_compute_followup_partner")
    partner_loyalty_points = fields.Float(string="Points", digits=(16, 2), compute="_compute_followup_partner")
    followup_reason = fields.Char(
        string="Why",
        compute="_compute_followup_reason",
        help="Why this follow-up is due: the policy's instructions and what triggered it.",
    )

    @api.depends("res_model", "res_id")
    @api.depends_context("company")
    def _compute_followup_partner(self):
        partners = self.env["res.partner"].browse(
            [activity.res_id for activity in self if activity.res_model == "res.partner" and activity.res_id]
        )
        # One read for the page: the entities of every row's customer the user may read.
        readable = partners.exists()._filtered_access("read")
        entity_of = {partner.id: partner.commercial_partner_id for partner in readable}
        for activity in self:
            is_partner = activity.res_model == "res.partner"
            entity = entity_of.get(activity.res_id) if is_partner else None
            entity = entity or self.env["res.partner"]
            activity.followup_partner_id = entity
            activity.partner_tier_id = entity.tier_id
            activity.tier_color = entity.tier_id.color
            activity.partner_lifecycle_stage = entity.lifecycle_stage
            activity.partner_churn_risk_level = entity.churn_risk_level
            activity.partner_loyalty_points = entity.loyalty_points

    @api.depends("note")
    def _compute_followup_reason(self):
        for activity in self:
            # Collapsed to one line: it is a list column.
            activity.followup_reason = " ".join(html2plaintext(activity.note or "").split()) or False

    # ------------------------------------------------------------ bulk creation
    @api.model
    def _bulk_create_automated(self, values):
        """Create the automated activities of ``values`` (values of
        ``create``, with their ``res_name``) in one INSERT; returns their ids.
        Written in SQL: the ORM sanitises every note twice and subscribes the
        followers one record at a time, which adds up over the tens of
        thousands of activities a night may create (docs/design.md).

        As ``create``: the assignees follow the records, with the subtypes a
        new follower gets by default; the assignee's time zone is stored; a
        note that is not the add-on's own markup is sanitised. Not done here:
        the assignment notification, which ``_notify_automated`` sends once
        the activities are committed, and the web client's refresh
        (``mail.activity/updated``), which the caller sends once for a run.
        The record's name is the given ``res_name``, not computed."""
        if not values:
            return []
        users = self.env["res.users"].sudo().browse({vals["user_id"] for vals in values})
        tz = {user.id: user.tz or None for user in users}
        columns = {
            "res_model_id": ("int4", [vals["res_model_id"] for vals in values]),
            "res_id": ("int4", [vals["res_id"] for vals in values]),
            "res_name": ("varchar", [vals["res_name"] for vals in values]),
            "activity_type_id": ("int4", [vals["activity_type_id"] for vals in values]),
            "summary": ("varchar", [vals["summary"] for vals in values]),
            "note": ("text", [_html(vals["note"]) for vals in values]),
            "date_deadline": ("date", [vals["date_deadline"] for vals in values]),
            "user_id": ("int4", [vals["user_id"] for vals in values]),
            "user_tz": ("varchar", [tz[vals["user_id"]] for vals in values]),
            "service_policy_id": ("int4", [vals.get("service_policy_id") for vals in values]),
            "pool_rule_id": ("int4", [vals.get("pool_rule_id") for vals in values]),
        }
        names = SQL(", ").join(SQL.identifier(name) for name in columns)
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO mail_activity (res_model, automated, active, %(names)s,
                                           create_uid, create_date, write_uid, write_date)
                SELECT m.model, true, true, %(values)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(arrays)s) WITH ORDINALITY AS v(%(names)s, n)
                  JOIN ir_model m ON m.id = v.res_model_id
                 ORDER BY v.n
             RETURNING id, res_model, res_id, user_id
                """,
                names=names,
                values=SQL(", ").join(SQL("v.%s", SQL.identifier(name)) for name in columns),
                arrays=SQL(", ").join(SQL("%s::%s[]", array, SQL(sql_type)) for sql_type, array in columns.values()),
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        followed = defaultdict(list)  # {(model, user id): [res_id]}
        for _id, model, res_id, user_id in rows:
            followed[model, user_id].append(res_id)
        for (model, user_id), res_ids in followed.items():
            self._insert_followers(model, res_ids, users.browse(user_id).partner_id)
        return sorted(activity_id for activity_id, *_rest in rows)

    @api.model
    def _insert_followers(self, model, res_ids, partner):
        """``partner`` follows the records ``res_ids`` of ``model`` it does not
        follow yet, with the subtypes Odoo gives a new follower by default."""
        default, _internal, external = self.env["mail.message.subtype"].default_subtypes(model)
        self.env.cr.execute(
            SQL(
                """
                WITH follower AS (
                    INSERT INTO mail_followers (res_model, res_id, partner_id)
                    SELECT %(model)s, res_id, %(partner)s FROM unnest(%(res_ids)s::int[]) AS res_id
                        ON CONFLICT DO NOTHING
                 RETURNING id
                )
                INSERT INTO mail_followers_mail_message_subtype_rel (mail_followers_id, mail_message_subtype_id)
                SELECT follower.id, subtype FROM follower, unnest(%(subtypes)s::int[]) AS subtype
                """,
                model=model,
                partner=partner.id,
                res_ids=res_ids,
                subtypes=(external if partner.partner_share else default).ids,
            )
        )

    def _notify_automated(self):
        """Tell the assignees of these activities, made by
        ``_bulk_create_automated``, what ``create`` tells them: Odoo's own
        ``action_notify``, from the current user, to the assignees other than
        the current user, in their language, by email or in Odoo's inbox as
        each of them chose (``message_notify`` reads their
        ``notification_type``). Inactive assignees are told nothing. The
        emails are queued for the mail queue's cron, not sent inline: a batch
        may have a thousand. The caller calls this once the activities are
        committed, and commits it on its own (see
        ``customer.followup.job._create_activities``)."""
        if not self or self.env.context.get("mail_activity_quick_update"):
            return
        activities = self.filtered(lambda activity: activity.user_id != self.env.user and activity.user_id.active)
        # as create: the assignees the current user may not read are told as superuser
        readable = activities.user_id.partner_id._filtered_access("read")
        to_sudo = activities.filtered(lambda activity: activity.user_id.partner_id not in readable)
        queued = {"mail_notify_force_send": False}
        to_sudo.sudo().with_context(**queued).action_notify()
        (activities - to_sudo).with_context(**queued).action_notify()


def _html(note):
    """A note as the Html field stores it: the add-on's own markup as it
    is, anything else sanitised."""
    return note if isinstance(note, Markup) else html_sanitize(note)
