from odoo import api, fields, models
from odoo.tools import SQL

from ..sql import company_value

METHODS = [
    ("mbgnbd", "MBG/NBD"),
    ("bgnbd", "BG/NBD"),
    ("heuristic", "Heuristic"),
]


class CustomerChurnModel(models.Model):
    """One fit of the purchase (BG/NBD or MBG/NBD) and spend (Gamma-Gamma)
    models on a company's own history, written by the nightly job."""

    _name = "customer.churn.model"
    _description = "Churn and CLV Model Fit"
    _order = "fit_date desc, id desc"
    _rec_name = "fit_date"

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    fit_date = fields.Datetime(required=True, readonly=True)
    method = fields.Selection(METHODS, required=True, readonly=True)
    r = fields.Float(
        digits=(16, 6),
        readonly=True,
        help="How alike customers are in how often they buy: below 1, a few customers buy far more often than most.",
    )
    alpha = fields.Float(
        string="Alpha (per day)",
        digits=(16, 6),
        readonly=True,
        help="Scale of the buying rhythm, in days: a typical customer buys every alpha ÷ r days.",
    )
    a = fields.Float(
        digits=(16, 6),
        readonly=True,
        help="With b, how likely a customer stops buying after a purchase: a ÷ (a + b) on average.",
    )
    b = fields.Float(
        digits=(16, 6),
        readonly=True,
        help="With a: the larger b, the more likely a customer keeps buying after each purchase.",
    )
    churn_horizon_days = fields.Integer(readonly=True)
    log_likelihood = fields.Float(
        digits=(16, 4),
        readonly=True,
        help="How well the model explains the history: higher is better, comparable only between fits of the "
        "same customers.",
    )
    p = fields.Float(
        digits=(16, 6),
        readonly=True,
        help="How steady a customer's spend per purchase is: the larger p, the less it varies from order to order.",
    )
    q = fields.Float(
        digits=(16, 6),
        readonly=True,
        help="How alike customers are in average spend: a small q means a few customers spend far more than most.",
    )
    gamma = fields.Float(
        digits=(16, 6),
        readonly=True,
        help="Scale of spend per purchase, in company currency: the average spend is about p × gamma ÷ (q - 1).",
    )
    n_customers = fields.Integer(string="Customers", readonly=True)
    n_repeaters = fields.Integer(string="Repeat Customers", readonly=True)
    converged = fields.Boolean(readonly=True)
    message = fields.Text(readonly=True)
    purchase_interval_days = fields.Float(
        string="Typical Days Between Purchases",
        compute="_compute_summary",
        digits=(16, 0),
        help="How often a typical customer buys, from the fitted purchase model (alpha ÷ r). Empty for a "
        "heuristic estimate, which uses each customer's own rhythm.",
    )
    still_buying_share = fields.Float(
        string="Customers Still Buying",
        compute="_compute_summary",
        help="The company's customers' average probability of still buying, as the latest fit scored them. "
        "Empty for earlier fits.",
    )
    summary = fields.Char(string="What the Fit Says", compute="_compute_summary")

    @api.depends("company_id", "method", "r", "alpha")
    def _compute_summary(self):
        shares = self._still_buying_shares()
        for fit in self:
            fit.purchase_interval_days = fit.alpha / fit.r if fit.r > 0 and fit.alpha > 0 else 0.0
            fit.still_buying_share = shares.get(fit.id, 0.0)
            fit.summary = fit._summary_text(fit.id in shares)

    def _summary_text(self, has_share):
        """The fit in one plain sentence, in the user's language."""
        self.ensure_one()
        share = round(self.still_buying_share * 100)
        if self.purchase_interval_days and has_share:
            return self.env._(
                "A typical customer buys every %(days)s days; %(share)s%% of customers are still buying.",
                days=round(self.purchase_interval_days),
                share=share,
            )
        if self.purchase_interval_days:
            return self.env._("A typical customer buys every %(days)s days.", days=round(self.purchase_interval_days))
        if has_share:
            return self.env._(
                "Too few repeat customers for a model: each customer's own rhythm is used; "
                "%(share)s%% of customers are still buying.",
                share=share,
            )
        return self.env._("Too few repeat customers for a model: each customer's own rhythm is used.")

    def _still_buying_shares(self):
        """{fit id: average probability of still buying} for the fits that
        are their company's latest: the customers' scores come from it."""
        fits = self.filtered("id")
        if not fits:
            return {}
        latest = {
            company.id: fit_id
            for company, fit_id in self.sudo()._read_group(
                [("company_id", "in", fits.company_id.ids)], ["company_id"], ["id:max"]
            )
        }
        self.env["res.partner"].flush_model(["p_alive"])
        shares = {}
        for company in fits.company_id:
            latest_fit = latest.get(company.id)
            if latest_fit not in fits.ids:
                continue
            # Each company's scores sit under its own key of the partners' jsonb column.
            p_alive = company_value("partner", "p_alive", company, "float")
            [[share]] = self.env.execute_query(
                SQL("SELECT avg(%(p_alive)s) FROM res_partner partner WHERE %(p_alive)s IS NOT NULL", p_alive=p_alive)
            )
            if share is not None:
                shares[latest_fit] = share
        return shares
