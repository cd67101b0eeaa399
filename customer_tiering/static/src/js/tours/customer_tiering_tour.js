import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_tiering_partner_tier", {
    steps: () => [
        {
            content: "Open the key-account group",
            trigger: ".o_group_name:contains(A - Key customers)",
            run: "click",
        },
        {
            content: "Open the customer",
            trigger: ".o_data_row .o_data_cell:contains(Tour Key Account)",
            run: "click",
        },
        {
            content: "The smart button shows the tier badge",
            trigger: "button[name=action_view_tier_history] .o_customer_tier_badge:contains(A - Key customers)",
        },
        {
            content: "Open the Tiering tab",
            trigger: ".o_notebook a[name=customer_tiering]",
            run: "click",
        },
        {
            content: "The tab shows the tier and the metrics",
            trigger: ".o_field_widget[name=purchase_count] span:contains(/^7$/)",
        },
        {
            content: "Back to the list",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li.breadcrumb-item:first-child a",
            run: "click",
        },
        {
            content: "Open the filters",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Filter on tier A",
            trigger: ".o_filter_menu .o_menu_item:contains(Tier A)",
            run: "click",
        },
        {
            content: "Only tier A is left",
            trigger: ".o_list_view:not(:has(.o_group_name:contains(B - Growth customers))) .o_group_name:contains(A - Key customers)",
        },
    ],
});
