import re
from contextlib import suppress
from datetime import date
from unittest.mock import patch

from markupsafe import Markup

from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.base.tests.common import DISABLED_MAIL_CONTEXT

from .common import TieringInvoiceCommon

DAY = date(2026, 3, 2)
#: ``odoo.tools.mail.generate_tracking_message_id``'s format, for any record or host.
MESSAGE_ID = re.compile(r"^<\d{15}\.\d+\.\d{15}-openerp-[\w.-]+@[^>]+>$")


@tagged("post_install", "-at_install")
class TestBulkWritersMail(TieringInvoiceCommon):
    """The bulk writers of mail.activity and mail.message write what the ORM
    writes, row for row, and notify as the ORM notifies."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the ORM's side effects as a user gets them: the test context disables tracking
        cls.env = cls.env(context={k: v for k, v in cls.env.context.items() if k not in DISABLED_MAIL_CONTEXT})
        company = {"company_id": cls.company.id, "company_ids": [cls.company.id]}
        users = {}
        for kind in ("email", "inbox"):
            users[kind] = new_test_user(
                cls.env,
                login=f"bulk_{kind}",
                groups="base.group_user",
                notification_type=kind,
                email=f"bulk_{kind}@example.com",
                **company,
            )
        cls.users = users
        cls.job = cls.env["customer.followup.job"]
        cls.Activity = cls.env["mail.activity"]

    def twins(self, name="Twin Customer"):
        """Two customers alike but for their ids: one for the ORM, one for the bulk writer."""
        return self.env["res.partner"].create([{"name": name, "is_company": True}] * 2)

    def rows(self, table, ids, skip=()):
        """The rows of ``table`` of ``ids`` as dicts, in id order, without the columns ``skip``."""
        rows = self.env.execute_query_dict(
            SQL("SELECT * FROM %s WHERE id = ANY(%s) ORDER BY id", SQL.identifier(table), list(ids))
        )
        return [{key: value for key, value in row.items() if key not in {"id", *skip}} for row in rows]

    def flush_tracking(self):
        """Log the tracking the ORM logs right before a commit."""
        self.env.flush_all()
        self.env.cr.precommit.run()

    def activity_values(self, partner, user):
        return self.job._partner_activity(partner, user, "Call", Markup("<p>Call <b>now</b></p>"), DAY)

    def orm_activity(self, partner, user):
        """The activity ``mail.activity.create`` makes, as the job's user, its
        emails queued as the bulk writer queues them."""
        values = self.activity_values(partner, user) | {"res_model": "res.partner"}
        return self.Activity.with_context(mail_notify_force_send=False).create(values)

    def bulk_activity(self, partner, user):
        activities = self.Activity.browse(self.Activity._bulk_create_automated([self.activity_values(partner, user)]))
        activities._notify_automated()
        return activities

    def notifications(self, partner, after=0):
        """(messages, notifications, mails) of the notifications on ``partner``, of messages after ``after``."""
        messages = self.env["mail.message"].search(
            [
                ("model", "=", "res.partner"),
                ("res_id", "=", partner.id),
                ("message_type", "=", "user_notification"),
                ("id", ">", after),
            ]
        )
        notifications = self.env["mail.notification"].search([("mail_message_id", "in", messages.ids)])
        mails = self.env["mail.mail"].search([("mail_message_id", "in", messages.ids)])
        return messages, notifications, mails

    def test_activity_rows_match_what_create_writes(self):
        by_orm, by_bulk = self.twins()
        user = self.users["email"]
        orm = self.orm_activity(by_orm, user)
        bulk = self.bulk_activity(by_bulk, user)
        self.env.flush_all()
        # the same transaction: even the create and write dates are the same
        self.assertEqual(
            self.rows("mail_activity", bulk.ids, ["res_id"]), self.rows("mail_activity", orm.ids, ["res_id"])
        )
        followers = self.env["mail.followers"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "in", (by_orm | by_bulk).ids),
                ("partner_id", "=", user.partner_id.id),
            ],
            order="res_id",
        )
        self.assertEqual(len(followers), 2, "the assignee follows both")
        orm_follower, bulk_follower = followers
        self.assertEqual(bulk_follower.subtype_ids, orm_follower.subtype_ids)

    def test_notifications_match_what_create_sends(self):
        """For an assignee notified by email and one notified in Odoo: the
        same message, notification and queued email as ``create``'s."""
        for kind, user in self.users.items():
            with self.subTest(notification_type=kind):
                by_orm, by_bulk = self.twins(f"Twin Customer {kind}")
                self.orm_activity(by_orm, user)
                self.bulk_activity(by_bulk, user)
                self.env.flush_all()
                orm, bulk = self.notifications(by_orm), self.notifications(by_bulk)
                for records in (*orm, *bulk):
                    self.assertEqual(len(records), 1 if kind == "email" or records._name != "mail.mail" else 0)
                (orm_message, orm_notification, orm_mail), (bulk_message, bulk_notification, bulk_mail) = orm, bulk

                def same(table, orm_ids, bulk_ids, skip, by_orm=by_orm, by_bulk=by_bulk):
                    """The rows, the record's id in their text replaced by the other's."""
                    text = {str(by_bulk.id): str(by_orm.id)}
                    pattern = re.compile(rf"\b{by_bulk.id}\b")
                    bulk_rows = [
                        {
                            key: pattern.sub(text[str(by_bulk.id)], v) if isinstance(v, str) else v
                            for key, v in row.items()
                        }
                        for row in self.rows(table, bulk_ids, skip)
                    ]
                    self.assertEqual(bulk_rows, self.rows(table, orm_ids, skip), table)

                # the message's own Message-ID and its date are the moment's, its record the other twin
                same("mail_message", orm_message.ids, bulk_message.ids, ["res_id", "message_id", "date"])
                self.assertRegex(bulk_message.message_id, MESSAGE_ID)
                self.assertEqual(bulk_message.partner_ids, user.partner_id)
                self.assertEqual(bulk_notification.notification_type, kind)
                same(
                    "mail_notification",
                    orm_notification.ids,
                    bulk_notification.ids,
                    ["mail_message_id", "mail_mail_id"],
                )
                if kind == "email":
                    self.assertEqual(bulk_mail.state, "outgoing", "queued, not sent inline")
                    self.assertEqual(bulk_notification.mail_mail_id, bulk_mail)
                    # the references and headers name the message's own Message-ID
                    same("mail_mail", orm_mail.ids, bulk_mail.ids, ["mail_message_id", "references", "headers"])
                    self.assertIn(bulk_message.message_id, bulk_mail.references)

    def test_nobody_is_told_twice_or_told_of_their_own(self):
        policy = self.env["customer.service.policy"].search(
            [("company_id", "=", self.company.id), ("tier_ids", "=", self.tier_a.id)], limit=1
        )
        seller = self.users["email"]
        customer = self.env["res.partner"].create({"name": "Followed Customer", "is_company": True})
        customer.write({"tier_id": self.tier_a.id, "user_id": seller.id})
        Lock = self.env.registry["customer.tiering.lock"]
        # the salesperson was told of the customer: only the activity's notification counts
        last = self.env["mail.message"].search([], order="id desc", limit=1).id

        def retried(lock, write):
            """A batch that fails once after writing, rolled back, then written again."""
            with suppress(RuntimeError), lock.env.cr.savepoint():
                write()
                raise RuntimeError("serialization failure")
            write()

        with patch.object(Lock, "_run_batch", retried):
            self.assertEqual(self.job._run_policies(policy, DAY), 1)
        self.assertEqual(self.job._run_policies(policy, DAY), 0, "the re-run finds the open follow-up")
        messages, _notifications, mails = self.notifications(customer, last)
        self.assertEqual(len(messages), 1, "told once, for the attempt that committed")
        self.assertEqual(len(mails), 1)
        self.assertEqual(mails.email_to or mails.recipient_ids.email, seller.partner_id.email)

        own, archived = self.twins("Own Customer")
        inactive = new_test_user(self.env, login="bulk_archived", groups="base.group_user")
        inactive.action_archive()
        job = self.job.with_user(seller).sudo()
        job._create_activities([job._partner_activity(own, seller, "Mine", "", DAY)])
        job._create_activities([job._partner_activity(archived, inactive, "Archived", "", DAY)])
        self.assertTrue(own.activity_ids and archived.activity_ids)
        self.assertFalse(self.notifications(own)[0], "as create: nobody is told of the activity they made")
        self.assertFalse(self.notifications(archived)[0], "an archived user is told nothing")

    def test_tracking_rows_match_what_tracking_writes(self):
        """A tier and stage change written by the ORM, with tracking, and the
        same change logged by the bulk writer: the same message and values."""
        by_orm, by_bulk = self.twins()
        key = str(self.company.id)
        self.env.cr.execute(
            SQL(
                "UPDATE res_partner SET tier_id = jsonb_build_object(%s, %s), "
                "lifecycle_stage = jsonb_build_object(%s, 'active') WHERE id = ANY(%s)",
                key,
                self.tier_b.id,
                key,
                (by_orm | by_bulk).ids,
            )
        )
        (by_orm | by_bulk).invalidate_recordset()
        self.flush_tracking()  # the ORM tracks no change of a record created in the same transaction
        last = self.env["mail.message"].search([], order="id desc", limit=1).id
        by_orm.write({"tier_id": self.tier_a.id, "lifecycle_stage": "sleeping"})
        self.flush_tracking()
        changes = SQL(
            "SELECT * FROM (VALUES (%(id)s, 'tier_id', %(old)s, %(new)s), "
            "(%(id)s, 'lifecycle_stage', 'active', 'sleeping')) AS change",
            id=by_bulk.id,
            old=str(self.tier_b.id),
            new=str(self.tier_a.id),
        )
        self.assertEqual(self.env["mail.message"]._bulk_log_tracking("res.partner", changes), 1)
        messages = self.env["mail.message"].search([("id", ">", last), ("model", "=", "res.partner")], order="id")
        self.assertEqual(messages.mapped("res_id"), [by_orm.id, by_bulk.id])
        orm_message, bulk_message = messages
        skip = ["res_id", "message_id", "date", "create_date", "write_date"]
        self.assertEqual(
            self.rows("mail_message", bulk_message.ids, skip), self.rows("mail_message", orm_message.ids, skip)
        )
        self.assertRegex(bulk_message.message_id, MESSAGE_ID)
        self.assertIn("-openerp-message-notify@", bulk_message.message_id)
        skip = ["mail_message_id", "create_date", "write_date"]
        orm_values = orm_message.sudo().tracking_value_ids.sorted("id")
        bulk_values = bulk_message.sudo().tracking_value_ids.sorted("id")
        self.assertEqual(len(orm_values), 2)
        self.assertEqual(
            self.rows("mail_tracking_value", bulk_values.ids, skip),
            self.rows("mail_tracking_value", orm_values.ids, skip),
            "the same values, in the same order",
        )
        self.assertEqual(bulk_values.mapped("new_value_char"), [self.tier_a.name, "Sleeping"])

    def test_tracking_skips_unchanged_values(self):
        partner = self.twins()[0]
        changes = SQL("SELECT %s, 'lifecycle_stage', 'active', 'active'", partner.id)
        self.assertEqual(self.env["mail.message"]._bulk_log_tracking("res.partner", changes), 0)
        self.assertFalse(partner.message_ids.filtered("tracking_value_ids"))
