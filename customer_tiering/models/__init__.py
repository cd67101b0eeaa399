from . import (
    customer_churn_model,
    customer_lifecycle_history,
    customer_tier,
    customer_tier_history,
    customer_tiering_config,
    customer_tiering_job,
    res_company,
    res_partner,
)
