from odoo import SUPERUSER_ID, api

from odoo.addons.customer_tiering.models.customer_service_policy import DEFAULT_POLICIES
from odoo.addons.customer_tiering.translations import translate_field

OLD_EMAIL = "C customers: email every six months"
OLD_WIN_BACK = "Win-back: high churn risk"


def migrate(cr, version):
    """1.7: the seeded policies still as they were seeded follow the new
    defaults. The C policy sends its email template instead of asking a
    person to write an email, and its open email activities go: the next
    nightly run sends the emails. The win-back policy targets lapsed
    customers (sleeping, churned) rather than a high risk level, which now
    measures the rhythm of customers still buying, and comes first when a
    customer is due under several policies. Policies a manager changed are
    left as they are."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    Policy = env["customer.service.policy"].with_context(active_test=False)
    email_type = env.ref("mail.mail_activity_data_email")
    by_email = Policy.search([("activity_type_id", "=", email_type.id), ("action", "=", "activity")]).filtered(
        lambda policy: policy.with_context(lang="en_US").name == OLD_EMAIL
    )
    if by_email:
        xmlid = next(entry[3] for entry in DEFAULT_POLICIES if entry[0]._translate("en_US") == OLD_EMAIL)
        env["mail.activity"].search(
            [("service_policy_id", "in", by_email.ids), ("activity_type_id", "=", email_type.id)]
        ).unlink()
        by_email.write(Policy._followup_by(xmlid))
    win_back = Policy.search([("stage_ids", "=", False)]).filtered(
        lambda policy: policy.with_context(lang="en_US").name == OLD_WIN_BACK
        and policy.risk_level_ids.mapped("value") == ["high"]
    )
    if win_back:
        # the default policy that names lifecycle stages: the win-back one
        name, _tier, stages, _xmlid, _cadence, _within, sequence = next(entry for entry in DEFAULT_POLICIES if entry[2])
        win_back.write(
            {
                "name": name._translate("en_US"),
                "stage_ids": [(6, 0, Policy._stage_values(stages).ids)],
                "risk_level_ids": [(5, 0, 0)],
                "sequence": sequence,
            }
        )
        translate_field(env, win_back, "name", [name] * len(win_back))
