from odoo import fields, models


class CustomerRfmSegmentHistory(models.Model):
    """Append-only log of the nightly job's segment changes, inserted in
    bulk with each chunk of customers it writes."""

    _name = "customer.rfm.segment.history"
    _description = "RFM Segment History"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    old_segment_id = fields.Many2one("customer.rfm.segment", ondelete="restrict", readonly=True)
    new_segment_id = fields.Many2one("customer.rfm.segment", ondelete="restrict", readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    create_uid = fields.Many2one("res.users", string="By", readonly=True)
