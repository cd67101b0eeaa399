from datetime import date, datetime, time, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import TieringInvoiceCommon
from .test_migrations import _migration

INVOICE_DAY = date(2026, 3, 2)


@tagged("post_install", "-at_install")
class TestCustomerSatisfaction(TieringInvoiceCommon):
    """Satisfaction surveys sent after invoices, answers turned into NPS and
    CSAT, and detractors called back once per answer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = {"company_id": cls.company.id, "company_ids": [cls.company.id]}
        cls.seller = new_test_user(
            cls.env, login="nps_seller", groups="base.group_user,sales_team.group_sale_salesman", **company
        )
        Policy = cls.env["customer.satisfaction.policy"].with_context(active_test=False)
        cls.policy = Policy.search([("company_id", "=", cls.company.id)])
        cls.survey = cls.policy.survey_id
        cls.nps_question, cls.csat_question = Policy._score_questions(cls.survey)
        cls.win_back = cls.env["customer.service.policy"].search(
            [("company_id", "=", cls.company.id), ("nps_category", "=", "detractor")]
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Surveyed Co", "is_company": True, "email": "buyer@surveyed.example", "user_id": cls.seller.id}
        )
        cls.customer.tier_id = cls.tier_a
        cls.contact = cls.env["res.partner"].create(
            {"name": "Surveyed Buyer", "parent_id": cls.customer.id, "email": "contact@surveyed.example"}
        )

    # ------------------------------------------------------------ helpers
    def answer(self, partner, nps, csat=None, day=INVOICE_DAY, policy=None):
        """``partner`` completes the survey on ``day``: ``nps`` out of 10, ``csat`` out of 5 (None: skipped)."""
        with freeze_time(datetime.combine(day, time(10))):
            # as the survey's pages do
            answer = self.survey.sudo()._create_answer(
                partner=partner, check_attempts=False, satisfaction_policy_id=(policy or self.policy).id
            )
            answer._save_lines(self.nps_question, str(nps))
            answer._save_lines(self.csat_question, "" if csat is None else str(csat))
            answer._mark_done()
        self.env.invalidate_all()
        return answer

    def run_followups(self, day):
        """The follow-up cron's night of ``day``, as the cron's user."""
        cron = self.env.ref("customer_tiering.ir_cron_followup")
        with freeze_time(datetime.combine(day, time(2))):
            self.env["customer.followup.job"].with_user(cron.user_id)._cron_followup()
        self.env.invalidate_all()

    def win_back_calls(self, partner=None):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", (partner or self.customer).id),
                ("service_policy_id", "=", self.win_back.id),
            ]
        )

    def invite(self, day, policy=None):
        policy = policy or self.policy
        cron_env = self.env(user=self.env.ref("customer_tiering.ir_cron_followup").user_id)
        config = cron_env["customer.tiering.config"]._for_companies(policy.company_id)
        return cron_env["customer.satisfaction.policy"].with_company(policy.company_id)._send_surveys(config, day)

    def invitations(self, partner=None):
        return self.env["survey.user_input"].search(
            [
                ("partner_id", "=", (partner or self.customer).id),
                ("satisfaction_policy_id", "!=", False),
                ("state", "=", "new"),
            ]
        )

    # ------------------------------------------------------------ defaults
    def test_default_survey_and_policies(self):
        self.assertEqual(len(self.policy), 1)
        self.assertFalse(self.policy.active, "installing emails no customer")
        self.assertEqual(self.survey.title, "Customer Satisfaction")
        questions = self.survey.question_ids.sorted("sequence")
        self.assertRecordValues(
            questions,
            [
                {
                    "title": "How likely are you to recommend us to a friend or colleague?",
                    "question_type": "scale",
                    "scale_min": 0,
                    "scale_max": 10,
                    "constr_mandatory": True,
                },
                {
                    "title": "How satisfied are you with us?",
                    "question_type": "scale",
                    "scale_min": 1,
                    "scale_max": 5,
                    "constr_mandatory": False,
                },
            ],
        )
        self.assertEqual((self.nps_question | self.csat_question), questions)
        self.assertRecordValues(
            self.win_back,
            [{"name": "Win back detractors", "active": True, "action": "activity", "sequence": 1, "cadence_days": 7}],
        )
        other = self.env["res.company"].create({"name": "Newcomer Ltd"})
        Policy = self.env["customer.satisfaction.policy"].sudo().with_context(active_test=False)
        theirs = Policy.search([("company_id", "=", other.id)])
        self.assertEqual(len(theirs), 1, "a new company gets its own survey policy")
        self.assertNotEqual(theirs.survey_id, self.survey)
        Policy._create_defaults(self.company | other)
        self.assertEqual(Policy.search_count([("company_id", "in", (self.company | other).ids)]), 2, "not twice")
        detractor_policies = (
            self.env["customer.service.policy"]
            .sudo()
            .search_count([("company_id", "in", (self.company | other).ids), ("nps_category", "=", "detractor")])
        )
        self.assertEqual(detractor_policies, 2)

    def test_upgrade_creates_the_defaults_once(self):
        Policy = self.env["customer.satisfaction.policy"].sudo().with_context(active_test=False)
        self.win_back.unlink()
        self.policy.unlink()
        migrate = _migration("18.0.1.9.0", "post-satisfaction-survey")
        migrate(self.env.cr, "18.0.1.8.0")
        policy = Policy.search([("company_id", "=", self.company.id)])
        self.assertEqual(len(policy), 1)
        self.assertFalse(policy.active, "an upgrade emails no customer")
        self.assertEqual(len(Policy._score_questions(policy.survey_id)[1]), 1, "with its CSAT question")
        win_back = self.env["customer.service.policy"].search(
            [("company_id", "=", self.company.id), ("nps_category", "=", "detractor")]
        )
        self.assertEqual(len(win_back), 1)
        migrate(self.env.cr, "18.0.1.8.0")
        self.assertEqual(Policy.search_count([("company_id", "=", self.company.id)]), 1, "a re-run adds nothing")

    # ------------------------------------------------------------ scores
    def test_answer_to_score_to_detractor_call_once(self):
        self.answer(self.contact, 3, 2)
        customer = self.customer.with_company(self.company)
        self.assertRecordValues(
            customer,
            [{"nps_score": 3, "nps_category": "detractor", "csat_score": 2, "satisfaction_date": INVOICE_DAY}],
        )
        self.assertEqual(self.contact.with_company(self.company).nps_category, "detractor", "the contact shows it")
        self.assertIn(customer, customer.search([("nps_category", "=", "detractor")]))

        self.run_followups(INVOICE_DAY + timedelta(days=1))
        call = self.win_back_calls()
        self.assertEqual(len(call), 1, "the detractor gets a win-back call the next night")
        self.assertEqual(call.user_id, self.seller)
        self.assertEqual(call.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        call.action_feedback("Called, agreed on a discount")
        for night in (1, 2, 3):
            self.run_followups(INVOICE_DAY + timedelta(days=1 + night))
        self.assertFalse(self.win_back_calls(), "once per answer, even once the call is done")

        self.answer(self.customer, 8, 4, day=INVOICE_DAY + timedelta(days=10))
        self.assertRecordValues(customer, [{"nps_score": 8, "nps_category": "passive", "csat_score": 4}])
        self.run_followups(INVOICE_DAY + timedelta(days=11))
        self.assertFalse(self.win_back_calls(), "a passive is not called back")

        self.answer(self.customer, 0, day=INVOICE_DAY + timedelta(days=20))
        self.assertRecordValues(customer, [{"nps_score": 0, "nps_category": "detractor", "csat_score": 4}])
        self.run_followups(INVOICE_DAY + timedelta(days=21))
        self.run_followups(INVOICE_DAY + timedelta(days=22))
        self.assertEqual(len(self.win_back_calls()), 1, "a new detractor answer: one new call")

        self.answer(self.customer, 10, 5, day=INVOICE_DAY + timedelta(days=30))
        self.assertRecordValues(customer, [{"nps_category": "promoter", "csat_score": 5}])

    def test_scores_are_the_survey_s_only(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.seller).write({"nps_score": 10})
        self.env["res.partner"].sudo().create({"name": "Forged", "nps_category": "promoter"})  # the superuser may
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.seller).create({"name": "Forged", "nps_category": "promoter"})

    def test_old_detractor_answer_is_not_followed_up(self):
        self.answer(self.customer, 2)
        self.run_followups(INVOICE_DAY + timedelta(days=30))
        self.assertFalse(self.win_back_calls(), "answers older than the policy's cadence are left")

    def test_analysis_nps_and_csat(self):
        second = self.env["res.partner"].create({"name": "Second Co", "is_company": True, "user_id": self.seller.id})
        second.tier_id = self.tier_a
        third = self.env["res.partner"].create({"name": "Third Co", "is_company": True})
        third.tier_id = self.tier_a
        self.answer(self.customer, 10, 5)
        self.answer(second, 4, 2)
        self.answer(third, 9)
        Analysis = self.env["customer.tiering.analysis"]
        [row] = Analysis._read_group(
            [("company_id", "=", self.company.id), ("tier_id", "=", self.tier_a.id)],
            ["tier_id"],
            ["nps:avg", "csat_score:avg", "respondent_count:sum"],
        )
        _tier, nps, csat, respondents = row
        self.assertEqual(respondents, 3)
        self.assertAlmostEqual(nps, 100 * (2 - 1) / 3, places=6, msg="% promoters - % detractors")
        self.assertAlmostEqual(csat, 3.5, msg="those who answered the CSAT question")
        by_user = dict(
            Analysis._read_group(
                [("company_id", "=", self.company.id), ("respondent_count", "=", 1)], ["user_id"], ["nps:avg"]
            )
        )
        self.assertEqual(by_user[self.seller], 0.0, "one promoter, one detractor")

    # ------------------------------------------------------------ invitations
    def test_invites_once_per_period(self):
        self.policy.write({"active": True, "days_after_invoice": 7, "interval_days": 90})
        self.post_invoice(self.customer, 100.0, INVOICE_DAY)
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=6)), 0, "not before the policy's days")
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=7)), 1)
        answer = self.invitations()
        self.assertEqual(answer.survey_id, self.survey)
        self.assertEqual(answer.state, "new")
        mails = self.env["mail.mail"].search([("model", "=", "survey.user_input"), ("res_id", "=", answer.id)])
        self.assertEqual(len(mails), 1)
        self.assertIn(answer.access_token, mails.body_html, "the invitation carries the answer's own link")
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=7)), 0, "a re-run invites nobody twice")
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=8)), 0, "the next night neither")
        self.post_invoice(self.customer, 100.0, INVOICE_DAY + timedelta(days=30))
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=37)), 0, "at most every 90 days")
        self.post_invoice(self.customer, 100.0, INVOICE_DAY + timedelta(days=100))
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=107)), 1, "90 days later: again")
        self.assertEqual(len(self.invitations()), 2)

    def test_invites_respect_the_blacklist_and_the_scope(self):
        self.policy.write({"active": True, "days_after_invoice": 7})
        self.env["mail.blacklist"]._add(self.customer.email)
        self.post_invoice(self.customer, 100.0, INVOICE_DAY)
        unreachable = self.env["res.partner"].create({"name": "No Mail Co", "is_company": True})
        self.post_invoice(unreachable, 100.0, INVOICE_DAY)
        outside = self.env["res.partner"].create({"name": "Tier B Co", "is_company": True, "email": "b@b.example"})
        outside.tier_id = self.tier_b
        self.post_invoice(outside, 100.0, INVOICE_DAY)
        self.policy.tier_ids = self.tier_a
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=7)), 0, "opted out, no address, not in the tiers")
        self.policy.tier_ids = False
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=7)), 1)
        self.assertTrue(self.invitations(outside))
        self.assertFalse(self.invitations())

    def test_call_channel(self):
        self.policy.write({"active": True, "channel": "activity", "days_after_invoice": 3})
        self.post_invoice(self.customer, 100.0, INVOICE_DAY)
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=3)), 1)
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=4)), 0)
        calls = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.customer.id), ("user_id", "=", self.seller.id)]
        )
        self.assertEqual(len(calls), 1)
        self.assertIn(self.survey.title, calls.summary)
        self.assertFalse(self.invitations(), "no email for a call")

    # ------------------------------------------------------------ companies
    def test_per_company_isolation(self):
        other = self.setup_other_company()["company"]
        Policy = self.env["customer.satisfaction.policy"].sudo().with_context(active_test=False)
        theirs = Policy.search([("company_id", "=", other.id)])
        self.answer(self.customer, 2, 1)
        self.assertEqual(self.customer.with_company(self.company).nps_category, "detractor")
        self.assertFalse(self.customer.with_company(other).nps_category, "the other company's values are its own")
        self.answer(self.customer, 10, 5, day=INVOICE_DAY + timedelta(days=1), policy=theirs)
        self.assertEqual(self.customer.with_company(other).nps_category, "promoter")
        self.assertEqual(self.customer.with_company(self.company).nps_category, "detractor")

        theirs.write({"active": True, "days_after_invoice": 7})
        self.post_invoice(self.customer, 100.0, INVOICE_DAY)
        self.assertEqual(self.invite(INVOICE_DAY + timedelta(days=7), theirs), 0, "invoiced by the first company only")
        self.assertFalse(self.invitations())
