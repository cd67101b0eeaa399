import logging
from uuid import uuid4

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)
#: Queued communications sent per transaction: each is rendered, so a chunk is a few seconds of work.
SEND_CHUNK = 500


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"

    is_tier_card = fields.Boolean(
        string="Tier Points Card",
        readonly=True,
        copy=False,
        help="The card on which a customer earns points from invoices, one per customer and program.",
    )

    def init(self):
        # One tier card per customer and program, even under concurrent runs;
        # the tier cards written since the last points run, for the expiry.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS loyalty_card_tier_partner_uniq
                ON loyalty_card (program_id, partner_id) WHERE is_tier_card;
            CREATE INDEX IF NOT EXISTS loyalty_card_tier_write_date_idx
                ON loyalty_card (write_date) WHERE is_tier_card;
            """
        )
        return super().init()

    # ------------------------------------------------------------ bulk writers
    @api.model
    def _bulk_create_tier_cards(self, program, partner_ids):
        """Create the tier cards of ``partner_ids`` in ``program`` in one
        statement: {partner id: card id} of the cards it created. A card a
        concurrent transaction created first (the unique index on program and
        partner) is skipped, not duplicated; the caller looks it up.

        Of ``loyalty.card.create`` it honours: the stored columns as the ORM
        writes them (the program, its company in ``company_id``, the partner,
        no points, active, no expiry, the creating user and time) and the
        program's *At creation* communications, queued with the cards
        (``_queue_tier_communications``) and sent after the commit.

        It skips, deliberately: Odoo's code (``_generate_code``, 32 random
        bits: a collision is likely from about a hundred thousand cards) for
        one of 80 bits, which no rule's typed code can equal, so the
        constraint against rule codes is not checked; and the chatter of a
        card created through the ORM (its "created" note and its creator as
        follower), a message per customer that nobody reads, the balance's
        history being the card's own ledger."""
        if not partner_ids:
            return {}
        self.flush_model()
        queue = self._queue_creation_sql(program)
        created = self.env.execute_query(
            SQL(
                """
                WITH created AS (
                    INSERT INTO loyalty_card (program_id, company_id, partner_id, code, points, active,
                                              is_tier_card, create_uid, create_date, write_uid, write_date)
                    SELECT %(program)s, %(company)s, t.partner_id, t.code, 0, TRUE, TRUE,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(partners)s::int[], %(codes)s::varchar[]) AS t(partner_id, code)
                        ON CONFLICT (program_id, partner_id) WHERE is_tier_card DO NOTHING
                 RETURNING partner_id, id
                )%(queue)s
                SELECT partner_id, id FROM created
                """,
                program=program.id,
                company=program.company_id.id,
                partners=list(partner_ids),
                codes=[_card_code() for _partner in partner_ids],
                uid=self.env.uid,
                now=self.env.cr.now(),
                queue=queue,
            )
        )
        if queue and created:
            self._trigger_tier_communications()
        if created:
            # The partners' card and balance are computed from the cards, which the ORM did not see created.
            self.env["res.partner"].invalidate_model(["tier_card_id", "loyalty_points"])
        return dict(created)

    def _queue_creation_sql(self, program):
        """The statement's step queuing the *At creation* communication of
        the cards it created, when ``program`` has one and the context allows
        mails (Odoo's ``loyalty_no_mail`` and ``action_no_send_mail``)."""
        if self.env.context.get("action_no_send_mail") or program.id not in self._tier_communication_programs("create"):
            return SQL()
        return SQL(
            """, queued AS (
                INSERT INTO customer_loyalty_communication (card_id, company_id, trigger)
                SELECT id, %s, 'create' FROM created
            )""",
            program.company_id.id,
        )

    @api.model
    def _tier_communication_programs(self, trigger):
        """The ids of the programs with an active communication of ``trigger``,
        or none under ``loyalty_no_mail``: one small query, and a program
        without communications costs nothing more."""
        if self.env.context.get("loyalty_no_mail"):
            return []
        self.env["loyalty.mail"].flush_model()
        return self.env.execute_query(
            SQL(
                "SELECT COALESCE(array_agg(DISTINCT program_id), '{}') FROM loyalty_mail WHERE active AND trigger = %s",
                trigger,
            )
        )[0][0]

    @api.model
    def _queue_points_reach_sql(self, moved):
        """The step of a balance move statement queuing *When reaching*
        communications: for each card of ``moved`` (a step returning ``id``,
        ``program_id``, ``company_id``, ``before`` and ``after``) whose
        balance went up across one of its program's milestones, as Odoo's
        ``write`` decides (before < points <= after). None when no program
        has such a communication, or under ``loyalty_no_mail``."""
        programs = self._tier_communication_programs("points_reach")
        if not programs:
            return SQL()
        return SQL(
            """, queued AS (
                INSERT INTO customer_loyalty_communication (card_id, company_id, trigger, points_before, points_after)
                SELECT m.id, m.company_id, 'points_reach', m.before, m.after
                  FROM %(moved)s m
                 WHERE m.program_id = ANY(%(programs)s) AND m.before < m.after
                   AND EXISTS (SELECT 1 FROM loyalty_mail c
                                WHERE c.program_id = m.program_id AND c.active AND c.trigger = 'points_reach'
                                  AND m.before < c.points AND c.points <= m.after)
             RETURNING 1
            )""",
            moved=SQL.identifier(moved),
            programs=programs,
        )

    # ------------------------------------------------------------ communications
    @api.model
    def _trigger_tier_communications(self):
        """Have the communications just queued sent soon after this
        transaction commits, by their own cron: an invoice posted by hand
        sends its card's communications without waiting for the night."""
        cron = self.env.ref("customer_tiering.ir_cron_loyalty_communications", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _send_queued_tier_communications(self, company=None, limit=SEND_CHUNK):
        """Send up to ``limit`` queued communications (of ``company``'s cards,
        or of all), through Odoo's own ``_send_creation_communication`` and
        ``_send_points_reach_communication``: the same templates, values,
        layout and checks (a card without partner gets nothing), queued as
        ``mail.mail`` (never sent in the transaction). Odoo's loyalty mails
        do not check the blacklist: neither does this. The rows sent are
        deleted in the same transaction as the mails are queued, and rows
        another transaction is sending are skipped: each is sent once.
        Returns how many rows were taken."""
        self.env["customer.loyalty.communication"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id, card_id, trigger, points_before, points_after
                  FROM customer_loyalty_communication
                 WHERE %(company)s
                 ORDER BY id
                 LIMIT %(limit)s
                   FOR UPDATE SKIP LOCKED
                """,
                company=SQL("company_id = %s", company.id) if company else SQL("TRUE"),
                limit=limit,
            )
        )
        if not rows:
            return 0
        Card = self.sudo().with_context(loyalty_no_mail=False, action_no_send_mail=False)
        created = [card_id for _id, card_id, trigger, _before, _after in rows if trigger == "create"]
        Card.browse(created).exists()._send_creation_communication(force_send=False)
        # Odoo's method takes one move per card: a card that reached
        # milestones in several moves gets one call per move.
        moves = [(card_id, before, after) for _id, card_id, trigger, before, after in rows if trigger != "create"]
        while moves:
            this_round, moves = _one_per_card(moves)
            changes = {card_id: {"old": before, "new": after} for card_id, before, after in this_round}
            cards = Card.browse(list(changes)).exists()
            if cards:
                cards._send_points_reach_communication({card: changes[card.id] for card in cards})
        self.env.cr.execute(
            SQL("DELETE FROM customer_loyalty_communication WHERE id = ANY(%s)", [row[0] for row in rows])
        )
        return len(rows)


def _one_per_card(moves):
    """(the first move of each card, the moves left), in order."""
    seen, first, rest = set(), [], []
    for move in moves:
        (rest if move[0] in seen else first).append(move)
        seen.add(move[0])
    return first, rest


def _card_code():
    # Odoo's own codes carry 32 random bits: a collision is likely from about
    # 100,000 cards, so tier cards take 80.
    return f"044{uuid4().hex[:20]}"
