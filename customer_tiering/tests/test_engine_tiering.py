"""Unit tests of the pure tiering engine (no database)."""

import numpy as np
import pandas as pd

from odoo.tests import BaseCase, tagged

from odoo.addons.customer_tiering.engine import tiering
from odoo.addons.customer_tiering.engine.tiering import TieringSettings

TODAY = pd.Timestamp("2024-07-01")
TIERS = pd.DataFrame({"id": [1, 2, 3], "min_revenue": [1000.0, 100.0, 0.0], "min_rfm_score": [12, 8, 3]})
A, B, C = 1, 2, 3


def sales(rows):
    """rows: {partner_id: (purchase_count, revenue_window[, revenue_total[, last_purchase]])}"""
    frame = pd.DataFrame.from_dict(
        {
            pid: {
                "purchase_count": row[0],
                "revenue_window": row[1],
                "revenue_total": row[2] if len(row) > 2 else row[1],
                "first_purchase_date": pd.Timestamp("2023-01-01"),
                "last_purchase_date": pd.Timestamp(row[3] if len(row) > 3 else "2024-06-01"),
            }
            for pid, row in rows.items()
        },
        orient="index",
    )
    return frame


def prior(rows=None):
    """rows: {partner_id: dict of stored values}"""
    columns = [
        "tier_id",
        "tier_since",
        "tier_locked",
        "tier_lock_until",
        "tier_demotion_since",
        *tiering.METRIC_COLUMNS,
    ]
    frame = pd.DataFrame.from_dict(rows or {}, orient="index").reindex(columns=columns)
    frame["tier_id"] = frame["tier_id"].astype("Int64")
    for column in ("tier_since", "tier_lock_until", "tier_demotion_since", "first_purchase_date", "last_purchase_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def tiers_of(sales_rows, prior_rows=None, today=TODAY, **settings):
    result = tiering.score(sales(sales_rows), prior(prior_rows), TIERS, TieringSettings(**settings), today)
    return {pid: (None if pd.isna(tier) else int(tier)) for pid, tier in result["tier_id"].items()}


@tagged("post_install", "-at_install")
class TestAbc(BaseCase):
    def test_exact_boundaries(self):
        # shares before each customer: 0, 0.80, 0.95 -> A, B (0.80 is not < 0.80), C
        assert tiers_of({1: (1, 80.0), 2: (1, 15.0), 3: (1, 5.0)}) == {1: A, 2: B, 3: C}

    def test_just_below_boundaries(self):
        # shares before: 0, 0.7999, 0.9499 -> A, A, B
        assert tiers_of({1: (1, 79.99), 2: (1, 15.0), 3: (1, 5.01)}) == {1: A, 2: A, 3: B}

    def test_ties_broken_by_partner_id(self):
        # equal revenue: the lower id comes first and takes the A slot
        result = tiers_of({7: (1, 50.0), 5: (1, 50.0)}, cutoff_a=0.5, cutoff_b=0.9)
        assert result == {5: A, 7: B}

    def test_zero_or_negative_window_is_c_and_non_buyer_has_no_tier(self):
        result = tiers_of({1: (2, 100.0), 2: (1, 0.0), 3: (1, -40.0), 4: (0, -10.0)})
        assert result == {1: A, 2: C, 3: C, 4: None}

    def test_refunds_reduce_the_share(self):
        # the caller nets credit notes into revenue_window: 100 - 95 refunded = 5
        assert tiers_of({1: (1, 5.0, 100.0), 2: (1, 80.0), 3: (1, 15.0)}) == {2: A, 3: B, 1: C}

    def test_cutoffs_are_configurable(self):
        result = tiers_of({1: (1, 50.0), 2: (1, 30.0), 3: (1, 20.0)}, cutoff_a=0.4, cutoff_b=0.6)
        assert result == {1: A, 2: B, 3: C}


@tagged("post_install", "-at_install")
class TestOtherMethods(BaseCase):
    def test_thresholds(self):
        result = tiers_of({1: (1, 1000.0), 2: (1, 999.99), 3: (1, 100.0), 4: (1, 5.0)}, method="threshold")
        assert result == {1: A, 2: B, 3: B, 4: C}

    def test_rfm_bands(self):
        rows = {pid: (pid, pid * 10.0, pid * 10.0, f"2024-06-{pid:02d}") for pid in range(1, 11)}
        result = tiers_of(rows, method="rfm")
        # pid 10 scores 5+5+5, pid 1 scores 1+1+1; bands at 12 and 8
        assert result[10] == A and result[1] == C
        scores = tiering.rfm_scores(tiering.compute_metrics(sales(rows)), TODAY)
        total = scores.sum(axis=1)
        expected = {pid: A if total[pid] >= 12 else B if total[pid] >= 8 else C for pid in rows}
        assert result == expected


@tagged("post_install", "-at_install")
class TestRfm(BaseCase):
    def test_quintiles_of_ten_distinct_values(self):
        scores = tiering.quintile_scores(pd.Series(range(1, 11), dtype="float64"))
        assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]

    def test_equal_values_share_a_score(self):
        scores = tiering.quintile_scores(pd.Series([5.0, 5.0, 5.0, 1.0]))
        assert len(set(scores[:3])) == 1

    def test_recency_is_inverted(self):
        rows = {1: (1, 10.0, 10.0, "2024-06-30"), 2: (1, 10.0, 10.0, "2023-07-01")}
        scores = tiering.rfm_scores(tiering.compute_metrics(sales(rows)), TODAY)
        assert scores.loc[1, "rfm_r"] > scores.loc[2, "rfm_r"]

    def test_non_buyers_get_no_scores(self):
        scores = tiering.rfm_scores(tiering.compute_metrics(sales({1: (1, 10.0), 2: (0, 0.0)})), TODAY)
        assert scores.loc[2].isna().all()


