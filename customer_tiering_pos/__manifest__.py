{
    "name": "Customer Tiering - Point of Sale",
    "summary": "Paid point of sale orders count as customer sales: tiers, RFM, lifecycle, churn, CLV and reports",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "author": "customer_tiering developers",
    "license": "LGPL-3",
    # pos_loyalty: Odoo installs it with point_of_sale and loyalty; the till
    # spends the tier card's points through it.
    "depends": ["customer_tiering", "point_of_sale", "pos_loyalty"],
    "data": [
        "views/customer_tiering_config_views.xml",
    ],
    "assets": {
        "point_of_sale._assets_pos": [
            "customer_tiering_pos/static/src/**/*",
        ],
        "web.assets_tests": [
            "customer_tiering_pos/static/tests/tours/**/*",
        ],
    },
    "uninstall_hook": "_uninstall_hook",
    "auto_install": True,
}
