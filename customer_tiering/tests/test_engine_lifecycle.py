"""Unit tests of the lifecycle stage rules at their boundaries (frozen dates)."""

import pandas as pd

from odoo.tests import BaseCase, tagged

from odoo.addons.customer_tiering.engine import lifecycle
from odoo.addons.customer_tiering.engine.lifecycle import StageSettings

TODAY = pd.Timestamp("2024-07-01")
SETTINGS = StageSettings()


def stage_of(days=1, first_ago=30, last_ago=30, p_alive=0.9, level="low", prospect=False, old=None, old_since_ago=None):
    customers = pd.DataFrame(
        {
            "purchase_days": [days],
            "first_purchase_date": [TODAY - pd.Timedelta(days=first_ago) if days else pd.NaT],
            "last_purchase_date": [TODAY - pd.Timedelta(days=last_ago) if days else pd.NaT],
            "p_alive": [p_alive if days else float("nan")],
            "churn_risk_level": [level if days else None],
            "prospect": [prospect],
        }
    )
    prior = pd.DataFrame(
        {
            "lifecycle_stage": [old],
            "lifecycle_stage_since": [
                TODAY - pd.Timedelta(days=old_since_ago) if old_since_ago is not None else pd.NaT
            ],
        }
    )
    return lifecycle.stages(customers, prior, SETTINGS, TODAY).iloc[0]


STAGE_RULES = [
    ({"days": 0, "prospect": True}, "potential"),
    ({"days": 0}, None),
    ({"days": 1, "first_ago": 89, "last_ago": 89}, "new"),
    ({"days": 1, "first_ago": 90, "last_ago": 90}, "active"),
    ({"days": 2, "first_ago": 10, "last_ago": 5}, "active"),
    ({"days": 10, "first_ago": 365, "last_ago": 20}, "loyal"),
    ({"days": 9, "first_ago": 365, "last_ago": 20}, "active"),
    ({"days": 10, "first_ago": 364, "last_ago": 20}, "active"),
    ({"days": 10, "first_ago": 400, "last_ago": 20, "level": "medium"}, "active"),
    ({"days": 3, "first_ago": 200, "last_ago": 100, "p_alive": 0.5}, "sleeping"),
    ({"days": 3, "first_ago": 200, "last_ago": 100, "p_alive": 0.51}, "active"),
    ({"days": 3, "first_ago": 200, "last_ago": 100, "p_alive": 0.2}, "churned"),
    ({"days": 3, "first_ago": 400, "last_ago": 365, "p_alive": 0.9}, "churned"),
    ({"days": 3, "first_ago": 400, "last_ago": 364, "p_alive": 0.9}, "active"),
]


@tagged("post_install", "-at_install")
class TestStageRules(BaseCase):
    def test_stage_rules(self):
        for kwargs, expected in STAGE_RULES:
            with self.subTest(**kwargs):
                self.assertEqual(stage_of(**kwargs)["lifecycle_stage"], expected)

    def test_reactivated_after_buying_again_and_kept_for_its_period(self):
        back = stage_of(days=4, first_ago=400, last_ago=2, p_alive=0.9, old="sleeping", old_since_ago=60)
        assert back["lifecycle_stage"] == "reactivated" and back["lifecycle_stage_since"] == TODAY
        kept = stage_of(days=4, first_ago=400, last_ago=80, p_alive=0.4, old="reactivated", old_since_ago=89)
        assert kept["lifecycle_stage"] == "reactivated"
        over = stage_of(days=4, first_ago=400, last_ago=80, p_alive=0.9, old="reactivated", old_since_ago=90)
        assert over["lifecycle_stage"] == "active"

    def test_sleeping_without_a_new_purchase_stays_sleeping(self):
        still = stage_of(days=4, first_ago=400, last_ago=100, p_alive=0.4, old="sleeping", old_since_ago=10)
        assert still["lifecycle_stage"] == "sleeping"
        assert still["lifecycle_stage_since"] == TODAY - pd.Timedelta(days=10)
