import { registry } from "@web/core/registry";

/** A portal contact of a company customer opens My Membership from the portal home. */
function membershipSteps({ tile, title, tier, reach, keep, history }) {
    return [
        {
            content: "The portal home shows the My Membership tile",
            trigger: `.o_portal_index_card:not(.d-none) a[href='/my/membership']:contains(${tile})`,
            run: "click",
        },
        {
            content: "The page is My Membership",
            trigger: `.o_portal_submenu .breadcrumb-item.active:contains(${title})`,
        },
        {
            content: "It shows the company's tier and its perks",
            trigger: `.o_membership_tier:contains(${tier})`,
        },
        {
            content: "The perks of the tier",
            trigger: ".o_membership_perks:contains(Free delivery)",
        },
        {
            content: "What reaches the next tier",
            trigger: `.o_membership_next:contains(${reach}):contains(96,000.00)`,
        },
        {
            content: "What keeps the current tier",
            trigger: `.o_membership_keep:contains(${keep}):contains(6,000.00)`,
        },
        {
            content: "The company's balance",
            trigger: ".o_membership_balance:contains(12000)",
        },
        {
            content: "When the points expire, oldest first",
            trigger: ".o_membership_expiry tbody tr:eq(1) td:contains(4000)",
        },
        {
            content: "The dated history",
            trigger: `.o_membership_history td:contains(${history})`,
        },
    ];
}

registry.category("web_tour.tours").add("customer_tiering_membership", {
    steps: () =>
        membershipSteps({
            tile: "My Membership",
            title: "My Membership",
            tier: "B - Growth customers",
            reach: "to reach",
            keep: "keeps",
            history: "Invoice INV/",
        }),
});

registry.category("web_tour.tours").add("customer_tiering_membership_zh", {
    steps: () =>
        membershipSteps({
            tile: "我的会员",
            title: "我的会员",
            tier: "B - 成长客户",
            reach: "即可升至",
            keep: "即可保持",
            history: "Invoice INV/",
        }),
});
