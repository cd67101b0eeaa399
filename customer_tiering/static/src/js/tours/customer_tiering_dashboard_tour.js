import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_tiering_dashboard", {
    steps: () => [
        {
            content: "The dashboard shows the tier mix, revenue share, moves, follow-ups and customers at risk",
            trigger: ".o_dashboard:has(.o-dashboard-action-header:contains(Revenue Share by Tier)):has(.o-dashboard-action-header:contains(Tier Moves This Month)):has(.o-dashboard-action-header:contains(Follow-ups Due))",
        },
        {
            content: "Drill into the tier from the tier mix",
            trigger: ".o-dashboard-action:has(.o-dashboard-action-header:contains(Tier Mix)) .o_graph_renderer canvas",
            run: "click",
        },
        {
            content: "The tier's customers are listed",
            trigger: ".o_list_view .o_data_row .o_data_cell:contains(Tour Risky Customer)",
        },
        {
            content: "Back to the dashboard",
            trigger: ".o_breadcrumb li.breadcrumb-item:first-child a",
            run: "click",
        },
        {
            content: "Open the customer at risk",
            trigger: ".o-dashboard-action:has(.o-dashboard-action-header:contains(Customers at Risk)) .o_data_row .o_data_cell:contains(Tour Risky Customer)",
            run: "click",
        },
        {
            content: "Open the actions menu",
            trigger: ".o_form_view .o_cp_action_menus .dropdown-toggle",
            run: "click",
        },
        {
            content: "Print the customer review",
            trigger: ".o-dropdown--menu .o-dropdown-item:contains(Customer Review)",
            run: "click",
        },
        {
            content: "The report is printed without error",
            trigger: "body:not(:has(.o_blockUI)):not(:has(.o_error_dialog)) .o_form_view",
        },
    ],
});
