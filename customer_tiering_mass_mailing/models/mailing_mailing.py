from odoo import api, fields, models


class MailingMailing(models.Model):
    """A mailing's recipients read in a set company.

    A customer's tier, RFM segment, lifecycle stage and churn risk are
    company-dependent: a domain on them selects by the values in the company
    it is evaluated in. Email Marketing sends from its queue's scheduled
    action, whose user works in its own default company (the main one), not
    in the company the mailing was prepared in: a second company's "Churned"
    mailing would go to the customers churned in the first. So the mailing
    keeps the company it is made in, and its recipients are counted,
    selected and rendered there."""

    _inherit = "mailing.mailing"

    audience_company_id = fields.Many2one(
        "res.company",
        default=lambda self: self.env.company,
        help="The company whose customer values (tier, RFM segment, lifecycle stage, churn risk and the other "
        "company-specific fields) the recipients' filter reads, when counted and when sent.",
    )

    def _in_audience_company(self):
        """The mailing in its audience company, when the user may work in it
        (the queue's scheduled action always may); otherwise as it is."""
        self.ensure_one()
        company = self.audience_company_id
        if not company or company == self.env.company:
            return self
        if not self.env.su and company not in self.env.user.company_ids:
            return self
        return self.with_company(company)

    @api.depends("audience_company_id")
    def _compute_total(self):  # pylint: disable=missing-return  # a compute returns nothing
        for mailing in self:
            super(MailingMailing, mailing._in_audience_company())._compute_total()

    def _get_recipients(self):
        # Also what the queue asks first, to tell a mailing with recipients
        # left from one it marks sent.
        return super(MailingMailing, self._in_audience_company())._get_recipients()

    def _action_send_mail(self, res_ids=None):
        # The recipients and the rendering of their values ("Your tier: ...").
        result = True
        for mailing in self:
            result = super(MailingMailing, mailing._in_audience_company())._action_send_mail(res_ids=res_ids)
        return result
