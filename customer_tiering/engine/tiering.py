"""Tier classification: metrics, RFM quintiles, ABC / RFM / threshold tiers,
and the lock and grace-period policy, all vectorised over a company's customers.

Frames are indexed by the commercial partner id. Dates are pandas Timestamps
(``datetime64``); a missing tier is ``pd.NA`` in an ``Int64`` column.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .frames import differs

REASON_COMPUTED = "computed"
REASON_LOCK_EXPIRED = "lock_expired"

#: Columns the job stores per customer, with how to compare old and new values.
METRIC_COLUMNS = (
    "purchase_count",
    "first_purchase_date",
    "last_purchase_date",
    "revenue_total",
    "revenue_window",
    "rfm_r",
    "rfm_f",
    "rfm_m",
)
TIER_COLUMNS = ("tier_id", "tier_since", "tier_demotion_since")
MONEY_COLUMNS = ("revenue_total", "revenue_window")


@dataclass(frozen=True)
class Reference:
    """What a full run learnt of the whole customer base, so that a few
    customers are scored alike in between: the lowest window revenue of an A
    and of a B customer, and the lowest value scoring 2, 3, 4 and 5 on R (as
    the last purchase day), F and M. ``None`` stands for "not reached"."""

    abc: tuple = (None, None)
    r: tuple = ()
    f: tuple = ()
    m: tuple = ()


@dataclass(frozen=True)
class TieringSettings:
    method: str = "abc"
    cutoff_a: float = 0.80
    cutoff_b: float = 0.95
    demotion_grace_days: int = 0


def compute_metrics(sales):
    """Per-customer metrics from the aggregated sales.

    ``sales`` has ``purchase_count``, ``first_purchase_date``,
    ``last_purchase_date``, ``revenue_total`` and ``revenue_window``.
    """
    metrics = sales.copy()
    metrics["purchase_count"] = metrics["purchase_count"].fillna(0).astype("int64")
    for column in ("revenue_total", "revenue_window"):
        metrics[column] = metrics[column].fillna(0.0).astype("float64").round(2)
    return metrics


def _day_numbers(dates):
    return (dates - pd.Timestamp(0)).dt.days


def _lowest(values):
    return float(values.min()) if len(values) else None


def quintile_edges(values, scores):
    """The lowest value scoring 2, 3, 4 and 5."""
    return tuple(_lowest(values[scores >= score]) for score in range(2, 6))


def edge_scores(values, edges):
    """1 to 5 from a full run's quintile edges: one more per edge reached."""
    scores = pd.Series(1, index=values.index, dtype="Int64")
    for edge in edges:
        if edge is not None:
            scores += (values >= edge).astype("int64")
    return scores


def quintile_scores(values, higher_is_better=True):
    """1 to 5 quintile scores; equal values always share a score."""
    ranked = (values if higher_is_better else -values).rank(method="average", pct=True)
    return np.ceil(ranked * 5).clip(1, 5).astype("Int64")


def rfm_scores(metrics, today, reference=None):
    """R, F and M quintiles across the customers who bought (others get NA),
    or from the ``reference`` edges.

    Recency is days since the last purchase; frequency the lifetime number of
    invoices; monetary the lifetime net revenue.
    """
    buyers = metrics[metrics["purchase_count"] > 0]
    if reference:
        scores = {
            "rfm_r": edge_scores(_day_numbers(buyers["last_purchase_date"]), reference.r),
            "rfm_f": edge_scores(buyers["purchase_count"], reference.f),
            "rfm_m": edge_scores(buyers["revenue_total"], reference.m),
        }
    else:
        recency = (today - buyers["last_purchase_date"]).dt.days
        scores = {
            "rfm_r": quintile_scores(recency, higher_is_better=False),
            "rfm_f": quintile_scores(buyers["purchase_count"]),
            "rfm_m": quintile_scores(buyers["revenue_total"]),
        }
    return pd.DataFrame(scores, index=buyers.index).reindex(metrics.index).astype("Int64")


