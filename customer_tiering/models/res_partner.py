from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL, create_index

from .. import automation
from ..engine import lifecycle, tiering
from ..sql import indexed_company_value
from .customer_lifecycle_history import STAGES

MANAGER_GROUP = "customer_tiering.group_customer_tiering_manager"

#: Values held per company on the commercial entity and mirrored on its contacts.
TIERING_FIELDS = [
    "tier_locked",
    "tier_lock_reason",
    "tier_lock_until",
    *tiering.TIER_COLUMNS,
    *tiering.METRIC_COLUMNS,
    "rfm_segment_id",
    "lifecycle_stage",
    "lifecycle_stage_since",
    "p_alive",
    "churn_risk",
    "churn_risk_level",
    "expected_purchases_90d",
    "clv_predicted",
    "value_at_risk",
]
RISK_LEVELS = [("low", "Low"), ("medium", "Medium"), ("high", "High")]
#: The lifecycle stages of each buying status (Customers at Risk: buying; Win-back: lapsed).
BUYING_STATUS_STAGES = {"buying": lifecycle.BUYING_STAGES, "lapsed": lifecycle.LAPSED_STAGES}
LOCK_FIELDS = {"tier_locked", "tier_lock_until"}
#: Only tiering managers may write these (the job writes with raw SQL).
PROTECTED_FIELDS = set(TIERING_FIELDS)
#: Portal and public users read none of the add-on's fields, not even on their own partner.
INTERNAL = "base.group_user"
#: What the customer lists filter and group by, indexed per company.
INDEXED_FIELDS = ("tier_id", "lifecycle_stage", "churn_risk_level")
#: What those lists also filter on: the indexes cover them, for index-only scans.
COVERED_COLUMNS = ("tier_id", "active", "partner_share", "company_id", "is_company", "parent_id")
#: The follow-up job reads the distinct salespeople from it, not from every partner.
SALESPERSON_INDEX = "res_partner_salesperson_index"
#: res_partner's storage parameters while the add-on is installed. The
#: nightly run rewrites a few percent of the partners, which clears their
#: pages' visibility bits: until a vacuum, the lists' index-only scans read
#: the table too, many times slower (docs/design.md). So
#: vacuum once 1% of the rows changed, not after PostgreSQL's default 20%.
#: And leave a tenth of each page free (from the next write of its rows on):
#: a rewritten partner whose indexed values did not change then stays on its
#: page, a heap-only update that touches none of its thirty-odd indexes.
STORAGE_OPTIONS = {"autovacuum_vacuum_scale_factor": 0.01, "autovacuum_analyze_scale_factor": 0.01, "fillfactor": 90}


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Company-dependent: a customer shared by two companies has a tier in each.
    # No index on the jsonb columns: a btree over whole per-company dicts serves
    # no query. _create_tiering_indexes indexes each company's value instead.
    tier_id = fields.Many2one(
        "customer.tier", company_dependent=True, tracking=True, copy=False, index=False, groups=INTERNAL
    )
    tier_color = fields.Integer(related="tier_id.color", groups=INTERNAL)
    tier_locked = fields.Boolean(
        company_dependent=True,
        tracking=True,
        index=False,
        help="A locked tier is never changed by the nightly job until the lock ends.",
        groups=INTERNAL,
    )
    tier_lock_reason = fields.Char(string="Lock Reason", company_dependent=True, index=False, groups=INTERNAL)
    tier_lock_until = fields.Date(
        string="Locked Until",
        company_dependent=True,
        index=False,
        help="The lock ends after this date; empty means until unlocked by hand.",
        groups=INTERNAL,
    )
    tier_since = fields.Date(readonly=True, company_dependent=True, index=False, groups=INTERNAL)
    tier_demotion_since = fields.Date(
        readonly=True,
        string="Demotion Pending Since",
        company_dependent=True,
        index=False,
        help="First day the customer qualified for a lower tier, during the demotion grace period.",
        groups=INTERNAL,
    )
    purchase_count = fields.Integer(
        readonly=True,
        string="Purchases",
        company_dependent=True,
        index=False,
        help="Lifetime posted customer invoices.",
        groups=INTERNAL,
    )
    first_purchase_date = fields.Date(
        readonly=True, string="First Purchase", company_dependent=True, index=False, groups=INTERNAL
    )
    last_purchase_date = fields.Date(
        readonly=True, string="Last Purchase", company_dependent=True, index=False, groups=INTERNAL
    )
    revenue_total = fields.Float(
        readonly=True,
        string="Lifetime Revenue",
        company_dependent=True,
        index=False,
        digits="Account",
        help="Net untaxed invoiced revenue in company currency, credit notes deducted.",
        groups=INTERNAL,
    )
    revenue_window = fields.Float(
        readonly=True,
        string="Recent Revenue",
        company_dependent=True,
        index=False,
        digits="Account",
        help="Net untaxed revenue over the last months set as the revenue window in the tiering settings "
        "(12 by default).",
        groups=INTERNAL,
    )
    avg_order_value = fields.Float(
        string="Average Invoice", digits="Account", compute="_compute_avg_order_value", groups=INTERNAL
    )
    rfm_recency_days = fields.Integer(
        string="Days Since Last Purchase",
        compute="_compute_rfm_recency_days",
        groups=INTERNAL,
    )
    rfm_r = fields.Integer(
        readonly=True,
        string="Recency Score",
        company_dependent=True,
        index=False,
        aggregator="avg",
        groups=INTERNAL,
    )
    rfm_f = fields.Integer(
        readonly=True,
        string="Frequency Score",
        company_dependent=True,
        index=False,
        aggregator="avg",
        groups=INTERNAL,
    )
    rfm_m = fields.Integer(
        readonly=True,
        string="Monetary Score",
        company_dependent=True,
        index=False,
        aggregator="avg",
        groups=INTERNAL,
    )
    # Placed by the nightly job from the R, F and M scores, like the tier.
    rfm_segment_id = fields.Many2one(
        "customer.rfm.segment",
        string="RFM Segment",
        company_dependent=True,
        readonly=True,
        copy=False,
        index=False,
        groups=INTERNAL,
    )
    rfm_segment_playbook = fields.Html(related="rfm_segment_id.playbook", string="Playbook", groups=INTERNAL)
    lifecycle_stage = fields.Selection(
        STAGES, company_dependent=True, tracking=True, readonly=True, index=False, groups=INTERNAL
    )
    lifecycle_stage_since = fields.Date(
        company_dependent=True, tracking=True, readonly=True, index=False, groups=INTERNAL
    )
    p_alive = fields.Float(
        string="Still Buying (probability)",
        company_dependent=True,
        readonly=True,
        index=False,
        aggregator="avg",
        help="How likely the customer still buys from you rather than having silently left, "
        "from the company's fitted model.",
        groups=INTERNAL,
    )
    churn_risk = fields.Float(
        company_dependent=True,
        readonly=True,
        index=False,
        aggregator="avg",
        help="Probability of no purchase within the churn horizon of the settings.",
        groups=INTERNAL,
    )
    churn_risk_level = fields.Selection(
        RISK_LEVELS, company_dependent=True, readonly=True, index=False, groups=INTERNAL
    )
    expected_purchases_90d = fields.Float(
        string="Expected Purchases (90 days)",
        company_dependent=True,
        readonly=True,
        index=False,
        aggregator="sum",
        help="Expected purchase days in the next 90 days.",
        groups=INTERNAL,
    )
    clv_predicted = fields.Float(
        string="Predicted CLV",
        company_dependent=True,
        readonly=True,
        index=False,
        digits="Account",
        help="Expected net revenue over the CLV horizon of the settings, discounted.",
        groups=INTERNAL,
    )
    clv_historic = fields.Float(
        string="Historic CLV",
        related="revenue_total",
        help="Net revenue so far: the lifetime revenue.",
        groups=INTERNAL,
    )
    value_at_risk = fields.Float(
        string="Revenue at Risk",
        company_dependent=True,
        readonly=True,
        index=False,
        digits="Account",
        help="The revenue expected from the customer that would be lost if they stop buying "
        "(predicted CLV times churn risk): who to call first.",
        groups=INTERNAL,
    )
    # What to do about a customer, from the stage and risk vocabularies of the
    # engine: Customers at Risk lists those still buying, Win-back the lapsed.
    buying_status = fields.Selection(
        [("buying", "Still buying"), ("lapsed", "Stopped buying")],
        compute="_compute_buying_status",
        search="_search_buying_status",
        help="Still buying: new, active, loyal or reactivated. Stopped buying: sleeping or churned.",
        groups=INTERNAL,
    )
    suggested_action = fields.Char(
        compute="_compute_suggested_action",
        help="What to do next, from the customer's stage, its risk level against its own buying rhythm "
        "and the days since its last purchase.",
        groups=INTERNAL,
    )
    # Kept in customer.tiering.schedule, whose rows move without rewriting the partner's.
    dormancy_date = fields.Date(
        string="Due to Sleep On",
        compute="_compute_tiering_schedule",
        help="The day from which the next purchase is overdue by the dormancy share of the settings, at the "
        "customer's usual interval between purchases: its salesperson is warned the tier's warning days before.",
        groups=INTERNAL,
    )
    tiering_review_date = fields.Date(
        string="Next Review",
        compute="_compute_tiering_schedule",
        help="The next day on which time alone can change the customer's tier, stage or risk: the nightly run "
        "recomputes it then, and otherwise only when its invoices or orders change.",
        groups=INTERNAL,
    )
    tiering_date = fields.Datetime(
        string="Tiering Computed On",
        compute="_compute_tiering_date",
        help="When the tiering job last computed the values of this company's customers.",
        groups=INTERNAL,
    )
    birthday = fields.Date(
        # the nightly care job reads the few partners who have one, not every partner
        index="btree_not_null",
        help="For birthday wishes (生日祝福): the year is not needed but a date is.",
        groups=INTERNAL,
    )
    tier_card_id = fields.Many2one(
        "loyalty.card",
        string="Points Card",
        compute="_compute_loyalty_points",
        help="The card of the commercial entity in this company's points program.",
        groups=INTERNAL,
    )
    loyalty_points = fields.Float(
        compute="_compute_loyalty_points",
        digits=(16, 2),
        help="Balance of the commercial entity's card in this company's points program.",
        groups=INTERNAL,
    )
    is_tiering_entity = fields.Boolean(
        string="Is Commercial Entity",
        compute="_compute_is_tiering_entity",
        search="_search_is_tiering_entity",
        groups=INTERNAL,
    )

    @api.depends("revenue_total", "purchase_count")
    @api.depends_context("company")
    def _compute_avg_order_value(self):
        for partner in self:
            count = partner.purchase_count
            partner.avg_order_value = partner.revenue_total / count if count else 0.0

    @api.depends("last_purchase_date")
    @api.depends_context("company")
    def _compute_rfm_recency_days(self):
        today = fields.Date.context_today(self)
        for partner in self:
            last = partner.last_purchase_date
            partner.rfm_recency_days = (today - last).days if last else 0

    @api.depends("lifecycle_stage")
    @api.depends_context("company")
    def _compute_buying_status(self):
        status_of = {stage: status for status, stages in BUYING_STATUS_STAGES.items() for stage in stages}
        for partner in self:
            partner.buying_status = status_of.get(partner.lifecycle_stage, False)

    def _search_buying_status(self, operator, value):
        values = [value] if isinstance(value, str) else value
        if operator not in ("=", "in") or not all(item in BUYING_STATUS_STAGES for item in values):
            raise NotImplementedError(self.env._("Unsupported search on the buying status."))
        return [("lifecycle_stage", "in", [stage for item in values for stage in BUYING_STATUS_STAGES[item]])]

    @api.depends("lifecycle_stage", "churn_risk_level", "last_purchase_date")
    @api.depends_context("company")
    def _compute_suggested_action(self):
        for partner in self:
            days = partner.rfm_recency_days
            if partner.lifecycle_stage in lifecycle.LAPSED_STAGES:
                action = self.env._("Win back: no purchase for %(days)s days; call and ask what changed", days=days)
            elif partner.lifecycle_stage not in lifecycle.BUYING_STAGES:
                action = False
            elif partner.churn_risk_level == lifecycle.HIGH:
                action = self.env._("Call now: the next order is long overdue (%(days)s days)", days=days)
            elif partner.churn_risk_level == lifecycle.MEDIUM:
                action = self.env._("Check in: the next order is late (%(days)s days)", days=days)
            else:
                action = self.env._("Keep the usual rhythm")
            partner.suggested_action = action

    @api.depends("commercial_partner_id")
    @api.depends_context("company")
    def _compute_tiering_schedule(self):
        schedules = (
            self.env["customer.tiering.schedule"]
            .sudo()
            .search([("partner_id", "in", self.commercial_partner_id.ids), ("company_id", "=", self.env.company.id)])
        )
        schedule_of = {schedule.partner_id: schedule for schedule in schedules}
        for partner in self:
            schedule = schedule_of.get(partner.commercial_partner_id, schedules.browse())
            partner.tiering_review_date = schedule.review_date
            partner.dormancy_date = schedule.dormancy_date

    @api.depends_context("company")
    def _compute_tiering_date(self):
        config = self.env["customer.tiering.config"].sudo().search([("company_id", "=", self.env.company.id)])
        for partner in self:
            partner.tiering_date = config.last_run if partner.tier_id or partner.purchase_count else False

    @api.depends("commercial_partner_id")
    @api.depends_context("company")
    def _compute_loyalty_points(self):
        config = self.env["customer.tiering.config"].sudo().search([("company_id", "=", self.env.company.id)])
        cards = self.env["loyalty.card"].sudo()
        if config.loyalty_program_id:
            cards = cards.search(
                [
                    ("program_id", "=", config.loyalty_program_id.id),
                    ("is_tier_card", "=", True),
                    ("partner_id", "in", self.commercial_partner_id.ids),
                ]
            )
        card_of = {card.partner_id: card for card in cards}
        for partner in self:
            card = card_of.get(partner.commercial_partner_id, cards.browse())
            partner.tier_card_id = card.sudo(False)
            partner.loyalty_points = card.points

    @api.depends("is_company", "parent_id")
    def _compute_is_tiering_entity(self):
        for partner in self:
            partner.is_tiering_entity = partner.is_company or not partner.parent_id

    def _search_is_tiering_entity(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(self.env._("Unsupported search on commercial entity."))
        entity = ["|", ("is_company", "=", True), ("parent_id", "=", False)]
        return entity if (operator == "=") == value else ["&", ("is_company", "=", False), ("parent_id", "!=", False)]

    def init(self):
        options = SQL(", ").join(SQL("%s = %s", SQL.identifier(name), value) for name, value in STORAGE_OPTIONS.items())
        self.env.cr.execute(SQL("ALTER TABLE res_partner SET (%s)", options))
        create_index(self.env.cr, SALESPERSON_INDEX, self._table, ["user_id"], where="user_id IS NOT NULL")
        return super().init()

    @api.model
    def _reset_storage(self):
        """PostgreSQL's own storage settings back when the add-on goes."""
        options = SQL(", ").join(SQL.identifier(name) for name in STORAGE_OPTIONS)
        self.env.cr.execute(SQL("ALTER TABLE res_partner RESET (%s)", options))

    # ------------------------------------------------------------ sync & guard

    @api.model
    def _create_tiering_indexes(self, companies):
        """Per company and INDEXED_FIELDS field, an index on the expression
        Odoo's domains use for the company's value, covering what the
        customer lists filter on: a million-partner list is filtered on it
        and grouped by an index-only scan (with ``_read_group``). Stage and
        risk get a second one over tiered customers, the add-on's Customers
        list, whose tier filter the first would evaluate on every row."""
        for company in companies:
            tiered = SQL("%s IS NOT NULL", self._company_value_sql("tier_id", company))
            for fname in INDEXED_FIELDS:
                self._create_company_index(f"res_partner_{fname}_company_{company.id}_index", fname, company)
                if fname != "tier_id":
                    name = f"res_partner_{fname}_tiered_company_{company.id}_index"
                    self._create_company_index(name, fname, company, SQL("WHERE %s", tiered))

    def _create_company_index(self, name, fname, company, where=None):
        columns = [SQL.identifier(column) for column in dict.fromkeys((fname, *COVERED_COLUMNS))]
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON res_partner ((%s)) INCLUDE (%s) %s",
                SQL.identifier(name),
                self._company_value_sql(fname, company),
                SQL(", ").join(columns),
                where or SQL(),
            )
        )

    def _company_value_sql(self, fname, company, alias=None):
        """``company``'s value of a company-dependent field in the expression
        of the per-company indexes (see ``sql.indexed_company_value``), typed
        as Odoo types it: for the indexes, and for the queries that must
        match them. ``alias`` qualifies the column, for queries that join
        tables."""
        cast = {"many2one": "int4", "boolean": "bool"}.get(self._fields[fname].type)
        return indexed_company_value(alias, fname, company, cast)

    def _read_group(self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None):
        """Grouped by tier alone, the tiers are ordered here rather than by
        joining every partner to its tier in SQL: the grouping then runs on
        the covering index alone."""
        direction = (order or "tier_id").removeprefix("tier_id").strip().upper()
        if tuple(groupby) != ("tier_id",) or direction not in ("", "ASC", "DESC"):
            return super()._read_group(domain, groupby, aggregates, having, offset, limit, order)
        rows = super()._read_group(domain, groupby, aggregates, having)
        tiers = self.env["customer.tier"].sudo().with_context(active_test=False).union(*(row[0] for row in rows))
        ranks = {tier: rank for rank, tier in enumerate(tiers.sorted())}
        rows.sort(key=lambda row: (not row[0], ranks.get(row[0], 0)), reverse=direction == "DESC")
        return rows[offset : offset + limit if limit else None]

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + TIERING_FIELDS

    def _commercial_sync_from_company(self):
        # Tiering values follow the entity whoever re-parents a contact, even a
        # user who may not write them directly.
        return super(ResPartner, self.sudo())._commercial_sync_from_company()

    def _check_tiering_write(self, vals):
        if PROTECTED_FIELDS & vals.keys() and not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(self.env._("Only Customer Tiering managers can change tiers and tier locks."))

    def _check_tier_company(self, vals):
        """A tier or RFM segment written for the current company is one of its own."""
        for fname in ("tier_id", "rfm_segment_id"):
            if not vals.get(fname):
                continue
            record = self.env[self._fields[fname].comodel_name].sudo().browse(vals[fname])
            if record.company_id != self.env.company:
                raise ValidationError(
                    self.env._(
                        "%(value)s belongs to %(value_company)s: a customer's %(field)s in %(company)s must be one "
                        "of %(company)s's own.",
                        value=record.display_name,
                        value_company=record.company_id.name,
                        field=self._fields[fname]._description_string(self.env),
                        company=self.env.company.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_tiering_write(vals)
            self._check_tier_company(vals)
        return super().create(vals_list)

    def write(self, vals):
        if self.env.context.get("customer_tiering_merge"):
            # A merge copies the merged partners' values: the tiering ones are the next run's to compute.
            vals = {field: value for field, value in vals.items() if field not in PROTECTED_FIELDS}
        self._check_tiering_write(vals)
        self._check_tier_company(vals)
        if LOCK_FIELDS & vals.keys():
            # A lock set, moved or lifted is looked at by the next run, even an incremental one.
            today = fields.Date.context_today(self)
            self.env["customer.tiering.schedule"]._review_on(self.ids, self.env.company, today)
        if "tier_id" not in vals:
            return super().write(vals)
        moved = self.filtered(lambda p: p.is_tiering_entity and p.tier_id.id != (vals["tier_id"] or False))
        old_tiers = [partner.tier_id.id for partner in moved]
        result = super().write(vals)
        if moved:
            since = fields.Date.context_today(self) if vals["tier_id"] else False
            super(ResPartner, moved).write({"tier_since": since})
            self.env["customer.tier.history"].sudo().create(
                [
                    {
                        "partner_id": partner.id,
                        "company_id": self.env.company.id,
                        "old_tier_id": old_tier,
                        "new_tier_id": vals["tier_id"],
                        "reason": self.env.context.get("tier_history_reason", "manual"),
                    }
                    for partner, old_tier in zip(moved, old_tiers, strict=True)
                ]
            )
        return result

    def _keep_lock(self, lock):
        """Give this customer ``lock`` (its tier and lock values) in the
        current company, unless it holds it already; a merge's lock is
        written with its history row (``tier_history_reason``)."""
        self.ensure_one()
        if all(_same(self[field], value) for field, value in lock.items()):
            return
        moved = self.tier_id.id != lock["tier_id"]
        self.write(lock)
        if not moved:
            # The tier stays: the row still tells where the lock came from.
            self.env["customer.tier.history"].sudo().create(
                {
                    "partner_id": self.id,
                    "company_id": self.env.company.id,
                    "old_tier_id": self.tier_id.id,
                    "new_tier_id": self.tier_id.id,
                    "reason": self.env.context.get("tier_history_reason", "manual"),
                }
            )

    # ---------------------------------------------------------- tier resources

    def _apply_tier_resources(self, mode):
        """Give customers their tier's salesperson and pricelist (``auto``),
        or ask the tier's account manager to (``suggest``)."""
        for tier, partners in self.grouped("tier_id").items():
            values = tier._resource_values()
            if not values:
                continue
            details = tier._resource_summary()
            if mode == "auto":
                partners.write(values)
                body = self.env._("Resources of tier %(tier)s applied: %(details)s", tier=tier.name, details=details)
                partners._message_log_batch(bodies=dict.fromkeys(partners.ids, body))
            elif mode == "suggest":
                partners._suggest_tier_resources(tier, details)

    def _suggest_tier_resources(self, tier, details):
        followup = self.env["customer.followup.job"]
        summary = self.env._("Apply the resources of tier %s", tier.name)
        note = self.env._("Suggested for the new tier: %s", details)
        today = fields.Date.context_today(self)
        followup._create_activities(
            [
                followup._partner_activity(partner, user, summary, note, today)
                for partner in self
                if (user := followup._responsible(partner, tier.user_id))
            ]
        )

    def action_apply_tier_resources(self):
        """Apply the current tier's resources now (managers)."""
        self._check_tiering_write({"tier_id": True})
        self.filtered("is_tiering_entity")._apply_tier_resources("auto")
        return True

    # ---------------------------------------------------------------- actions

    # Opening a card or a history from the partner form only reads: served by a
    # read-only replica when Odoo has one (--db_replica_host).
    @api.readonly
    def action_view_points_card(self):
        """The points card and its history lines."""
        self.ensure_one()
        self.env["loyalty.card"].check_access("read")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Points Card"),
            "res_model": "loyalty.card",
            "res_id": self.sudo().tier_card_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    def action_generate_coupons(self):
        """Odoo's coupon generation (the wizard of a coupon program's
        *Generate Coupons*) for these customers, their commercial entities,
        with the program to choose: e.g. the win-back offer for a segment."""
        # What the wizard creates: sales managers may, as on the program's own button.
        self.env["loyalty.card"].check_access("create")
        action = self.env["ir.actions.act_window"]._for_xml_id("loyalty.loyalty_generate_wizard_action")
        action["name"] = self.env._("Generate Coupons")
        # The wizard takes its program from active_id: here that would be a customer.
        action["context"] = {
            "active_id": False,
            "active_ids": [],
            "active_model": "loyalty.program",
            "default_mode": "selected",
            "default_customer_ids": [Command.set(self.commercial_partner_id.ids)],
            "tiering_choose_program": True,
        }
        return action

    def action_adjust_points(self):
        self.ensure_one()
        self.env["customer.points.adjustment"].check_access("create")
        action = self.env["ir.actions.act_window"]._for_xml_id("customer_tiering.customer_points_adjustment_action")
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    @api.readonly
    def action_view_tier_history(self):
        self.ensure_one()
        self.env["customer.tier.history"].check_access("read")
        action = self.env["ir.actions.act_window"]._for_xml_id("customer_tiering.customer_tier_history_action")
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        return action

    @api.model
    def _on_tiering_changed(self, changes):
        """Called by the nightly job (``customer.tiering.job``) after each
        committed chunk, in the company of the run, with what the chunk
        changed in SQL: an ``automation.TieringChanges`` (its ``partners``:
        ``{partner_id: {field: (old, new)}}`` for the commercial entities
        whose ``tier_id``, ``lifecycle_stage`` or ``churn_risk_level``
        changed; its ``tier_history_ids`` and ``lifecycle_history_ids``: the
        history rows inserted). Override it to react to these changes.

        The default runs the Automation Rules an ORM write would have run: on
        res.partner with trigger "On update" / "On creation & update" watching
        one of these fields (or none), for the entities whose watched field
        changed, "before update" domain on the old values and "apply on"
        domain on the new ones; on the history models with trigger "On
        creation" / "On creation & update", for the rows inserted. Child
        contacts, which get their entity's values in the same UPDATE, do not
        run rules.

        At most once: the chunk is committed before the call, so a run killed
        between the commit and the call skips the chunk's hook, and the next
        run does not repeat it. An exception rolls back only this call's work:
        the job logs it with the partner ids and goes on."""
        automation.run_rules(self, changes)


def _same(current, value):
    """Whether a partner's field value ``current`` (a record, or a plain value) is ``value`` as written."""
    if isinstance(current, models.BaseModel):
        return current.id == (value or False)
    return (current or False) == (value or False)
