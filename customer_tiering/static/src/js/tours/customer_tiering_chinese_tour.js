import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_tiering_chinese", {
    steps: () => [
        {
            content: "The dashboard is in English",
            trigger: ".o-dashboard-action-header:contains(Tier Mix)",
        },
        {
            content: "Open the user menu",
            trigger: ".o_user_menu button",
            run: "click",
        },
        {
            content: "Open the preferences",
            trigger: "[data-menu=settings]",
            run: "click",
        },
        {
            content: "Choose Simplified Chinese",
            trigger: "div[name=lang] select",
            run: 'select "zh_CN"',
        },
        {
            content: "Save",
            trigger: "button[name=preference_save]",
            run: "click",
        },
        {
            content: "After the reload the dashboard speaks Chinese",
            trigger: ".o-dashboard-action-header:contains(层级分布)",
        },
        {
            content: "And so does the menu",
            trigger: ".o_main_navbar .o_menu_sections:contains(客户分层)",
        },
    ],
});
