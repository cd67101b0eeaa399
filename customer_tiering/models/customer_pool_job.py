import logging
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL, format_date, split_every

from ..sql import company_value, set_company_value

_logger = logging.getLogger(__name__)

#: Candidates whose dates are read by one set of grouped queries.
CHUNK = 10000
#: Customers recalled per committed batch.
BATCH = 1000
#: The care log occasions of the service policies' emails: a touch, as for the follow-up job.
POLICY_EMAILS = "policy:%"


class CustomerPoolJob(models.AbstractModel):
    """The nightly public pool (公海) job: a customer whose salesperson has
    not touched it, sold to it or had an opportunity with it for as long as
    its pool rule allows goes back to the pool, after a warning to the
    salesperson."""

    _name = "customer.pool.job"
    _description = "Customer Pool Job"

    @api.model
    def _cron_pool(self):
        today = fields.Date.context_today(self)
        configs = self.env["customer.tiering.config"]._for_companies(self.env["res.company"].search([]))  # pylint: disable=no-search-all
        rules = self.env["customer.pool.rule"].search([])  # pylint: disable=no-search-all

        def run(config):
            company = config.company_id
            self.with_company(company)._run_rules(rules.filtered(lambda r: r.company_id == company), today)

        self.env["customer.tiering.lock"]._run_companies("pool", configs, run)

    def _run_rules(self, rules, today):
        """Warn and recall under ``rules``, of the current company; returns
        (customers warned, customers recalled). A customer follows the first
        rule in sequence whose tiers and stages it is in: a later rule leaves
        out the customers an earlier one covers."""
        warned = recalled = 0
        earlier = []
        for rule in rules.sorted(lambda r: (r.sequence, r.id)):
            exclusions = self._exclusions(earlier)
            earlier.append(rule._scope_domain())
            if exclusions is None:
                continue  # an earlier rule covers every customer
            warn, recall = self._due(rule, exclusions, today)
            warned += self._warn(rule, warn, today)
            recalled += self._recall(rule, recall, today)
        return warned, recalled

    @api.model
    def _exclusions(self, scopes):
        """A domain leaving out the customers of the earlier rules'
        ``scopes``; None when one of them covers every customer."""
        if any(not scope for scope in scopes):
            return None
        return expression.AND([["!", *expression.AND([scope])] for scope in scopes]) if scopes else []

    # ------------------------------------------------------------ due customers
    def _due(self, rule, exclusions, today):
        """The rule's customers to warn tonight, [(entity id, salesperson id,
        recall day)], and to recall, [(entity id, salesperson id)].

        A customer is due on the day each of the rule's conditions holds:
        the latest of its last touch, confirmed order and open opportunity,
        each plus its days, none earlier than the day it was last claimed or
        assigned. Its salesperson is warned ``warning_days`` before, and the
        warning names the recall day; the customer is recalled on that day if
        still due. A customer due without a warning (a new rule, a backlog)
        is warned first and recalled ``warning_days`` later."""
        warn, recall = [], []
        candidates = self._candidates(rule, exclusions, today)
        for chunk in split_every(CHUNK, candidates, list):
            due_days = self._due_days(rule, [row[0] for row in chunk], today)
            for partner_id, user_id, announced in chunk:
                due = due_days[partner_id]
                if not rule.warning_days:
                    if due is None or due <= today:
                        recall.append((partner_id, user_id))
                    continue
                warned = announced and (due is None or announced >= due)
                if warned and announced <= today:
                    recall.append((partner_id, user_id))
                elif not warned and (due is None or due - timedelta(days=rule.warning_days) <= today):
                    warn.append((partner_id, user_id, max(due or today, today + timedelta(days=rule.warning_days))))
        _logger.info(
            "Pool rule %s: %d customers to check, %d to warn, %d to recall",
            rule.name,
            len(candidates),
            len(warn),
            len(recall),
        )
        return warn, recall

    def _candidates(self, rule, exclusions, today):
        """(entity id, salesperson id, announced recall day) of the rule's
        owned customers outside the pool, in id order, from one query: those
        whose salesperson works in the rule's company, and, when a touch is
        a condition, whose last purchase (a touch) is old enough for them to
        be due within the warning days."""
        company = rule.company_id
        Partner = self.env["res.partner"].with_company(company)
        Partner.flush_model(["user_id", "in_pool", "pool_recall_date", "last_purchase_date"])
        domain = [*rule._customer_domain(), ("user_id", "!=", False), ("in_pool", "!=", True), *exclusions]
        query = Partner._search(domain)
        partner = SQL.identifier(query.table)
        query.add_where(
            SQL(
                "EXISTS (SELECT 1 FROM res_company_users_rel r WHERE r.user_id = %s AND r.cid = %s)",
                SQL.identifier(query.table, "user_id"),
                company.id,
            )
        )
        if rule.untouched_days:
            latest = today + timedelta(days=rule.warning_days - rule.untouched_days)
            query.add_where(
                SQL(
                    "COALESCE((%s)::date, '-infinity') <= %s",
                    company_value(query.table, "last_purchase_date", company),
                    latest,
                )
            )
        query.order = SQL("%s.id", partner)
        return self.env.execute_query(
            query.select(
                SQL("%s.id", partner),
                SQL.identifier(query.table, "user_id"),
                SQL("(%s)::date", company_value(query.table, "pool_recall_date", company)),
            )
        )

    def _due_days(self, rule, partner_ids, today):
        """{entity id: the day the rule's conditions all hold, None for
        always}, from one grouped query per condition."""
        company = rule.company_id
        starts = self._owner_since(company, partner_ids)
        conditions = []
        if rule.untouched_days:
            types = self.env["customer.service.policy"].search([("company_id", "=", company.id)]).activity_type_id
            touches = self.env["customer.followup.job"]._last_touches(company, partner_ids, types, POLICY_EMAILS)
            conditions.append((touches, rule.untouched_days))
        if rule.no_order_days:
            conditions.append((self._last_orders(company, partner_ids), rule.no_order_days))
        if rule.no_opportunity_days and "crm.lead" in self.env:
            conditions.append((self._last_opportunities(company, partner_ids, today), rule.no_opportunity_days))
        due_days = {}
        for partner_id in partner_ids:
            start = starts.get(partner_id)
            due = None
            for last, days in conditions:
                since = max(filter(None, (last.get(partner_id), start)), default=None)
                if since:  # never touched, ordered or in an opportunity: this condition always holds
                    day = since + timedelta(days=days)
                    due = day if due is None else max(due, day)
            due_days[partner_id] = due
        return due_days

    def _owner_since(self, company, partner_ids):
        """{entity id: the day it was last claimed or assigned in ``company``}."""
        self.env["customer.pool.history"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner_id, max(date)::date FROM customer_pool_history
                 WHERE partner_id = ANY(%s) AND company_id = %s AND action IN ('claimed', 'assigned')
                 GROUP BY partner_id
                """,
                partner_ids,
                company.id,
            )
        )
        return dict(rows)

    def _last_orders(self, company, partner_ids):
        """{entity id: the day of its last sale order confirmed in ``company``}."""
        self.env["sale.order"].flush_model(["partner_id", "state", "date_order", "company_id"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT c.commercial_partner_id, max(o.date_order)::date
                  FROM res_partner c JOIN sale_order o ON o.partner_id = c.id
                 WHERE c.commercial_partner_id = ANY(%s) AND o.company_id = %s AND o.state = 'sale'
                 GROUP BY c.commercial_partner_id
                """,
                partner_ids,
                company.id,
            )
        )
        return dict(rows)

    def _last_opportunities(self, company, partner_ids, today):
        """{entity id: the last day it had an opportunity open in
        ``company``}: today for one still open, else the day the last one
        was won, lost or last changed."""
        self.env["crm.lead"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT c.commercial_partner_id,
                       max(CASE WHEN l.active AND NOT COALESCE(s.is_won, false) THEN %(today)s
                                ELSE COALESCE(l.date_closed, l.write_date)::date END)
                  FROM res_partner c
                  JOIN crm_lead l ON l.partner_id = c.id
             LEFT JOIN crm_stage s ON s.id = l.stage_id
                 WHERE c.commercial_partner_id = ANY(%(partners)s) AND l.type = 'opportunity'
                   AND (l.company_id IS NULL OR l.company_id = %(company)s)
                 GROUP BY c.commercial_partner_id
                """,
                today=today,
                partners=partner_ids,
                company=company.id,
            )
        )
        return dict(rows)

    # ------------------------------------------------------------ warning
    def _warn(self, rule, rows, today):
        """An activity for the salesperson of each customer of ``rows``
        [(entity id, salesperson id, recall day)], due on the recall day, in
        committed batches (``customer.followup.job._create_activities``);
        returns how many. The recall day is stored on the customer in the
        same batch (``pool_recall_date``): a customer is warned once per
        recall, and a re-run warns nobody twice."""
        if not rows:
            return 0
        followup = self.env["customer.followup.job"]
        Partner = self.env["res.partner"].with_company(rule.company_id)
        partners = followup._fetch_partners(Partner.browse([row[0] for row in rows]))
        users = self.env["res.users"].browse({row[1] for row in rows})
        texts = {}
        values = []
        for partner, (_id, user_id, day) in zip(partners, rows, strict=True):
            user = users.browse(user_id)
            if user.lang not in texts:
                texts[user.lang] = self._texts(rule, user.lang)
            summary, note = self._warning_text(texts[user.lang], partner, day)
            values.append(followup._partner_activity(partner, user, summary, note, day, pool_rule_id=rule.id))
        followup._create_activities(values, keep=lambda batch: self._mark_warned(rule.company_id, batch))
        _logger.info("Pool rule %s: %d warnings", rule.name, len(values))
        return len(values)

    def _mark_warned(self, company, batch):
        """Store the recall day of the customers of ``batch`` (activity
        values), unless stored already; returns the values of those it
        stored, the activities to create."""
        rows = self.env.execute_query(
            SQL(
                """
                UPDATE res_partner p
                   SET %(recall)s
                  FROM unnest(%(ids)s::int4[], %(days)s::date[]) AS v(id, day)
                 WHERE p.id = v.id AND %(stored)s IS DISTINCT FROM v.day::text
             RETURNING p.id
                """,
                stored=company_value("p", "pool_recall_date", company),
                recall=set_company_value("p", "pool_recall_date", company, SQL("v.day::text")),
                ids=[vals["res_id"] for vals in batch],
                days=[vals["date_deadline"] for vals in batch],
            )
        )
        self.env["res.partner"].invalidate_model(["pool_recall_date"])
        marked = {partner_id for (partner_id,) in rows}
        return [vals for vals in batch if vals["res_id"] in marked]

    def _texts(self, rule, lang):
        """The rule in ``lang`` and its conditions, as a sentence in ``lang``."""
        rule = rule.with_context(lang=lang)
        env = rule.env
        parts = []
        if rule.untouched_days:
            parts.append(env._("no touch for %(days)s days", days=rule.untouched_days))
        if rule.no_order_days:
            parts.append(env._("no confirmed order for %(days)s days", days=rule.no_order_days))
        if rule.no_opportunity_days and "crm.lead" in env:
            parts.append(env._("no open opportunity for %(days)s days", days=rule.no_opportunity_days))
        return rule, "; ".join(parts)

    def _warning_text(self, texts, partner, day):
        """The summary and note of the warning that ``partner`` goes back to the pool on ``day``."""
        rule, conditions = texts
        env = rule.env
        when = format_date(env, day)
        summary = env._("Follow up before %(date)s or lose the customer to the pool", date=when)
        note = env._(
            "%(customer)s goes back to the public customer pool on %(date)s (rule %(rule)s: %(conditions)s). "
            "A call, a meeting, a message, a confirmed order or an open opportunity before then keeps it yours.",
            customer=partner.complete_name,
            date=when,
            rule=rule.name,
            conditions=conditions,
        )
        return summary, Markup("<p>%s</p>") % escape(note)

    # ------------------------------------------------------------ recall
    def _recall(self, rule, rows, today):
        """Put the customers of ``rows`` [(entity id, salesperson id)] in the
        pool, in committed batches (``_recall_batch``); returns how many."""
        if not rows:
            return 0
        company = rule.company_id
        lang = company.partner_id.lang or self.env.lang
        rule_texts = self._texts(rule, lang)
        reason = rule_texts[0].env._("Rule %(rule)s: %(conditions)s", rule=rule_texts[0].name, conditions=rule_texts[1])
        Lock = self.env["customer.tiering.lock"]
        cron = self.env["ir.cron"]
        done = 0
        for batch in split_every(BATCH, rows, list):
            Lock._run_batch(lambda batch=batch: self._recall_batch(rule, batch, today, reason, lang))
            done += len(batch)
            cron._notify_progress(done=done, remaining=len(rows) - done)
        self.env["res.partner"].invalidate_model(["user_id", "in_pool", "pool_since"])
        self.env["customer.pool.history"].invalidate_model()
        _logger.info("Pool rule %s: %d customers recalled", rule.name, len(rows))
        return len(rows)

    def _recall_batch(self, rule, batch, today, reason, lang):
        """One UPDATE: the salesperson cleared, the customer in the pool
        since ``today``, where the salesperson is still the one the job read
        (someone may have reassigned it meanwhile); then a history row and a
        chatter note per customer recalled. Returns how many."""
        company = rule.company_id
        now = self.env.cr.now()
        self.env["res.partner"].flush_model(["user_id", "in_pool", "pool_since"])
        released = self.env.execute_query(
            SQL(
                """
                WITH released AS (
                    UPDATE res_partner p
                       SET user_id = NULL,
                           %(in_pool)s,
                           %(pool_since)s,
                           write_uid = %(uid)s, write_date = %(now)s
                      FROM unnest(%(ids)s::int4[], %(users)s::int4[]) AS t(id, user_id)
                     WHERE p.id = t.id AND p.user_id = t.user_id
                 RETURNING p.id, t.user_id
                ), history AS (
                    INSERT INTO customer_pool_history (partner_id, company_id, action, previous_user_id, date,
                                                       reason, rule_id, create_uid, create_date, write_uid, write_date)
                    SELECT id, %(company)s, 'released', user_id, %(date)s, %(reason)s, %(rule)s,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM released
                )
                SELECT id, user_id FROM released ORDER BY id
                """,
                in_pool=set_company_value("p", "in_pool", company, True),
                pool_since=set_company_value("p", "pool_since", company, fields.Date.to_string(today)),
                ids=[partner_id for partner_id, _user in batch],
                users=[user_id for _partner, user_id in batch],
                company=company.id,
                reason=reason,
                rule=rule.id,
                uid=self.env.uid,
                now=now,
                date=fields.Datetime.now(),
            )
        )
        users = self.env["res.users"].with_context(lang=lang).browse({user_id for _id, user_id in released})
        names = {user.id: user.name for user in users}
        env = users.env
        notes = [
            (
                partner_id,
                env._(
                    "Back to the public customer pool from %(salesperson)s. %(reason)s",
                    salesperson=names[user_id],
                    reason=reason,
                ),
            )
            for partner_id, user_id in released
        ]
        self.env["mail.message"]._bulk_log_notes("res.partner", notes)
        self._remove_warnings([partner_id for partner_id, _user in released])
        return len(released)

    def _remove_warnings(self, partner_ids):
        """Remove the open pool warnings of the customers of ``partner_ids``,
        just recalled: the recall they announced happened, nothing is left
        to do. Removed as Odoo removes an obsolete activity
        (``activity_unlink``), not marked done: the follow-up they asked for
        was not done, and a done to-do on the customer would count as a
        touch for a policy or rule that follows up by to-dos. One search and
        one unlink for the batch, as superuser: the cron user may not
        unlink the salespeople's activities."""
        warnings = (
            self.env["mail.activity"]
            .sudo()
            .search([("res_model", "=", "res.partner"), ("res_id", "in", partner_ids), ("pool_rule_id", "!=", False)])
        )
        warnings.unlink()
