"""Names the add-on creates in code (default tiers, RFM segments, programs,
policies, care dates), translated into every installed language from the add-on's own
catalogue: when they are created, and again when a language is installed
later (``ir.module.module._load_module_terms`` calls ``translate_seeded``)."""

from odoo.tools import SQL
from odoo.tools.translate import LazyGettext


def installed_langs(env):
    """The installed languages other than English, the source language."""
    return [code for code, _name in env["res.lang"].get_installed() if code != "en_US"]


def translate_field(env, records, field, texts):
    """Give ``records[i].field`` the translations of the lazy ``texts[i]``."""
    langs = installed_langs(env)
    if not langs:
        return
    for record, text in zip(records, texts, strict=True):
        record.update_field_translations(field, {lang: text._translate(lang) for lang in langs})


def lazy_texts(values):
    """The lazy texts found in ``values``: nested tuples, lists and dicts,
    such as a model's table of defaults."""
    if isinstance(values, LazyGettext):
        return [values]
    if isinstance(values, dict):
        values = list(values.values())
    if isinstance(values, tuple | list):
        return [text for value in values for text in lazy_texts(value)]
    return []


def translate_untouched(records, field, texts, langs, overwrite=False):
    """Translate ``field`` of the ``records`` still named after one of the
    lazy ``texts`` in English, into the ``langs`` where they have no
    translation of their own: a record the user renamed, or translated,
    keeps the user's words. With ``overwrite`` (Odoo's "overwrite existing
    terms"), the catalogue replaces the translations of the records whose
    English is still the add-on's. ``texts`` is a list of lazy texts or of
    ``(english, {lang: translation})`` pairs (formatted texts)."""
    if not records or not langs:
        return
    by_english = {}
    for text in texts:
        if isinstance(text, LazyGettext):
            by_english[text._translate("en_US")] = {lang: text._translate(lang) for lang in langs}
        else:
            english, translations = text
            by_english[english] = translations
    records.flush_recordset([field])
    # The stored values themselves, every language at once: reading the
    # field would give English where a language has no value yet.
    rows = records.env.execute_query(
        SQL(
            "SELECT id, %(field)s FROM %(table)s WHERE id = ANY(%(ids)s) AND %(field)s IS NOT NULL",
            field=SQL.identifier(field),
            table=SQL.identifier(records._table),
            ids=records.ids,
        )
    )
    for record_id, values in rows:
        english = values.get("en_US")
        translations = by_english.get(english)
        if not translations:
            continue
        missing = {
            lang: translation
            for lang, translation in translations.items()
            if translation
            and translation != values.get(lang)
            and (overwrite or values.get(lang, english) == english)
            and translation != english
        }
        if missing:
            records.browse(record_id).update_field_translations(field, missing)


def translate_seeded(env, langs=None, overwrite=False):
    """Give the records the add-on seeds at install (tiers, RFM segments,
    service policies, care dates, the points programs and their rewards) the
    translations of ``langs`` (default: every installed language) they
    lack and that the user has not changed (see ``translate_untouched``)."""
    env = env(su=True)
    langs = [lang for lang in (langs or installed_langs(env)) if lang != "en_US"]
    if not langs:
        return
    # Imported here: the models import this module.
    from .models import customer_pool_rule, customer_service_policy, customer_tier

    every = env(context=dict(env.context, active_test=False))
    tiers = every["customer.tier"].search([])
    tier_names = [name for _code, name, *_rest in customer_tier.DEFAULT_TIERS]
    translate_untouched(tiers, "name", tier_names, langs, overwrite)
    segments = every["customer.rfm.segment"].search([])
    segment_names, playbooks = segments._default_texts(langs)
    translate_untouched(segments, "name", segment_names, langs, overwrite)
    translate_untouched(segments, "playbook", playbooks, langs, overwrite)
    policies = every["customer.service.policy"].search([])
    policy_texts = lazy_texts(customer_service_policy.DEFAULT_POLICIES)
    for field in ("name", "summary"):
        if field in policies._fields:
            translate_untouched(policies, field, policy_texts, langs, overwrite)
    pool_rules = every["customer.pool.rule"].search([])
    translate_untouched(pool_rules, "name", [customer_pool_rule.DEFAULT_RULE["name"]], langs, overwrite)
    # The festivals first: the care dates seeded from them take their names.
    every["customer.care.festival"]._translate_defaults(langs, overwrite)
    festivals = every["customer.care.festival"].search([])
    care_dates = every["customer.care.date"].search([("festival_id", "!=", False)])
    festival_names = [
        (festival.with_context(lang="en_US").name, festival._name_translations(langs)) for festival in festivals
    ]
    translate_untouched(care_dates, "name", festival_names, langs, overwrite)
    every["loyalty.program"]._translate_tier_programs(langs, overwrite)
    every["customer.satisfaction.policy"]._translate_defaults(langs, overwrite)
