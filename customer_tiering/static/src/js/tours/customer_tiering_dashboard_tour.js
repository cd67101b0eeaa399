import { registry } from "@web/core/registry";

/** The spreadsheet draws on canvases: the steps find its figures and filters, not its text. */
const loaded = [
    {
        content: "The eight KPI cards are drawn",
        trigger: ".o_spreadsheet_dashboard_action .o-spreadsheet:has(.o-scorecard:eq(7))",
    },
    {
        content: "And the tier mix's chart",
        trigger: ".o_spreadsheet_dashboard_action .o-spreadsheet .o-figure-canvas:not(.o-scorecard)",
    },
    {
        content: "The period, company and salesperson filters are offered",
        trigger: ".o_spreadsheet_dashboard_action .o_control_panel .o-filter-value:eq(2)",
    },
];

const noError = {
    content: "No error while loading the data",
    trigger:
        "body:not(:has(.o_error_dialog)):not(:has(.dashboard-loading-status.error)) .o_spreadsheet_dashboard_action",
};

registry.category("web_tour.tours").add("customer_tiering_dashboard", {
    steps: () => [
        {
            content: "The app's dashboard opens All Customers, under Customer Tiering in Dashboards",
            trigger:
                ".o_spreadsheet_dashboard_search_panel .o_search_panel_section:has(header:contains(Customer Tiering)) .o_search_panel_category_value.active:contains(All Customers)",
        },
        ...loaded,
        {
            content: "Every salesperson's customers: no salesperson chosen",
            trigger: ".o_spreadsheet_dashboard_action .o_control_panel:not(:has(.o-filter-value .o_tag))",
        },
        noError,
        {
            content: "Switch to My Customers",
            trigger: ".o_search_panel_category_value:contains(My Customers)",
            run: "click",
        },
        {
            content: "My Customers starts on the user's own customers",
            trigger: ".o_spreadsheet_dashboard_action .o_control_panel .o-filter-value .o_tag",
        },
        noError,
    ],
});

registry.category("web_tour.tours").add("customer_tiering_my_dashboard", {
    steps: () => [
        {
            content: "A salesperson's dashboard is My Customers only",
            trigger:
                ".o_spreadsheet_dashboard_search_panel:not(:has(.o_search_panel_category_value:contains(All Customers))) .o_search_panel_category_value.active:contains(My Customers)",
        },
        ...loaded,
        {
            content: "Their own customers: the salesperson filter holds the user",
            trigger: ".o_spreadsheet_dashboard_action .o_control_panel .o-filter-value .o_tag",
        },
        noError,
    ],
});
