{
    "name": "Customer Tiering",
    "summary": "A/B/C customer tiers, RFM and lifecycle metrics computed nightly " "from your own invoices",
    "description": """
Customer Tiering
================
Turns the company's own sales history into customer tiers (A/B/C by default):

* ABC analysis of revenue share, RFM score bands or fixed revenue thresholds;
* manual locks for strategic customers, a grace period before demotions;
* dated tier history with reasons, tracked in the chatter;
* a nightly job that aggregates posted invoices and credit notes in one
  grouped query and scores with pandas, writing only what changed.
""",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "author": "customer_tiering developers",
    "website": "https://github.com/customer-tiering/customer_tiering",
    "license": "LGPL-3",
    "depends": ["contacts", "mail", "account", "sale_management"],
    "external_dependencies": {"python": ["numpy", "pandas"]},
    "data": [
        "security/customer_tiering_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/customer_tier_views.xml",
        "views/customer_tier_history_views.xml",
        "views/customer_tiering_config_views.xml",
        "views/res_partner_views.xml",
        "views/customer_tiering_menus.xml",
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
    "installable": True,
    "application": True,
}
