from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """1.8 moves the lunar festivals' dates from the code to a table: the
    care dates seeded from the code's festivals become occurrences of the
    table's, so that the yearly roll-over gives them next year's dates.
    They are matched by their English name; their dates stay as they are."""
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False, "lang": "en_US"})
    festivals = env["customer.care.festival"].search([("code", "!=", False)])
    by_name = {festival.name: festival for festival in festivals}
    care_dates = env["customer.care.date"].search([("festival_id", "=", False), ("name", "in", list(by_name))])
    for festival, dates in care_dates.grouped(lambda care_date: by_name[care_date.name]).items():
        dates.festival_id = festival
