from odoo import api, models

#: What a record's saved filter is made of: its name, its company (named in
#: the filter) and whether it is active (an archived record has none).
SYNCED_FIELDS = {"name", "company_id", "active"}


class MailingFilterSyncedMixin(models.AbstractModel):
    """A record (a tier, an RFM segment) whose saved mailing filter follows it
    (``mailing.filter._tiering_sync_records``): created, renamed, translated
    and deleted or archived with it."""

    _name = "customer.tiering.mailing.filter.synced.mixin"
    _description = "Customer Tiering Record with a Saved Mailing Filter"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env["mailing.filter"]._tiering_sync_records(records)
        return records

    def write(self, vals):
        result = super().write(vals)
        if vals.keys() & SYNCED_FIELDS:
            self.env["mailing.filter"]._tiering_sync_records(self)
        return result

    def _update_field_translations(self, field_name, translations, *args, **kwargs):
        # A name translated without write: the translation dialog, and the
        # default records of a new company (named in every language after their creation).
        result = super()._update_field_translations(field_name, translations, *args, **kwargs)
        if field_name == "name":
            self.env["mailing.filter"]._tiering_sync_records(self)
        return result
