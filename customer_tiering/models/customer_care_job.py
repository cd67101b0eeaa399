from datetime import timedelta

import numpy as np
from markupsafe import Markup, escape

from odoo import api, models
from odoo.tools import SQL

from ..sql import company_partner, company_value
from .customer_notification import NOTICE_BATCH

ACTIVE_STAGES = ("new", "active", "loyal", "reactivated")
DEFAULT_WARNING_DAYS = 14
#: Customers touched per committed transaction: the customer notifications'
#: batch, each email rendered. A care date such as Spring Festival applies to
#: every customer: the run's memory is that of one batch.
CARE_BATCH = NOTICE_BATCH


class CustomerCareJob(models.AbstractModel):
    """Care touches (birthdays, holidays) and dormancy warnings. Each touch is
    logged once per customer, occasion and year under a unique key, so re-runs
    and concurrent runs never touch anyone twice."""

    _name = "customer.care.job"
    _description = "Customer Care Job"

    @api.model
    def _run_care(self, config, today):
        self._care_birthdays(config, today)
        self._care_dates(config, today)
        self._dormancy_warnings(config, today)

    # ------------------------------------------------------------ care
    def _care_birthdays(self, config, today):
        """A/B customers' salespeople are asked to call ahead of the day;
        C customers get the birthday email on the day."""

        def label(lang):
            return self.with_context(lang=lang).env._("Birthday")

        for channel, day in (("activity", today + timedelta(days=config.care_lead_days)), ("email", today)):
            self._touch_all(config, "birthday", day, channel, label, self._born_on(day))

    def _care_dates(self, config, today):
        lead_day = today + timedelta(days=config.care_lead_days)
        care_dates = self.env["customer.care.date"].search(
            [("company_id", "=", config.company_id.id), ("date", "in", [today, lead_day])]
        )
        for care_date in care_dates:
            for channel, day in (("activity", lead_day), ("email", today)):
                if care_date.date == day:
                    self._touch_all(
                        config,
                        f"care:{care_date.id}",
                        day,
                        channel,
                        lambda lang, care_date=care_date: care_date.with_context(lang=lang).name,
                    )

    def _birthday_partners(self, config, day):
        """Commercial entities the company may see (its own and the shared
        ones) born on ``day``'s month and day (``_born_on``): the points
        ledger's birthday points."""
        self.env["res.partner"].flush_model(["birthday", "active", "commercial_partner_id", "company_id"])
        rows = self.env.execute_query(
            SQL("SELECT p.id FROM res_partner p WHERE %s AND %s", self._entities(config), self._born_on(day))
        )
        return self.env["res.partner"].browse([partner_id for (partner_id,) in rows])

    def _entities(self, config):
        """The condition on ``res_partner`` row ``p`` of the active commercial
        entities the company may see: its own and the shared ones."""
        return SQL("p.active AND p.id = p.commercial_partner_id AND %s", company_partner("p", config.company_id))

    def _born_on(self, day):
        """The condition on ``res_partner`` row ``p`` of a birthday on
        ``day``'s month and day (29 February is celebrated on the 28th in
        common years)."""
        days = [day.day]
        if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
            days.append(29)
        return SQL(
            "p.birthday IS NOT NULL AND extract(month FROM p.birthday) = %s AND extract(day FROM p.birthday) = ANY(%s)",
            day.month,
            days,
        )

    def _touch_all(self, config, occasion, day, channel, label, condition=None):
        """Touch, through ``channel``, the customers whose tier cares that
        way (and ``condition``, on ``res_partner`` row ``p``), who were not
        touched for ``occasion`` this year yet, CARE_BATCH at a time, each
        batch committed with its touches' log (``_touch``): a run killed
        between two batches leaves the rest to the next run, which touches
        nobody twice. Returns how many were looked at."""
        partner_ids = self._candidates(config, occasion, day, channel, condition)
        Partner = self.env["res.partner"].with_company(config.company_id)
        cron = self.env["ir.cron"]
        for start in range(0, len(partner_ids), CARE_BATCH):
            batch = Partner.browse(partner_ids[start : start + CARE_BATCH].tolist())
            self._touch(config, batch, occasion, day, channel, label)
            done = min(start + CARE_BATCH, len(partner_ids))
            # Committed progress: a cron killed at its time limit with some
            # work done is run again, and goes on where it stopped.
            cron._notify_progress(done=done, remaining=len(partner_ids) - done)
            # what the batch logged without a touch (nobody to assign it to) commits too
            self.env["customer.tiering.lock"]._commit()
            # the batch's partners, mails and activities leave the cache: memory stays one batch's
            self.env.invalidate_all()
        return len(partner_ids)

    def _candidates(self, config, occasion, day, channel, condition=None):
        """The ids, ascending, of the commercial entities (``_entities``)
        with a tier that cares through ``channel``, reachable that way
        (``_emailable_sql`` for emails), matching ``condition`` and not
        logged for ``occasion`` in ``day``'s year: one query, whose result
        comes back as packed 32-bit integers (``int4send``), 4 bytes a
        customer, not a Python tuple each."""
        for model in ("res.partner", "customer.care.log", "customer.tier", "mail.blacklist"):
            self.env[model].flush_model()
        company = config.company_id
        rows = self.env.execute_query(
            SQL(
                """
                SELECT string_agg(int4send(p.id), ''::bytea)
                  FROM res_partner p
                  JOIN customer_tier tier ON tier.id = %(tier)s
                 WHERE %(entities)s AND tier.care_channel = %(channel)s AND %(reachable)s AND %(condition)s
                   AND NOT EXISTS (SELECT 1 FROM customer_care_log log
                                    WHERE log.partner_id = p.id AND log.company_id = %(company)s
                                      AND log.occasion = %(occasion)s AND log.year = %(year)s)
                """,
                tier=company_value("p", "tier_id", company, "int4"),
                entities=self._entities(config),
                channel=channel,
                reachable=self._emailable_sql("p") if channel == "email" else SQL("TRUE"),
                condition=condition or SQL("TRUE"),
                company=company.id,
                occasion=occasion,
                year=day.year,
            )
        )
        packed = rows[0][0]
        return np.sort(np.frombuffer(packed, dtype=">i4")) if packed else np.array([], dtype=">i4")

    @api.model
    def _emailable(self, partners):
        """The ``partners`` an email may go to: with an address, and not on
        the blacklist (those who opted out of emails). ``_emailable_sql``
        is the same condition in SQL."""
        return partners.filtered(lambda p: p.email and not p.is_blacklisted)

    @api.model
    def _emailable_sql(self, partner):
        """``_emailable`` as a condition on the ``res_partner`` row
        ``partner`` (an alias): ``is_blacklisted`` is the normalised email
        on the active blacklist."""
        return SQL(
            """(COALESCE(%(p)s.email, '') != ''
                AND NOT EXISTS (SELECT 1 FROM mail_blacklist bl
                                 WHERE bl.email = %(p)s.email_normalized AND bl.active))""",
            p=SQL.identifier(partner),
        )

    def _touch(self, config, partners, occasion, day, channel, label):
        """``label(lang)`` names the occasion in a language: emails go out in
        the customer's, activities in the cron user's. The emails are queued
        with their log in one committed transaction; the activities are
        committed with theirs (``_create_logged_activities``)."""
        if channel == "email":
            template = self.env.ref(
                "customer_tiering.mail_template_care_birthday"
                if occasion == "birthday"
                else "customer_tiering.mail_template_care_occasion"
            )
            self.env["customer.tiering.lock"]._run_batch(
                lambda: self._send_logged(
                    config, partners, occasion, day, template, lambda lang: {"care_occasion": label(lang)}
                )
            )
        else:
            occasion_name = label(self.env.lang)
            self._create_care_activities(
                config,
                self.env["customer.followup.job"]._fetch_partners(partners),
                occasion,
                self.env._("%(occasion)s: greet the customer", occasion=occasion_name),
                day,
                self.env._("Care touch for %(occasion)s on %(date)s.", occasion=occasion_name, date=day),
            )

    def _send_logged(self, config, partners, occasion, day, template, context_of=None, occasions=None):
        """Log the email touches of ``partners`` for ``occasion`` and send
        ``template`` to those not logged for it yet, grouped by language
        (``context_of(lang)``: the template's context for them); returns
        them. ``occasions`` ({partner id: (occasion, day)}) gives each
        partner its own key instead, as the customer notifications do (a
        tier change, an expiry day). The care job's greetings, the email
        follow-ups of the service policies and the customer notifications
        go out this way."""
        partners = self._log(config, partners, occasion, day, "email", occasions)
        # The company that cares, not the sending user's main company.
        template = template.with_context(care_company=config.company_id)
        for lang, group in partners.grouped("lang").items():
            template.with_context(**(context_of(lang) if context_of else {})).send_mail_batch(group.ids)
        return partners

    def _log(self, config, partners, occasion, day, channel, occasions=None):
        """Log the touches (each partner's of ``occasions`` if given); returns
        the partners not touched for it yet."""
        entries = [
            (partner_id, *(occasions[partner_id] if occasions else (occasion, day))) for partner_id in partners.ids
        ]
        logged = self._log_entries(config, entries, channel)
        return partners.filtered(lambda partner: partner.id in logged)

    def _log_entries(self, config, entries, channel):
        """Log (partner id, occasion, day) touches in one statement; returns
        the ids of the partners whose touch was not logged yet."""
        if not entries:
            return set()
        partner_ids, occasions, days = zip(*entries, strict=True)
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO customer_care_log (partner_id, company_id, occasion, year, channel, date,
                                               create_uid, create_date, write_uid, write_date)
                SELECT e.partner_id, %(company)s, e.occasion, extract(year FROM e.day)::int, %(channel)s, e.day,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(partners)s::int[], %(occasions)s::varchar[], %(days)s::date[])
                       AS e(partner_id, occasion, day)
                    ON CONFLICT (partner_id, company_id, occasion, year) DO NOTHING
             RETURNING partner_id
                """,
                company=config.company_id.id,
                channel=channel,
                partners=list(partner_ids),
                occasions=list(occasions),
                days=list(days),
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        return {partner_id for (partner_id,) in rows}

    def _create_care_activities(self, config, partners, occasion, summary, deadline, note):
        followup = self.env["customer.followup.job"]
        note = Markup("<p>%s</p>") % escape(note)
        # looked up once: each lookup checks the record exists, a query per activity
        todo = self.env.ref("mail.mail_activity_data_todo")
        self._create_logged_activities(
            config,
            [
                followup._partner_activity(partner, user, summary, note, deadline, activity_type=todo)
                for partner in partners
                if (user := followup._responsible(partner))
            ],
            {partner.id: (occasion, deadline) for partner in partners},
        )

    def _create_logged_activities(self, config, values, occasions):
        """Create the activities of ``values``, each batch with its touches'
        log (``occasions``: {partner id: (occasion, day)}), in one committed
        transaction: a run killed between two batches leaves no customer
        logged who did not get the activity, and the next run creates those.
        A customer logged already (by a concurrent run) gets none. The
        customers nobody can be assigned to get no activity: they are logged
        at once, so that the next nights do not look at them again."""
        with_activity = {vals["res_id"] for vals in values}
        self._log_entries(
            config,
            [(partner_id, *occasion) for partner_id, occasion in occasions.items() if partner_id not in with_activity],
            "activity",
        )

        def keep(batch):
            entries = [(vals["res_id"], *occasions[vals["res_id"]]) for vals in batch]
            logged = self._log_entries(config, entries, "activity")
            return [vals for vals in batch if vals["res_id"] in logged]

        self.env["customer.followup.job"]._create_activities(values, keep)

    # ------------------------------------------------------------ dormancy
    def _dormancy_warnings(self, config, today):
        """Warn the salesperson when a customer's next purchase is overdue
        enough that it will soon count as sleeping: once per purchase."""
        followup = self.env["customer.followup.job"]
        rows = self._about_to_sleep(config, today)
        partners = followup._fetch_partners(
            self.env["res.partner"].with_company(config.company_id).browse([row[0] for row in rows])
        )
        values = []
        todo = self.env.ref("mail.mail_activity_data_todo")  # once, see _create_care_activities
        for partner, (_id, last_purchase, asleep_on) in zip(partners, rows, strict=True):
            if user := followup._responsible(partner):
                summary = self.env._("About to fall asleep: no purchase since %(date)s", date=last_purchase)
                note = self.env._(
                    "At its usual rhythm %(partner)s should have bought again; it counts as sleeping from %(date)s.",
                    partner=partner.name,
                    date=asleep_on,
                )
                values.append(
                    followup._partner_activity(
                        partner, user, summary, Markup("<p>%s</p>") % escape(note), asleep_on, activity_type=todo
                    )
                )
        self._create_logged_activities(
            config, values, {partner_id: (f"dormancy:{last}", last) for partner_id, last, _day in rows}
        )

    def _about_to_sleep(self, config, today):
        """(entity, last purchase, day it falls asleep) for active customers
        inside their tier's warning window and not warned yet: an index range
        over the dormancy dates the tiering job stored, not a pass over every
        customer."""
        self.env["res.partner"].flush_model()
        self.env["customer.care.log"].flush_model()
        self.env["customer.tiering.schedule"].flush_model()
        return self.env.execute_query(self._about_to_sleep_query(config, today))

    def _about_to_sleep_query(self, config, today):
        """The days read are those up to the longest warning of the company's
        tiers; the customers already warned of their last purchase are left
        out here, the log's unique key still guards against a concurrent run."""
        company = config.company_id
        tiers = self.env["customer.tier"].with_context(active_test=False).search([("company_id", "=", company.id)])
        longest = max([DEFAULT_WARNING_DAYS, *tiers.mapped("dormancy_warning_days")])
        return SQL(
            """
            SELECT p.id, (%(last)s)::date, s.dormancy_date
              FROM customer_tiering_schedule s
              JOIN res_partner p ON p.id = s.partner_id
              LEFT JOIN customer_tier tier ON tier.id = %(tier)s
             WHERE s.company_id = %(company)s AND s.dormancy_date > %(today)s AND s.dormancy_date <= %(horizon)s
               AND p.active AND p.id = p.commercial_partner_id
               AND %(stage)s IN %(stages)s
               AND s.dormancy_date - COALESCE(tier.dormancy_warning_days, %(default_days)s) <= %(today)s
               AND NOT EXISTS (
                       SELECT 1 FROM customer_care_log log
                        WHERE log.partner_id = p.id AND log.company_id = %(company)s
                          AND log.occasion = 'dormancy:' || (%(last)s)
                          AND log.year = extract(year FROM (%(last)s)::date))
             ORDER BY p.id
            """,
            last=company_value("p", "last_purchase_date", company),
            tier=company_value("p", "tier_id", company, "int4"),
            stage=company_value("p", "lifecycle_stage", company),
            today=today,
            horizon=today + timedelta(days=longest),
            default_days=DEFAULT_WARNING_DAYS,
            stages=ACTIVE_STAGES,
            company=company.id,
        )


def _is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
