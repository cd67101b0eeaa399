"""Buy-till-you-die models fitted on a company's own purchase history.

* BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way".
* MBG/NBD: Batislam, Denizel & Filiztekin (2007), the modified BG/NBD in which
  a customer may also drop out right after the first purchase, so that a
  one-time buyer from long ago is no longer certainly alive.
* Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV", spend per purchase.

Customers are summarised as ``x`` (repeat purchase days), ``t_x`` (day of the
last purchase) and ``T`` (age), both counted in days from the first purchase.
Likelihoods use ``gammaln`` and log-sum-exp; parameters are fitted on a log
scale with ``scipy.optimize.minimize``.
"""

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1

DAYS_PER_MONTH = 365.25 / 12
BGNBD = "bgnbd"
MBGNBD = "mbgnbd"
HEURISTIC = "heuristic"


@dataclass(frozen=True)
class CountModel:
    """Fitted parameters of a BG/NBD or MBG/NBD model (``alpha`` per day)."""

    method: str
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool


@dataclass(frozen=True)
class SpendModel:
    """Fitted parameters of the Gamma-Gamma spend model."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    converged: bool


def _arrays(*values):
    return [np.asarray(value, dtype="float64") for value in values]


class _History:
    """x, t_x and T with their distinct values: the special functions are
    evaluated once per distinct value and gathered: histories repeat (whole
    days), so a likelihood evaluation costs little however many customers
    share them (docs/design.md)."""

    def __init__(self, x, t_x, T):
        self.x, self.t_x, self.T = _arrays(x, t_x, T)
        self.repeat = self.x > 0
        self._x, self._ix = np.unique(self.x, return_inverse=True)
        self._t, self._it = np.unique(self.t_x, return_inverse=True)
        self._T, self._iT = np.unique(self.T, return_inverse=True)

    def gammaln_x(self, shift):
        return gammaln(shift + self._x)[self._ix]

    def log_x(self, shift):
        return np.log(np.maximum(shift + self._x, 1e-300))[self._ix]

    def log_t_x(self, alpha):
        return np.log(alpha + self._t)[self._it]

    def log_T(self, alpha):
        return np.log(alpha + self._T)[self._iT]


def _bgnbd(params, history):
    r, alpha, a, b = params
    x = history.x
    a1 = history.gammaln_x(r) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + history.gammaln_x(b) - gammaln(b) - history.gammaln_x(a + b)
    a3 = -(r + x) * history.log_T(alpha)
    a4 = np.where(history.repeat, np.log(a) - history.log_x(b - 1) - (r + x) * history.log_t_x(alpha), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _mbgnbd(params, history):
    r, alpha, a, b = params
    x = history.x
    a1 = history.gammaln_x(r) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + history.gammaln_x(b + 1) - gammaln(b) - history.gammaln_x(a + b + 1)
    log_T = history.log_T(alpha)
    a3 = -(r + x) * log_T
    a4 = np.log(a) - history.log_x(b) + (r + x) * (log_T - history.log_t_x(alpha))
    return a1 + a2 + a3 + np.logaddexp(a4, 0.0)


LIKELIHOODS = {BGNBD: _bgnbd, MBGNBD: _mbgnbd}


def _fit(negative_log_likelihood, start):
    """Minimise over log-parameters, so that every parameter stays positive:
    L-BFGS-B, and Nelder-Mead from there when it stops short."""
    result = minimize(negative_log_likelihood, np.log(start), method="L-BFGS-B")
    if not result.success:
        retry = minimize(
            negative_log_likelihood,
            result.x,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 4000, "maxfev": 4000},
        )
        result = retry if retry.fun <= result.fun else result
    params = np.exp(result.x)
    converged = bool(result.success and np.isfinite(result.fun) and np.all(np.isfinite(params)))
    return params, -float(result.fun), converged


def fit_count_model(x, t_x, T, method=MBGNBD):
    """Maximum-likelihood BG/NBD or MBG/NBD fit; times in days."""
    likelihood = LIKELIHOODS[method]
    history = _History(x, t_x, T)
    scale = max(float(history.T.mean()), 1.0)

    def negative_log_likelihood(log_params):
        value = -likelihood(np.exp(log_params), history).sum()
        return value if np.isfinite(value) else 1e300

    params, log_likelihood, converged = _fit(negative_log_likelihood, [1.0, scale, 1.0, 1.0])
    r, alpha, a, b = params
    return CountModel(method, r, alpha, a, b, log_likelihood, converged)


def _renewal_term(model, x, t_x, T):
    """log of the drop-out odds term shared by P(alive) and the expectations."""
    if model.method == BGNBD:
        repeat = x > 0
        base = np.log(model.a) - np.log(np.where(repeat, model.b + x - 1, 1.0))
        term = base + (model.r + x) * (np.log(model.alpha + T) - np.log(model.alpha + t_x))
        return np.where(repeat, term, -np.inf)
    return np.log(model.a) - np.log(model.b + x) + (model.r + x) * (np.log(model.alpha + T) - np.log(model.alpha + t_x))


def p_alive(model, x, t_x, T):
    """P(the customer has not silently dropped out) at age ``T``."""
    x, t_x, T = _arrays(x, t_x, T)
    return expit(-_renewal_term(model, x, t_x, T))


def expected_purchases(model, t, x, t_x, T):
    """Expected purchase days in the next ``t`` days given the history."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + T + t)
    decay = ((alpha + T) / (alpha + T + t)) ** (r + x)
    if model.method == BGNBD:
        numerator = (a + b + x - 1) / (a - 1) * (1 - decay * hyp2f1(r + x, b + x, a + b + x - 1, z))
    else:
        numerator = (a + b + x) / (a - 1) * (1 - decay * hyp2f1(r + x, b + x + 1, a + b + x, z))
    return numerator * p_alive(model, x, t_x, T)


