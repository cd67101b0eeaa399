import { registry } from "@web/core/registry";
import { ListController } from "@web/views/list/list_controller";
import { listView } from "@web/views/list/list_view";

/**
 * My Follow-ups: a row is a call or visit to make, so clicking it opens the
 * customer (the activity's document), where the salesperson works, rather
 * than the activity's own form.
 */
export class FollowupListController extends ListController {
    async openRecord(record) {
        const resModel = record.data.res_model;
        // A many2one_reference's value is {resId}.
        const resId = record.data.res_id && record.data.res_id.resId;
        if (!resModel || !resId) {
            return super.openRecord(...arguments);
        }
        await this.actionService.doAction({
            type: "ir.actions.act_window",
            res_model: resModel,
            res_id: resId,
            views: [[false, "form"]],
            target: "current",
        });
    }
}

registry.category("views").add("customer_tiering_followup_list", {
    ...listView,
    Controller: FollowupListController,
});