def _first_met(values, thresholds):
    """Index of the first (best) threshold that ``values`` reach; thresholds
    decrease strictly, and values below them all get the last index."""
    descending = -np.asarray(thresholds, dtype="float64")
    index = np.searchsorted(descending, -np.asarray(values, dtype="float64"), side="left")
    return np.minimum(index, len(thresholds) - 1)


def _abc_ranks(metrics, settings):
    """0, 1 or 2 (A, B, C) by the cumulative revenue share of the customers before."""
    window = metrics["revenue_window"]
    positive = window[window > 0]
    # Highest revenue first, ties by id: sorting the two arrays alone, not the frame.
    order = np.lexsort((positive.index.to_numpy(), -positive.to_numpy()))
    cents = np.round(positive.to_numpy()[order] * 100).astype("int64")
    before = np.cumsum(cents) - cents
    total = cents.sum()
    ranks = np.where(before < settings.cutoff_a * total, 0, np.where(before < settings.cutoff_b * total, 1, 2))
    return pd.Series(ranks, index=positive.index[order]).reindex(metrics.index, fill_value=2)


def _abc_reference_ranks(metrics, reference):
    """0, 1 or 2 (A, B, C) from the window revenue a full run required."""
    window = metrics["revenue_window"].to_numpy()
    lowest_a, lowest_b = (np.inf if value is None else value for value in reference.abc)
    return np.where((window > 0) & (window >= lowest_a), 0, np.where((window > 0) & (window >= lowest_b), 1, 2))


def classify(metrics, rfm, tiers, settings, reference=None):
    """Target tier id per customer; NA for those who never bought.

    ``tiers`` is ordered best first and has ``id``, ``min_revenue`` and
    ``min_rfm_score``. ABC uses the three best tiers, and the ``reference``
    revenues when there is one.
    """
    buyers = metrics.index[metrics["purchase_count"] > 0]
    target = pd.Series(pd.NA, index=metrics.index, dtype="Int64")
    if tiers.empty or buyers.empty:
        return target
    bought = metrics.loc[buyers]
    if settings.method == "abc":
        ranks = _abc_reference_ranks(bought, reference) if reference else _abc_ranks(bought, settings).to_numpy()
        ranks = np.minimum(ranks, len(tiers) - 1)
    elif settings.method == "rfm":
        score = rfm.loc[buyers, ["rfm_r", "rfm_f", "rfm_m"]].sum(axis=1)
        ranks = _first_met(score, tiers["min_rfm_score"])
    elif settings.method == "threshold":
        ranks = _first_met(bought["revenue_window"], tiers["min_revenue"])
    else:
        raise ValueError(f"unknown tiering method {settings.method!r}")
    target.loc[buyers] = tiers["id"].to_numpy()[ranks]
    return target


def apply_policy(target, prior, tiers, settings, today):
    """Final tier per customer after locks and the demotion grace period.

    ``prior`` holds the stored ``tier_id``, ``tier_since``, ``tier_locked``,
    ``tier_lock_until`` and ``tier_demotion_since``. Returns ``tier_id``,
    ``tier_since``, ``tier_demotion_since``, ``unlock`` and ``reason``.
    """
    index = target.index.union(prior.index)
    target = target.reindex(index)
    prior = prior.reindex(index)
    prior_tier = prior["tier_id"].astype("Int64")
    locked = prior["tier_locked"].astype("boolean").fillna(False).astype(bool)

    rank = dict(zip(tiers["id"], range(len(tiers)), strict=False))
    worst = len(tiers)
    target_rank = target.map(rank).fillna(worst)
    prior_rank = prior_tier.map(rank).fillna(worst)

    lock_active = locked & (prior["tier_lock_until"].isna() | (prior["tier_lock_until"] >= today))
    lock_expired = locked & ~lock_active
    free = ~locked | lock_expired

    pending = free & ~lock_expired & prior_tier.notna() & target.notna() & (target_rank > prior_rank)
    pending &= settings.demotion_grace_days > 0
    since = prior["tier_demotion_since"].where(pending).fillna(today)
    waiting = pending & ((today - since).dt.days < settings.demotion_grace_days)

    keep = lock_active | waiting
    final = target.where(~keep, prior_tier).astype("Int64")
    changed = differs(final, prior_tier)
    tier_since = prior["tier_since"].where(~changed, today).where(final.notna())

    return pd.DataFrame(
        {
            "tier_id": final,
            "tier_since": tier_since,
            "tier_demotion_since": since.where(waiting),
            "unlock": lock_expired,
            "reason": np.where(lock_expired, REASON_LOCK_EXPIRED, REASON_COMPUTED),
        },
        index=index,
    )


