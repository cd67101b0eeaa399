import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { BadgeField, badgeField } from "@web/views/fields/badge/badge_field";

/**
 * A badge that says what it is: "Risk: Low" rather than "Low", where no
 * column header or label tells (kanban cards). The label is the field node's
 * ``string``, translated with the view.
 */
export class LabeledBadgeField extends BadgeField {
    static template = "customer_tiering.LabeledBadgeField";
    static props = { ...BadgeField.props, label: { type: String, optional: true } };

    get labeledValue() {
        if (!this.props.label) {
            return this.formattedValue;
        }
        return _t("%(label)s: %(value)s", { label: this.props.label, value: this.formattedValue });
    }
}

registry.category("fields").add("customer_tiering_labeled_badge", {
    ...badgeField,
    component: LabeledBadgeField,
    supportedTypes: ["selection"],
    extractProps: (fieldInfo, dynamicInfo) => ({
        ...badgeField.extractProps(fieldInfo, dynamicInfo),
        label: fieldInfo.string,
    }),
});
