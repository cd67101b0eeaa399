import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_tiering_my_customers", {
    steps: () => [
        {
            content: "My Customers lists my customer with its tier, stage, risk and points",
            trigger:
                ".o_list_view .o_data_row:has(td[name=display_name]:contains(Tour Day Customer))" +
                ":has(.o_customer_tier_badge):has(td[name=churn_risk_level]:contains(Medium))",
        },
        {
            content: "Switch to the cards",
            trigger: ".o_switch_view.o_kanban",
            run: "click",
        },
        {
            content: "On a card, the badges say what they are",
            trigger: ".o_kanban_record:contains(Tour Day Customer) .badge:contains(Risk: Medium)",
        },
        {
            trigger: ".o_kanban_record:contains(Tour Day Customer) .badge:contains(Stage: Active)",
        },
    ],
});

registry.category("web_tour.tours").add("customer_tiering_quotation", {
    steps: () => [
        {
            content: "The quotation shows the customer's tier and points",
            trigger: ".o_form_view .o_field_widget[name=partner_tier_id] .o_customer_tier_badge",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=partner_loyalty_points]:not(:empty)",
        },
        {
            content: "The customer's points buy a reward: Reward is highlighted",
            trigger: ".o_form_view button.btn-primary[name=action_open_reward_wizard]:visible",
        },
        {
            content: "Claim it",
            trigger: ".o_form_view button.btn-primary[name=action_open_reward_wizard]:visible",
            run: "click",
        },
        {
            content: "Once applied, Reward is an ordinary button again",
            trigger:
                ".o_form_view:not(:has(button.btn-primary[name=action_open_reward_wizard]))" +
                " button.btn-secondary[name=action_open_reward_wizard]",
        },
    ],
});
