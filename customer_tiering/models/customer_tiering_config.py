from ast import literal_eval

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..bounds import CONFIG_BOUNDS, check_bounds
from ..engine.btyd import ChurnSettings, Prediction
from ..engine.lifecycle import StageSettings
from ..engine.tiering import Reference, TieringSettings
from .customer_churn_model import METHODS as FIT_METHODS

#: What the runs write: anything else changed makes the next run a full one.
RUN_STATE_FIELDS = {
    "last_run",
    "last_run_since",
    "last_full_run",
    "incremental_reference",
    "points_checked_since",
    "points_full_check",
    "points_expired_until",
    "points_cards_checked_since",
    "last_run_status",
    "last_run_failed_job",
    "last_run_error",
    "tier_emails_since",
}
#: What customers are shown and told: no customer's tier, score or points changes with them.
CUSTOMER_FACING_FIELDS = {"show_tier_to_customers", "contacts_see_company_points", "points_expiry_notice_days"}
#: The nightly jobs, each run company by company (``customer.tiering.lock._run_companies``).
JOBS = [
    ("reclassify", "Reclassification"),
    ("loyalty", "Points"),
    ("followup", "Follow-ups and Care"),
    ("digest", "Weekly Digest"),
]
#: Settings that change which documents earn points: the next points run checks them all.
POINTS_SCOPE_FIELDS = {"loyalty_program_id", "points_start_date", "points_earn_on"}
#: When a sale earns its points (``customer.loyalty.ledger``: the documents that earn in each).
EARN_MODES = [
    ("posted", "Invoice posted"),
    ("paid", "Invoice paid"),
    ("confirmed", "Order confirmed"),
]
METHODS = [
    ("abc", "ABC revenue share"),
    ("rfm", "RFM score bands"),
    ("threshold", "Revenue thresholds"),
]


