"""Unit tests of the risk level relative to the customer's own rhythm
(docs/risk.md), with hand-computed cases."""

import numpy as np
import pandas as pd

from odoo.tests import BaseCase, tagged

from odoo.addons.customer_tiering.engine import btyd, lifecycle
from odoo.addons.customer_tiering.engine.lifecycle import StageSettings
from odoo.addons.customer_tiering.models.customer_lifecycle_history import STAGES

from .approx import ApproxAssertions

SETTINGS = StageSettings()  # P(stopped) 50% / 80%, overdue by half an interval
MODEL = btyd.CountModel(btyd.MBGNBD, r=0.5, alpha=30.0, a=0.8, b=2.5, log_likelihood=0.0, converged=True)


RISK_LEVEL_RULES = [
    # a quarterly buyer halfway through the quarter: 45 / 90 = 0.5 interval
    (45, 90, 0.9, "low"),
    # 89 / 90: the next order is not due yet
    (89, 90, 0.9, "low"),
    # 90 / 90 = 1: the next order is due
    (90, 90, 0.9, "medium"),
    (134, 90, 0.9, "medium"),
    # 135 / 90 = 1.5: late by half an interval, the sleeping share
    (135, 90, 0.9, "high"),
    # the same silence is nothing for a yearly buyer: 135 / 365 = 0.37
    (135, 365, 0.9, "low"),
    # a monthly buyer after 29, 30 and 45 days
    (29, 30, 0.9, "low"),
    (30, 30, 0.9, "medium"),
    (45, 30, 0.9, "high"),
    # P(alive) alone: P(stopped) of 50% is medium, 80% high, whatever the rhythm
    (0, 90, 0.51, "low"),
    (0, 90, 0.5, "medium"),
    (0, 90, 0.21, "medium"),
    (0, 90, 0.2, "high"),
    # the worse of the two
    (90, 90, 0.2, "high"),
    (135, 90, 0.99, "high"),
]


def level(days_since_last, interval, p_alive, settings=SETTINGS):
    ratio = lifecycle.overdue([days_since_last], [interval])
    return lifecycle.risk_levels(pd.Series([p_alive]), pd.Series(ratio), settings).iloc[0]


@tagged("post_install", "-at_install")
class TestRiskLevels(ApproxAssertions, BaseCase):
    def test_default_marks(self):
        assert (SETTINGS.overdue_medium, SETTINGS.overdue_high) == (1.0, 1.5)
        wider = StageSettings(overdue_share=1.0)
        assert (wider.overdue_medium, wider.overdue_high) == (1.0, 2.0)

    def test_risk_level_rule(self):
        for days, interval, p_alive, expected in RISK_LEVEL_RULES:
            with self.subTest(days=days, interval=interval, p_alive=p_alive):
                self.assertEqual(level(days, interval, p_alive), expected)

    def test_settings_move_the_marks(self):
        loose = StageSettings(risk_medium=0.6, risk_high=0.9, overdue_share=1.0)
        assert level(89, 90, 0.9, loose) == "low"
        assert level(179, 90, 0.9, loose) == "medium"  # 1.99 intervals
        assert level(180, 90, 0.9, loose) == "high"  # late by a whole interval
        assert level(0, 90, 0.45, loose) == "low"  # P(stopped) 55% < 60%
        assert level(0, 90, 0.4, loose) == "medium"
        assert level(0, 90, 0.1, loose) == "high"

    def test_no_score_no_level(self):
        levels = lifecycle.risk_levels(
            pd.Series([0.9, np.nan, 0.9], index=[7, 8, 9]),
            pd.Series(lifecycle.overdue([10, np.nan, np.nan], [90, np.nan, 30]), index=[7, 8, 9]),
            SETTINGS,
        )
        assert levels.to_dict() == {7: "low", 8: None, 9: None}

    def test_expected_interval_of_the_model(self):
        # (alpha + t_x) / (r + x): a one-time buyer gets the company's alpha / r = 30 / 0.5
        self.assertApprox(btyd.expected_interval(MODEL, [0], [0])[0], 60.0)
        # four repeats over 364 days: (30 + 364) / 4.5 = 87.56, close to its own 91
        self.assertApprox(btyd.expected_interval(MODEL, [4], [364])[0], 87.5556, abs_=1e-4)
        fit = btyd.Prediction(None, MODEL.method, count_model=MODEL)
        self.assertApprox(fit.expected_interval(np.array([4.0]), np.array([364.0]))[0], 87.5556, abs_=1e-4)

    def test_expected_interval_of_the_heuristic(self):
        fit = btyd.Prediction(None, btyd.HEURISTIC, interval=45.0)
        # its own mean interval, 270 / 3; the company's 45 for a one-time buyer
        assert fit.expected_interval(np.array([3.0, 0.0]), np.array([270.0, 0.0])).tolist() == [90.0, 45.0]

    def test_quarterly_buyer_is_low_though_likely_quiet_for_90_days(self):
        """The case of the issue: four repeat purchases a quarter apart, 45 days
        after the last one. P(no purchase in 90 days) is above one half, which
        the old rule called medium; against its own rhythm it is low."""
        x, t_x, T = np.array([4.0]), np.array([364.0]), np.array([409.0])
        fit = btyd.Prediction(None, MODEL.method, count_model=MODEL)
        alive, risk = fit.alive_and_risk(x, t_x, T, 90)
        self.assertApprox(risk[0], 0.5268, abs_=1e-4)
        self.assertApprox(alive[0], 0.8332, abs_=1e-4)
        ratio = lifecycle.overdue(T - t_x, fit.expected_interval(x, t_x))
        self.assertApprox(ratio[0], 45 / 87.5556, abs_=1e-4)
        assert lifecycle.risk_levels(pd.Series(alive), pd.Series(ratio), SETTINGS).tolist() == ["low"]

    def test_band_changes_follow_the_rhythm(self):
        """The review day of a heuristic customer buying every 30 days, 10 days
        after its last purchase: medium from day 30 (20 days on), as the level rule says."""
        fit = btyd.Prediction(None, btyd.HEURISTIC, interval=30.0)
        summary = pd.DataFrame({"x": [2.0], "t_x": [60.0], "T": [70.0]}, index=[5])
        # P(alive) stays 1 until 30 days of silence, so the P(alive) bands move later than the risk
        assert lifecycle.band_changes(fit, summary, SETTINGS, 90, 40).to_dict() == {5: 20.0}
        assert lifecycle.band_changes(fit, summary, SETTINGS, 90, 19).isna().all()

    def test_stage_vocabularies(self):
        """Every stage but potential is either still buying or lapsed."""
        stages = {value for value, _label in STAGES}
        assert set(lifecycle.BUYING_STAGES) | set(lifecycle.LAPSED_STAGES) == stages - {lifecycle.POTENTIAL}
        assert not set(lifecycle.BUYING_STAGES) & set(lifecycle.LAPSED_STAGES)
