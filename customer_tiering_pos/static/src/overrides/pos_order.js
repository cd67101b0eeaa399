import { patch } from "@web/core/utils/patch";
import { PosOrder } from "@point_of_sale/app/models/pos_order";

// The points of a tiering program are credited by the server's points ledger
// when the order is paid (customer.loyalty.ledger, the "pos" source), not by
// pos_loyalty's rules, of which the program has none: the till shows what the
// ledger will credit, the untaxed amount of the lines of the products that
// earn points, times the program's rate and the customer's tier multiplier,
// rounded down as the ledger rounds it.
patch(PosOrder.prototype, {
    getTierPointsToEarn() {
        const partner = this.get_partner();
        if (!partner) {
            return 0;
        }
        const program = this.models["loyalty.program"].find(
            (program) => program.is_tier_program && program.tier_points_rate > 0
        );
        if (!program) {
            return 0;
        }
        const excluded = new Set(program.tier_points_excluded_product_ids || []);
        let amount = 0;
        for (const line of this.get_orderlines()) {
            if (!excluded.has(line.product_id?.id)) {
                amount += line.get_price_without_tax();
            }
        }
        if (amount <= 0) {
            return 0;
        }
        const multiplier = partner.tier_points_multiplier ?? 1;
        const rounding = program.tier_points_rounding || 1;
        // As float_round(..., rounding_method="DOWN"), with the same tolerance for binary fractions.
        const points = Math.floor((amount * program.tier_points_rate * multiplier) / rounding + 1e-9) * rounding;
        return Math.max(points, 0);
    },
});
