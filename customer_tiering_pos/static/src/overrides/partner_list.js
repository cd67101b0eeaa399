import { patch } from "@web/core/utils/patch";
import { PartnerList } from "@point_of_sale/app/screens/partner_list/partner_list";

patch(PartnerList.prototype, {
    async searchPartner() {
        // pos_loyalty fetches the cards of the partners found; a contact's
        // tiering points are on its commercial entity's tier card.
        const partners = await super.searchPartner(...arguments);
        const programIds = this.pos.models["loyalty.program"]
            .filter((program) => program.is_tier_program)
            .map((program) => program.id);
        const entityIds = [...new Set(partners.map((partner) => this.pos.tierEntityId(partner.id)))];
        if (programIds.length && entityIds.length) {
            const cards = await this.pos.data.searchRead(
                "loyalty.card",
                [
                    ["program_id", "in", programIds],
                    ["partner_id", "in", entityIds],
                    ["is_tier_card", "=", true],
                ],
                [],
                { limit: entityIds.length * programIds.length }
            );
            this.pos.computePartnerCouponIds(cards);
        }
        return partners;
    },
});
