"""Names the add-on creates in code (default tiers, programs, policies),
translated into every installed language from the add-on's own catalogue."""


def translate_field(env, records, field, texts):
    """Give ``records[i].field`` the translations of the lazy ``texts[i]``."""
    langs = [code for code, _name in env["res.lang"].get_installed() if code != "en_US"]
    if not langs:
        return
    for record, text in zip(records, texts, strict=True):
        record.update_field_translations(field, {lang: text._translate(lang) for lang in langs})
