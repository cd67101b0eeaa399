{
    "name": "Customer Tiering - Email Marketing",
    "summary": "Every tier, lifecycle stage, churn risk level and RFM segment as a saved mailing filter, "
    "and New Mailing on selected customers",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "author": "customer_tiering developers",
    "license": "LGPL-3",
    "depends": ["customer_tiering", "mass_mailing"],
    "data": [
        "security/mailing_filter_security.xml",
        "data/mailing_filter_data.xml",
        "views/mailing_filter_views.xml",
        "views/mailing_mailing_views.xml",
        "views/res_partner_views.xml",
    ],
    "uninstall_hook": "_uninstall_hook",
    "auto_install": True,
}
