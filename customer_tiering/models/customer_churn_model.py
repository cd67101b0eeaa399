from odoo import fields, models

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
    r = fields.Float(digits=(16, 6), readonly=True)
    alpha = fields.Float(string="Alpha (per day)", digits=(16, 6), readonly=True)
    a = fields.Float(digits=(16, 6), readonly=True)
    b = fields.Float(digits=(16, 6), readonly=True)
    churn_horizon_days = fields.Integer(readonly=True)
    log_likelihood = fields.Float(digits=(16, 4), readonly=True)
    p = fields.Float(digits=(16, 6), readonly=True)
    q = fields.Float(digits=(16, 6), readonly=True)
    gamma = fields.Float(digits=(16, 6), readonly=True)
    n_customers = fields.Integer(string="Customers", readonly=True)
    n_repeaters = fields.Integer(string="Repeat Customers", readonly=True)
    converged = fields.Boolean(readonly=True)
    message = fields.Text(readonly=True)
