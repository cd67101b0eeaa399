from ast import literal_eval
from datetime import date, timedelta

from lxml import etree

from odoo import SUPERUSER_ID
from odoo.exceptions import AccessError
from odoo.tests import Form, freeze_time, new_test_user, tagged

from odoo.addons.customer_tiering.tests.common import TieringInvoiceCommon
from odoo.addons.customer_tiering_mass_mailing import _uninstall_hook

TODAY = "2023-04-10"
MONTHLY = [date(2023, 1, 1), date(2023, 1, 31), date(2023, 3, 2)]
#: {name: purchases}: on TODAY, every stage but potential and reactivated, and every risk level.
SALES = {
    "Late Big": [(5000.0, day) for day in MONTHLY],  # active, medium
    "Late Small": [(50.0, day) for day in MONTHLY],  # active, medium
    "On Rhythm": [(300.0, day) for day in (date(2023, 2, 9), date(2023, 3, 11), date(2023, 4, 10))],  # active, low
    "Sleeping": [(200.0, day) for day in (date(2023, 1, 15), date(2023, 2, 14))],  # sleeping, high
    "Lapsed": [(100.0, day) for day in (date(2022, 1, 1), date(2022, 1, 31))],  # churned, high
    "Newcomer": [(800.0, date(2023, 3, 20))],  # new
    "Loyal": [(400.0, date(2022, 1, 20) + timedelta(days=30 * n)) for n in range(15)],  # loyal, low
}
#: What the filters select on, per kind of filter.
FIELDS = ("tier_id", "rfm_segment_id", "lifecycle_stage", "churn_risk_level")


