from . import (
    customer_cohort_analysis,
    customer_review_report,
    customer_tiering_analysis,
    customer_tiering_kpi,
    ir_actions_report,
    tier_summary_report,
)
