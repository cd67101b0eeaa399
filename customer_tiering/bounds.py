"""The bounds of the numeric settings, and their one check.

Each setting's range is stated here, checked on every write (form, import,
RPC) and named in one translated message. The upper bounds keep the dates
the nightly jobs compute from a setting inside the range they compute with
(``engine.frames.DATE_CEILING``): ten years of months or days at most.
"""

from odoo.exceptions import ValidationError

YEARS_OF_DAYS = 3650
YEARS_OF_MONTHS = 120

#: customer.tiering.config: {field: (lowest, highest)}
CONFIG_BOUNDS = {
    "window_months": (1, YEARS_OF_MONTHS),
    "demotion_grace_days": (0, YEARS_OF_DAYS),
    "churn_horizon_days": (1, YEARS_OF_DAYS),
    "churn_min_repeaters": (1, 1_000_000),
    "clv_months": (1, YEARS_OF_MONTHS),
    "clv_discount_rate": (0.0, 1.0),
    "stage_new_days": (1, YEARS_OF_DAYS),
    "stage_loyal_min_purchase_days": (1, 10_000),
    "stage_loyal_min_tenure_days": (1, YEARS_OF_DAYS),
    "stage_churned_days": (1, YEARS_OF_DAYS),
    "stage_reactivated_days": (1, YEARS_OF_DAYS),
    "points_per_currency": (0.0, 1_000.0),
    "points_rounding": (0.0001, 1_000.0),
    "points_expiry_months": (0, YEARS_OF_MONTHS),
    "care_lead_days": (0, 365),
    "dormancy_overdue_share": (0.0, 10.0),
    "full_run_days": (1, 365),
    "points_expiry_notice_days": (0, 365),
}
#: customer.tier
TIER_BOUNDS = {
    "min_revenue": (0.0, 1e15),
    "points_multiplier": (0.01, 100.0),
    "dormancy_warning_days": (0, 365),
    "entry_points": (0.0, 1_000_000.0),
    "birthday_points": (0.0, 1_000_000.0),
}
#: customer.service.policy
POLICY_BOUNDS = {
    "cadence_days": (1, YEARS_OF_DAYS),
    "deadline_days": (0, YEARS_OF_DAYS),
    "purchased_within_days": (0, YEARS_OF_DAYS * 10),
}

#: customer.satisfaction.policy
SATISFACTION_POLICY_BOUNDS = {
    "days_after_invoice": (0, 365),
    "interval_days": (1, YEARS_OF_DAYS),
}

#: customer.pool.rule (0: the condition or the limit is not used)
POOL_RULE_BOUNDS = {
    "untouched_days": (0, YEARS_OF_DAYS),
    "no_order_days": (0, YEARS_OF_DAYS),
    "no_opportunity_days": (0, YEARS_OF_DAYS),
    "warning_days": (0, 365),
    "cooldown_days": (0, YEARS_OF_DAYS),
    "daily_claim_limit": (0, 10_000),
    "max_claimed": (0, 1_000_000),
}


def check_bounds(records, bounds):
    """Refuse a value of ``records`` outside its ``bounds``, naming the field and its range."""
    for record in records:
        for fname, (lowest, highest) in bounds.items():
            value = record[fname]
            if not lowest <= value <= highest:
                raise ValidationError(
                    record.env._(
                        "%(field)s must be between %(lowest)s and %(highest)s (not %(value)s).",
                        field=record._fields[fname]._description_string(record.env),
                        lowest=lowest,
                        highest=highest,
                        value=value,
                    )
                )
