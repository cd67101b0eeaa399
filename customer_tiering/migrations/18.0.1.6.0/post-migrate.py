from odoo.tools import SQL

OLD = "user.company_id"
NEW = "(ctx.get('care_company') or user.company_id)"
TEMPLATES = ("mail_template_care_birthday", "mail_template_care_occasion")


def migrate(cr, version):
    """1.6: care emails name the company that cares, given by the job in the
    rendering context, not the sending user's main company. The templates
    are not updated on upgrade (noupdate): those that still read the user's
    company, in any language, are rewritten; edited ones are left alone."""
    # subject and body are translated (jsonb), the sender is not
    for column, cast in (("subject", "jsonb"), ("email_from", "varchar"), ("body_html", "jsonb")):
        cr.execute(
            SQL(
                """
                UPDATE mail_template t
                   SET %(column)s = replace(t.%(column)s::text, %(old)s, %(new)s)::%(cast)s
                  FROM ir_model_data d
                 WHERE d.module = 'customer_tiering' AND d.model = 'mail.template' AND d.res_id = t.id
                   AND d.name IN %(templates)s
                   AND t.%(column)s::text LIKE %(pattern)s
                   AND t.%(column)s::text NOT LIKE %(done)s
                """,
                column=SQL.identifier(column),
                cast=SQL(cast),
                old=OLD,
                new=NEW,
                templates=TEMPLATES,
                pattern=f"%{OLD}%",
                done="%care_company%",
            )
        )
