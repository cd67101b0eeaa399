import logging
from collections import defaultdict
from contextlib import nullcontext
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL, format_date, formatLang, split_every

from .customer_tiering_lock import _testing

_logger = logging.getLogger(__name__)
#: Customers notified per committed transaction: each mail is rendered, so a batch is a few seconds of work.
NOTICE_BATCH = 1000
#: How far back the reclassification looks for tier changes it has not notified (a run killed, a cron down).
NOTICE_LOOKBACK_DAYS = 7
#: Days before points expire that the last reminder goes out.
LAST_CHANCE_DAYS = 7
TIER_TEMPLATES = {
    "upgraded": "customer_tiering.mail_template_tier_upgraded",
    "downgraded": "customer_tiering.mail_template_tier_downgraded",
    "welcome": "customer_tiering.mail_template_tier_welcome",
}


class CustomerNotificationJob(models.AbstractModel):
    """What the nightly jobs tell customers by email: their tier changed,
    their points are about to expire; and the coupon of a tier they were
    promoted into. Each is derived from what is stored (the tier history,
    the points ledger) and logged once in the care log under its own key
    (``customer.care.job._send_logged``), with its mails queued in the same
    committed transaction: a run killed halfway or run twice sends each once."""

    _name = "customer.notification.job"
    _description = "Customer Notifications"

    # ------------------------------------------------------------ tier changes
    @api.model
    def _notify_tier_changes(self, config):
        """Email the customers whose tier the nightly job changed and who were
        not told yet: up, down, or a first tier (welcome). Only when the
        company shows tiers to customers, and only for the changes after its
        first completed reclassification (``tier_emails_since``): the mass
        first classification, at install, emails nobody."""
        if not config.show_tier_to_customers or not config.tier_emails_since:
            return
        rows = self._tier_changes(config)
        for batch in split_every(NOTICE_BATCH, rows, list):
            self._notice_batch(lambda batch=batch: self._send_tier_batch(config, batch))

    def _tier_changes(self, config):
        """(history id, entity, day, old tier, new tier, kind) of the changes
        to notify, oldest first: the job's own changes (reason 'computed') of
        the last days to a tier, to customers with an address, not logged yet."""
        self.env["customer.tier.history"].flush_model()
        self.env["customer.care.log"].flush_model()
        self.env["res.partner"].flush_model(["email", "active"])
        return self.env.execute_query(
            SQL(
                """
                SELECT h.id, h.partner_id, h.date::date, h.old_tier_id, h.new_tier_id,
                       CASE WHEN old.id IS NULL THEN 'welcome'
                            WHEN (new.sequence, new.id) < (old.sequence, old.id) THEN 'upgraded'
                            ELSE 'downgraded' END
                  FROM customer_tier_history h
                  JOIN customer_tier new ON new.id = h.new_tier_id
                  LEFT JOIN customer_tier old ON old.id = h.old_tier_id
                  JOIN res_partner p ON p.id = h.partner_id
                 WHERE h.company_id = %(company)s AND h.reason = 'computed'
                   AND h.date > %(since)s AND h.date >= %(lookback)s
                   AND h.old_tier_id IS DISTINCT FROM h.new_tier_id
                   AND p.active AND COALESCE(p.email, '') != ''
                   AND NOT EXISTS (SELECT 1 FROM customer_care_log log
                                    WHERE log.partner_id = h.partner_id AND log.company_id = h.company_id
                                      AND log.occasion = 'tier:' || h.id
                                      AND log.year = extract(year FROM h.date))
                 ORDER BY h.id
                """,
                company=config.company_id.id,
                since=config.tier_emails_since,
                lookback=fields.Datetime.now() - timedelta(days=NOTICE_LOOKBACK_DAYS),
            )
        )

    def _send_tier_batch(self, config, rows):
        """One template per kind of change, each customer told of each of
        its changes under the key ``tier:<history row>``; the tiers named as
        the customer reads them, in their language."""
        Tier = self.env["customer.tier"]
        for kind, template in TIER_TEMPLATES.items():
            for round_rows in _one_per_partner([row for row in rows if row[5] == kind], lambda row: row[1]):
                values = {partner_id: (old_id, new_id) for _id, partner_id, _day, old_id, new_id, _kind in round_rows}
                tier_ids = list({tier_id for pair in values.values() for tier_id in pair if tier_id})

                def context_of(lang, values=values, tier_ids=tier_ids):
                    tiers = {tier.id: tier for tier in Tier.with_context(lang=lang).browse(tier_ids)}
                    return {
                        "tier_notice": {
                            partner_id: {
                                "tier": tiers[new_id].name,
                                "old_tier": tiers[old_id].name if old_id else "",
                                "perks": tiers[new_id].perks or "",
                            }
                            for partner_id, (old_id, new_id) in values.items()
                        }
                    }

                self._send(
                    config,
                    {partner_id: (f"tier:{history_id}", day) for history_id, partner_id, day, *_rest in round_rows},
                    template,
                    context_of,
                )

    # ------------------------------------------------------------ expiring points
    @api.model
    def _notify_expiring_points(self, config, today):
        """Email the customers whose points expire in ``points_expiry_notice_days``
        days, and again (last chance) 7 days before, with how many expire on
        that day. Keyed ``expiring:<day>`` and ``last_chance:<day>``. The
        notice before the last chance only when it comes earlier."""
        notice_days = config.points_expiry_notice_days
        if not notice_days or not config.points_expiry_months or not config.loyalty_program_id:
            return
        notices = [("last_chance", LAST_CHANCE_DAYS, "customer_tiering.mail_template_points_last_chance")]
        if notice_days > LAST_CHANCE_DAYS:
            notices.insert(0, ("expiring", notice_days, "customer_tiering.mail_template_points_expiring"))
        for occasion, days, template in notices:
            expiry_day = today + timedelta(days=days)
            key = f"{occasion}:{expiry_day}"
            expiring = self._points_expiring_on(config, expiry_day, key)
            for batch in split_every(NOTICE_BATCH, list(expiring.items()), dict):
                self._notice_batch(
                    lambda batch=batch, key=key, day=expiry_day, template=template: self._send_expiry_batch(
                        config, batch, key, day, template
                    )
                )

    def _expiry_cutoffs(self, config, expiry_day):
        """(the day before's cutoff, the day's cutoff): on ``expiry_day`` the
        expiry takes the points earned after the first and up to the second
        (``_expire``: the points of days up to today less the expiry months).
        Both are equal on the days a shorter month skips (31 March less one
        month is 28 February, as is 30 March less one month)."""
        months = relativedelta(months=config.points_expiry_months)
        return expiry_day - timedelta(days=1) - months, expiry_day - months

    def _points_expiring_on(self, config, expiry_day, key):
        """{partner id: (points expiring on ``expiry_day``, balance)} of the
        tier cards with points earned on the days that expire then, whose
        customer was not told under ``key`` yet: a range of the ledger's
        date index, not every card."""
        before, cutoff = self._expiry_cutoffs(config, expiry_day)
        if before >= cutoff:
            return {}
        self.env["loyalty.history"].flush_model()
        self.env["loyalty.card"].flush_model()
        self.env["customer.care.log"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT card.id, card.partner_id, card.points
                  FROM loyalty_history h
                  JOIN loyalty_card card ON card.id = h.card_id
                 WHERE COALESCE(h.points_date, h.create_date::date) > %(before)s
                   AND COALESCE(h.points_date, h.create_date::date) <= %(cutoff)s
                   AND h.issued > 0
                   AND card.program_id = %(program)s AND card.is_tier_card AND card.active AND card.points > 0
                   AND card.partner_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM customer_care_log log
                                    WHERE log.partner_id = card.partner_id AND log.company_id = %(company)s
                                      AND log.occasion = %(occasion)s AND log.year = %(year)s)
                """,
                before=before,
                cutoff=cutoff,
                program=config.loyalty_program_id.id,
                company=config.company_id.id,
                occasion=key,
                year=expiry_day.year,
            )
        )
        if not rows:
            return {}
        expiring = self.env["customer.loyalty.ledger"]._points_expiring([row[0] for row in rows], [before, cutoff])
        notices = {}
        for card_id, partner_id, balance in rows:
            points = round(expiring.get((card_id, cutoff), 0.0) - expiring.get((card_id, before), 0.0), 2)
            if points > 0:
                notices[partner_id] = (points, balance)
        return notices

    def _send_expiry_batch(self, config, notices, occasion, expiry_day, template):
        """The points, the day and the balance, written as the customer's language writes them."""

        def context_of(lang):
            env = self.with_context(lang=lang).env
            return {
                "points_notice": {
                    partner_id: {
                        "points": _format_points(env, points),
                        "balance": _format_points(env, balance),
                        "date": format_date(env, expiry_day, lang_code=lang or None),
                    }
                    for partner_id, (points, balance) in notices.items()
                }
            }

        self._send(config, dict.fromkeys(notices, (occasion, expiry_day)), template, context_of)

    # ------------------------------------------------------------ entry coupons
    @api.model
    def _give_entry_coupons(self, config, promotions):
        """A coupon of the new tier's entry program per promotion of
        ``promotions`` ((entity, tier, day, program) rows), created through
        the ORM so that the program's own *At creation* email goes out, to
        the customers emails may go to. Each is logged under the promotion's
        key ``entry:<tier>:<day>`` (channel 'coupon') in the transaction
        that creates it: once per promotion."""
        for batch in split_every(NOTICE_BATCH, promotions, list):
            self._notice_batch(lambda batch=batch: self._give_coupon_batch(config, batch))

    def _give_coupon_batch(self, config, rows):
        Care, Partner = self.env["customer.care.job"], self.env["res.partner"].with_company(config.company_id)
        for round_rows in _one_per_partner(rows, lambda row: row[0]):
            keys = {partner_id: (f"entry:{tier_id}:{day}", day) for partner_id, tier_id, day, _program in round_rows}
            logged = Care._log(config, Partner.browse(list(keys)), None, None, "coupon", keys)
            emailable = Care._emailable(logged)
            programs = {partner_id: program_id for partner_id, _tier, _day, program_id in round_rows}
            Card = self.env["loyalty.card"].with_company(config.company_id)
            for partners, card_model in (
                (emailable, Card),
                (logged - emailable, Card.with_context(loyalty_no_mail=True)),
            ):
                card_model.create([self._coupon_values(programs[partner.id], partner.id) for partner in partners])

    def _coupon_values(self, program_id, partner_id):
        """A coupon as Odoo's coupon generation makes one: enough points for
        the program's cheapest reward (Odoo's wizard grants 1 by default)."""
        program = self.env["loyalty.program"].browse(program_id)
        points = min(program.reward_ids.mapped("required_points"), default=1.0) or 1.0
        return {"program_id": program_id, "partner_id": partner_id, "points": points}

    # ------------------------------------------------------------ sending
    def _send(self, config, occasions, template_xmlid, context_of):
        """Send ``template_xmlid`` to the partners of ``occasions`` ({partner
        id: (occasion, day)}) emails may go to, each logged under its key."""
        partners = self.env["res.partner"].with_company(config.company_id).browse(list(occasions))
        partners = self.env["customer.care.job"]._emailable(partners.exists())
        if partners:
            self.env["customer.care.job"]._send_logged(
                config, partners, None, None, self.env.ref(template_xmlid), context_of, occasions
            )

    def _notice_batch(self, send):
        """Run ``send`` in its own committed transaction
        (``customer.tiering.lock._run_batch``), after committing what the
        job did before. A batch that fails (a template that does not
        render) is rolled back, logged and left for the next run: a mail
        never fails the job that sends it."""
        Lock = self.env["customer.tiering.lock"]
        # What the job wrote before stays, whatever becomes of the mails.
        Lock._commit()
        testing = _testing()
        try:
            # A test cannot roll its transaction back: a savepoint stands in.
            with self.env.cr.savepoint() if testing else nullcontext():
                Lock._run_batch(send)
        except Exception:  # noqa: BLE001 - a customer mail must not stop the nightly job
            _logger.exception("Customer tiering: customer notifications not sent, left for the next run")
            if not testing:
                self.env.cr.rollback()
            self.env.invalidate_all()


def _one_per_partner(rows, partner_of):
    """Split ``rows`` into rounds with each partner (``partner_of(row)``) at
    most once: a log insert and a mail batch take one key per partner."""
    rounds = defaultdict(list)
    seen = defaultdict(int)
    for row in rows:
        partner_id = partner_of(row)
        rounds[seen[partner_id]].append(row)
        seen[partner_id] += 1
    return [rounds[index] for index in sorted(rounds)]


def _format_points(env, points):
    """Points as the customer's language writes numbers, whole when they are."""
    return formatLang(env, points, digits=0 if float(points).is_integer() else 2)