@tagged("post_install", "-at_install")
class TestPolicy(BaseCase):
    def test_lock_keeps_the_tier(self):
        stored = {1: {"tier_id": C, "tier_locked": True, "tier_lock_until": None}}
        assert tiers_of({1: (1, 100.0)}, stored)[1] == C

    def test_lock_until_today_still_holds(self):
        stored = {1: {"tier_id": C, "tier_locked": True, "tier_lock_until": "2024-07-01"}}
        assert tiers_of({1: (1, 100.0)}, stored)[1] == C

    def test_lock_expired_applies_the_computed_tier_and_unlocks(self):
        stored = {1: {"tier_id": C, "tier_locked": True, "tier_lock_until": "2024-06-30"}}
        result = tiering.score(sales({1: (1, 100.0)}), prior(stored), TIERS, TieringSettings(), TODAY)
        assert result.loc[1, "tier_id"] == A
        assert bool(result.loc[1, "unlock"])
        assert result.loc[1, "reason"] == tiering.REASON_LOCK_EXPIRED

    def test_grace_period_delays_a_demotion(self):
        rows = {1: (1, 100.0), 2: (1, 900.0)}
        stored = {1: {"tier_id": A, "tier_since": "2024-01-01"}}
        result = tiering.score(sales(rows), prior(stored), TIERS, TieringSettings(demotion_grace_days=30), TODAY)
        assert result.loc[1, "tier_id"] == A
        assert result.loc[1, "tier_demotion_since"] == TODAY
        assert result.loc[1, "tier_since"] == pd.Timestamp("2024-01-01")

    def test_grace_period_boundary(self):
        for days_pending, expected in [(29, A), (30, B)]:
            with self.subTest(days_pending=days_pending):
                rows = {1: (1, 100.0), 2: (1, 900.0)}
                since = TODAY - pd.Timedelta(days=days_pending)
                stored = {1: {"tier_id": A, "tier_demotion_since": since}}
                self.assertEqual(tiers_of(rows, stored, demotion_grace_days=30)[1], expected)

    def test_grace_period_does_not_delay_a_promotion(self):
        stored = {1: {"tier_id": C}}
        assert tiers_of({1: (1, 100.0)}, stored, demotion_grace_days=30)[1] == A

    def test_pending_demotion_cleared_when_customer_recovers(self):
        stored = {1: {"tier_id": A, "tier_demotion_since": "2024-06-01"}}
        result = tiering.score(
            sales({1: (1, 100.0)}), prior(stored), TIERS, TieringSettings(demotion_grace_days=30), TODAY
        )
        assert result.loc[1, "tier_id"] == A and pd.isna(result.loc[1, "tier_demotion_since"])

    def test_customer_without_invoices_any_more_loses_the_tier(self):
        stored = {9: {"tier_id": B, "tier_since": "2024-01-01", "purchase_count": 1}}
        result = tiering.score(sales({1: (1, 10.0)}), prior(stored), TIERS, TieringSettings(), TODAY)
        assert pd.isna(result.loc[9, "tier_id"]) and pd.isna(result.loc[9, "tier_since"])
        assert result.loc[9, "purchase_count"] == 0

    def test_tier_since_moves_only_with_the_tier(self):
        stored = {1: {"tier_id": A, "tier_since": "2024-01-01"}, 2: {"tier_id": A, "tier_since": "2024-01-01"}}
        result = tiering.score(sales({1: (1, 90.0), 2: (1, 10.0)}), prior(stored), TIERS, TieringSettings(), TODAY)
        assert result.loc[1, "tier_since"] == pd.Timestamp("2024-01-01")
        assert result.loc[2, "tier_since"] == TODAY


