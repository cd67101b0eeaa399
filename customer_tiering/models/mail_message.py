import socket

from markupsafe import escape

from odoo import api, fields, models
from odoo.tools import SQL

#: The columns of mail.tracking.value that ``_create_tracking_values`` may fill, with their types.
TRACKING_COLUMNS = {
    "field_id": "int4",
    "currency_id": "int4",
    **{
        f"{side}_value_{kind}": sql_type
        for side in ("old", "new")
        for kind, sql_type in (
            ("integer", "int4"),
            ("float", "float8"),
            ("char", "varchar"),
            ("text", "text"),
            ("datetime", "timestamp"),
        )
    },
}
#: The field types whose values travel as text in ``_bulk_log_tracking``'s changes.
TEXT_TYPES = {"many2one", "selection", "char", "text", "integer", "float", "date", "datetime"}


class MailMessage(models.Model):
    _inherit = "mail.message"

    @api.model
    def _bulk_log_tracking(self, model, changes):
        """Log on records of ``model`` the tracking messages its ORM tracking
        would log (``mail.thread._message_track``, then ``_message_log``) for
        changes written in SQL: one note per record with one tracking value per
        changed field, in one INSERT. Returns how many messages.

        ``changes`` is an SQL query of rows (res_id, field name, old value,
        new value), the values as text: a many2one's id, a selection's key,
        the text of a number or a date; a row per record and changed field.

        On ``mail.message``, not on the tracked model: it writes the message
        and its tracking values (which belong to the message) and nothing of
        the record, and it works for any model with tracked fields.

        As ``_message_log``: the current user's partner is the author, with
        its address as ``email_from`` and ``reply_to``; an internal note
        (``mail.mt_note``, ``is_internal``) with no body, no record name,
        company or alias domain, no signature, no recipient, a Message-ID of
        ``generate_tracking_message_id("message-notify")``'s format made per
        message in SQL. The tracking values are ``_create_tracking_values``'
        own, worked out once per distinct change, in ``_message_track``'s
        order of fields. Deliberately skipped: the model's ``_track_subtype``
        (a subtype would post and notify followers), its default log message
        and ``_message_track_post_template`` (no tracking template): the
        model's own overrides of these, when it has any, are not called.
        Monetary and relational-list fields are not supported."""
        Model = self.env[model].sudo()
        distinct = self.env.execute_query(
            SQL("SELECT DISTINCT fname, old, new FROM (%s) AS c(res_id, fname, old, new)", changes)
        )
        if not distinct:
            return 0
        tracked = Model.fields_get(
            {fname for fname, _old, _new in distinct}, attributes=("string", "type", "selection", "currency_field")
        )
        rank = {fname: index for index, (fname, _seq) in enumerate(Model._mail_track_order_fields(tracked))}
        values = []
        for fname, old, new in distinct:
            initial, current = (_tracked_value(Model, fname, tracked[fname], text) for text in (old, new))
            if initial == current or (not initial and not current):  # as _mail_track
                continue
            row = self.env["mail.tracking.value"]._create_tracking_values(
                initial, current, fname, tracked[fname], Model
            )
            values.append({"fname": fname, "old": old, "new": new, "rank": rank[fname], **row})
        if not values:
            return 0
        author_id, email_from = Model._message_compute_author(None, None, raise_on_email=False)
        columns = {"fname": "varchar", "old": "varchar", "new": "varchar", "rank": "int4", **TRACKING_COLUMNS}
        now = self.env.cr.now()
        [(count,)] = self.env.execute_query(
            SQL(
                """
                WITH change AS (
                    SELECT c.res_id, v.* FROM (%(changes)s) AS c(res_id, fname, old, new)
                      JOIN unnest(%(arrays)s) AS v(%(names)s)
                        ON v.fname = c.fname AND v.old IS NOT DISTINCT FROM c.old AND v.new IS NOT DISTINCT FROM c.new
                ), message AS (
                    INSERT INTO mail_message (model, res_id, message_type, is_internal, subtype_id, author_id,
                                              email_from, reply_to, email_add_signature, message_id, body, date,
                                              create_uid, create_date, write_uid, write_date)
                    SELECT %(model)s, res_id, 'notification', true, %(subtype)s, %(author)s,
                           %(email_from)s, %(reply_to)s, false, %(message_id)s, '', %(date)s,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM (SELECT DISTINCT res_id FROM change ORDER BY res_id) AS record
                 RETURNING id, res_id
                ), tracking AS (
                    INSERT INTO mail_tracking_value (mail_message_id, %(tracking)s, create_uid, create_date,
                                                     write_uid, write_date)
                    SELECT message.id, %(tracking)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM change JOIN message USING (res_id)
                     ORDER BY message.id, change.rank
                )
                SELECT count(*) FROM message
                """,
                changes=changes,
                arrays=SQL(", ").join(
                    SQL("%s::%s[]", [vals.get(name) for vals in values], SQL(sql_type))
                    for name, sql_type in columns.items()
                ),
                names=SQL(", ").join(SQL.identifier(name) for name in columns),
                tracking=SQL(", ").join(SQL.identifier(name) for name in TRACKING_COLUMNS),
                model=model,
                subtype=self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
                author=author_id,
                email_from=email_from,
                reply_to=self.env["mail.thread"]._notify_get_reply_to(default=email_from)[False],
                message_id=_tracking_message_id_sql("message-notify"),
                date=fields.Datetime.now(),
                uid=self.env.uid,
                now=now,
            )
        )
        return count

    @api.model
    def _bulk_log_notes(self, model, notes):
        """Log on records of ``model`` the notes of ``notes``, [(res_id,
        body)], in one INSERT, as ``_message_log(body=body)`` would one at a
        time: the internal notes of ``_bulk_log_tracking``, with a body and
        no tracking value. A body that is not Markup is escaped. Returns how
        many messages."""
        if not notes:
            return 0
        Model = self.env[model].sudo()
        author_id, email_from = Model._message_compute_author(None, None, raise_on_email=False)
        now = self.env.cr.now()
        [(count,)] = self.env.execute_query(
            SQL(
                """
                WITH message AS (
                    INSERT INTO mail_message (model, res_id, message_type, is_internal, subtype_id, author_id,
                                              email_from, reply_to, email_add_signature, message_id, body, date,
                                              create_uid, create_date, write_uid, write_date)
                    SELECT %(model)s, n.res_id, 'notification', true, %(subtype)s, %(author)s,
                           %(email_from)s, %(reply_to)s, false, %(message_id)s, n.body, %(date)s,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(res_ids)s::int4[], %(bodies)s::text[]) AS n(res_id, body)
                     ORDER BY n.res_id
                 RETURNING id
                )
                SELECT count(*) FROM message
                """,
                model=model,
                res_ids=[res_id for res_id, _body in notes],
                bodies=[str(escape(body)) for _res_id, body in notes],
                subtype=self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
                author=author_id,
                email_from=email_from,
                reply_to=self.env["mail.thread"]._notify_get_reply_to(default=email_from)[False],
                message_id=_tracking_message_id_sql("message-notify"),
                date=fields.Datetime.now(),
                uid=self.env.uid,
                now=now,
            )
        )
        return count


def _tracked_value(Model, fname, info, text):
    """The value ``_mail_track`` compares for ``text``, a field's value as
    text: a record for a many2one, a key for a selection."""
    kind = info["type"]
    if kind not in TEXT_TYPES:
        raise NotImplementedError(f"Bulk tracking of {kind} field {fname}")
    if text is None:
        value = False
    else:
        value = int(text) if kind in ("many2one", "integer") else float(text) if kind == "float" else text
    field = Model._fields[fname]
    return field.convert_to_record(field.convert_to_cache(value, Model, validate=False), Model)


def _tracking_message_id_sql(res_id):
    """``odoo.tools.mail.generate_tracking_message_id(res_id)`` in SQL, one
    per row: 15 random digits, the time with 15 decimals, ``res_id`` and the
    host name."""
    return SQL(
        "'<' || lpad(floor(random() * 1e15)::bigint::text, 15, '0') || '.'"
        " || extract(epoch FROM clock_timestamp())::numeric(30, 15)::text || %s || '>'",
        f"-openerp-{res_id}@{socket.gethostname()}",
    )
