import { ActivityMarkAsDone } from "@mail/core/web/activity_markasdone_popover";
import { Component } from "@odoo/owl";
import { usePopover } from "@web/core/popover/popover_hook";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

/**
 * A list row's "Mark Done": Odoo's own Mark Done popover, which asks for the
 * outcome and posts it with the activity in the customer's chatter
 * (``action_feedback``), then reloads the list without the done row.
 */
export class FollowupMarkDoneButton extends Component {
    static template = "customer_tiering.FollowupMarkDoneButton";
    static props = { record: Object, "*": true };

    setup() {
        this.store = useService("mail.store");
        this.popover = usePopover(ActivityMarkAsDone, { position: "left" });
    }

    get activity() {
        const { data, resId } = this.props.record;
        return this.store.Activity.insert(
            {
                id: resId,
                res_model: data.res_model,
                res_id: data.res_id && data.res_id.resId,
                chaining_type: data.chaining_type,
            },
            { broadcast: false }
        );
    }

    onClick(ev) {
        // The row would open the customer otherwise.
        ev.stopPropagation();
        if (this.popover.isOpen) {
            this.popover.close();
            return;
        }
        this.popover.open(ev.currentTarget, {
            activity: this.activity,
            hasHeader: true,
            onActivityChanged: () => {
                this.popover.close();
                return this.props.record.model.load();
            },
        });
    }
}

registry.category("view_widgets").add("customer_tiering_mark_done", {
    component: FollowupMarkDoneButton,
    fieldDependencies: [
        { name: "res_model", type: "char" },
        { name: "res_id", type: "many2one_reference" },
        { name: "chaining_type", type: "selection" },
    ],
});
