import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as PosLoyalty from "@pos_loyalty/../tests/tours/utils/pos_loyalty_util";
import { registry } from "@web/core/registry";

// A contact of a company customer holding 2,500 points on the company's tier
// card: the till shows the company's balance and spends it.
registry.category("web_tour.tours").add("customer_tiering_pos_tier_card", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.addOrderline("Tier Till Product", "1"),
            ProductScreen.clickPartnerButton(),
            {
                content: "the contact shows its company's points",
                trigger:
                    '.partner-list .partner-line:contains("Tier Contact") .partner-line-balance:contains("2,500.00 Points")',
            },
            ProductScreen.clickCustomer("Tier Contact"),
            PosLoyalty.isRewardButtonHighlighted(true),
            PosLoyalty.claimReward("100 points"),
            // Spent in steps of 1,000 points: 2,000 points, 20.00 off.
            PosLoyalty.hasRewardLine("100 points", "-20.00", "1.00"),
            PosLoyalty.orderTotalIs("80.00"),
            PosLoyalty.finalizeOrder("Cash", "80"),
        ].flat(),
});

// A tier A customer (multiplier 2) holding 300 points buys 100 untaxed: the
// order shows the 200 points the sale will earn, and the sale is paid.
registry.category("web_tour.tours").add("customer_tiering_pos_tier_earn", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),
            ProductScreen.addOrderline("Tier Earn Product", "1"),
            ProductScreen.clickPartnerButton(),
            {
                content: "the customer shows its points",
                trigger:
                    '.partner-list .partner-line:contains("Tier A Shopper") .partner-line-balance:contains("300.00 Points")',
            },
            ProductScreen.clickCustomer("Tier A Shopper"),
            {
                content: "the order shows the points to earn: 100 x 1 point x 2 (tier A)",
                trigger: '.customer-tiering-points-to-earn:contains("Points to earn"):contains("+200")',
            },
            PosLoyalty.finalizeOrder("Cash", "100"),
        ].flat(),
});
