"""The integrators' hook and the Automation Rules for what the nightly job
writes in SQL (``res.partner._on_tiering_changed``).

The job writes tiers, stages and risk levels around the ORM, so that
``base_automation``'s patched ``write``/``create`` never see them. After each
committed chunk it hands the changes to the hook, whose default runs the rules
that the ORM would have run, with base_automation's own filters and
``_process``: same pre/post domains, same ``__action_done`` guard.
"""

from dataclasses import dataclass, field

from odoo.tools import split_every

#: The partner fields whose changes the hook reports.
TRACKED_FIELDS = ("tier_id", "lifecycle_stage", "churn_risk_level")
#: The history models the job inserts rows into, with the key of their ids in ``TieringChanges``.
HISTORY_MODELS = {
    "customer.tier.history": "tier_history_ids",
    "customer.lifecycle.history": "lifecycle_history_ids",
}
#: Triggers of the rules that an ORM write of the tracked fields runs. The
#: special "set" triggers of base_automation watch stage_id, state, user_id,
#: priority, tag_ids or active, none of which the job writes.
PARTNER_TRIGGERS = ("on_write", "on_create_or_write")
#: Triggers of the rules that an ORM create of a history row runs.
HISTORY_TRIGGERS = ("on_create", "on_create_or_write")
#: Records per call of a rule's filters and actions.
RULES_BATCH = 1000


@dataclass(frozen=True)
class TieringChanges:
    """What one committed chunk of the nightly job changed, in one company.

    ``partners``: ``{partner_id: {field: (old, new)}}`` for the commercial
    entities whose ``tier_id``, ``lifecycle_stage`` or ``churn_risk_level``
    changed, with only the fields that changed; values as the ORM reads
    them: a tier id or ``False``, a selection key or ``False``. Child
    contacts get their entity's values in the same UPDATE and are not listed.

    ``tier_history_ids`` / ``lifecycle_history_ids``: the history rows the
    chunk inserted.

    ``rules`` and ``pre``: bookkeeping of the default implementation, the
    run's automation rules and, per rule with a "before update" domain, the
    ids of the partners that matched it before the chunk's UPDATE.
    """

    company_id: int
    partners: dict
    tier_history_ids: tuple = ()
    lifecycle_history_ids: tuple = ()
    rules: object = None
    pre: dict = field(default_factory=dict)

    def __bool__(self):
        return bool(self.partners or self.tier_history_ids or self.lifecycle_history_ids)


def find_rules(env):
    """The active rules the job's writes would run through the ORM: one query,
    once per run. base.automation has no company: a rule applies to all."""
    rules = (
        env["base.automation"]
        .with_context(active_test=True)
        .sudo()
        .search(
            [
                "|",
                "&",
                ("model_name", "=", "res.partner"),
                ("trigger", "in", PARTNER_TRIGGERS),
                "&",
                ("model_name", "in", list(HISTORY_MODELS)),
                ("trigger", "in", HISTORY_TRIGGERS),
            ]
        )
    )
    return rules.filtered(lambda rule: rule.model_name != "res.partner" or watched_fields(rule))


def watched_fields(rule):
    """The tracked fields a partner rule watches: all of them when it names none."""
    names = set(rule.sudo().trigger_field_ids.mapped("name"))
    return set(TRACKED_FIELDS) & names if names else set(TRACKED_FIELDS)


def pre_rules(rules):
    """The partner rules with a "before update" domain."""
    return rules.filtered(lambda rule: rule.model_name == "res.partner" and rule.sudo().filter_pre_domain)


def filter_pre(partners, rules):
    """{rule id: ids of ``partners`` matching its "before update" domain}, on
    the values stored now: called before the chunk's UPDATE."""
    return {rule.id: frozenset(rule.with_env(partners.env)._filter_pre(partners).ids) for rule in rules}


def run_rules(partners, changes):
    """Run ``changes.rules`` on the records ``changes`` lists, as the ORM
    would have after writing the partners and creating the history rows.
    ``partners``: an empty res.partner recordset in the run's company."""
    if not changes.rules:
        return
    rules = changes.rules.with_env(partners.env).with_context(__action_done={})
    for rule in rules.filtered(lambda rule: rule.model_name == "res.partner"):
        _run_partner_rule(rule, partners, changes)
    for model, key in HISTORY_MODELS.items():
        ids = getattr(changes, key)
        for rule in rules.filtered(lambda rule, model=model: rule.model_name == model):
            rule = rule.with_context(old_values=None)
            for batch in split_every(RULES_BATCH, ids, list):
                records = partners.env[model].browse(batch)
                rule._process(rule._filter_post(records, feedback=True))


def _run_partner_rule(rule, partners, changes):
    """``rule`` on the entities whose watched fields changed and that matched
    its "before update" domain, with their old values for ``_check_trigger_fields``."""
    watched = watched_fields(rule)
    ids = [pid for pid, values in changes.partners.items() if watched & values.keys()]
    if rule.id in changes.pre:
        ids = [pid for pid in ids if pid in changes.pre[rule.id]]
    Tier = partners.env["customer.tier"]
    for batch in split_every(RULES_BATCH, ids, list):
        old_values = {
            pid: {
                name: Tier.browse(old) if name == "tier_id" else old
                for name, (old, _new) in changes.partners[pid].items()
            }
            for pid in batch
        }
        batch_rule = rule.with_context(old_values=old_values)
        records, domain_post = batch_rule._filter_post_export_domain(partners.browse(batch), feedback=True)
        batch_rule._process(records, domain_post=domain_post)
