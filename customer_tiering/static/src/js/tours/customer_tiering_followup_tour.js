import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_tiering_my_followups", {
    steps: () => [
        {
            content: "My follow-ups lists the policy's activity for my customer",
            trigger: ".o_list_view .o_data_row .o_data_cell:contains(Tour Follow-up Customer)",
        },
        {
            content: "Mark it done",
            trigger: ".o_data_row:has(.o_data_cell:contains(Tour Follow-up Customer)) button[name=action_done]",
            run: "click",
        },
        {
            content: "It leaves the list",
            trigger: ".o_list_view:not(:has(.o_data_cell:contains(Tour Follow-up Customer)))",
        },
    ],
});
