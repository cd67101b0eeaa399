import logging
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, split_every
from odoo.tools.translate import LazyTranslate

from ..bounds import SATISFACTION_POLICY_BOUNDS, check_bounds
from ..sql import company_partner_domain, tier_stage_domain
from ..translations import installed_langs, translate_field, translate_untouched
from .customer_followup_job import BATCH, BLOCKED

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

CHANNELS = [("email", "Email invitation"), ("activity", "Call by the salesperson")]
#: A night the job did not run is caught up: invoices up to this many days older than the policy's days still count.
CATCH_UP_DAYS = 7
#: The default survey of each company: a 0-10 NPS question and an optional 1-5 CSAT one.
DEFAULT_SURVEY = {
    "title": _lt("Customer Satisfaction"),
    "nps": _lt("How likely are you to recommend us to a friend or colleague?"),
    "nps_min": _lt("Not at all likely"),
    "nps_max": _lt("Extremely likely"),
    "csat": _lt("How satisfied are you with us?"),
    "csat_min": _lt("Very dissatisfied"),
    "csat_max": _lt("Very satisfied"),
}
DEFAULT_POLICY_NAME = _lt("Satisfaction survey after an invoice")
#: The service policy each company gets to call its detractors back, the night after their answer.
DETRACTOR_POLICY = {
    "name": _lt("Win back detractors"),
    "note": _lt(
        "The customer answered the satisfaction survey as a detractor (0 to 6). Call them, listen to what went "
        "wrong and agree on how to put it right."
    ),
}


