import { registry } from "@web/core/registry";

const ROW = ".o_data_row:has(.o_data_cell:contains(Tour Follow-up Customer))";

registry.category("web_tour.tours").add("customer_tiering_my_followups", {
    steps: () => [
        {
            content: "My follow-ups lists the policy's activity with the customer's tier and why it is due",
            trigger: `${ROW}:has(.o_customer_tier_badge):has(td[name=followup_reason]:contains(Follow-up policy))`,
        },
        {
            content: "Clicking the row opens the customer",
            trigger: `${ROW} td[name=res_name]`,
            run: "click",
        },
        {
            content: "The customer's form",
            trigger: ".o_form_view .o_breadcrumb:contains(Tour Follow-up Customer)",
        },
        {
            content: "Back to the follow-ups",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains(My Follow-ups)",
            run: "click",
        },
        {
            content: "Mark it done",
            trigger: `${ROW} .o_customer_tiering_mark_done`,
            run: "click",
        },
        {
            content: "Odoo's Mark Done asks for the outcome",
            trigger: ".o-mail-ActivityMarkAsDone textarea",
            run: "edit Will reorder in May",
        },
        {
            trigger: ".o-mail-ActivityMarkAsDone button[aria-label=Done]",
            run: "click",
        },
        {
            content: "It leaves the list",
            trigger: ".o_list_view:not(:has(.o_data_cell:contains(Tour Follow-up Customer)))",
        },
    ],
});
