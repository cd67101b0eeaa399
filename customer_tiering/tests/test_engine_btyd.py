"""Unit tests of the BTYD engine, against the published CDNOW estimates."""

from functools import cache
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd

from odoo.tests import BaseCase, tagged

from odoo.addons.customer_tiering.engine import btyd

from .approx import ApproxAssertions, is_approx

DATA = Path(__file__).parent / "data" / "CDNOW_sample.txt"
CALIBRATION_END = pd.Timestamp("1997-09-30")  # 39 weeks after 1997-01-01
WEEK = 7.0


def cdnow_summary():
    """x, t_x, T in days and spend per repeat day, purchases on one day merged."""
    raw = pd.read_csv(DATA, sep=r"\s+", header=None, names=["master", "id", "date", "cds", "value"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str))
    days = raw[raw["date"] <= CALIBRATION_END].groupby(["id", "date"], as_index=False)["value"].sum()
    grouped = days.sort_values("date").groupby("id")
    first, last, count = grouped["date"].min(), grouped["date"].max(), grouped["date"].count()
    total, first_value = grouped["value"].sum(), grouped["value"].first()
    return pd.DataFrame(
        {
            "x": count - 1,
            "t_x": (last - first).dt.days,
            "T": (CALIBRATION_END - first).dt.days,
            "m": (total - first_value) / (count - 1).clip(lower=1),
            "spend": total / count,
        }
    )


# Computed once for the module's test classes: the data and the fits are only read.
@cache
def cdnow_data():
    return cdnow_summary()


@cache
def bgnbd_fit():
    cdnow = cdnow_data()
    return btyd.fit_count_model(cdnow["x"], cdnow["t_x"], cdnow["T"], btyd.BGNBD)


@cache
def mbgnbd_fit():
    cdnow = cdnow_data()
    return btyd.fit_count_model(cdnow["x"], cdnow["t_x"], cdnow["T"], btyd.MBGNBD)


def assert_sig(value, expected, digits=3):
    assert is_approx(float(f"{value:.{digits}g}"), expected), f"{value} is not {expected} to {digits} figures"