def churn_risk(model, horizon, x, t_x, T):
    """P(no purchase in the next ``horizon`` days):
    (1 - P(alive)) + P(alive) * ((alpha + T) / (alpha + T + H)) ** (r + x)."""
    x, t_x, T = _arrays(x, t_x, T)
    alive = p_alive(model, x, t_x, T)
    quiet = ((model.alpha + T) / (model.alpha + T + horizon)) ** (model.r + x)
    return (1 - alive) + alive * quiet


def expected_interval(model, x, t_x):
    """Days between purchases at the customer's expected purchase rate while
    alive, ``(alpha + t_x) / (r + x)``: the company's Gamma prior on the
    purchase rate updated with the customer's own ``x`` repeat purchases up to
    the last one (``t_x``). A one-time buyer gets the company's typical
    interval ``alpha / r``; a regular buyer about its own mean interval."""
    x, t_x = _arrays(x, t_x)
    return (model.alpha + t_x) / (model.r + x)


def gamma_gamma_log_likelihood(params, x, m):
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m`` over ``x`` repeat purchases."""
    p, q, gamma = params
    x, m = _arrays(x, m)
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + gamma)
    )


def fit_spend_model(x, m):
    """Gamma-Gamma fit on customers with repeat purchases and a positive mean spend."""
    x, m = _arrays(x, m)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]

    def negative_log_likelihood(log_params):
        value = -gamma_gamma_log_likelihood(np.exp(log_params), x, m).sum()
        return value if np.isfinite(value) else np.inf

    params, log_likelihood, converged = _fit(negative_log_likelihood, [1.0, 1.0, max(float(m.mean()), 1.0)])
    p, q, gamma = params
    return SpendModel(p, q, gamma, log_likelihood, converged and q > 1)


def expected_spend(model, x, m):
    """Conditional expected spend per purchase; the population mean for x = 0."""
    x, m = _arrays(x, m)
    m = np.where(x > 0, np.maximum(m, 0.0), 0.0)
    return model.p * (model.gamma + x * m) / (model.p * x + model.q - 1)


def discounted_value(cumulative_purchases, spend, months=12, annual_discount=0.10):
    """Expected revenue over ``months``: each month's expected purchases (from
    ``cumulative_purchases(days)``) times the expected spend, discounted
    monthly at the annual rate."""
    monthly_rate = (1 + annual_discount) ** (1 / 12) - 1
    value = np.zeros_like(spend)
    previous = np.zeros_like(spend)
    for month in range(1, months + 1):
        cumulative = cumulative_purchases(DAYS_PER_MONTH * month)
        value += (cumulative - previous) * spend / (1 + monthly_rate) ** month
        previous = cumulative
    return value


# --------------------------------------------------------------- heuristic


def typical_interval(x, t_x):
    """Median of the repeaters' mean inter-purchase intervals, in days: the
    yardstick for one-time buyers when there is no fitted model."""
    x, t_x = _arrays(x, t_x)
    repeat = x > 0
    return float(np.median(t_x[repeat] / x[repeat])) if repeat.any() else 90.0


def heuristic_p_alive(x, t_x, T, company_interval):
    """Fallback P(alive): 1 while the time since the last purchase is within
    the customer's own mean interval (the company median for one-time
    buyers), then falling by a factor e per further interval overdue."""
    x, t_x, T = _arrays(x, t_x, T)
    interval = _interval(x, t_x, company_interval)
    overdue = np.maximum((T - t_x) / interval - 1.0, 0.0)
    return np.exp(-overdue)


def _interval(x, t_x, company_interval):
    return np.where(x > 0, np.maximum(t_x / np.maximum(x, 1), 1.0), max(company_interval, 1.0))


def heuristic_interval(x, t_x, company_interval):
    """Fallback expected interval: the customer's own mean interval between
    purchase days, the company median for one-time buyers."""
    x, t_x = _arrays(x, t_x)
    return _interval(x, t_x, company_interval)


def heuristic_churn_risk(horizon, x, t_x, T, company_interval):
    """Fallback P(no purchase in the next ``horizon`` days), with purchases of
    a live customer arriving at its usual pace: the same form as the model's."""
    x, t_x, T = _arrays(x, t_x, T)
    alive = heuristic_p_alive(x, t_x, T, company_interval)
    quiet = np.exp(-horizon / _interval(x, t_x, company_interval))
    return (1 - alive) + alive * quiet