def score(sales, prior, tiers, settings, today, reference=None):
    """Everything the job stores for a company's customers, one row each.

    ``sales`` covers the customers with invoices; ``prior`` the stored state of
    every customer that has any (so customers that lost all invoices reset).
    With a ``reference``, only some customers are scored, as a full run would.
    """
    today = pd.Timestamp(today)
    metrics = compute_metrics(sales)
    rfm = rfm_scores(metrics, today, reference)
    target = classify(metrics, rfm, tiers, settings, reference)
    result = apply_policy(target, prior, tiers, settings, today)
    metrics = metrics.join(rfm).reindex(result.index)
    metrics["purchase_count"] = metrics["purchase_count"].fillna(0).astype("int64")
    for column in MONEY_COLUMNS:
        metrics[column] = metrics[column].fillna(0.0)
    return result.join(metrics[list(METRIC_COLUMNS)])


def reference(result, settings):
    """The ``Reference`` of a full run's ``result``."""
    buyers = result[result["purchase_count"] > 0]
    ranks = _abc_ranks(buyers, settings)
    window = buyers["revenue_window"]
    return Reference(
        abc=(_lowest(window[ranks == 0]), _lowest(window[ranks <= 1])),
        r=quintile_edges(_day_numbers(buyers["last_purchase_date"]), buyers["rfm_r"]),
        f=quintile_edges(buyers["purchase_count"], buyers["rfm_f"]),
        m=quintile_edges(buyers["revenue_total"], buyers["rfm_m"]),
    )


def review_dates(result, prior, window_exit, settings):
    """Per customer, the next day its tier or metrics change by time alone:
    a lock expires, a demotion grace period ends, or a sale leaves the
    revenue window (``window_exit``)."""
    prior = prior.reindex(result.index)
    lock_ends = prior["tier_lock_until"].where(prior["tier_locked"].astype("boolean").fillna(False).astype(bool))
    grace_ends = result["tier_demotion_since"] + pd.Timedelta(days=settings.demotion_grace_days)
    return pd.concat([lock_ends + pd.Timedelta(days=1), grace_ends, window_exit.reindex(result.index)], axis=1).min(
        axis=1
    )


DRIFT_EPSILON = 1e-9


def changed_mask(new, old, columns, drift=None):
    """Rows of ``new`` whose ``columns`` differ from ``old`` (NA equals NA).

    ``drift`` gives, per column, how far a value may move before it counts
    as changed: that share of the stored value, or that much below 1.
    """
    old = old.reindex(new.index)
    mask = pd.Series(False, index=new.index)
    for column in columns:
        a, b = new[column], old[column]
        if column in MONEY_COLUMNS:
            a, b = a.astype("float64").round(2), b.astype("float64").round(2)
        changed = differs(a, b)
        if drift and column in drift:
            a, b = a.astype("float64"), b.astype("float64")
            # The epsilon keeps a move of exactly the drift, 0.84 - 0.83 in
            # floating point, within it.
            changed &= ~((a - b).abs() <= drift[column] * np.maximum(b.abs(), 1.0) + DRIFT_EPSILON)
        mask |= changed
    return mask