class CdnowCase(ApproxAssertions, BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cdnow, cls.bgnbd, cls.mbgnbd = cdnow_data(), bgnbd_fit(), mbgnbd_fit()


@tagged("post_install", "-at_install")
class TestCdnow(CdnowCase):
    def test_sample_size(self):
        assert len(self.cdnow) == 2357

    def test_bgnbd_paper_estimates(self):
        assert self.bgnbd.converged
        assert_sig(self.bgnbd.r, 0.243)
        assert_sig(self.bgnbd.alpha / WEEK, 4.41)
        assert round(self.bgnbd.alpha / WEEK, 3) == 4.414
        assert_sig(self.bgnbd.a, 0.793)
        assert_sig(self.bgnbd.b, 2.43)
        assert round(self.bgnbd.b, 3) == 2.426
        # the same data in weeks: the density scales by 7 per repeat purchase
        log_likelihood_weeks = self.bgnbd.log_likelihood + self.cdnow["x"].sum() * np.log(WEEK)
        assert round(log_likelihood_weeks, 1) == -9582.4

    def test_bgnbd_conditional_expectation_of_the_paper(self):
        expected = btyd.expected_purchases(self.bgnbd, 39 * WEEK, [2], [30.43 * WEEK], [38.86 * WEEK])
        assert round(float(expected[0]), 3) == 1.226

    def test_mbgnbd_estimates(self):
        assert self.mbgnbd.converged
        assert_sig(self.mbgnbd.r, 0.525)
        assert round(self.mbgnbd.alpha / WEEK, 3) == 6.183
        assert_sig(self.mbgnbd.a, 0.891)
        assert_sig(self.mbgnbd.b, 1.61)
        assert round(self.mbgnbd.b, 3) == 1.614

    def test_gamma_gamma_estimates(self):
        spend = btyd.fit_spend_model(self.cdnow["x"], self.cdnow["m"])
        assert spend.converged
        assert_sig(spend.p, 6.25)
        assert_sig(spend.q, 3.74)
        assert_sig(spend.gamma, 15.4)
        assert round(spend.gamma, 2) == 15.44

    def test_churn_risk_is_calibrated_on_the_holdout(self):
        """Share of customers with no purchase in the 90 days after calibration
        (83.1%) against the mean predicted risk over that horizon (85.4%)."""
        raw = pd.read_csv(DATA, sep=r"\s+", header=None, names=["master", "id", "date", "cds", "value"])
        raw["date"] = pd.to_datetime(raw["date"].astype(str))
        holdout = raw[(raw["date"] > CALIBRATION_END) & (raw["date"] <= CALIBRATION_END + pd.Timedelta(days=90))]
        quiet = ~self.cdnow.index.isin(holdout["id"].unique())
        risk = btyd.churn_risk(self.mbgnbd, 90, self.cdnow["x"], self.cdnow["t_x"], self.cdnow["T"])
        assert abs(risk.mean() - quiet.mean()) < 0.03


@tagged("post_install", "-at_install")
class TestBoundaries(CdnowCase):
    def test_one_time_buyer_alive_for_bgnbd_fading_for_mbgnbd(self):
        ages = np.array([30.0, 365.0, 3 * 365.0])
        zeros = np.zeros_like(ages)
        assert np.all(btyd.p_alive(self.bgnbd, zeros, zeros, ages) == 1.0)
        alive = btyd.p_alive(self.mbgnbd, zeros, zeros, ages)
        assert np.all(np.diff(alive) < 0) and alive[-1] < alive[0]

    def test_recent_repeat_buyer_is_more_alive_than_a_lapsed_one(self):
        alive = btyd.p_alive(self.mbgnbd, [5, 5], [250, 20], [260, 260])
        assert alive[0] > alive[1]

    def test_churn_risk_formula_and_range(self):
        x, t_x, T = np.array([0.0, 3.0]), np.array([0.0, 100.0]), np.array([200.0, 200.0])
        alive = btyd.p_alive(self.mbgnbd, x, t_x, T)
        quiet = ((self.mbgnbd.alpha + T) / (self.mbgnbd.alpha + T + 90)) ** (self.mbgnbd.r + x)
        risk = btyd.churn_risk(self.mbgnbd, 90, x, t_x, T)
        np.testing.assert_allclose(risk, (1 - alive) + alive * quiet)
        assert np.all((risk > 0) & (risk < 1))

    def test_longer_horizon_lowers_the_risk(self):
        assert (
            btyd.churn_risk(self.mbgnbd, 180, [2], [100], [200])[0]
            < btyd.churn_risk(self.mbgnbd, 30, [2], [100], [200])[0]
        )

    def test_clv_discounting(self):
        spend = btyd.fit_spend_model(self.cdnow["x"], self.cdnow["m"])
        x, t_x, T, m = [4.0], [200.0], [260.0], [30.0]
        expected = btyd.expected_spend(spend, x, m)

        def cumulative(days):
            return btyd.expected_purchases(self.mbgnbd, days, x, t_x, T)

        undiscounted = btyd.discounted_value(cumulative, expected, 12, 0.0)
        np.testing.assert_allclose(undiscounted, cumulative(365.25) * expected)
        assert btyd.discounted_value(cumulative, expected, 12, 0.10)[0] < undiscounted[0]


@tagged("post_install", "-at_install")
class TestFallback(CdnowCase):
    def summary(self, rows):
        return pd.DataFrame(rows, columns=["x", "t_x", "T", "m", "spend"])

    def test_few_repeaters_use_the_heuristic(self):
        summary = self.summary([(3, 90, 100, 50.0, 50.0), (0, 0, 400, 0.0, 80.0), (1, 30, 500, 20.0, 20.0)])
        prediction = btyd.predict(summary, btyd.ChurnSettings(min_repeaters=200))
        assert prediction.method == btyd.HEURISTIC
        assert prediction.fallback == btyd.FALLBACK_FEW_REPEATERS
        assert prediction.n_repeaters == 2
        scores = prediction.scores
        assert scores.loc[0, "p_alive"] == 1.0, "last purchase within its own 30-day interval"
        assert scores.loc[2, "p_alive"] < scores.loc[0, "p_alive"]
        assert scores["churn_risk"].between(0, 1).all()

    def test_heuristic_p_alive_boundaries(self):
        # own interval 30 days: alive until 30 days of silence, then e^-1 per extra interval
        alive = btyd.heuristic_p_alive([2, 2, 2], [60, 60, 60], [90, 120, 150], company_interval=50)
        np.testing.assert_allclose(alive, [1.0, np.exp(-1), np.exp(-2)])
        one_timer = btyd.heuristic_p_alive([0, 0], [0, 0], [50, 100], company_interval=50)
        np.testing.assert_allclose(one_timer, [1.0, np.exp(-1)])

    def test_enough_repeaters_use_the_model(self):
        prediction = btyd.predict(self.cdnow, btyd.ChurnSettings(min_repeaters=200))
        assert prediction.method == btyd.MBGNBD and not prediction.fallback
        assert prediction.count_model.converged and prediction.spend_model.converged
        assert prediction.scores["clv_predicted"].gt(0).all()

    def test_large_histories_are_fitted_on_a_sample(self):
        """Half of CDNOW's customers give parameters close to the whole's,
        and every customer is scored."""
        whole = btyd.predict(self.cdnow, btyd.ChurnSettings())
        sampled = btyd.predict(self.cdnow, btyd.ChurnSettings(fit_sample=len(self.cdnow) // 2))
        assert sampled.n_repeaters == whole.n_repeaters
        assert len(sampled.scores) == len(self.cdnow)
        for name in ("r", "alpha", "a", "b"):
            whole_value, sampled_value = getattr(whole.count_model, name), getattr(sampled.count_model, name)
            assert whole_value != sampled_value
            self.assertApprox(sampled_value, whole_value, rel=0.35)
        assert sampled.scores["p_alive"].corr(whole.scores["p_alive"]) > 0.99

    def test_bgnbd_is_selectable(self):
        assert btyd.predict(self.cdnow, btyd.ChurnSettings(method=btyd.BGNBD)).method == btyd.BGNBD

    def test_failed_fit_falls_back(self):
        failed = btyd.SpendModel(1.0, 0.5, 1.0, -1.0, converged=False)
        with patch.object(btyd, "fit_spend_model", lambda x, m: failed):
            prediction = btyd.predict(self.cdnow, btyd.ChurnSettings())
        assert prediction.method == btyd.HEURISTIC and prediction.fallback == btyd.FALLBACK_NOT_CONVERGED
