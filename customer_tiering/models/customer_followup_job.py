import logging
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import product

import numpy as np
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from ..sql import company_value

_logger = logging.getLogger(__name__)

BATCH = 1000
#: Done activities of these types touch a customer whatever the policy.
CONVERSATION_TYPES = ("mail.mail_activity_data_call", "mail.mail_activity_data_meeting")
#: Customers nobody should call: archived ones are never searched at all.
BLOCKED = [("sale_warn", "!=", "block"), ("invoice_warn", "!=", "block")]
#: What the activities read of their customers (see _fetch_partners).
ACTIVITY_PARTNER_FIELDS = ["name", "complete_name", "user_id", "tier_id", "lifecycle_stage"]
#: A customer due for longer than this is part of a backlog (never touched,
#: a new policy, the first night): its follow-up is spread over the cadence
#: rather than added to everyone else's on the same day.
BACKLOG_DAYS = 7
#: Knuth's multiplicative hash: consecutive partner ids land on days spread over the cycle.
SPREAD_MULTIPLIER = 2654435761


class CustomerFollowupJob(models.AbstractModel):
    """The nightly follow-up job: when a customer's last touch is older than
    a policy's cadence, an activity for a person or an email sent at once;
    one follow-up per customer at a time, of the policy first in sequence."""

    _name = "customer.followup.job"
    _description = "Customer Follow-up Job"

    @api.model
    def _cron_followup(self):
        today = fields.Date.context_today(self)
        configs = self.env["customer.tiering.config"]._for_companies(self.env["res.company"].search([]))  # pylint: disable=no-search-all
        policies = self.env["customer.service.policy"].search([])  # pylint: disable=no-search-all

        def run(config):
            company = config.company_id
            self.with_company(company)._run_policies(policies.filtered(lambda p: p.company_id == company), today)
            self.env["customer.satisfaction.policy"].with_company(company)._send_surveys(config, today)
            self.env["customer.care.job"].with_company(company)._run_care(config, today)

        self.env["customer.tiering.lock"]._run_companies("followup", configs, run)

    def _run_policies(self, policies, today):
        """Follow up the customers due under ``policies``, of the current
        company; returns how many activities and emails. A customer due
        under several policies gets the follow-up of the first in sequence
        only, and its note names the others; a customer with an open
        follow-up of any policy gets no new activity. The (salesperson, tier)
        pairs its customers can have are read once for all of them."""
        if not policies:
            return 0
        pairs = self._pairs()
        matches = defaultdict(list)  # {entity id: [(policy, assignee, last touch)]}, first policy first
        ordered = policies.sorted(lambda policy: (policy.sequence, policy.id))
        for policy in ordered:
            for partner_id, user, last_touch in self._due(policy, pairs, today):
                matches[partner_id].append((policy, user, last_touch))
        chosen = defaultdict(list)  # {policy: [(entity id, assignee, last touch, other policies)]}
        for partner_id, found in matches.items():
            policy, user, last_touch = found[0]
            chosen[policy].append((partner_id, user, last_touch, [other for other, *_rest in found[1:]]))
        done = 0
        for policy in ordered:
            rows = sorted(chosen.get(policy, []), key=lambda row: row[0])
            if policy.action == "email":
                done += self._send_emails(policy, rows, today)
            else:
                done += self._schedule_activities(policy, rows, today)
        return done

    def _due(self, policy, pairs, today):
        """(entity id, assignee, last touch) of the customers due under
        ``policy`` tonight: not touched for longer than its cadence. An
        activity needs someone to assign it to, and a customer with no open
        follow-up; an email an address, and only the customers it reaches.
        A backlog of emails goes out spread over the cadence (``_spread``)."""
        Partner = self.env["res.partner"].with_company(policy.company_id)
        customers = Partner._search(policy._customer_domain() + BLOCKED)
        by_email = policy.action == "email"
        assignees = {} if by_email else self._assignees(policy, pairs)
        if by_email:
            candidates = self._candidates(policy, customers)
        else:
            candidates = self._candidates(policy, customers, assignees) if assignees else []
        if policy.nps_category:
            # once per answer: the answer, not yet followed up, is the touch
            last_touch = self._answers_to_follow(policy, [partner_id for partner_id, *_pair in candidates])
            due = [row for row in candidates if row[0] in last_touch]
        else:
            last_touch = self._last_touch(policy, [partner_id for partner_id, *_pair in candidates])
            due = [row for row in candidates if _days_since(last_touch.get(row[0]), today) > policy.cadence_days]
        _logger.info("Follow-up policy %s: %d customers to check, %d due", policy.name, len(candidates), len(due))
        if not by_email:
            return [
                (partner_id, assignees[salesperson, tier], last_touch.get(partner_id))
                for partner_id, salesperson, tier in due
            ]
        offsets, backlog = self._spread(policy, [row[0] for row in due], last_touch, today)
        today_ids = [row[0] for row, offset, late in zip(due, offsets, backlog, strict=True) if not late or not offset]
        reachable = self.env["customer.care.job"]._emailable(Partner.browse(today_ids))
        return [(partner_id, None, last_touch.get(partner_id)) for partner_id in reachable.ids]

    def _spread(self, policy, partner_ids, last_touch, today):
        """Per customer of ``partner_ids``, the days from ``today`` to its own
        day in the policy's cycle, and whether it is part of a backlog: due
        for more than ``BACKLOG_DAYS``, or never touched. On a policy's first
        night every matched customer is due at once: each gets its follow-up
        on its own day instead, a hash of its id modulo the cadence, so that
        a 30-day cadence gives about a thirtieth of them each day. The day
        depends on the customer alone: a re-run puts it on the same day."""
        cadence = policy.cadence_days
        ids = np.asarray(partner_ids, dtype="int64")
        # the hash's high bits scaled to the cadence: consecutive ids fall evenly over the days
        slots = (ids * SPREAD_MULTIPLIER) % 2**32 * cadence >> 32
        offsets = (slots - today.toordinal()) % cadence
        since = np.array([_days_since(last_touch.get(partner_id), today) for partner_id in partner_ids], dtype=float)
        return offsets.tolist(), (since - cadence > BACKLOG_DAYS).tolist()

    def _schedule_activities(self, policy, rows, today):
        """Create the policy's activities for ``rows`` (see
        ``_run_policies``); returns how many. A backlog is spread over the
        cadence; a customer just due gets the policy's due-in days."""
        Partner = self.env["res.partner"].with_company(policy.company_id)
        partners = self._fetch_partners(Partner.browse([row[0] for row in rows]))
        offsets, backlog = self._spread(policy, partners.ids, {row[0]: row[2] for row in rows}, today)
        texts = {}
        values = []
        for partner, (_id, user, last_touch, others), offset, late in zip(
            partners, rows, offsets, backlog, strict=True
        ):
            deadline = today + timedelta(days=offset if late else policy.deadline_days)
            activity = self._activity_values(policy, partner, user, last_touch, today, texts, others, deadline)
            values.extend(self._plan_activities(policy, partner, activity) if policy.activity_plan_id else [activity])
        keep = (lambda batch: self._keep_answers(policy, batch)) if policy.nps_category else None
        self._create_activities(values, keep)
        _logger.info("Follow-up policy %s: %d activities", policy.name, len(values))
        return len(values)

    def _send_emails(self, policy, rows, today):
        """Send the policy's email template to the customers of ``rows``,
        logged as their touch of the day (``customer.care.job._send_logged``:
        a re-run or a concurrent run sends nothing twice); returns how many."""
        config = self.env["customer.tiering.config"].sudo()._for_companies(policy.company_id)
        partners = self.env["res.partner"].with_company(policy.company_id).browse([row[0] for row in rows])
        occasions = self._answer_occasions(policy, partners) if policy.nps_category else None
        sent = self.env["customer.care.job"]._send_logged(
            config, partners, _email_occasion(policy, today), today, policy.mail_template_id, occasions=occasions
        )
        _logger.info("Follow-up policy %s: %d emails", policy.name, len(sent))
        return len(sent)

    # ------------------------------------------------------------ due customers
    def _candidates(self, policy, customers, assignees=None):
        """(entity id, salesperson id, tier id) of the customers among
        ``customers`` (a query), in id order; 0 for none. With ``assignees``
        (for activities): only those whose (salesperson, tier) has one and
        that have no open follow-up of any policy, one at a time. The
        conditions go into the policy's own query, so that its domain (an id
        range, a tier, a stage) picks the rows to read."""
        self.env["mail.activity"].flush_model()
        self.env["res.partner"].flush_model(["user_id", "tier_id"])
        partner = SQL.identifier(customers.table)
        salesperson = SQL("COALESCE(%s, 0)", SQL.identifier(customers.table, "user_id"))
        tier = SQL(
            "COALESCE(%s, 0)",
            self.env["res.partner"]._company_value_sql("tier_id", policy.company_id, customers.table),
        )
        if assignees is not None:
            customers.add_where(
                SQL(
                    "(%s, %s) IN (SELECT * FROM unnest(%s::int[], %s::int[]))",
                    salesperson,
                    tier,
                    [salesperson_id for salesperson_id, _tier in assignees],
                    [tier_id for _salesperson, tier_id in assignees],
                )
            )
            customers.add_where(
                SQL(
                    """
                    NOT EXISTS (SELECT 1 FROM mail_activity a
                                 WHERE a.res_model = 'res.partner' AND a.res_id = %(partner)s.id AND a.active
                                   AND a.service_policy_id IS NOT NULL)
                    """,
                    partner=partner,
                )
            )
        customers.order = SQL("%s.id", partner)
        return self.env.execute_query(customers.select(SQL("%s.id", partner), salesperson, tier))

    # ------------------------------------------------------------ touches
    def _last_touch(self, policy, partner_ids):
        """{entity id: date of its last touch} under ``policy``: see ``_last_touches``."""
        return self._last_touches(
            policy.company_id, partner_ids, policy._touch_activity_types(), _email_occasion(policy, None)
        )

    def _last_touches(self, company, partner_ids, activity_types, emails):
        """{entity id: date of its last touch} in ``company``: a done activity
        of ``activity_types`` or a call or meeting, a message or email sent
        to the customer or one of its contacts, an email of a policy whose
        care log occasion is LIKE ``emails``, or a purchase (``customer.sale``),
        from one grouped query. The public pool (``customer.pool.job``)
        recalls by the same definition.
        The purchases are the last purchase the tiering run stored, and those
        written since that run looked: not every sale of every customer."""
        self.env["mail.message"].flush_model()
        self.env["customer.sale"]._flush_sources()
        self.env["res.partner"].flush_model(["last_purchase_date"])
        self.env["customer.care.log"].flush_model()
        config = self.env["customer.tiering.config"].sudo()._for_companies(company)
        touch_types = activity_types.ids + [
            activity_type.id for xmlid in CONVERSATION_TYPES if (activity_type := self.env.ref(xmlid, False))
        ]
        rows = self.env.execute_query(
            SQL(
                """
                WITH customers AS (
                    SELECT id, commercial_partner_id AS entity FROM res_partner
                     WHERE commercial_partner_id = ANY(%(entities)s)
                ), touches AS (
                    SELECT c.entity, m.date::date AS day
                      FROM mail_message m JOIN customers c ON c.id = m.res_id
                     WHERE m.model = 'res.partner'
                       AND (m.mail_activity_type_id = ANY(%(types)s)
                            OR (m.subtype_id = %(comment)s AND m.message_type IN ('comment', 'email_outgoing')))
                    UNION ALL
                    SELECT c.entity, m.date::date
                      FROM mail_message_res_partner_rel r
                      JOIN customers c ON c.id = r.res_partner_id
                      JOIN mail_message m ON m.id = r.mail_message_id
                     WHERE m.message_type IN ('comment', 'email_outgoing')
                       AND m.author_id IS DISTINCT FROM r.res_partner_id
                    UNION ALL
                    SELECT log.partner_id, log.date FROM customer_care_log log
                     WHERE log.partner_id = ANY(%(entities)s) AND log.company_id = %(company)s
                       AND log.occasion LIKE %(emails)s
                    UNION ALL
                    SELECT id, (%(last_purchase)s)::date FROM res_partner WHERE id = ANY(%(entities)s)
                    UNION ALL
                    SELECT s.commercial_partner_id, s.date
                      FROM customer_sale s
                     WHERE s.commercial_partner_id = ANY(%(entities)s) AND s.company_id = %(company)s
                       AND s.is_purchase AND s.write_date >= %(since)s
                )
                SELECT entity, max(day) FROM touches GROUP BY entity
                """,
                entities=partner_ids,
                types=touch_types,
                comment=self.env.ref("mail.mt_comment").id,
                company=company.id,
                last_purchase=company_value(None, "last_purchase_date", company),
                since=config.last_run_since or datetime.min,
                emails=emails,
            )
        )
        return dict(rows)

    # ------------------------------------------------------------ answers
    def _answers_to_follow(self, policy, partner_ids):
        """{entity id: day of its last satisfaction survey answer} of the
        customers of ``partner_ids`` whose answer ``policy`` has not followed
        up yet (its care log entry, see ``_answer_occasions``)."""
        partners = self.env["res.partner"].with_company(policy.company_id).browse(partner_ids)
        occasions = self._answer_occasions(policy, partners)
        self.env["customer.care.log"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner_id FROM customer_care_log
                 WHERE company_id = %s AND partner_id = ANY(%s) AND occasion = ANY(%s)
                """,
                policy.company_id.id,
                list(partner_ids),
                [occasion for occasion, _day in occasions.values()],
            )
        )
        followed = {partner_id for (partner_id,) in rows}
        return {partner_id: day for partner_id, (_occasion, day) in occasions.items() if partner_id not in followed}

    def _answer_occasions(self, policy, partners):
        """{entity id: (care log occasion, day)} of the last answers of
        ``partners`` (with the policy's company): one follow-up per policy
        and answer day."""
        return {
            partner.id: (f"policy:{policy.id}:answer:{day.isoformat()}", day)
            for partner in partners
            if (day := partner.satisfaction_date)
        }

    def _keep_answers(self, policy, batch):
        """Log the answers of ``batch`` (activity values) as followed up by
        ``policy``, in the batch's transaction; returns the values of those
        not logged yet, the activities to create."""
        config = self.env["customer.tiering.config"].sudo()._for_companies(policy.company_id)
        partners = self.env["res.partner"].with_company(policy.company_id).browse({vals["res_id"] for vals in batch})
        entries = [(partner_id, *key) for partner_id, key in self._answer_occasions(policy, partners).items()]
        logged = self.env["customer.care.job"]._log_entries(config, entries, "activity")
        return [vals for vals in batch if vals["res_id"] in logged]

    # ------------------------------------------------------------ activities
    def _pairs(self):
        """The (salesperson id, tier id) pairs the current company's
        customers can have, 0 for none: every salesperson of a partner with
        every tier of the company. Reading each customer's own pair reads
        every partner; the salespeople are read from their index one value
        at a time instead, and the candidates' query keeps the customers of
        the pairs that have an assignee."""
        self.env["res.partner"].flush_model(["user_id"])
        rows = self.env.execute_query(
            SQL(
                """
                WITH RECURSIVE salespeople AS (
                    (SELECT user_id FROM res_partner WHERE user_id IS NOT NULL ORDER BY user_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT p.user_id FROM res_partner p
                             WHERE p.user_id > s.user_id ORDER BY p.user_id LIMIT 1)
                      FROM salespeople s WHERE s.user_id IS NOT NULL
                )
                SELECT user_id FROM salespeople WHERE user_id IS NOT NULL
                """
            )
        )
        Tier = self.env["customer.tier"].with_context(active_test=False)
        tiers = Tier.search([("company_id", "=", self.env.company.id)])
        return list(product([0, *(salesperson for (salesperson,) in rows)], [0, *tiers.ids]))

    def _assignees(self, policy, pairs):
        """{(salesperson id, tier id): user} for the ``pairs`` of the policy's
        tiers that have an assignee. The rule depends on the salesperson and
        the tier only, so it is worked out once per pair, not once per
        customer: a policy may cover millions."""
        Users, Tiers = self.env["res.users"], self.env["customer.tier"]
        tiers = set(policy.tier_ids.ids)
        assignees = {}
        for salesperson, tier_id in pairs:
            if tiers and tier_id not in tiers:
                continue
            if user := self._assignee(policy, Users.browse(salesperson or ()), Tiers.browse(tier_id or ())):
                assignees[salesperson, tier_id] = user
        return assignees

    def _assignee(self, policy, salesperson, tier):
        """The rule's user, else the salesperson, the tier's account manager,
        then the policy's fixed user: the first who is an active employee."""
        by_rule = {
            "salesperson": salesperson,
            "team_leader": (salesperson.sale_team_id or tier.team_id).user_id,
            "fixed": policy.user_id,
            "tier_manager": tier.user_id,
        }
        return _first_employee(by_rule[policy.assignee_rule], salesperson, tier.user_id, policy.user_id)

    @api.model
    def _fetch_partners(self, partners):
        """``partners`` with what their activities read of them in memory,
        from one query: reading any one field would read the hundred-odd
        columns of res_partner."""
        partners.fetch(ACTIVITY_PARTNER_FIELDS)
        return partners

    @api.model
    def _responsible(self, partner, first=None, last=None):
        """``first``, else the salesperson, else the tier's account manager,
        else ``last``: the first who is an active employee."""
        return _first_employee(first, partner.user_id, partner.tier_id.user_id, last)

    def _activity_values(self, policy, partner, user, last_touch, today, texts, others=(), deadline=None):
        """``texts`` keeps the policy's texts per language (see
        ``_policy_texts``) from one activity to the next. ``others``: the
        other policies the customer is due under, named in the note."""
        if user.lang not in texts:
            texts[user.lang] = self._policy_texts(policy, user.lang)
        policy, stages, tiers, names = texts[user.lang]
        env = policy.env
        days = _days_since(last_touch, today)
        why = env._(
            "Follow-up policy %(policy)s: tier %(tier)s, stage %(stage)s; %(touch)s",
            policy=policy.name,
            tier=tiers.get(partner.tier_id.id, "-"),
            stage=stages.get(partner.lifecycle_stage, "-"),
            touch=env._("last touch %(days)s days ago", days=days) if last_touch else env._("never touched"),
        )
        note = (policy.note or Markup("")) + Markup("<p>%s</p>") % escape(why)
        if others:
            also = env._(
                "Also due under %(policies)s: one follow-up at a time, and %(policy)s comes first.",
                policies=", ".join(names.get(other.id) or other.name for other in others),
                policy=policy.name,
            )
            note += Markup("<p>%s</p>") % escape(also)
        return self._partner_activity(
            partner,
            user,
            policy.summary or policy.name,
            note,
            deadline or today + timedelta(days=policy.deadline_days),
            activity_type=policy.activity_type_id,
            service_policy_id=policy.id,
        )

    def _plan_activities(self, policy, partner, activity):
        """The activities of the policy's plan in place of the single
        ``activity`` (its values): each step of its type, summary and note,
        due at its offset from the follow-up's due day, for the step's own
        user or, when the step asks at launch, the policy's assignee. The
        policy's note (why the customer is due) follows each."""
        steps = []
        assignee = self.env["res.users"].browse(activity["user_id"])
        for step in policy.activity_plan_id.template_ids.sorted("sequence"):
            user = step._determine_responsible(assignee, partner)["responsible"] or assignee
            steps.append(
                {
                    **activity,
                    "activity_type_id": step.activity_type_id.id,
                    "summary": step.summary or activity["summary"],
                    "note": (step.note or Markup("")) + activity["note"],
                    "date_deadline": step._get_date_deadline(activity["date_deadline"]),
                    "user_id": user.id,
                }
            )
        return steps

    def _policy_texts(self, policy, lang):
        """The policy, the stage labels, the tier names and the company's
        policy names in ``lang``."""
        policy = policy.with_context(lang=lang)
        stages = dict(self.env["res.partner"]._fields["lifecycle_stage"]._description_selection(policy.env))
        tiers = self.env["customer.tier"].with_context(lang=lang, active_test=False)
        tiers = tiers.search([("company_id", "=", policy.company_id.id)])
        policies = policy.with_context(active_test=False).search([("company_id", "=", policy.company_id.id)])
        names = {other.id: other.name for other in policies}
        return policy, stages, {tier.id: tier.name for tier in tiers}, names

    @api.model
    def _partner_activity(self, partner, user, summary, note, deadline, activity_type=None, **extra):
        """Values of an automated activity on ``partner`` for ``user``, a to-do unless told otherwise.
        The name comes with them: Odoo would otherwise read each partner's
        name on its own, one query per activity. It is the name Odoo stores
        for display: its display_name would be computed again for each."""
        return {
            "res_model_id": self.env["ir.model"]._get_id("res.partner"),
            "res_id": partner.id,
            "res_name": partner.sudo().complete_name,
            "activity_type_id": (activity_type or self.env.ref("mail.mail_activity_data_todo")).id,
            "summary": summary,
            "note": note,
            "date_deadline": deadline,
            "user_id": user.id,
            "automated": True,
            **extra,
        }

    def _create_activities(self, values, keep=None):
        """Create the activities of ``values`` (see ``_partner_activity``) in
        committed batches (``mail.activity._bulk_create_automated``), their
        users following the customers, as ``mail.activity.create`` does.
        ``keep(batch)``, when given, runs in each batch's transaction first
        and returns the values to create: what it writes (the care job's
        log) commits with those activities, or not at all.

        Each batch's assignees are notified (``_notify_automated``) right
        after its commit, in a transaction of their own, with the ids the
        batch created: a retried batch notifies for its last attempt only,
        and a re-run creates no activity it already created, so nobody is
        told twice. A worker killed between the two commits leaves that
        batch's activities without their notification: at most once."""
        cron = self.env["ir.cron"]
        Activity = self.env["mail.activity"]
        done = 0
        Lock = self.env["customer.tiering.lock"]
        for batch in split_every(BATCH, values, list):
            created = []

            def write(batch=batch, created=created):
                created[:] = self._insert_activities(keep(batch) if keep else batch)

            Lock._run_batch(write)
            Lock._run_batch(lambda created=created: Activity.browse(created)._notify_automated())
            done += len(batch)
            cron._notify_progress(done=done, remaining=len(values) - done)
        for model in ("mail.activity", "mail.followers", "res.partner"):
            self.env[model].invalidate_model()
        # what the ORM's create tells the web client of its users
        users = self.env["res.users"].browse(
            {vals["user_id"] for vals in values if vals["date_deadline"] <= fields.Date.context_today(self)}
        )
        users._bus_send("mail.activity/updated", {"activity_created": True})

    def _insert_activities(self, batch):
        """The activities of ``batch``, created; returns their ids."""
        return self.env["mail.activity"]._bulk_create_automated(batch)


def _first_employee(*candidates):
    return next((user for user in candidates if user and user.active and not user.share), None)


def _email_occasion(policy, day):
    """The care log's occasion of the policy's email of ``day``; of any day
    (a LIKE pattern) without one."""
    return f"policy:{policy.id}:{day.isoformat() if day else '%'}"


def _days_since(day, today):
    """Days since ``day``; never touched counts as infinitely long ago."""
    return (today - day).days if day else float("inf")
