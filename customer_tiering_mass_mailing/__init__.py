from . import models


def _uninstall_hook(env):
    """The saved filters the add-on made select on customer_tiering's partner
    fields: removed with the add-on, so that uninstalling customer_tiering
    (which uninstalls this add-on first) leaves no filter on fields that no
    longer exist, and no filter that nothing keeps in sync any more."""
    env["mailing.filter"].sudo().search(env["mailing.filter"]._tiering_filter_domain()).unlink()
