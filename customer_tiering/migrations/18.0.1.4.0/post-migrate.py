from odoo.tools import SQL
from odoo.tools.sql import column_exists

#: res_partner's per-company columns whose days 1.4 keeps in customer_tiering_schedule.
MOVED = {"tiering_review_date": "review_date", "dormancy_date": "dormancy_date"}


def migrate(cr, version):
    """1.4 keeps each customer's review and dormancy days in
    customer_tiering_schedule: they move there as they are, and their
    res_partner columns go, with the indexes on them."""
    moved = {column: target for column, target in MOVED.items() if column_exists(cr, "res_partner", column)}
    if not moved:
        return
    values = {column: SQL("(p.%s ->> c.id::text)::date", SQL.identifier(column)) for column in moved}
    cr.execute(
        SQL(
            """
            INSERT INTO customer_tiering_schedule (partner_id, company_id, %(targets)s,
                                                   create_uid, create_date, write_uid, write_date)
            SELECT p.id, c.id, %(values)s, 1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
              FROM res_partner p
              JOIN res_company c ON %(has_value)s
             WHERE p.id = p.commercial_partner_id
                ON CONFLICT (partner_id, company_id) DO NOTHING
            """,
            targets=SQL(", ").join(SQL.identifier(target) for target in moved.values()),
            values=SQL(", ").join(values.values()),
            has_value=SQL(" OR ").join(SQL("%s IS NOT NULL", value) for value in values.values()),
        )
    )
    cr.execute(
        SQL(
            "ALTER TABLE res_partner %s",
            SQL(", ").join(SQL("DROP COLUMN %s", SQL.identifier(column)) for column in moved),
        )
    )
