import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_tiering_points", {
    steps: () => [
        {
            content: "The customer's smart button shows the points balance",
            trigger: "button[name=action_view_points_card] .o_stat_value:contains(/^\\s*240\\.00\\s*$/)",
        },
        {
            content: "Open the Tiering tab",
            trigger: ".o_notebook a[name=customer_tiering]",
            run: "click",
        },
        {
            content: "The tab shows the balance too",
            trigger: ".o_notebook .o_field_widget[name=loyalty_points] span:contains(240.00)",
        },
        {
            content: "Open the points card",
            trigger: "button[name=action_view_points_card]",
            run: "click",
        },
        {
            content: "The card's history lists the invoice that earned the points",
            trigger: ".o_field_widget[name=history_ids] .o_data_row .o_data_cell:contains(Invoice INV/)",
        },
    ],
});