@tagged("post_install", "-at_install")
class TestMailingFilters(TieringInvoiceCommon):
    """The saved filters against the partners the nightly job really
    classified, in two companies, their sync with tiers and segments, and
    the New Mailing action."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company(name="Second Co")
        cls.company_2 = cls.company_data_2["company"]
        cls.env.user.company_ids |= cls.company_2
        Partner = cls.env["res.partner"]
        cls.customers = {
            name: Partner.create({"name": name, "is_company": True, "email": f"{name.replace(' ', '.')}@example.com"})
            for name in SALES
        }
        # A contact person, who carries the company's tier, stage and risk.
        cls.contact = Partner.create(
            {"name": "Ann", "parent_id": cls.customers["Late Big"].id, "email": "ann@late-big.example.com"}
        )
        # The second company's own customer: new there, nothing in the first company.
        cls.theirs = Partner.create(
            {"name": "Theirs", "is_company": True, "company_id": cls.company_2.id, "email": "theirs@example.com"}
        )
        with freeze_time(TODAY):
            for name, purchases in SALES.items():
                for amount, day in purchases:
                    cls.post_invoice(cls.customers[name], amount, day)
            cls.post_invoice(cls.theirs, 700.0, date(2023, 3, 25), company=cls.company_data_2)
            cls.cron.method_direct_trigger()
        cls.env.invalidate_all()
        cls.mailer = new_test_user(
            cls.env,
            login="mailer",
            # Contact Creation, as Odoo gives new users: running a server action needs write access.
            groups="base.group_user,base.group_partner_manager,mass_mailing.group_mass_mailing_user",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )

    def tiering_filters(self, env=None):
        Filter = (env or self.env)["mailing.filter"]
        return Filter.search(Filter._tiering_filter_domain())

    def filter_of(self, record):
        link = {"customer.tier": "customer_tier_id", "customer.rfm.segment": "customer_rfm_segment_id"}[record._name]
        return self.env["mailing.filter"].search([(link, "=", record.id)])

    def grouped_counts(self, company):
        """{field: {value: count}}: Contacts grouped by each field, in ``company``."""
        Partner = self.env["res.partner"].with_company(company)
        counts = {}
        for field in FIELDS:
            groups = Partner._read_group([], [field], ["__count"])
            counts[field] = {(key.id if hasattr(key, "id") else key): count for key, count in groups}
        return counts

    def assert_counts_match(self, company):
        """Every filter counts in ``company`` what Contacts grouped by its field count; returns the non-empty."""
        Partner = self.env["res.partner"].with_company(company)
        counts = self.grouped_counts(company)
        selecting = self.env["mailing.filter"]
        for mailing_filter in self.tiering_filters():
            domain = literal_eval(mailing_filter.mailing_domain)
            ((field, operator, value),) = domain
            self.assertEqual(operator, "=")
            found = Partner.search_count(domain)
            self.assertEqual(found, counts[field].get(value, 0), mailing_filter.name)
            if found:
                selecting |= mailing_filter
        return selecting

    # ---------------------------------------------------------------- counts

    def test_the_job_classified_the_customers(self):
        partners = self.env["res.partner"].with_company(self.company)
        stages = {name: partners.browse(partner.id).lifecycle_stage for name, partner in self.customers.items()}
        self.assertEqual(
            stages,
            {
                "Late Big": "active",
                "Late Small": "active",
                "On Rhythm": "active",
                "Sleeping": "sleeping",
                "Lapsed": "churned",
                "Newcomer": "new",
                "Loyal": "loyal",
            },
        )
        self.assertEqual(self.contact.with_company(self.company).tier_id, self.customers["Late Big"].tier_id)
        self.assertEqual(self.theirs.with_company(self.company_2).lifecycle_stage, "new")

    def test_one_filter_per_tier_segment_stage_and_risk(self):
        every = self.env(context={"active_test": False})
        tiers = every["customer.tier"].search([("active", "=", True)])
        segments = every["customer.rfm.segment"].search([("active", "=", True)])
        stages = self.env["res.partner"]._fields["lifecycle_stage"].get_values(self.env)
        risks = self.env["res.partner"]._fields["churn_risk_level"].get_values(self.env)
        filters = self.tiering_filters()
        self.assertEqual(filters.customer_tier_id, tiers)
        self.assertEqual(filters.customer_rfm_segment_id, segments)
        self.assertEqual(
            set(filters.mapped("customer_tiering_key")) - {False},
            {f"lifecycle_stage:{stage}" for stage in stages} | {f"churn_risk_level:{risk}" for risk in risks},
        )
        self.assertEqual(len(filters), len(tiers) + len(segments) + len(stages) + len(risks))
        self.assertEqual(filters.mailing_model_id.model, "res.partner")
        self.assertEqual(filters.create_uid.ids, [SUPERUSER_ID])
        tier_a = self.filter_of(self.tier_a)
        self.assertEqual(tier_a.name, f"Tier: {self.tier_a.name} ({self.company.name})")
        self.assertEqual(literal_eval(tier_a.mailing_domain), [("tier_id", "=", self.tier_a.id)])

    def test_filter_counts_equal_the_contacts_counts(self):
        """Each filter selects, in each company, what Contacts grouped by its
        field show there: in the first company, every tier, five stages,
        every risk level and several segments are non-empty."""
        selecting = self.assert_counts_match(self.company)
        self.assertEqual(selecting.customer_tier_id, self.tiers)
        self.assertEqual(
            set(selecting.mapped("customer_tiering_key")) - {False},
            {
                *(f"lifecycle_stage:{stage}" for stage in ("new", "active", "loyal", "sleeping", "churned")),
                *(f"churn_risk_level:{risk}" for risk in ("low", "medium", "high")),
            },
        )
        self.assertGreaterEqual(len(selecting.customer_rfm_segment_id), 3)
        self.assertEqual(selecting.customer_rfm_segment_id.company_id, self.company)
        # The second company's own: its tiers' filters, and "new" for its customer.
        selecting_2 = self.assert_counts_match(self.company_2)
        self.assertEqual(selecting_2.customer_tier_id.company_id, self.company_2)
        self.assertIn("lifecycle_stage:new", selecting_2.mapped("customer_tiering_key"))
        self.assertNotIn("lifecycle_stage:loyal", selecting_2.mapped("customer_tiering_key"))

    def test_filters_select_contacts_as_contacts_filters_do(self):
        """The stage and risk filters are the Contacts search filters, and
        select the contact persons of a company along with it."""
        view = self.env["res.partner"].get_view(self.env.ref("base.view_res_partner_filter").id, "search")
        contacts_filters = {
            node.get("name"): literal_eval(node.get("domain"))
            for node in etree.fromstring(view["arch"]).iter("filter")
            if node.get("name", "").startswith(("stage_", "risk_"))
        }
        for field, prefix in (("lifecycle_stage", "stage_"), ("churn_risk_level", "risk_")):
            for value in self.env["res.partner"]._fields[field].get_values(self.env):
                mailing_filter = self.tiering_filters().filtered(
                    lambda f, key=f"{field}:{value}": f.customer_tiering_key == key
                )
                self.assertEqual(literal_eval(mailing_filter.mailing_domain), contacts_filters[prefix + value])
        Partner = self.env["res.partner"].with_company(self.company)
        late_big = self.customers["Late Big"]
        for record in (late_big.tier_id, late_big.rfm_segment_id):
            self.assertIn(self.contact, Partner.search(literal_eval(self.filter_of(record).mailing_domain)))

    # ------------------------------------------------------------------ sync

    def test_tier_filter_follows_the_tier(self):
        Tier = self.env["customer.tier"].with_company(self.company)
        tier = Tier.create({"name": "D - Dormant", "code": "D", "sequence": 40, "company_id": self.company.id})
        mailing_filter = self.filter_of(tier)
        self.assertEqual(mailing_filter.name, f"Tier: D - Dormant ({self.company.name})")
        self.assertEqual(literal_eval(mailing_filter.mailing_domain), [("tier_id", "=", tier.id)])
        tier.name = "D - Asleep"
        self.assertEqual(mailing_filter.name, f"Tier: D - Asleep ({self.company.name})")
        self.assertEqual(self.filter_of(tier), mailing_filter, "renamed, not replaced")
        tier.active = False
        self.assertFalse(mailing_filter.exists(), "an archived tier has no filter")
        tier.active = True
        mailing_filter = self.filter_of(tier)
        self.assertTrue(mailing_filter)
        tier.unlink()
        self.assertFalse(mailing_filter.exists())

    def test_segment_filter_follows_the_segment(self):
        Segment = self.env["customer.rfm.segment"].with_company(self.company)
        lost = Segment.search([("company_id", "=", self.company.id)], order="sequence desc", limit=1)
        lost_filter = self.filter_of(lost)
        lost.name = "Gone"
        self.assertEqual(lost_filter.name, f"RFM Segment: Gone ({self.company.name})")
        # Its box freed, a new segment takes it.
        lost.active = False
        self.assertFalse(lost_filter.exists())
        box = {bound: lost[bound] for bound in ("r_min", "r_max", "f_min", "f_max", "m_min", "m_max")}
        newer = Segment.create({"name": "Farewell", "company_id": self.company.id, **box})
        self.assertEqual(self.filter_of(newer).name, f"RFM Segment: Farewell ({self.company.name})")
        self.assertEqual(literal_eval(self.filter_of(newer).mailing_domain), [("rfm_segment_id", "=", newer.id)])
        newer_filter = self.filter_of(newer)
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "Farewell",
                "mailing_model_id": newer_filter.mailing_model_id.id,
                "mailing_filter_id": newer_filter.id,
            }
        )
        newer.unlink()
        self.env.invalidate_all()
        self.assertFalse(newer_filter.exists())
        # A mailing that used the filter keeps its domain: it selects no one now.
        self.assertFalse(mailing.mailing_filter_id)
        self.assertEqual(mailing.mailing_domain, repr([("rfm_segment_id", "=", newer.id)]))

    def test_a_new_company_gets_its_filters(self):
        company = self.env["res.company"].create({"name": "Third Co"})
        tiers = self.env["customer.tier"].search([("company_id", "=", company.id)])
        self.assertEqual(len(tiers), 3)
        names = self.tiering_filters().filtered(lambda f: f.customer_tier_id.company_id == company).mapped("name")
        self.assertEqual(sorted(names), sorted(f"Tier: {tier.name} (Third Co)" for tier in tiers))
        company.name = "Third Company"
        segment = self.env["customer.rfm.segment"].search([("company_id", "=", company.id)], limit=1)
        self.assertEqual(self.filter_of(segment).name, f"RFM Segment: {segment.name} (Third Company)")
        self.assertEqual(self.filter_of(tiers[0]).name, f"Tier: {tiers[0].name} (Third Company)")

    def test_sync_is_for_tiering_managers_without_mailing_rights(self):
        """A tiering manager's new tier gets its filter, which the manager,
        without Email Marketing rights, can neither read nor make directly."""
        manager = new_test_user(
            self.env,
            login="tiering_boss",
            groups="base.group_user,customer_tiering.group_customer_tiering_manager",
            company_id=self.company.id,
            company_ids=[self.company.id],
        )
        tier = self.env["customer.tier"].with_user(manager).create({"name": "E", "code": "E", "sequence": 50})
        mailing_filter = self.filter_of(tier)
        self.assertEqual(mailing_filter.create_uid.id, SUPERUSER_ID)
        with self.assertRaises(AccessError):
            self.env["mailing.filter"].with_user(manager).search([("customer_tier_id", "=", tier.id)])
        values = {"name": "Mine", "mailing_domain": "[]", "mailing_model_id": mailing_filter.mailing_model_id.id}
        with self.assertRaises(AccessError):
            self.env["mailing.filter"].with_user(manager).create(values)

    def test_each_company_sees_its_own_tier_filters(self):
        mine = self.tiering_filters(self.env(user=self.mailer))
        self.assertEqual(mine.customer_tier_id.company_id, self.company)
        self.assertEqual(mine.customer_rfm_segment_id.company_id, self.company)
        self.assertEqual(len(mine.filtered("customer_tiering_key")), 10, "stages and risks serve every company")
        both = self.tiering_filters(self.env(context={"allowed_company_ids": [self.company.id, self.company_2.id]}))
        self.assertIn(self.company_2, both.customer_tier_id.company_id)

    def test_uninstall_removes_the_filters_only(self):
        own = self.env["mailing.filter"].create(
            {
                "name": "Shanghai",
                "mailing_domain": "[('city', '=', 'Shanghai')]",
                "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
            }
        )
        _uninstall_hook(self.env)
        self.assertFalse(self.tiering_filters())
        self.assertTrue(own.exists())

    def test_update_rebuilds_what_changed_behind_the_add_on(self):
        stage_filter = self.tiering_filters().filtered(lambda f: f.customer_tiering_key == "lifecycle_stage:loyal")
        stage_filter.write({"name": "Edited", "mailing_domain": "[]"})
        self.filter_of(self.tier_b).unlink()
        self.env["mailing.filter"]._tiering_sync_all()
        self.assertEqual(stage_filter.name, "Lifecycle Stage: Loyal")
        self.assertEqual(stage_filter.mailing_domain, "[('lifecycle_stage', '=', 'loyal')]")
        self.assertTrue(self.filter_of(self.tier_b))

    # --------------------------------------------------------------- mailing

    def test_new_mailing_on_selected_contacts(self):
        selected = self.customers["Late Big"] | self.contact | self.customers["Sleeping"]
        action = selected.with_user(self.mailer).action_new_mailing()
        self.assertEqual(action["res_model"], "mailing.mailing")
        with Form(self.env["mailing.mailing"].with_user(self.mailer).with_context(**action["context"])) as form:
            form.subject = "Spring offer"
        mailing = form.record
        self.assertEqual(mailing.mailing_model_real, "res.partner")
        self.assertEqual(literal_eval(mailing.mailing_domain), [("id", "in", selected.ids)])
        self.assertEqual(mailing.total, 3)
        self.assertEqual(mailing.audience_company_id, self.company)
        self.assertEqual(sorted(mailing._get_recipients()), sorted(selected.ids))
        plain = new_test_user(self.env, login="plain", groups="base.group_user")
        with self.assertRaises(AccessError):
            selected.with_user(plain).action_new_mailing()
        # A server action in the contact lists' Action menu, for Email Marketing users.
        server_action = self.env.ref("customer_tiering_mass_mailing.res_partner_action_new_mailing")
        self.assertEqual(server_action.binding_model_id.model, "res.partner")
        self.assertEqual(server_action.groups_id, self.env.ref("mass_mailing.group_mass_mailing_user"))
        run = server_action.with_user(self.mailer).with_context(active_model="res.partner", active_ids=selected.ids)
        self.assertEqual(run.run()["context"]["default_mailing_domain"], repr([("id", "in", selected.ids)]))

    def test_queued_mailing_goes_to_its_companys_audience(self):
        """Email Marketing's queue sends as its scheduled action's user, in
        that user's company: the mailing's recipients are still those of the
        company it was made in."""
        root = self.env.ref("base.user_root")
        root.write({"company_ids": [(4, self.company.id)], "company_id": self.company.id})
        newcomer = self.customers["Newcomer"]
        new_filter = self.tiering_filters().filtered(lambda f: f.customer_tiering_key == "lifecycle_stage:new")
        self.mailer.write({"company_ids": [(4, self.company_2.id)]})
        mailings = self.env["mailing.mailing"]
        for company in (self.company_2, self.company):
            Mailing = self.env["mailing.mailing"].with_user(self.mailer).with_company(company)
            mailings |= Mailing.create(
                {
                    "subject": f"Welcome ({company.name})",
                    "body_html": "<p>Welcome</p>",
                    "mailing_model_id": new_filter.mailing_model_id.id,
                    "mailing_filter_id": new_filter.id,
                }
            )
        theirs_mailing, ours_mailing = mailings
        self.assertEqual(theirs_mailing.audience_company_id, self.company_2)
        self.assertEqual(theirs_mailing.mailing_domain, new_filter.mailing_domain)
        self.assertEqual(theirs_mailing.with_company(self.company).total, 1, "counted in its own company")
        mailings.action_launch()
        self.env(user=SUPERUSER_ID, context={})["mailing.mailing"]._process_mass_mailing_queue()
        sent = {mailing: set(mailing.mailing_trace_ids.mapped("res_id")) for mailing in mailings}
        self.assertEqual(sent[theirs_mailing], {self.theirs.id})
        self.assertEqual(sent[ours_mailing], {newcomer.id})
