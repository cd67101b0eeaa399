import { registry } from "@web/core/registry";
import { BadgeField, badgeField } from "@web/views/fields/badge/badge_field";

/** A tier badge painted in the tier's own colour (the record's `tier_color`). */
export class TierBadgeField extends BadgeField {
    static template = "customer_tiering.TierBadgeField";

    get colorClass() {
        const color = this.props.record.data.tier_color || 0;
        return `o_tag_color_${color}`;
    }
}

registry.category("fields").add("customer_tier_badge", {
    ...badgeField,
    component: TierBadgeField,
    supportedTypes: ["many2one"],
    fieldDependencies: [{ name: "tier_color", type: "integer" }],
});