def heuristic_expected_purchases(t, x, t_x, T, company_interval):
    x, t_x, T = _arrays(x, t_x, T)
    return heuristic_p_alive(x, t_x, T, company_interval) * t / _interval(x, t_x, company_interval)


# ------------------------------------------------------------------ scoring

FALLBACK_FEW_REPEATERS = "few_repeaters"
FALLBACK_NOT_CONVERGED = "not_converged"


@dataclass(frozen=True)
class ChurnSettings:
    method: str = MBGNBD
    horizon_days: int = 90
    min_repeaters: int = 200
    clv_months: int = 12
    annual_discount: float = 0.10
    #: Beyond this many customers the models are fitted on a fixed random
    #: sample of them, whose estimates differ by far less than a year's
    #: drift; every customer is still scored.
    fit_sample: int = 200_000


@dataclass(frozen=True)
class Prediction:
    """Per-customer scores and how they were obtained: the fitted models, or
    the heuristic with the company's typical purchase interval."""

    scores: pd.DataFrame | None
    method: str
    count_model: CountModel | None = None
    spend_model: SpendModel | None = None
    fallback: str = ""
    n_repeaters: int = 0
    interval: float = 90.0

    def score(self, summary, settings, expected_days=90):
        """The scores of ``summary`` under this fit: the same models or
        heuristic, other customers or a later day."""
        x, t_x, T, m, spend = _arrays(*(summary[column] for column in ("x", "t_x", "T", "m", "spend")))
        if self.count_model is None:
            interval = self.interval

            def expected(days):
                return heuristic_expected_purchases(days, x, t_x, T, interval)

            value = np.maximum(spend, 0.0)
        else:
            count_model = self.count_model

            def expected(days):
                return expected_purchases(count_model, days, x, t_x, T)

            value = expected_spend(self.spend_model, x, m)
        alive, risk = self.alive_and_risk(x, t_x, T, settings.horizon_days)
        return pd.DataFrame(
            {
                "p_alive": alive,
                "churn_risk": risk,
                "expected_purchases": expected(expected_days),
                "clv_predicted": discounted_value(expected, value, settings.clv_months, settings.annual_discount),
                "expected_interval": self.expected_interval(x, t_x),
            },
            index=summary.index,
        )

    def alive_and_risk(self, x, t_x, T, horizon):
        """P(alive) and churn risk alone: what the stages and risk levels need."""
        if self.count_model is None:
            return heuristic_p_alive(x, t_x, T, self.interval), heuristic_churn_risk(horizon, x, t_x, T, self.interval)
        return p_alive(self.count_model, x, t_x, T), churn_risk(self.count_model, horizon, x, t_x, T)

    def expected_interval(self, x, t_x):
        """Each customer's expected days between purchases (see
        ``expected_interval``): the yardstick of its risk level."""
        if self.count_model is None:
            return heuristic_interval(x, t_x, self.interval)
        return expected_interval(self.count_model, x, t_x)

    def to_state(self):
        """The fit without the scores, as JSON-ready values."""
        state = asdict(replace(self, scores=None))
        del state["scores"]
        return _plain(state)

    @classmethod
    def from_state(cls, state):
        count_model, spend_model = state.get("count_model"), state.get("spend_model")
        return cls(
            None,
            **{
                **state,
                "count_model": count_model and CountModel(**count_model),
                "spend_model": spend_model and SpendModel(**spend_model),
            },
        )


def _plain(value):
    """``value`` with NumPy scalars made Python ones, for JSON."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value.item() if isinstance(value, np.generic) else value


def predict(summary, settings, expected_days=90):
    """``p_alive``, ``churn_risk``, expected purchases over ``expected_days``,
    discounted CLV and the expected interval between purchases per customer, from a fitted model when the company has
    enough repeat customers and the fits converge, else from the heuristic.

    ``summary`` has ``x``, ``t_x``, ``T`` (days), ``m`` (mean net spend of the
    repeat purchase days) and ``spend`` (mean net spend of all purchase days).
    """
    fit = _fit_models(summary, settings)
    return replace(fit, scores=fit.score(summary, settings, expected_days))


def _fit_models(summary, settings):
    repeaters = int((summary["x"] > 0).sum())
    if len(summary) > settings.fit_sample:
        summary = summary.sample(n=settings.fit_sample, random_state=0)
    x, t_x, T, m = _arrays(*(summary[column] for column in ("x", "t_x", "T", "m")))
    heuristic = Prediction(None, HEURISTIC, n_repeaters=repeaters, interval=typical_interval(x, t_x))
    if repeaters < settings.min_repeaters:
        return replace(heuristic, fallback=FALLBACK_FEW_REPEATERS)
    count_model = fit_count_model(x, t_x, T, settings.method)
    spend_model = fit_spend_model(x, m)
    if not (count_model.converged and spend_model.converged):
        return replace(heuristic, fallback=FALLBACK_NOT_CONVERGED)
    return replace(heuristic, method=settings.method, count_model=count_model, spend_model=spend_model)
