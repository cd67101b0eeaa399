from odoo import SUPERUSER_ID, api

OLD_ACTION = "customer_tiering.customer_tiering_dashboard_action"


def migrate(cr, version):
    """1.7: the dashboard is a spreadsheet dashboard (spreadsheet_dashboard),
    no longer a board. Its action keeps its XML id, so that links to
    /odoo/action-customer_tiering.customer_tiering_dashboard_action still
    open it, but becomes a client action: an XML id cannot change model, so
    the old window action goes before the data is loaded. The board's view
    goes by itself at the end of the update, as a record no longer in the
    data, with the users' customised copies of it (ondelete cascade)."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    action = env.ref(OLD_ACTION, raise_if_not_found=False)
    if action and action._name == "ir.actions.act_window":
        action.unlink()
