"""Lifecycle stages (潜在 → 新 → 活跃 → 忠诚 → 沉睡 → 流失, and 回流) and churn
risk levels relative to each customer's own rhythm, vectorised over a
company's customers."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .frames import differs

POTENTIAL, NEW, ACTIVE, LOYAL, SLEEPING, CHURNED, REACTIVATED = (
    "potential",
    "new",
    "active",
    "loyal",
    "sleeping",
    "churned",
    "reactivated",
)
LOW, MEDIUM, HIGH = "low", "medium", "high"
RISK_LEVELS = (LOW, MEDIUM, HIGH)
#: Customers still buying, whose rhythm the risk level watches (Customers at Risk).
BUYING_STAGES = (NEW, ACTIVE, LOYAL, REACTIVATED)
#: Customers who stopped buying, for a win-back (the Win-back list and policy).
LAPSED_STAGES = (SLEEPING, CHURNED)


@dataclass(frozen=True)
class StageSettings:
    new_days: int = 90
    loyal_min_purchase_days: int = 10
    loyal_min_tenure_days: int = 365
    sleeping_p_alive: float = 0.5
    churned_p_alive: float = 0.2
    churned_days: int = 365
    reactivated_days: int = 90
    #: Thresholds on P(stopped) = 1 - P(alive).
    risk_medium: float = 0.5
    risk_high: float = 0.8
    #: The share of its interval by which a purchase is late when the customer
    #: is about to sleep (the settings' "Sleeping When Overdue By").
    overdue_share: float = 0.5
    #: Intervals since the last purchase from which the risk is medium: the next purchase is due.
    overdue_medium: float = 1.0

    @property
    def overdue_high(self):
        """Intervals since the last purchase from which the risk is high:
        the next purchase is late by the sleeping share."""
        return self.overdue_medium + self.overdue_share


def overdue(days_since_last, interval):
    """How many of its own expected intervals a customer has been silent:
    below 1 its next purchase is not due yet."""
    return np.asarray(days_since_last, dtype="float64") / np.asarray(interval, dtype="float64")


def _risk_ranks(p_alive, overdue_ratio, settings):
    """0 (low), 1 (medium) or 2 (high) per customer, -1 without a score: the
    worse of the rhythm (how overdue) and P(stopped) = 1 - P(alive)."""
    p_alive = np.asarray(p_alive, dtype="float64")
    overdue_ratio = np.asarray(overdue_ratio, dtype="float64")
    stopped = 1 - p_alive
    high = (overdue_ratio >= settings.overdue_high) | (stopped >= settings.risk_high)
    medium = (overdue_ratio >= settings.overdue_medium) | (stopped >= settings.risk_medium)
    ranks = np.where(high, 2, np.where(medium, 1, 0))
    return np.where(np.isnan(p_alive) | np.isnan(overdue_ratio), -1, ranks)


def risk_levels(p_alive, overdue_ratio, settings):
    """low / medium / high relative to the customer's own rhythm (docs/risk.md):

    * high: silent for ``overdue_high`` of its expected intervals (1.5 by
      default: the next purchase is late by the sleeping share), or
      P(stopped) of at least ``risk_high`` (80%);
    * medium: silent for ``overdue_medium`` interval (1: the next purchase
      is due), or P(stopped) of at least ``risk_medium`` (50%);
    * low otherwise; NA without a score (never bought).

    ``p_alive`` and ``overdue_ratio`` are Series on the same index."""
    ranks = _risk_ranks(p_alive, overdue_ratio, settings)
    levels = np.array([None, *RISK_LEVELS], dtype="object")[ranks + 1]
    return pd.Series(levels, index=p_alive.index, dtype="object")


def stages(customers, prior, settings, today):
    """Stage and since-date per customer.

    ``customers`` has ``purchase_days``, ``first_purchase_date``,
    ``last_purchase_date``, ``p_alive``, ``churn_risk_level`` and ``prospect``;
    ``prior`` the stored ``lifecycle_stage`` and ``lifecycle_stage_since``.
    Rules, first match wins: churned (P(alive) at or below its threshold, or
    no purchase for ``churned_days``), reactivated (bought again after being
    sleeping or churned, kept ``reactivated_days``), sleeping, new (one purchase
    day, first purchase within ``new_days``), loyal (enough purchase days and
    tenure, low risk), active; potential for prospects who never bought.
    """
    today = pd.Timestamp(today)
    prior = prior.reindex(customers.index)
    old_stage = prior["lifecycle_stage"]
    old_since = prior["lifecycle_stage_since"]
    purchase_days = customers["purchase_days"].astype("float64")
    bought = purchase_days > 0
    silent_days = (today - customers["last_purchase_date"]).dt.days
    tenure_days = (today - customers["first_purchase_date"]).dt.days
    p_alive = customers["p_alive"]

    came_back = old_stage.isin([SLEEPING, CHURNED]) & (customers["last_purchase_date"] > old_since)
    still_back = old_stage.eq(REACTIVATED) & ((today - old_since).dt.days < settings.reactivated_days)
    churned = (p_alive <= settings.churned_p_alive) | (silent_days >= settings.churned_days)
    conditions = [
        ~bought & customers["prospect"].astype("boolean").fillna(False).astype(bool),
        ~bought,
        came_back | still_back,
        churned,
        p_alive <= settings.sleeping_p_alive,
        purchase_days.eq(1) & (tenure_days < settings.new_days),
        (purchase_days >= settings.loyal_min_purchase_days)
        & (tenure_days >= settings.loyal_min_tenure_days)
        & customers["churn_risk_level"].eq(LOW),
    ]
    choices = [POTENTIAL, "", REACTIVATED, CHURNED, SLEEPING, NEW, LOYAL]
    stage = np.select(conditions, choices, default=ACTIVE)
    stage = pd.Series(stage, index=customers.index, dtype="object").replace("", None)
    since = old_since.where(~differs(stage, old_stage), today).where(stage.notna())
    return pd.DataFrame({"lifecycle_stage": stage, "lifecycle_stage_since": since}, index=customers.index)


def review_dates(customers, stages, settings):
    """Per customer, the days its stage can change by time alone, P(alive)
    and churn risk aside: a one-time buyer stops being new, tenure makes a
    buyer loyal, silence makes it churned, a reactivation ends."""
    first, last = customers["first_purchase_date"], customers["last_purchase_date"]
    reactivated = stages["lifecycle_stage"].eq(REACTIVATED)
    return pd.concat(
        [
            (first + pd.Timedelta(days=settings.new_days)).where(customers["purchase_days"].eq(1)),
            first + pd.Timedelta(days=settings.loyal_min_tenure_days),
            last + pd.Timedelta(days=settings.churned_days),
            (stages["lifecycle_stage_since"] + pd.Timedelta(days=settings.reactivated_days)).where(reactivated),
        ],
        axis=1,
    )


def dormancy_dates(customers, overdue_share):
    """Per customer, the day its next purchase is overdue by ``overdue_share``
    of its usual interval between invoices: NaT below two invoices, or when
    they all fell on one day."""
    first, last = customers["first_purchase_date"], customers["last_purchase_date"]
    count = customers["purchase_count"].astype("float64")
    repeats = count >= 2
    interval = (last - first).dt.days / (count - 1).where(repeats)
    regular = repeats & (interval > 0)
    overdue = pd.to_timedelta(np.ceil(interval * (1 + overdue_share)).where(regular), unit="D")
    return (last + overdue).where(regular)


def band_changes(fit, summary, settings, horizon_days, days):
    """Per customer, the first of the next ``days`` days on which its churn
    risk level or P(alive) band (sleeping, churned) changes, under ``fit``."""
    x, t_x, T = (summary[column].to_numpy(dtype="float64") for column in ("x", "t_x", "T"))
    interval = fit.expected_interval(x, t_x)  # time alone does not change it

    def bands(later):
        alive, _risk = fit.alive_and_risk(x, t_x, T + later, horizon_days)
        risk_band = _risk_ranks(alive, overdue(T + later - t_x, interval), settings)
        alive_band = np.searchsorted([settings.churned_p_alive, settings.sleeping_p_alive], alive, side="left")
        return risk_band * 3 + alive_band

    today = bands(0)
    first = np.full(len(x), np.nan)
    for later in range(days, 0, -1):  # the earliest day written last
        first[bands(later) != today] = later
    return pd.Series(first, index=summary.index)
