from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools.misc import get_lang
from odoo.tools.translate import LazyTranslate

# The filters' names are written in a given language (mailing.filter.name is
# not translatable), so their prefixes are translated lazily, per language.
_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

#: The per-company records that get one saved filter each: {model: (link
#: field on mailing.filter, partner field the filter selects on, name)}.
SOURCES = {
    "customer.tier": ("customer_tier_id", "tier_id", _lt("Tier: %(name)s (%(company)s)")),
    "customer.rfm.segment": (
        "customer_rfm_segment_id",
        "rfm_segment_id",
        _lt("RFM Segment: %(name)s (%(company)s)"),
    ),
}
#: The partner selections whose every value gets one saved filter: {partner
#: field: name}. Their values come from the fields themselves, which own the
#: vocabularies (customer_tiering's STAGES and RISK_LEVELS). The fields are
#: company-dependent, and a domain on them selects by the value in the
#: company it is evaluated in: one filter per value serves every company, and
#: a mailing reads it in its audience company (mailing.mailing).
VOCABULARIES = {
    "lifecycle_stage": _lt("Lifecycle Stage: %(value)s"),
    "churn_risk_level": _lt("Churn Risk: %(value)s"),
}


class MailingFilter(models.Model):
    """customer_tiering's tiers, RFM segments, lifecycle stages and churn risk
    levels as saved filters on contacts, kept in sync by the add-on: each
    filter is linked to what it selects, and found again by that link, never
    by its name."""

    _inherit = "mailing.filter"

    customer_tier_id = fields.Many2one(
        "customer.tier",
        string="Tier",
        ondelete="cascade",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The tier this filter selects: the add-on renames the filter with it and deletes it with it.",
    )
    customer_rfm_segment_id = fields.Many2one(
        "customer.rfm.segment",
        string="RFM Segment",
        ondelete="cascade",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The RFM segment this filter selects: the add-on renames the filter with it and deletes it with it.",
    )
    customer_tiering_key = fields.Char(
        string="Tiering Value",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The lifecycle stage or churn risk level this filter selects, as field:value.",
    )

    _sql_constraints = [
        ("customer_tier_uniq", "unique(customer_tier_id)", "A tier has one saved filter."),
        ("customer_rfm_segment_uniq", "unique(customer_rfm_segment_id)", "An RFM segment has one saved filter."),
        ("customer_tiering_key_uniq", "unique(customer_tiering_key)", "A tiering value has one saved filter."),
    ]

    @api.model
    def _tiering_filter_domain(self):
        """The filters the add-on keeps."""
        return [
            "|",
            "|",
            ("customer_tier_id", "!=", False),
            ("customer_rfm_segment_id", "!=", False),
            ("customer_tiering_key", "!=", False),
        ]

    @api.model
    def _tiering_sudo(self):
        """Filters as the superuser, who saves them ("Saved by" OdooBot).
        The sync runs when a tiering manager changes a tier or a segment, and
        a tiering manager need not have email marketing rights: the filters
        follow the tiers and segments whoever changes them. It is private, so
        not callable remotely, and only creates, renames or deletes the
        add-on's own filters, from records the caller could change: it gives
        no one a way to save a filter of their choosing."""
        return self.env["mailing.filter"].with_user(SUPERUSER_ID).with_context(active_test=False)

    @api.model
    def _tiering_lang(self, company):
        """The language the filters of ``company`` are named in: that of the
        company, which its staff reads (Odoo's own fallback when a user has
        none, see get_lang)."""
        return get_lang(self.env, company.sudo().partner_id.lang).code

    @api.model
    def _tiering_partner_model(self):
        return self.env["ir.model"]._get_id("res.partner")

    # ----------------------------------------------------------------- sync

    @api.model
    def _tiering_sync_all(self):
        """Every filter, at install and at each update of the add-on (data
        file): catches up with what changed while it was not installed, or
        without the ORM (a company's language, a vocabulary)."""
        every = self.with_context(active_test=False).sudo()
        for model in SOURCES:
            self._tiering_sync_records(every.env[model].search([]))  # pylint: disable=no-search-all  # tiers, segments: a few per company
        self._tiering_sync_vocabularies()

    @api.model
    def _tiering_sync_companies(self, companies):
        """The tier and segment filters of ``companies``, whose name or language changed."""
        every = self.with_context(active_test=False).sudo()
        for model in SOURCES:
            self._tiering_sync_records(every.env[model].search([("company_id", "in", companies.ids)]))

    @api.model
    def _tiering_sync_records(self, records):
        """Create, rename or delete the filters of ``records`` (tiers or RFM
        segments): one per active record, with the domain a user would filter
        Contacts with. An archived tier or segment has no filter: the next run
        of the tiering job moves its customers elsewhere, so its filter would
        soon select nobody; unarchiving it brings the filter back."""
        if not records:
            return
        link, partner_field, label = SOURCES[records._name]
        Filter = self._tiering_sudo()
        records = records.with_env(Filter.env).exists()
        existing = Filter.search([(link, "in", records.ids)])
        wanted = {}
        for record in records.filtered("active"):
            lang = self._tiering_lang(record.company_id)
            name = label._translate(lang) % {
                "name": record.with_context(lang=lang).name,
                "company": record.company_id.name,
            }
            wanted[record.id] = {"name": name, "mailing_domain": repr([(partner_field, "=", record.id)])}
        self._tiering_apply(existing, wanted, link)

    @api.model
    def _tiering_sync_vocabularies(self):
        """One filter per lifecycle stage and per churn risk level, named in
        the language of the first company (they serve every company)."""
        Filter = self._tiering_sudo()
        company = Filter.env["res.company"].search([], limit=1)
        lang_env = Filter.with_context(lang=self._tiering_lang(company)).env
        Partner = lang_env["res.partner"]
        wanted = {}
        for field_name, label in VOCABULARIES.items():
            for value, value_label in Partner._fields[field_name]._description_selection(lang_env):
                wanted[f"{field_name}:{value}"] = {
                    "name": label._translate(lang_env.lang) % {"value": value_label},
                    "mailing_domain": repr([(field_name, "=", value)]),
                }
        existing = Filter.search([("customer_tiering_key", "!=", False)])
        self._tiering_apply(existing, wanted, "customer_tiering_key")

    @api.model
    def _tiering_apply(self, existing, wanted, link):
        """Make ``existing`` filters, found by their ``link`` field, be the
        ``wanted`` ones: {link value: values}."""
        found = {}
        for mailing_filter in existing:
            key = mailing_filter[link]
            key = key.id if isinstance(key, models.BaseModel) else key
            if key not in wanted:
                mailing_filter.unlink()
                continue
            found[key] = mailing_filter
            changed = {name: value for name, value in wanted[key].items() if mailing_filter[name] != value}
            if changed:
                mailing_filter.write(changed)
        model_id = self._tiering_partner_model()
        existing.create(
            [{**values, link: key, "mailing_model_id": model_id} for key, values in wanted.items() if key not in found]
        )