class CustomerTieringConfig(models.Model):
    """Tiering settings of one company (one record per company)."""

    _name = "customer.tiering.config"
    _description = "Customer Tiering Settings"
    _rec_name = "company_id"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, ondelete="cascade", default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    method = fields.Selection(
        METHODS,
        string="Tiering Method",
        required=True,
        default="abc",
        help="ABC: A until 80% of the revenue, B until 95%, then C. RFM: bands of the "
        "R+F+M score set on each tier. Thresholds: the minimum revenue set on each tier.",
    )
    window_months = fields.Integer(
        string="Revenue Window (months)",
        required=True,
        default=12,
        help="How many months back Recent Revenue counts: the revenue that places customers in tiers.",
    )
    cutoff_a = fields.Float(
        string="A Cut-off",
        required=True,
        default=0.80,
        help="Share of the revenue the A customers make up, best customers first, e.g. 80%.",
    )
    cutoff_b = fields.Float(
        string="B Cut-off",
        required=True,
        default=0.95,
        help="Share of the revenue the A and B customers make up together, e.g. 95%.",
    )
    demotion_grace_days = fields.Integer(
        string="Demotion Grace Period (days)",
        default=0,
        help="A customer moves down a tier only after qualifying for the lower tier this many days in a row.",
    )
    churn_method = fields.Selection(
        [method for method in FIT_METHODS if method[0] != "heuristic"],
        string="Churn Model",
        required=True,
        default="mbgnbd",
        help="MBG/NBD lets a customer drop out right after the first purchase, so one-time buyers from long "
        "ago show a real risk; under BG/NBD a customer who never repeated is always alive.",
    )
    churn_horizon_days = fields.Integer(
        string="Churn Horizon (days)",
        required=True,
        default=90,
        help="Churn risk is the probability of no purchase within this many days.",
    )
    churn_min_repeaters = fields.Integer(
        string="Minimum Repeat Customers",
        required=True,
        default=200,
        help="With fewer customers who bought on two days or more, churn and CLV use the heuristic estimate.",
    )
    clv_months = fields.Integer(string="CLV Horizon (months)", required=True, default=12)
    clv_discount_rate = fields.Float(string="CLV Annual Discount Rate", required=True, default=0.10)
    risk_medium = fields.Float(
        string="Medium Risk From",
        required=True,
        default=0.5,
        help="The risk is medium once the probability that the customer stopped buying reaches this, or once "
        "its next purchase is due at its own usual interval.",
    )
    risk_high = fields.Float(
        string="High Risk From",
        required=True,
        default=0.8,
        help="The risk is high once the probability that the customer stopped buying reaches this, or once "
        "its next purchase is late by the share set in Sleeping When Overdue By.",
    )
    stage_new_days = fields.Integer(
        string="New For (days)", required=True, default=90, help="A one-time buyer is new this long."
    )
    stage_loyal_min_purchase_days = fields.Integer(string="Loyal: Purchase Days", required=True, default=10)
    stage_loyal_min_tenure_days = fields.Integer(string="Loyal: Tenure (days)", required=True, default=365)
    stage_sleeping_p_alive = fields.Float(
        string="Sleeping At (still buying probability)",
        required=True,
        default=0.5,
        help="A customer is sleeping once the probability that they still buy is at or below this.",
    )
    stage_churned_p_alive = fields.Float(
        string="Churned At (still buying probability)",
        required=True,
        default=0.2,
        help="A customer is churned once the probability that they still buy is at or below this.",
    )
    stage_churned_days = fields.Integer(
        string="Churned After (days)", required=True, default=365, help="Churned after this long without purchase."
    )
    stage_reactivated_days = fields.Integer(string="Reactivated For (days)", required=True, default=90)
    loyalty_program_id = fields.Many2one(
        "loyalty.program",
        string="Points Program",
        domain="[('program_type', '=', 'loyalty'), ('company_id', '=', company_id)]",
        help="The loyalty program whose cards hold the points customers earn on invoices. Empty: no points.",
    )
    points_per_currency = fields.Float(
        string="Points per Currency Unit",
        required=True,
        default=1.0,
        help="Points per unit of company currency of net untaxed invoiced amount, before the tier multiplier.",
    )
    points_rounding = fields.Float(
        string="Round Points Down To",
        required=True,
        default=1.0,
        help="Earned points are rounded down to a multiple of this: 1 gives whole points.",
    )
    points_expiry_months = fields.Integer(
        string="Points Expire After (months)",
        required=True,
        default=24,
        help="Points expire this many months after the invoice that earned them, oldest first. 0: never.",
    )
    points_allow_negative = fields.Boolean(
        string="Allow Negative Point Balances",
        help="Off (the default): a credit note or cancellation takes back at most what is left of the points "
        "its invoice earned, and a balance never goes below zero; what it could not take back is noted on the "
        "entry. On: it takes back its whole share, even when the points were already spent, and the balance "
        "may go negative.",
    )
    points_excluded_products_domain = fields.Char(
        string="Also Exclude Products",
        default="[]",
        help="Invoice lines of these products earn no points (and their credit notes take none), besides the "
        "gift cards, eWallet top-ups and delivery charges, which never do.",
    )
    points_start_date = fields.Date(
        string="Earn Points on Invoices From",
        required=True,
        default=fields.Date.context_today,
        help="Invoices dated from this day earn points. Move it back to award invoices from before the "
        "installation: the next points run awards them.",
    )
    # Per company: a B2B company waits for the money, a shop credits the order.
    points_earn_on = fields.Selection(
        EARN_MODES,
        string="Earn Points When",
        required=True,
        default="posted",
        help="Invoice posted: an invoice earns when it is posted. Invoice paid: when it is paid (in payment or "
        "paid); a payment reversed later takes the points back, and a partly paid invoice earns nothing yet. "
        "Order confirmed: a sale order earns when it is confirmed, on its date, and its invoices earn nothing "
        "more; cancelling it takes the points back; invoices of no order earn when posted. Credit notes take "
        "back in every case. Changing it never counts a sale twice: what was counted stays counted.",
    )
    tier_resources_mode = fields.Selection(
        [("auto", "Apply automatically"), ("suggest", "Suggest only"), ("off", "Off")],
        string="Tier Resources",
        required=True,
        default="auto",
        help="When the nightly job moves a customer to another tier: give it the tier's salesperson and "
        "pricelist, only suggest them in an activity for the tier's account manager, or do nothing.",
    )
    care_lead_days = fields.Integer(
        string="Care Activities Ahead (days)",
        required=True,
        default=3,
        help="Care activities for birthdays and holidays are due this many days before; emails go out on the day.",
    )
    dormancy_overdue_share = fields.Float(
        string="Sleeping When Overdue By",
        required=True,
        default=0.5,
        help="A customer counts as about to sleep when its next purchase is overdue by this share of its usual "
        "interval between purchases.",
    )
    digest_mode = fields.Selection(
        [("email", "Email"), ("activity", "Activity"), ("off", "Off")],
        string="Weekly Digest",
        required=True,
        default="email",
        help="Each salesperson's weekly summary of follow-ups, customers at risk and tier changes.",
    )
    show_tier_to_customers = fields.Boolean(
        string="Show Tier to Customers",
        help="Customers see their tier, its perks and their progress on the portal's My Membership page, and get "
        "an email when their tier changes. Leave it off for an internal A/B/C grading that customers must not "
        "read; use it with the Revenue thresholds method, the only one that can tell a customer what reaches "
        "the next tier.",
    )
    contacts_see_company_points = fields.Boolean(
        default=True,
        help="The portal contacts of a company customer see the company's tier and points on My Membership. "
        "Off: only the company's own portal user does.",
    )
    points_expiry_notice_days = fields.Integer(
        string="Warn of Expiring Points (days)",
        required=True,
        default=30,
        help="Customers get an email this many days before points expire, and a last reminder 7 days before. "
        "0: no reminders.",
    )
    last_run = fields.Datetime(string="Last Reclassification", readonly=True)
    cohort_months_built = fields.Boolean(
        readonly=True,
        copy=False,
        help="A run built the company's Retention by Cohort table (customer.cohort.month), which the report "
        "reads rather than every sale.",
    )
    tier_emails_since = fields.Datetime(
        readonly=True,
        help="Set when the company's first reclassification completed: only the tier changes after it email "
        "customers, so that the first classification of every customer sends nothing.",
    )
    full_run_days = fields.Integer(
        string="Full Recompute Every (days)",
        required=True,
        default=7,
        help="The nightly run recomputes only the customers with new or changed invoices and orders, and those "
        "whose stage or risk changes with time. Every this many days it recomputes everyone and refits the "
        "churn model.",
    )
    last_full_run = fields.Datetime(string="Last Full Recompute", readonly=True)
    last_run_since = fields.Datetime(string="Changes Looked Up Since", readonly=True)
    incremental_reference = fields.Json(readonly=True)
    points_checked_since = fields.Datetime(readonly=True)
    points_full_check = fields.Datetime(string="Last Full Points Check", readonly=True)
    points_expired_until = fields.Date(
        string="Points Expired Up To",
        readonly=True,
        help="Points earned up to this day have been expired: the next run looks only at the points earned since.",
    )
    points_cards_checked_since = fields.Datetime(
        string="Cards Checked Since",
        readonly=True,
        help="The last expiry read the cards written up to then: the next one reads only those written since.",
    )
    last_run_status = fields.Selection(
        [("done", "Completed"), ("failed", "Failed")],
        string="Last Run",
        readonly=True,
        help="Whether the company's last nightly or manual run completed. A failed run rolls back what it had not "
        "committed; the other companies still run, and the next night tries again.",
    )
    last_run_failed_job = fields.Selection(JOBS, string="Failed Job", readonly=True)
    last_run_error = fields.Text(readonly=True)
    tier_ids = fields.One2many("customer.tier", compute="_compute_tier_ids", string="Tiers")

    _sql_constraints = [
        ("company_uniq", "unique(company_id)", "Each company has one tiering configuration."),
    ]

    def write(self, vals):
        # Changed settings apply to every customer at once: next run is full.
        if vals.keys() - RUN_STATE_FIELDS - CUSTOMER_FACING_FIELDS:
            vals = {**vals, "last_full_run": False}
        if vals.keys() & POINTS_SCOPE_FIELDS:
            vals = {**vals, "points_full_check": False}
        res = super().write(vals)
        if vals.get("loyalty_program_id"):
            # The balances follow the program: a customer keeps the points earned.
            for config in self:
                ledger = self.env["customer.loyalty.ledger"].sudo().with_company(config.company_id)
                ledger._carry_over_to(config.loyalty_program_id)
        return res

    def _points_excluded_products(self):
        """The products whose invoice lines earn no points: gift cards and
        eWallet top-ups (the trigger products of such programs), delivery
        charges, and those of the settings' own domain."""
        self.ensure_one()
        Product = self.env["product.product"].sudo().with_context(active_test=False)
        products = (
            self.env["loyalty.rule"]
            .sudo()
            .search([("program_id.program_type", "in", ("gift_card", "ewallet"))])
            .product_ids
        )
        if "delivery.carrier" in self.env:
            # A company has a handful of carriers.
            carriers = self.env["delivery.carrier"].sudo().with_context(active_test=False)
            products |= carriers.search([]).product_id  # pylint: disable=no-search-all
        domain = literal_eval(self.points_excluded_products_domain or "[]")
        if domain:
            products |= Product.search(domain)
        return products

    def _full_run_due(self, today):
        return not self.last_full_run or (today - self.last_full_run.date()).days >= self.full_run_days

    def _points_full_check_due(self, today):
        """Whether the points run checks every document rather than those
        written since it last looked: after the opt-in date or the program
        changed, and as often as the full tiering run."""
        last = self.points_full_check
        return not last or not self.points_checked_since or (today - last.date()).days >= self.full_run_days

    def _incremental_reference(self):
        """(tiering reference, churn fit) of the last full run, or None to run a full one."""
        state = self.incremental_reference
        if not state:
            return None
        fit = state["fit"] and Prediction.from_state(state["fit"])
        return Reference(**{key: tuple(value) for key, value in state["tiering"].items()}), fit

    @api.depends("company_id")
    def _compute_tier_ids(self):
        for config in self:
            config.tier_ids = self.env["customer.tier"].search([("company_id", "=", config.company_id.id)])

    @api.constrains(
        "window_months",
        "cutoff_a",
        "cutoff_b",
        "demotion_grace_days",
        "method",
        "churn_horizon_days",
        "churn_min_repeaters",
        "clv_months",
        "clv_discount_rate",
        "risk_medium",
        "risk_high",
        "stage_new_days",
        "stage_loyal_min_purchase_days",
        "stage_loyal_min_tenure_days",
        "stage_sleeping_p_alive",
        "stage_churned_p_alive",
        "stage_churned_days",
        "stage_reactivated_days",
        "points_per_currency",
        "points_rounding",
        "points_expiry_months",
        "points_expiry_notice_days",
        "points_excluded_products_domain",
        "care_lead_days",
        "dormancy_overdue_share",
        "full_run_days",
    )
    def _check_settings(self):
        check_bounds(self, CONFIG_BOUNDS)
        for config in self:
            if config.window_months < 1:
                raise ValidationError(self.env._("The revenue window must be at least one month."))
            if not 0 < config.cutoff_a < config.cutoff_b <= 1:
                raise ValidationError(
                    self.env._(
                        "The cut-offs must satisfy 0 < A cut-off < B cut-off <= 1 (got %(a)s and %(b)s).",
                        a=config.cutoff_a,
                        b=config.cutoff_b,
                    )
                )
            if config.demotion_grace_days < 0:
                raise ValidationError(self.env._("The demotion grace period cannot be negative."))
        self._check_churn_settings()
        self._check_points_settings()
        self._check_tier_thresholds()

    def _check_points_settings(self):
        for config in self:
            if config.points_per_currency < 0:
                raise ValidationError(self.env._("The points per currency unit cannot be negative."))
            if config.points_rounding <= 0:
                raise ValidationError(self.env._("The points rounding must be greater than zero."))
            if config.points_expiry_months < 0:
                raise ValidationError(self.env._("The points expiry cannot be negative; use 0 for never."))
            try:
                config._points_excluded_products()
            except (ValueError, SyntaxError, TypeError) as error:
                raise ValidationError(
                    self.env._("The products excluded from points are not a valid domain: %s", error)
                ) from error
            if config.care_lead_days < 0 or config.dormancy_overdue_share < 0:
                raise ValidationError(self.env._("Care lead days and the dormancy share cannot be negative."))

    def _check_churn_settings(self):
        for config in self:
            days = (
                config.churn_horizon_days,
                config.churn_min_repeaters,
                config.clv_months,
                config.stage_new_days,
                config.stage_loyal_min_purchase_days,
                config.stage_loyal_min_tenure_days,
                config.stage_churned_days,
                config.stage_reactivated_days,
                config.full_run_days,
            )
            if min(days) < 1:
                raise ValidationError(self.env._("Horizons, periods and minimum counts must be at least 1."))
            if config.clv_discount_rate < 0:
                raise ValidationError(self.env._("The CLV discount rate cannot be negative."))
            if not 0 < config.risk_medium < config.risk_high < 1:
                raise ValidationError(self.env._("The risk thresholds must satisfy 0 < medium < high < 1."))
            if not 0 < config.stage_churned_p_alive < config.stage_sleeping_p_alive < 1:
                raise ValidationError(
                    self.env._("The still-buying probability thresholds must satisfy 0 < churned < sleeping < 1.")
                )

    def _check_tier_thresholds(self):
        """Bands and thresholds must fall strictly from the best tier down."""
        for config in self:
            tiers = config._active_tiers()
            field = {"rfm": "min_rfm_score", "threshold": "min_revenue"}.get(config.method)
            if not field:
                continue
            values = tiers.mapped(field)
            if any(better <= worse for better, worse in zip(values, values[1:], strict=False)):
                raise ValidationError(
                    self.env._(
                        "The %(field)s of the tiers must decrease strictly from the best tier to the last; "
                        "overlapping values are not allowed.",
                        field=tiers._fields[field]._description_string(self.env),
                    )
                )

    @api.constrains("loyalty_program_id", "company_id")
    def _check_loyalty_program(self):
        """Points are the company's own: its program is a loyalty program of
        that company alone, with no earning rule (points come from invoices)."""
        for config in self.sudo():
            program = config.loyalty_program_id
            if not program:
                continue
            if program.program_type != "loyalty":
                raise ValidationError(
                    self.env._(
                        "The points program must be a loyalty program; %(program)s is not one.", program=program.name
                    )
                )
            other = self.sudo().search([("loyalty_program_id", "=", program.id), ("id", "!=", config.id)], limit=1)
            if other:
                raise ValidationError(
                    self.env._(
                        "%(program)s is already the points program of %(company)s: each company's customers earn "
                        "points in a program of their own.",
                        program=program.name,
                        company=other.company_id.name,
                    )
                )
            if not program.company_id:
                raise ValidationError(
                    self.env._(
                        "%(program)s is shared between companies: the points program must belong to %(company)s "
                        "alone.",
                        program=program.name,
                        company=config.company_id.name,
                    )
                )
            if program.company_id != config.company_id:
                raise ValidationError(
                    self.env._(
                        "%(program)s belongs to %(other)s: the points program must belong to %(company)s.",
                        program=program.name,
                        other=program.company_id.name,
                        company=config.company_id.name,
                    )
                )
            if program.rule_ids:
                raise ValidationError(
                    self.env._(
                        "%(program)s has earning rules: points on the points program come from invoices, computed "
                        "by Customer Tiering; a rule there would make every order earn twice. Remove its rules or "
                        "choose another program.",
                        program=program.name,
                    )
                )

    def _active_tiers(self):
        self.ensure_one()
        return self.env["customer.tier"].search([("company_id", "=", self.company_id.id)], order="sequence, id")

    def _settings(self):
        self.ensure_one()
        return TieringSettings(
            method=self.method,
            cutoff_a=self.cutoff_a,
            cutoff_b=self.cutoff_b,
            demotion_grace_days=self.demotion_grace_days,
        )

    def _churn_settings(self):
        self.ensure_one()
        return ChurnSettings(
            method=self.churn_method,
            horizon_days=self.churn_horizon_days,
            min_repeaters=self.churn_min_repeaters,
            clv_months=self.clv_months,
            annual_discount=self.clv_discount_rate,
        )

    def _stage_settings(self):
        self.ensure_one()
        return StageSettings(
            new_days=self.stage_new_days,
            loyal_min_purchase_days=self.stage_loyal_min_purchase_days,
            loyal_min_tenure_days=self.stage_loyal_min_tenure_days,
            sleeping_p_alive=self.stage_sleeping_p_alive,
            churned_p_alive=self.stage_churned_p_alive,
            churned_days=self.stage_churned_days,
            reactivated_days=self.stage_reactivated_days,
            risk_medium=self.risk_medium,
            risk_high=self.risk_high,
            overdue_share=self.dormancy_overdue_share,
        )

    @api.model
    def _for_companies(self, companies):
        """The configurations of ``companies``, created on first use."""
        configs = self.sudo().search([("company_id", "in", companies.ids)])
        missing = companies - configs.company_id
        if missing:
            programs = self.env["loyalty.program"].sudo()._tier_programs(missing)
            configs |= self.sudo().create(
                [
                    {"company_id": company.id, "loyalty_program_id": program.id}
                    for company, program in zip(missing, programs, strict=True)
                ]
            )
        return configs.sudo(False)

    # Not @api.readonly: it creates the settings of a company that has none
    # (one whose settings were deleted), a write a read-only replica refuses.
    @api.model
    def action_open_current(self):
        """Settings of the current company, from the Configuration menu."""
        self.check_access("read")
        config = self._for_companies(self.env.company)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Tiering Settings"),
            "res_model": self._name,
            "res_id": config.id,
            "view_mode": "form",
            "target": "current",
        }

    def _record_failure(self, job, error):
        """Put a failed run on the company's settings, and tell its managers once per failure."""
        self.ensure_one()
        # The settings of a company the running user may not be in.
        config = self.sudo()
        message = f"{type(error).__name__}: {error}"
        repeated = config.last_run_status == "failed" and config.last_run_error == message
        config.write({"last_run_status": "failed", "last_run_failed_job": job, "last_run_error": message})
        if repeated:
            return
        managers = (
            config.env.ref("customer_tiering.group_customer_tiering_manager")
            .sudo()
            .users.filtered(lambda user: config.company_id in user.company_ids and not user.share)
        )
        for lang, users in managers.grouped("lang").items():
            this = config.with_context(lang=lang)
            job_name = dict(config._fields["last_run_failed_job"]._description_selection(this.env))[job]
            config.env["mail.thread"].sudo().message_notify(
                partner_ids=users.partner_id.ids,
                model=config._name,
                res_id=config.id,
                subject=this.env._(
                    "Customer Tiering: %(job)s failed for %(company)s", job=job_name, company=config.company_id.name
                ),
                body=this.env._(
                    "The %(job)s of %(company)s failed and was rolled back; the other companies ran. "
                    "The next night tries again. Error: %(error)s",
                    job=job_name,
                    company=config.company_id.name,
                    error=message,
                ),
            )

    def _record_success(self, job):
        """A completed run clears the failure it had left on the settings."""
        self.ensure_one()
        config = self.sudo()
        if config.last_run_status != "done" and (config.last_run_failed_job in (job, False)):
            config.write({"last_run_status": "done", "last_run_failed_job": False, "last_run_error": False})

    def action_reclassify(self):
        """Reclassify every customer now (a full run), for managers (those who may write the settings)."""
        self.check_access("write")
        if not self.env["customer.tiering.job"].sudo()._reclassify(self.company_id, full=True):
            if self.last_run_status == "failed":
                return _notification(
                    "danger", self.env._("The reclassification failed: %(error)s", error=self.last_run_error)
                )
            return _notification("warning", self.env._("A reclassification is already running; try again later."))
        return _notification("success", self.env._("Customers reclassified."))


def _notification(kind, message):
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {"type": kind, "message": message, "next": {"type": "ir.actions.client", "tag": "soft_reload"}},
    }
