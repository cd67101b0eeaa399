from odoo import api, fields, models
from odoo.exceptions import AccessError

from .res_partner import INTERNAL

#: Net Promoter categories of a 0-10 answer.
NPS_CATEGORIES = [("promoter", "Promoter"), ("passive", "Passive"), ("detractor", "Detractor")]
#: Written by the completion of a satisfaction survey only (survey.user_input._mark_done).
SATISFACTION_FIELDS = ("nps_score", "nps_category", "csat_score", "satisfaction_date")


def nps_category(score):
    """The Net Promoter category of a 0-10 answer: 9-10 promote, 7-8 are passive, 0-6 detract."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


# The satisfaction side of the partner, apart from the tiering values of res_partner.py.
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # Company-dependent: a customer shared by two companies answers each one's survey.
    nps_score = fields.Integer(
        string="NPS Score",
        company_dependent=True,
        readonly=True,
        copy=False,
        index=False,
        aggregator="avg",
        help="The last answer, 0 to 10, to 'How likely are you to recommend us to a friend or colleague?'",
        groups=INTERNAL,
    )
    nps_category = fields.Selection(
        NPS_CATEGORIES,
        string="NPS Category",
        company_dependent=True,
        readonly=True,
        copy=False,
        index=False,
        help="Promoter: 9 or 10; passive: 7 or 8; detractor: 0 to 6.",
        groups=INTERNAL,
    )
    csat_score = fields.Integer(
        string="CSAT Score",
        company_dependent=True,
        readonly=True,
        copy=False,
        index=False,
        aggregator="avg",
        help="The last answer, 1 to 5, to 'How satisfied are you with us?'; 0: not answered.",
        groups=INTERNAL,
    )
    satisfaction_date = fields.Date(
        string="Last Survey Answer", company_dependent=True, readonly=True, copy=False, index=False, groups=INTERNAL
    )

    @api.model
    def _commercial_fields(self):
        # The commercial entity answers: its contacts show its scores, as they show its tier.
        return super()._commercial_fields() + list(SATISFACTION_FIELDS)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_satisfaction_write(vals)
        return super().create(vals_list)

    def write(self, vals):
        if self.env.context.get("customer_tiering_merge"):
            # A merge copies the merged partners' values: the survivor keeps its own last answer.
            vals = {field: value for field, value in vals.items() if field not in SATISFACTION_FIELDS}
        self._check_satisfaction_write(vals)
        return super().write(vals)

    def _check_satisfaction_write(self, vals):
        if not self.env.su and vals.keys() & set(SATISFACTION_FIELDS):
            raise AccessError(self.env._("Satisfaction scores come from the customers' survey answers only."))

    def _record_satisfaction(self, company, nps, csat, day):
        """Store an answer of this commercial entity in ``company``: its NPS
        (0-10, or None when not answered) and CSAT (1-5, or None) and the
        day. The ORM's company-dependent write, as a manager's tier write:
        the entity's contacts get the same values (commercial fields)."""
        self.ensure_one()
        values = {"satisfaction_date": day}
        if nps is not None:
            values.update(nps_score=nps, nps_category=nps_category(nps))
        if csat is not None:
            values["csat_score"] = csat
        self.with_company(company).sudo().write(values)
