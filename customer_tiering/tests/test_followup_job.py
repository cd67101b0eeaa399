from collections import Counter
from datetime import date, timedelta

from freezegun import freeze_time
from markupsafe import Markup

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import TieringInvoiceCommon
from .test_migrations import _migration

INVOICE_DAY = date(2026, 3, 2)


@tagged("post_install", "-at_install")
class TestFollowupJob(TieringInvoiceCommon):
    """Service policies turned into real activities by the follow-up job."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "base.group_user,sales_team.group_sale_salesman"
        company = {"company_id": cls.company.id, "company_ids": [cls.company.id]}
        cls.seller = new_test_user(cls.env, login="fu_seller", groups=groups, **company)
        cls.leader = new_test_user(cls.env, login="fu_leader", groups=groups, **company)
        cls.account_manager = new_test_user(cls.env, login="fu_account_manager", groups=groups, **company)
        cls.fixed = new_test_user(cls.env, login="fu_fixed", groups=groups, **company)
        cls.team = cls.env["crm.team"].create(
            {"name": "Key Accounts", "user_id": cls.leader.id, "company_id": cls.company.id}
        )
        # The policies by cadence; the one on detractors is test_customer_satisfaction's.
        cls.policies = cls.env["customer.service.policy"].search(
            [("company_id", "=", cls.company.id), ("nps_category", "=", False)]
        )
        cls.policy_a = cls.policies.filtered(lambda p: p.tier_ids == cls.tier_a)
        cls.customer = cls.env["res.partner"].create({"name": "Key Customer", "is_company": True})
        cls.customer.write({"tier_id": cls.tier_a.id, "user_id": cls.seller.id})
        cls.post_invoice(cls.customer, 500.0, INVOICE_DAY)

    def run_policy(self, policy, day):
        return self.env["customer.followup.job"]._run_policies(policy, day)

    def followups(self, partner=None, policy=None):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", (partner or self.customer).id),
                ("service_policy_id", "=", (policy or self.policy_a).id),
            ]
        )

    def test_default_policies(self):
        call = self.env.ref("mail.mail_activity_data_call").id
        template = self.env.ref("customer_tiering.mail_template_followup").id
        keys = ["action", "activity_type_id", "mail_template_id", "cadence_days", "purchased_within_days", "sequence"]
        self.assertRecordValues(
            self.policies.sorted("id"),
            [
                dict(zip(keys, values, strict=True))
                for values in (
                    ("activity", call, False, 30, 0, 10),
                    ("activity", call, False, 90, 0, 10),
                    ("email", False, template, 180, 0, 10),  # no email activity for a person
                    ("activity", call, False, 30, 365, 5),
                )
            ],
        )
        self.assertEqual(self.policies.sorted("id")[:3].tier_ids, self.tiers)
        win_back = self.policies.sorted("id")[3]
        self.assertEqual(sorted(win_back.stage_ids.mapped("value")), ["churned", "sleeping"])
        self.assertFalse(win_back.risk_level_ids)
        self.assertEqual(self.policies[0], win_back, "the win-back call comes first")
        self.assertEqual(set(self.policies.mapped("assignee_rule")), {"salesperson"})

    def test_cadence_boundary_and_no_duplicates(self):
        self.assertEqual(self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=30)), 0)
        self.assertFalse(self.followups(), "touched exactly 30 days ago: not older than the cadence")
        self.assertEqual(self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=31)), 1)
        activity = self.followups()
        self.assertRecordValues(
            activity,
            [
                {
                    "activity_type_id": self.env.ref("mail.mail_activity_data_call").id,
                    "user_id": self.seller.id,
                    "date_deadline": INVOICE_DAY + timedelta(days=38),
                    "summary": self.policy_a.name,
                    "res_name": "Key Customer",
                }
            ],
        )
        self.assertIn("last touch 31 days ago", activity.note)
        self.assertIn(self.policy_a.name, activity.note)
        self.assertEqual(self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=32)), 0, "one open activity")
        self.assertEqual(len(self.followups()), 1)

    def test_activities_and_followers_match_what_the_orm_creates(self):
        job = self.env["customer.followup.job"]
        self.seller.tz = "Asia/Shanghai"
        by_orm, by_job, plain = self.env["res.partner"].create(
            [{"name": name, "is_company": True} for name in ("By ORM", "By Job", "Plain")]
        )
        self.assertFalse((by_job | plain).activity_ids, "none yet, and now in the cache")
        note = Markup("<p>Call <b>now</b></p>")
        orm_activity = self.env["mail.activity"].create(
            job._partner_activity(by_orm, self.seller, "Call", note, INVOICE_DAY) | {"res_model": "res.partner"}
        )
        values = [
            job._partner_activity(by_job, self.seller, "Call", note, INVOICE_DAY),
            job._partner_activity(plain, self.seller, "Call", "<script>alert(1)</script>Hello", INVOICE_DAY),
        ]
        job._create_activities(values)
        job._create_activities(values[:1])
        fields_ = ["res_model", "res_name", "summary", "note", "date_deadline", "user_id", "user_tz", "automated",
                   "active", "date_done", "state", "activity_type_id"]  # fmt: skip
        [orm_values] = orm_activity.read(fields_)
        self.assertEqual(len(by_job.activity_ids), 2, "the partner's cached activities are invalidated")
        for activity in by_job.activity_ids:
            [job_values] = activity.read(fields_)
            self.assertEqual(
                {**job_values, "id": 0, "res_name": "By ORM"}, {**orm_values, "id": 0}, "the same as the ORM's"
            )
        self.assertNotIn("script", plain.activity_ids.note, "a plain text note is sanitised")
        self.assertIn("Hello", plain.activity_ids.note)

        def subscription(partner):
            follower = partner.message_follower_ids.filtered(lambda f: f.partner_id == self.seller.partner_id)
            return len(follower), follower.subtype_ids

        count, subtypes = subscription(by_orm)
        self.assertEqual(count, 1)
        self.assertTrue(subtypes)
        self.assertEqual(subscription(by_job), (1, subtypes), "followed once, with the ORM's default subtypes")
        self.assertEqual(subscription(plain), (1, subtypes))

    def test_activity_plan_schedules_each_step_at_its_offset(self):
        call = self.env.ref("mail.mail_activity_data_call")
        meeting = self.env.ref("mail.mail_activity_data_meeting")
        plan = self.env["mail.activity.plan"].create(
            {
                "name": "Key account review",
                "res_model": "res.partner",
                "template_ids": [
                    Command.create({"activity_type_id": call.id, "summary": "Call to book the review"}),
                    Command.create(
                        {
                            "activity_type_id": meeting.id,
                            "summary": "Review meeting",
                            "delay_count": 7,
                            "delay_from": "after_plan_date",
                            "responsible_type": "other",
                            "responsible_id": self.fixed.id,
                        }
                    ),
                ],
            }
        )
        self.policy_a.activity_plan_id = plan
        day = INVOICE_DAY + timedelta(days=31)
        self.assertEqual(self.run_policy(self.policy_a, day), 2)
        due = day + timedelta(days=self.policy_a.deadline_days)
        self.assertRecordValues(
            self.followups().sorted("date_deadline"),
            [
                {
                    "activity_type_id": call.id,
                    "summary": "Call to book the review",
                    "user_id": self.seller.id,
                    "date_deadline": due,
                },
                {
                    "activity_type_id": meeting.id,
                    "summary": "Review meeting",
                    "user_id": self.fixed.id,
                    "date_deadline": due + timedelta(days=7),
                },
            ],
        )
        self.assertTrue(all("last touch 31 days ago" in note for note in self.followups().mapped("note")))
        self.assertEqual(self.run_policy(self.policy_a, day + timedelta(days=1)), 0, "the plan is open")
        with freeze_time(day + timedelta(days=2)):
            self.followups().filtered(lambda a: a.activity_type_id == meeting).action_done()
        self.followups().unlink()
        self.assertEqual(
            self.run_policy(self.policy_a, day + timedelta(days=2 + 30)), 0, "a done step of the plan is a touch"
        )
        self.assertEqual(self.run_policy(self.policy_a, day + timedelta(days=2 + 31)), 2)

    def test_plan_without_steps_is_refused(self):
        plan = self.env["mail.activity.plan"].create({"name": "Empty", "res_model": "res.partner"})
        with self.assertRaisesRegex(ValidationError, "no activities"):
            self.policy_a.activity_plan_id = plan

    def test_touch_resets_the_cadence(self):
        self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=31))
        with freeze_time(INVOICE_DAY + timedelta(days=33)):
            self.followups().action_done()
        self.assertEqual(self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=63)), 0)
        self.assertEqual(self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=64)), 1)
        self.followups().unlink()
        with freeze_time(INVOICE_DAY + timedelta(days=70)):
            self.customer.message_post(
                body="How was the delivery?", message_type="comment", subtype_xmlid="mail.mt_comment"
            )
        self.assertEqual(self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=100)), 0, "a message is a touch")
        self.assertEqual(self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=101)), 1)

    def test_assignee_rules_and_fallbacks(self):
        day = INVOICE_DAY + timedelta(days=60)
        self.tier_a.write({"user_id": self.account_manager.id, "team_id": self.team.id})
        for rule, expected in (
            ("salesperson", self.seller),
            ("team_leader", self.leader),
            ("tier_manager", self.account_manager),
            ("fixed", self.fixed),
        ):
            with self.subTest(rule=rule):
                self.policy_a.write({"assignee_rule": rule, "user_id": self.fixed.id})
                self.followups().unlink()
                self.run_policy(self.policy_a, day)
                self.assertEqual(self.followups().user_id, expected)
        self.policy_a.assignee_rule = "team_leader"
        self.customer.user_id = False
        self.tier_a.team_id = False
        for user, expected in ((self.account_manager, self.account_manager), (False, self.fixed)):
            with self.subTest(fallback=expected.login):
                self.tier_a.user_id = user
                self.followups().unlink()
                self.run_policy(self.policy_a, day)
                self.assertEqual(self.followups().user_id, expected)
        self.policy_a.write({"assignee_rule": "salesperson", "user_id": False})
        self.followups().unlink()
        self.assertEqual(self.run_policy(self.policy_a, day), 0, "nobody to assign: no activity")

    def test_each_customer_gets_its_own_assignee_in_one_run(self):
        """Assignees are worked out per salesperson and tier: customers of
        different pairs in one run still get each their own."""
        day = INVOICE_DAY + timedelta(days=60)
        self.tier_a.user_id = self.account_manager
        self.policy_a.write({"assignee_rule": "salesperson", "user_id": False})
        others = self.env["res.partner"].create([{"name": f"Key Customer {n}", "is_company": True} for n in (2, 3, 4)])
        others[0].write({"tier_id": self.tier_a.id, "user_id": self.leader.id})
        others[1].write({"tier_id": self.tier_a.id})
        others[2].write({"tier_id": self.tier_b.id, "user_id": self.seller.id})
        self.assertEqual(self.run_policy(self.policy_a, day), 3)
        expected = {self.customer: self.seller, others[0]: self.leader, others[1]: self.account_manager}
        for partner, user in expected.items():
            self.assertEqual(self.followups(partner).user_id, user, partner.name)

    def test_only_customers_with_an_assignee_and_no_open_follow_up_are_checked(self):
        """A customer whose salesperson and tier give nobody to assign, or who
        has an open activity of the policy, is not checked for touches; the
        others of the run are."""
        job = self.env["customer.followup.job"]
        self.policy_a.write({"assignee_rule": "salesperson", "user_id": False})
        orphan = self.env["res.partner"].create({"name": "Orphan Customer", "is_company": True})
        orphan.tier_id = self.tier_a

        def candidates():
            customers = self.env["res.partner"]._search([("id", "in", (self.customer | orphan).ids)])
            return job._candidates(self.policy_a, customers, job._assignees(self.policy_a, job._pairs()))

        self.assertEqual(candidates(), [(self.customer.id, self.seller.id, self.tier_a.id)])
        self.tier_a.user_id = self.account_manager
        self.assertEqual(
            candidates(), [(self.customer.id, self.seller.id, self.tier_a.id), (orphan.id, 0, self.tier_a.id)]
        )
        self.run_policy(self.policy_a, INVOICE_DAY + timedelta(days=31))
        self.assertEqual(candidates(), [], "both have their open follow-up")

    def test_invoice_touches_after_a_tiering_run(self):
        """After a tiering run, its stored last purchase is the invoice touch,
        and only the invoices written since the run looked are read."""
        job = self.env["customer.followup.job"]
        self.run_full()
        now = fields.Datetime.now()
        self.config.last_run_since = now + timedelta(hours=1)  # the invoice predates what the run looked up
        self.assertEqual(job._last_touch(self.policy_a, self.customer.ids), {self.customer.id: INVOICE_DAY})
        self.post_invoice(self.customer, 100.0, INVOICE_DAY + timedelta(days=10))
        self.assertEqual(
            job._last_touch(self.policy_a, self.customer.ids),
            {self.customer.id: INVOICE_DAY},
            "an invoice written before the run looked is the stored last purchase's business",
        )
        self.config.last_run_since = now - timedelta(hours=1)
        self.assertEqual(
            job._last_touch(self.policy_a, self.customer.ids), {self.customer.id: INVOICE_DAY + timedelta(days=10)}
        )

    def test_exclusions(self):
        day = INVOICE_DAY + timedelta(days=60)
        self.seller.active = False
        self.assertEqual(self.run_policy(self.policy_a, day), 0, "archived salesperson and no fallback")
        self.seller.active = True
        self.customer.sale_warn = "block"
        self.assertEqual(self.run_policy(self.policy_a, day), 0, "blocked customer")
        self.customer.sale_warn = "no-message"
        self.customer.active = False
        self.assertEqual(self.run_policy(self.policy_a, day), 0, "archived customer")
        self.customer.active = True
        self.assertEqual(self.run_policy(self.policy_a, day), 1)

    def test_cron_runs_every_policy(self):
        other = self.env["res.partner"].create(
            {"name": "Growth Customer", "is_company": True, "user_id": self.seller.id}
        )
        other.tier_id = self.tier_b
        with freeze_time(INVOICE_DAY + timedelta(days=200)):
            self.env.ref("customer_tiering.ir_cron_followup").method_direct_trigger()
        self.assertEqual(len(self.followups()), 1)
        policy_b = self.policies.filtered(lambda p: p.tier_ids == self.tier_b)
        self.assertEqual(len(self.followups(other, policy_b)), 1, "never touched at all")
        self.assertEqual(self.policy_a.activity_count, 1)

    def test_invalid_policy_is_refused(self):
        for values in (
            {"cadence_days": 0},
            {"cadence_days": -5},
            {"deadline_days": -1},
            {"assignee_rule": "fixed", "user_id": False},
            {"domain": "[('no_such_field', '=', 1)]"},
            {"action": "activity", "activity_type_id": False},
            {"action": "email", "mail_template_id": False},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.policy_a.write(values)

    # ------------------------------------------------------------ first night
    def sellers_customers(self, count, tier, **values):
        """``count`` never-touched customers of ``tier`` for the seller."""
        partners = self.env["res.partner"].create(
            [{"name": f"Customer {n}", "is_company": True, "user_id": self.seller.id, **values} for n in range(count)]
        )
        partners.write({"tier_id": tier.id})
        return partners

    def test_first_night_is_spread_over_the_cadence(self):
        """120 customers never called, on a 30-day cadence: their calls are
        due over the next 30 days, about four a day, each on a day of its
        own that a later run keeps."""
        customers = self.sellers_customers(120, self.tier_a)
        day = date(2026, 6, 1)
        self.run_policy(self.policy_a, day)
        activities = self.env["mail.activity"].search([("res_id", "in", customers.ids)])
        self.assertEqual(len(activities), 120)
        per_day = Counter(activities.mapped("date_deadline"))
        self.assertEqual(set(per_day), {day + timedelta(days=n) for n in range(30)}, "every day of the cadence")
        self.assertLessEqual(max(per_day.values()), 6, "no day gets much more than a thirtieth")
        cycle_day = {activity.res_id: activity.date_deadline.toordinal() % 30 for activity in activities}
        activities.unlink()
        self.run_policy(self.policy_a, day + timedelta(days=11))
        activities = self.env["mail.activity"].search([("res_id", "in", customers.ids)])
        self.assertEqual(
            {activity.res_id: activity.date_deadline.toordinal() % 30 for activity in activities},
            cycle_day,
            "each customer keeps its day of the cycle",
        )
        self.assertEqual(min(activities.mapped("date_deadline")), day + timedelta(days=11))

    # ------------------------------------------------------------ emails
    def test_email_policy_sends_its_template_instead_of_an_activity(self):
        policy_c = self.policies.filtered(lambda p: p.tier_ids == self.tier_c)
        reachable, blacklisted, no_email = self.sellers_customers(3, self.tier_c)
        reachable.email = "buyer@example.com"
        blacklisted.email = "opted.out@example.com"
        self.env["mail.blacklist"]._add("opted.out@example.com")
        for partner in reachable | blacklisted | no_email:
            self.post_invoice(partner, 100.0, INVOICE_DAY)
        day = INVOICE_DAY + timedelta(days=181)
        with freeze_time(day):
            self.assertEqual(self.run_policy(policy_c, day), 1)
        everyone = reachable | blacklisted | no_email
        self.assertFalse(self.env["mail.activity"].search([("res_id", "in", everyone.ids)]), "no task for a person")
        mails = self.env["mail.mail"].search(
            [("model", "=", "res.partner"), ("res_id", "in", (reachable | blacklisted | no_email).ids)]
        )
        self.assertEqual(mails.mapped("res_id"), reachable.ids, "never to an opted-out or address-less customer")
        self.assertEqual(mails.subject, f"{self.company.name}: keeping in touch")
        self.assertEqual(mails.recipient_ids, reachable)
        log = self.env["customer.care.log"].search([("partner_id", "=", reachable.id)])
        self.assertRecordValues(
            log,
            [
                {
                    "company_id": self.company.id,
                    "channel": "email",
                    "date": day,
                    "occasion": f"policy:{policy_c.id}:{day}",
                }
            ],
        )
        self.assertEqual(self.run_policy(policy_c, day), 0, "logged: a re-run sends nothing twice")
        self.assertEqual(self.run_policy(policy_c, day + timedelta(days=180)), 0, "the email is the touch")
        self.assertEqual(self.run_policy(policy_c, day + timedelta(days=181)), 1)

    def test_a_backlog_of_emails_goes_out_over_the_cadence(self):
        policy_c = self.policies.filtered(lambda p: p.tier_ids == self.tier_c)
        policy_c.cadence_days = 3
        customers = self.sellers_customers(30, self.tier_c)
        for partner in customers:
            partner.email = f"{partner.id}@example.com"
        day = date(2026, 6, 1)
        for offset in range(4):
            self.run_policy(policy_c, day + timedelta(days=offset))
        logs = self.env["customer.care.log"].search([("partner_id", "in", customers.ids)])
        self.assertEqual(sorted(logs.partner_id.ids), sorted(customers.ids), "each customer emailed once")
        per_day = Counter(logs.mapped("date"))
        self.assertEqual(set(per_day), {day + timedelta(days=n) for n in range(3)}, "over the three days")
        self.assertLessEqual(max(per_day.values()), 15)

    # ------------------------------------------------------------ one at a time
    def test_one_follow_up_at_a_time_the_first_policy_wins(self):
        """A sleeping A customer is due for its tier's monthly call and for
        the win-back call: it gets the win-back call alone, which says so,
        and no tier call while it is open. Done, it touches both."""
        win_back = self.policies.filtered("stage_ids")
        self.customer.write({"lifecycle_stage": "sleeping", "last_purchase_date": INVOICE_DAY})
        day = INVOICE_DAY + timedelta(days=40)
        self.assertEqual(self.run_policy(self.policies, day), 1)
        self.assertFalse(self.followups())
        activity = self.followups(policy=win_back)
        self.assertEqual(len(activity), 1)
        self.assertIn(win_back.name, activity.note)
        self.assertIn(f"Also due under {self.policy_a.name}", activity.note)
        self.assertEqual(self.run_policy(self.policies, day + timedelta(days=1)), 0, "one open follow-up at a time")
        with freeze_time(day + timedelta(days=2)):
            activity.action_done()
        self.assertEqual(self.run_policy(self.policies, day + timedelta(days=32)), 0, "the call touched both")
        self.assertEqual(self.run_policy(self.policies, day + timedelta(days=33)), 1)
        self.assertEqual(len(self.followups(policy=win_back)), 1)
        self.assertFalse(self.followups())

    def test_a_customer_due_under_one_policy_gets_no_note_of_others(self):
        self.run_policy(self.policies, INVOICE_DAY + timedelta(days=31))
        self.assertNotIn("Also due under", self.followups().note)

    # ------------------------------------------------------------ migration
    def test_1_7_moves_the_seeded_policies_to_the_new_defaults(self):
        """A database seeded before 1.7: the C policy schedules email
        activities, the win-back one targets high risk. The migration makes
        them send the template and target lapsed customers; its open email
        activities go. A policy a manager changed is left alone."""
        email_type = self.env.ref("mail.mail_activity_data_email")
        policy_c = self.policies.filtered(lambda p: p.tier_ids == self.tier_c)
        win_back = self.policies.filtered("stage_ids")
        risk_high = self.env["ir.model.fields.selection"].search(
            [("field_id.model", "=", "res.partner"), ("field_id.name", "=", "churn_risk_level"), ("value", "=", "high")]
        )
        policy_c.write({"action": "activity", "activity_type_id": email_type.id, "mail_template_id": False})
        win_back.write(
            {"name": "Win-back: high churn risk", "stage_ids": [(5, 0, 0)], "risk_level_ids": [(6, 0, risk_high.ids)],
             "sequence": 10}
        )  # fmt: skip
        edited = policy_c.copy({"name": "C customers: email every six months", "cadence_days": 90})
        edited.name = "Our own C emails"
        open_email = self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                "res_id": self.customer.id,
                "activity_type_id": email_type.id,
                "service_policy_id": policy_c.id,
                "user_id": self.seller.id,
            }
        )
        _migration("18.0.1.7.0", "post-followup-policies")(self.env.cr, "18.0.1.6.0")
        self.assertRecordValues(
            policy_c,
            [{"action": "email", "mail_template_id": self.env.ref("customer_tiering.mail_template_followup").id}],
        )
        self.assertFalse(open_email.exists())
        self.assertEqual(edited.action, "activity")
        self.assertEqual(win_back.name, "Win-back: lapsed customers")
        self.assertEqual(sorted(win_back.stage_ids.mapped("value")), ["churned", "sleeping"])
        self.assertFalse(win_back.risk_level_ids)
        self.assertEqual(win_back.sequence, 5)


@tagged("post_install", "-at_install")
class TestGenerateCoupons(TieringInvoiceCommon):
    """Odoo's coupon generation, filled with customers from a selection or a segment."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program = cls.env["loyalty.program"].create(
            {"name": "Win-back offer", "program_type": "coupons", "company_id": cls.company.id}
        )
        cls.first = cls.env["res.partner"].create({"name": "Coupon Co", "is_company": True})
        cls.contact = cls.env["res.partner"].create({"name": "Coupon Buyer", "parent_id": cls.first.id})
        cls.second = cls.env["res.partner"].create({"name": "Second Co", "is_company": True})

    def generate(self, action, user=None):
        wizard = (
            self.env["loyalty.generate.wizard"]
            .with_user(user or self.env.user)
            .with_context(**action["context"])
            .create({"program_id": self.program.id, "description": "Come back"})
        )
        wizard.generate_coupons()
        return self.env["loyalty.card"].search([("program_id", "=", self.program.id)])

    def test_a_selection_gets_one_coupon_per_customer_entity(self):
        action = (self.contact | self.first | self.second).action_generate_coupons()
        self.assertEqual(action["res_model"], "loyalty.generate.wizard")
        self.assertFalse(action["context"]["active_id"], "the program is chosen, not taken from a customer")
        company = {"company_id": self.company.id, "company_ids": [self.company.id]}
        manager = new_test_user(self.env, login="coupon_manager", groups="sales_team.group_sale_manager", **company)
        cards = self.generate(action, manager)
        self.assertEqual(cards.partner_id, self.first | self.second)
        self.assertEqual(len(cards), 2)
        seller = new_test_user(self.env, login="coupon_seller", groups="sales_team.group_sale_salesman", **company)
        with self.assertRaises(AccessError):
            self.first.with_user(seller).action_generate_coupons()

    def test_a_segment_generates_for_its_customers(self):
        segment = self.env["customer.rfm.segment"].search([("company_id", "=", self.company.id)], limit=1)
        self.first.with_company(self.company).sudo().rfm_segment_id = segment
        cards = self.generate(segment.action_generate_coupons())
        self.assertEqual(cards.partner_id, self.first)