@tagged("post_install", "-at_install")
class TestChanges(BaseCase):
    def test_unchanged_rows_are_not_reported(self):
        rows = {1: (2, 100.0), 2: (1, 50.0)}
        first = tiering.score(sales(rows), prior(), TIERS, TieringSettings(), TODAY)
        stored = first.drop(columns=["unlock", "reason"]).assign(tier_locked=False, tier_lock_until=pd.NaT)
        second = tiering.score(sales(rows), stored, TIERS, TieringSettings(), TODAY)
        columns = tiering.TIER_COLUMNS + tiering.METRIC_COLUMNS
        assert tiering.changed_mask(first, prior(), columns).all()
        assert not tiering.changed_mask(second, stored, columns).any()

    def test_cent_noise_is_not_a_change(self):
        new = pd.DataFrame({"revenue_total": [10.004]}, index=[1])
        old = pd.DataFrame({"revenue_total": [10.0]}, index=[1])
        assert not tiering.changed_mask(new, old, ["revenue_total"]).any()

    def test_daily_drift_is_stored_once_it_adds_up(self):
        """P(alive) within 0.01 and CLV within 1% of the stored value are
        not a change; beyond, or from or to nothing, they are."""
        old = pd.DataFrame(
            {"p_alive": [0.50, 0.50, None, 0.5], "clv": [1000.0, 1000.0, 10.0, None]}, index=[1, 2, 3, 4]
        )
        new = pd.DataFrame(
            {"p_alive": [0.509, 0.511, 0.5, 0.5], "clv": [1009.0, 1000.0, 10.0, 5.0]}, index=[1, 2, 3, 4]
        )
        drift = {"p_alive": 0.01, "clv": 0.01}
        assert list(tiering.changed_mask(new, old, ["p_alive", "clv"], drift)) == [False, True, True, True]
        new.loc[1, "clv"] = 1011.0
        assert tiering.changed_mask(new, old, ["clv"], drift)[1]

    def test_a_move_of_exactly_the_drift_is_not_a_change(self):
        """Rounded to the cent, 0.83 to 0.84 is 0.010000000000000009 in
        floating point: still within a drift of 0.01."""
        old = pd.DataFrame({"expected": [0.83, 0.83]}, index=[1, 2])
        new = pd.DataFrame({"expected": [0.84, 0.85]}, index=[1, 2])
        assert list(tiering.changed_mask(new, old, ["expected"], {"expected": 0.01})) == [False, True]


@tagged("post_install", "-at_install")
class TestReference(BaseCase):
    def test_reference_scores_a_few_customers_as_the_full_run_did(self):
        """Scored alone against a full run's reference, each customer gets the
        tier and R, F, M scores the full run gave it."""
        rng = np.random.default_rng(7)
        n = 500
        rows = {
            pid: (
                int(rng.integers(1, 30)),
                float(rng.lognormal(6, 1.5)),
                float(rng.lognormal(7, 1.5)),
                str(TODAY - pd.Timedelta(days=int(rng.integers(0, 700))))[:10],
            )
            for pid in range(1, n + 1)
        }
        settings = TieringSettings()
        full = tiering.score(sales(rows), prior(), TIERS, settings, TODAY)
        reference = tiering.reference(full, settings)
        few = [3, 77, 250, 499]
        alone = tiering.score(sales({pid: rows[pid] for pid in few}), prior(), TIERS, settings, TODAY, reference)
        columns = ["tier_id", "rfm_r", "rfm_f", "rfm_m"]
        pd.testing.assert_frame_equal(alone[columns], full.loc[few, columns])

    def test_review_dates_of_locks_grace_and_the_revenue_window(self):
        result = pd.DataFrame({"tier_demotion_since": [pd.NaT, pd.Timestamp("2024-06-20"), pd.NaT]}, index=[1, 2, 3])
        stored = prior({1: {"tier_locked": True, "tier_lock_until": pd.Timestamp("2024-07-10")}})
        window_exit = pd.Series([pd.NaT, pd.NaT, pd.Timestamp("2024-08-01")], index=[1, 2, 3])
        dates = tiering.review_dates(result, stored, window_exit, TieringSettings(demotion_grace_days=30))
        assert list(dates) == [pd.Timestamp("2024-07-11"), pd.Timestamp("2024-07-20"), pd.Timestamp("2024-08-01")]