class CustomerSatisfactionPolicy(models.Model):
    """Which customers get a satisfaction survey (tiers, stages), when (days
    after an invoice, at most every so many days) and how (an email
    invitation through the survey's own invitation, or a call by the
    salesperson). The nightly follow-up job sends them; the answers become
    each customer's NPS and CSAT (survey.user_input._mark_done)."""

    _name = "customer.satisfaction.policy"
    _description = "Customer Satisfaction Policy"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    survey_id = fields.Many2one(
        "survey.survey",
        required=True,
        ondelete="restrict",
        help="Its 0-10 scale question gives the NPS score, its 1-5 scale question (optional) the CSAT score.",
    )
    tier_ids = fields.Many2many(
        "customer.tier",
        "customer_satisfaction_policy_tier_rel",
        string="Tiers",
        domain="[('company_id', '=', company_id)]",
        check_company=True,
        help="Customers in any of these tiers; empty: any tier.",
    )
    stage_ids = fields.Many2many(
        "ir.model.fields.selection",
        "customer_satisfaction_policy_stage_rel",
        string="Lifecycle Stages",
        domain="[('field_id.model', '=', 'res.partner'), ('field_id.name', '=', 'lifecycle_stage')]",
        help="Customers in any of these stages; empty: any stage.",
    )
    days_after_invoice = fields.Integer(
        string="Days After an Invoice", default=7, help="The survey goes this many days after a posted invoice."
    )
    interval_days = fields.Integer(
        string="At Most Every (days)", default=90, help="A customer gets no satisfaction survey more often than this."
    )
    channel = fields.Selection(
        CHANNELS,
        required=True,
        default="email",
        help="Email the survey's invitation to the customer, or ask the salesperson to call and ask. Customers "
        "without an email address or who opted out of emails get no invitation.",
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        domain="[('res_model', 'in', [False, 'res.partner'])]",
        default=lambda self: self.env.ref("mail.mail_activity_data_call", raise_if_not_found=False),
    )

    @api.constrains(*SATISFACTION_POLICY_BOUNDS, "survey_id", "channel", "activity_type_id")
    def _check_policy(self):
        check_bounds(self, SATISFACTION_POLICY_BOUNDS)
        for policy in self:
            if not self._score_questions(policy.survey_id)[0]:
                raise ValidationError(
                    self.env._(
                        "The survey %s has no 0 to 10 scale question to give the NPS score.", policy.survey_id.title
                    )
                )
            if policy.channel == "activity" and not policy.activity_type_id:
                raise ValidationError(self.env._("Choose the activity type of a policy that asks for calls."))

    @api.model
    def _score_questions(self, survey):
        """(NPS question, CSAT question) of ``survey``: its first 0-10 scale
        question and its first 1-5 one (empty when it has none)."""
        questions = survey.sudo().question_ids.filtered(lambda question: question.question_type == "scale")
        nps = questions.filtered(lambda question: (question.scale_min, question.scale_max) == (0, 10))[:1]
        csat = questions.filtered(lambda question: (question.scale_min, question.scale_max) == (1, 5))[:1]
        return nps, csat

    # ------------------------------------------------------------ invitations
    @api.model
    def _send_surveys(self, config, today):
        """Invite the customers due under the active policies of the
        config's company tonight; returns how many. Called by the nightly
        follow-up job. An archived survey takes no answers: its policies wait."""
        policies = self.search([("company_id", "=", config.company_id.id), ("survey_id.active", "=", True)])
        return sum(policy._send_invitations(config, today) for policy in policies)

    def _send_invitations(self, config, today):
        due = self._due_customers(today)
        if self.channel == "email":
            done = self._email_invitations(config, due, today)
        else:
            done = self._call_invitations(config, due, today)
        _logger.info("Satisfaction policy %s: %d of %d customers invited", self.name, done, len(due))
        return done

    def _due_customers(self, today):
        """{commercial entity: its invoice day} of the customers the policy
        invites tonight: invoiced (a posted invoice of the company) the
        policy's days ago, or up to ``CATCH_UP_DAYS`` earlier when a night
        was missed; in its tiers and stages; and surveyed by no policy of
        the company for ``interval_days``."""
        self.ensure_one()
        company = self.company_id
        last_day = today - timedelta(days=self.days_after_invoice)
        self.env["customer.sale"]._flush_sources()
        self.env["customer.care.log"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT s.commercial_partner_id, max(s.date) FROM customer_sale s
                 WHERE s.company_id = %(company)s AND s.is_purchase
                   AND s.date BETWEEN %(first)s AND %(last)s
                   AND NOT EXISTS (SELECT 1 FROM customer_care_log log
                                    WHERE log.partner_id = s.commercial_partner_id AND log.company_id = %(company)s
                                      AND log.occasion LIKE %(surveys)s AND log.date > %(since)s)
                 GROUP BY s.commercial_partner_id
                """,
                company=company.id,
                first=last_day - timedelta(days=CATCH_UP_DAYS),
                last=last_day,
                since=today - timedelta(days=self.interval_days),
                surveys="survey:%",
            )
        )
        invoiced = dict(rows)
        Partner = self.env["res.partner"].with_company(company)
        partners = Partner.search(
            [
                ("id", "in", list(invoiced)),
                ("is_tiering_entity", "=", True),
                *company_partner_domain(company),
                *self._scope_domain(),
                *BLOCKED,
            ],
            order="id",
        )
        return {partner: invoiced[partner.id] for partner in partners}

    def _scope_domain(self):
        return tier_stage_domain(self.tier_ids, self.stage_ids)

    def _occasion(self, invoice_day):
        """The care log's key of an invitation: once per policy and invoice day."""
        return f"survey:{self.id}:{invoice_day.isoformat()}"

    def _email_invitations(self, config, due, today):
        """The survey's invitation, through its own mechanism (an answer
        token per customer, ``survey.mail_template_user_input_invite``), to
        the customers of ``due`` an email reaches; in committed batches, each
        with its care log entries: a re-run invites nobody twice."""
        Partner = self.env["res.partner"].with_company(self.company_id)
        reachable = self.env["customer.care.job"]._emailable(Partner.union(*due))
        invoice_days = {partner.id: day for partner, day in due.items()}
        invited = []
        for batch in split_every(BATCH, reachable.ids, list):
            self.env["customer.tiering.lock"]._run_batch(
                lambda batch=batch: invited.extend(self._invite_batch(config, batch, invoice_days, today))
            )
        return len(invited)

    def _invite_batch(self, config, partner_ids, invoice_days, today):
        """Log and invite one batch; returns the ids invited."""
        entries = [(partner_id, self._occasion(invoice_days[partner_id]), today) for partner_id in partner_ids]
        logged = self.env["customer.care.job"]._log_entries(config, entries, "email")
        partners = self.env["res.partner"].browse([partner_id for partner_id in partner_ids if partner_id in logged])
        survey = self.survey_id.sudo()
        answers = self.env["survey.user_input"].sudo()
        for partner in partners:
            answers |= survey._create_answer(partner=partner, check_attempts=False, satisfaction_policy_id=self.id)
        if answers:
            template = self.env.ref("survey.mail_template_user_input_invite").sudo()
            template.send_mail_batch(answers.ids, email_layout_xmlid="mail.mail_notification_light")
        return partners.ids

    def _call_invitations(self, config, due, today):
        """An activity for each customer's salesperson (else its tier's
        account manager) to call and ask the survey's questions, through the
        follow-up job's bulk creation, logged with them."""
        followup = self.env["customer.followup.job"]
        partners = followup._fetch_partners(self.env["res.partner"].with_company(self.company_id).union(*due))
        summary = self.env._("Satisfaction call: %(survey)s", survey=self.survey_id.title)
        note = Markup("<p>%s</p>") % escape(
            self.env._(
                "Ask the customer the questions of the survey %(survey)s and record the answers in it.",
                survey=self.survey_id.title,
            )
        )
        values = [
            followup._partner_activity(partner, user, summary, note, today, activity_type=self.activity_type_id)
            for partner in partners
            if (user := followup._responsible(partner))
        ]
        occasions = {partner.id: (self._occasion(day), today) for partner, day in due.items()}
        self.env["customer.care.job"]._create_logged_activities(config, values, occasions)
        return len(values)

    # ------------------------------------------------------------ defaults
    @api.model
    def _create_defaults(self, companies):
        """For the companies that have no satisfaction policy: the default
        survey and its policy, archived (installing the add-on emails no
        customer); and for those without one, the service policy that calls
        detractors back."""
        with_policy = self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).company_id
        missing = companies - with_policy
        surveys = self._create_default_surveys(len(missing))
        name = DEFAULT_POLICY_NAME
        policies = self.create(
            [
                {"name": name._translate("en_US"), "company_id": company.id, "survey_id": survey.id, "active": False}
                for company, survey in zip(missing, surveys, strict=True)
            ]
        )
        translate_field(self.env, policies, "name", [name] * len(policies))
        self._create_detractor_policies(companies)
        return policies

    @api.model
    def _create_default_surveys(self, count):
        """``count`` default surveys, in every installed language."""
        texts = DEFAULT_SURVEY
        english = {key: text._translate("en_US") for key, text in texts.items()}
        surveys = self.env["survey.survey"].create(
            [
                {
                    "title": english["title"],
                    "access_mode": "token",
                    "questions_layout": "one_page",
                    "question_and_page_ids": [
                        Command.create(
                            {
                                "title": english["nps"],
                                "question_type": "scale",
                                "scale_min": 0,
                                "scale_max": 10,
                                "scale_min_label": english["nps_min"],
                                "scale_max_label": english["nps_max"],
                                "constr_mandatory": True,
                                "sequence": 1,
                            }
                        ),
                        Command.create(
                            {
                                "title": english["csat"],
                                "question_type": "scale",
                                "scale_min": 1,
                                "scale_max": 5,
                                "scale_min_label": english["csat_min"],
                                "scale_max_label": english["csat_max"],
                                "constr_mandatory": False,
                                "sequence": 2,
                            }
                        ),
                    ],
                }
                for _index in range(count)
            ]
        )
        translate_field(self.env, surveys, "title", [texts["title"]] * count)
        questions = surveys.question_ids.sorted(lambda question: (question.survey_id.id, question.sequence))
        for field, keys in (
            ("title", ("nps", "csat")),
            ("scale_min_label", ("nps_min", "csat_min")),
            ("scale_max_label", ("nps_max", "csat_max")),
        ):
            translate_field(self.env, questions, field, [texts[key] for key in keys] * count)
        return surveys

    @api.model
    def _translate_defaults(self, langs, overwrite=False):
        """The default surveys, their policies and the detractor policies in
        ``langs``, where the user has not changed them (a language installed
        after them, see ``translations.translate_seeded``)."""
        policies = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all  # a few per company
        translate_untouched(policies, "name", [DEFAULT_POLICY_NAME], langs, overwrite)
        surveys = policies.survey_id.sudo()
        translate_untouched(surveys, "title", [DEFAULT_SURVEY["title"]], langs, overwrite)
        for field in ("title", "scale_min_label", "scale_max_label"):
            translate_untouched(surveys.question_ids, field, list(DEFAULT_SURVEY.values()), langs, overwrite)
        detractors = self.env["customer.service.policy"].with_context(active_test=False)
        detractors = detractors.search([("nps_category", "!=", False)])
        translate_untouched(detractors, "name", [DETRACTOR_POLICY["name"]], langs, overwrite)
        # An HTML field is translated term by term: its one paragraph is the term.
        note, english = DETRACTOR_POLICY["note"], DETRACTOR_POLICY["note"]._translate("en_US")
        notes = [(Markup("<p>%s</p>") % english, {lang: {english: note._translate(lang)} for lang in langs})]
        translate_untouched(detractors, "note", notes, langs, overwrite)

    @api.model
    def _create_detractor_policies(self, companies):
        """The *Win back detractors* service policy, for the companies that
        have no policy on detractors: a call for the salesperson, the night
        after each detractor's answer (answers up to a week old)."""
        Policy = self.env["customer.service.policy"].with_context(active_test=False)
        with_policy = Policy.search([("company_id", "in", companies.ids), ("nps_category", "=", "detractor")])
        missing = companies - with_policy.company_id
        texts = DETRACTOR_POLICY
        policies = Policy.create(
            [
                {
                    "name": texts["name"]._translate("en_US"),
                    "note": Markup("<p>%s</p>") % texts["note"]._translate("en_US"),
                    "company_id": company.id,
                    "sequence": 1,
                    "nps_category": "detractor",
                    "action": "activity",
                    "activity_type_id": self.env.ref("mail.mail_activity_data_call").id,
                    "cadence_days": 7,
                    "deadline_days": 1,
                }
                for company in missing
            ]
        )
        translate_field(self.env, policies, "name", [texts["name"]] * len(policies))
        # An HTML field is translated term by term: its one paragraph is the term.
        english, langs = texts["note"]._translate("en_US"), installed_langs(self.env)
        for policy in policies if langs else ():
            policy.update_field_translations(
                "note", {lang: {english: texts["note"]._translate(lang)} for lang in langs}
            )
        return policies
