{
    "name": "Customer Tiering",
    "summary": "A/B/C customer tiers, lifecycle stages, churn risk, CLV and loyalty points from your own invoices",
    "version": "18.0.1.1.0",
    "category": "Sales/CRM",
    "author": "customer_tiering developers",
    "license": "LGPL-3",
    "depends": ["contacts", "mail", "account", "sale_management", "sale_loyalty"],
    "external_dependencies": {"python": ["numpy", "pandas", "scipy"]},
    "data": [
        "security/customer_tiering_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/customer_churn_model_views.xml",
        "views/customer_lifecycle_history_views.xml",
        "views/customer_tier_views.xml",
        "views/customer_tier_history_views.xml",
        "views/customer_tiering_config_views.xml",
        "views/loyalty_history_views.xml",
        "views/res_partner_views.xml",
        "views/customer_tiering_menus.xml",
        "wizard/customer_points_adjustment_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "customer_tiering/static/src/components/**/*",
        ],
        "web.assets_tests": [
            "customer_tiering/static/src/js/tours/*.js",
        ],
    },
    "post_init_hook": "_post_init_hook",
    "application": True,
}
