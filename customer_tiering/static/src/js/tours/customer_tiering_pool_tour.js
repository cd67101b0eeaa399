import { registry } from "@web/core/registry";

const ROW = ".o_list_view .o_data_row:has(td[name=display_name]:contains(Tour Pool Customer))";

registry.category("web_tour.tours").add("customer_tiering_pool_claim", {
    steps: () => [
        {
            content: "The customer pool lists the pooled customer with its tier and previous salesperson",
            trigger: `${ROW}:has(.o_customer_tier_badge):has(td[name=pool_previous_user_id]:contains(Pool Tour Previous))`,
        },
        {
            content: "Claim it",
            trigger: `${ROW} button.o_customer_pool_claim`,
            run: "click",
        },
        {
            content: "It leaves the pool",
            trigger: ".o_list_view:not(:has(.o_data_cell:contains(Tour Pool Customer)))",
        },
        {
            content: "The other pooled customer is still there",
            trigger: ".o_list_view .o_data_row:contains(Tour Pool Other)",
        },
    ],
});
