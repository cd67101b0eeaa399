import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_tiering_chinese", {
    steps: () => [
        {
            content: "The dashboard is in English",
            trigger: ".o_search_panel_category_value.active:contains(All Customers)",
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
            trigger: ".o_search_panel_category_value.active:contains(全部客户)",
        },
        {
            content: "And so does the app's name in the menu bar",
            trigger: ".o_main_navbar .o_menu_brand:contains(客户分层)",
        },
    ],
});
