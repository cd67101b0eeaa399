import { patch } from "@web/core/utils/patch";
import { PosStore } from "@point_of_sale/app/store/pos_store";
import { loyaltyIdsGenerator } from "@pos_loyalty/overrides/models/pos_store";

/**
 * The id of a many2one as the server sent it, whether or not the till holds
 * the record it names.
 */
function rawId(value) {
    return (value && typeof value === "object" ? value.id : value) || false;
}

// A company customer's points are on one tier card, its commercial entity's,
// in the company's tiering points program. pos_loyalty looks cards up by the
// selected partner: for a contact of that company it finds none and shows an
// empty card of the contact's own. The till looks the entity's card up instead.
patch(PosStore.prototype, {
    /** The commercial entity of a partner the till holds (the partner itself for an entity). */
    tierEntityId(partnerId) {
        const partner = this.models["res.partner"].get(partnerId);
        return rawId(partner?.raw.commercial_partner_id) || partnerId;
    },
    tierCardPartnerId(card) {
        return card.partner_id?.id || rawId(card.raw.partner_id);
    },
    async fetchLoyaltyCard(programId, partnerId) {
        const program = this.models["loyalty.program"].get(programId);
        if (!program?.is_tier_program) {
            return await super.fetchLoyaltyCard(...arguments);
        }
        const entityId = this.tierEntityId(partnerId);
        if (!this.models["res.partner"].get(entityId)) {
            await this.data.read("res.partner", [entityId]);
        }
        const ofEntity = (card) =>
            card.program_id?.id === programId && this.tierCardPartnerId(card) === entityId;
        const held = this.models["loyalty.card"].find(
            (card) => card.id > 0 && card.is_tier_card && ofEntity(card)
        );
        if (held) {
            return held;
        }
        const [fetched] = await this.data.searchRead(
            "loyalty.card",
            [
                ["program_id", "=", programId],
                ["partner_id", "=", entityId],
                ["is_tier_card", "=", true],
            ],
            [],
            { limit: 1 }
        );
        if (fetched) {
            return fetched;
        }
        // No tier card yet: the till holds a card of its own until the order
        // is paid, when the server creates the entity's (pos.order
        // confirm_coupon_programs) and the till swaps this one for it.
        return (
            this.models["loyalty.card"].find((card) => card.id < 0 && ofEntity(card)) ||
            this.models["loyalty.card"].create({
                id: loyaltyIdsGenerator(),
                code: null,
                program_id: program,
                partner_id: this.models["res.partner"].get(entityId),
                points: 0,
                expiration_date: null,
            })
        );
    },
    computePartnerCouponIds(loyaltyCards = null) {
        super.computePartnerCouponIds(...arguments);
        // A card of a customer the till does not hold has no partner record:
        // map it by the id the server sent, for when a contact is shown.
        for (const card of loyaltyCards || this.models["loyalty.card"].getAll()) {
            const partnerId = rawId(card.raw.partner_id);
            if (card.id > 0 && !card.partner_id && partnerId) {
                (this.partnerId2CouponIds[partnerId] ||= new Set()).add(card.id);
            }
        }
    },
    getLoyaltyCards(partner) {
        // A partner's points of a tiering program are its entity's tier card's.
        const cards = super
            .getLoyaltyCards(...arguments)
            .filter((card) => card && !card.program_id?.is_tier_program);
        for (const cardId of this.partnerId2CouponIds[this.tierEntityId(partner.id)] || []) {
            const card = this.models["loyalty.card"].get(cardId);
            if (card?.is_tier_card && card.program_id?.is_tier_program) {
                cards.push(card);
            }
        }
        return cards;
    },
});
