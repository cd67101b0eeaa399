from datetime import date

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.customer_tiering.models.customer_loyalty_ledger import Entry

from .common import TieringInvoiceCommon

#: Columns that differ between the ORM and the bulk writers by design:
#: ``id``, the row itself; ``code``, random per card; ``partner_id`` and
#: ``card_id``, each test writes two customers' cards the same way.
DIFFERENT = {"id", "code", "partner_id", "card_id"}


@tagged("post_install", "-at_install")
class TestLoyaltyCardWriter(TieringInvoiceCommon):
    """The bulk writers of tier cards and balances write what Odoo's ORM
    writes, and send the program's communications once, after the move."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config.points_start_date = date(2020, 1, 1)
        cls.program = cls.config.loyalty_program_id
        cls.template = cls.env.ref("loyalty.mail_template_loyalty_card")
        cls.customer, cls.twin = cls.env["res.partner"].create(
            [{"name": name, "is_company": True, "email": f"{name}@example.com"} for name in ("Alpha", "Beta")]
        )
        (cls.customer | cls.twin).tier_id = cls.tier_a  # A earns twice the invoice's amount

    def row(self, model, record_id):
        """The record's stored columns, as the database holds them."""
        Model = self.env[model]
        Model.flush_model()
        columns = [name for name, field in Model._fields.items() if field.store and field.column_type]
        values = self.env.execute_query(
            SQL(
                "SELECT %s FROM %s WHERE id = %s",
                SQL(", ").join(map(SQL.identifier, columns)),
                SQL.identifier(Model._table),
                record_id,
            )
        )[0]
        return dict(zip(columns, values, strict=True))

    def assertSameRow(self, model, orm_id, bulk_id, different=DIFFERENT):
        orm, bulk = self.row(model, orm_id), self.row(model, bulk_id)
        self.assertEqual(
            {name: value for name, value in orm.items() if name not in different},
            {name: value for name, value in bulk.items() if name not in different},
        )

    def card(self, partner):
        return self.env["loyalty.card"].search([("partner_id", "=", partner.id), ("is_tier_card", "=", True)])

    def mails(self, card):
        return self.env["mail.mail"].search([("model", "=", "loyalty.card"), ("res_id", "=", card.id)])

    def communicate(self, trigger, points=0.0):
        self.env["loyalty.mail"].create(
            {"program_id": self.program.id, "trigger": trigger, "points": points, "mail_template_id": self.template.id}
        )

    def send(self):
        self.env["customer.loyalty.ledger"]._send_communications()

    # ------------------------------------------------------------ equivalence
    def test_card_writer_writes_what_create_writes(self):
        orm = self.env["loyalty.card"].create(
            {"program_id": self.program.id, "partner_id": self.customer.id, "points": 0, "is_tier_card": True}
        )
        bulk = self.env["loyalty.card"]._bulk_create_tier_cards(self.program, [self.twin.id])[self.twin.id]
        self.assertSameRow("loyalty.card", orm.id, bulk)
        self.assertEqual(self.row("loyalty.card", bulk)["partner_id"], self.twin.id)

    def test_balance_writer_writes_what_create_and_write_write(self):
        """Odoo's Update Balance: a history line created, the card's points
        written. The bulk writer keeps the card's write date (a heap-only
        update), so it is compared apart."""
        cards = self.env["loyalty.card"]._bulk_create_tier_cards(self.program, [self.customer.id, self.twin.id])
        orm_card, bulk_card = self.env["loyalty.card"].browse([cards[self.customer.id], cards[self.twin.id]])
        self.env.cr.execute(
            SQL("UPDATE loyalty_card SET write_date = '2020-01-01' WHERE id = ANY(%s)", list(cards.values()))
        )
        self.env.invalidate_all()
        values = {
            "description": "Points adjustment",
            "issued": 12.5,
            "used": 0.0,
            "points_kind": "adjust",
            "points_key": "test:1",
            "points_date": date(2026, 3, 1),
            "points_note": "why",
        }
        orm_line = self.env["loyalty.history"].sudo().create({"card_id": orm_card.id, **values})
        orm_card.write({"points": orm_card.points + 12.5})
        entry = Entry(bulk_card.id, "Points adjustment", "test:1", "adjust", date(2026, 3, 1), issued=12.5, note="why")
        self.assertEqual(self.env["loyalty.history"]._bulk_insert([entry]), 1)
        bulk_line = bulk_card.history_ids
        self.assertSameRow("loyalty.history", orm_line.id, bulk_line.id)
        self.assertSameRow("loyalty.card", orm_card.id, bulk_card.id, DIFFERENT | {"write_date"})
        self.assertEqual(
            self.row("loyalty.card", bulk_card.id)["write_date"], fields.Datetime.to_datetime("2020-01-01")
        )

    # ------------------------------------------------------------ communications
    def test_no_communication_queues_and_sends_nothing(self):
        self.post_invoice(self.customer, 500.0, "2026-03-01")
        self.assertEqual(self.card(self.customer).points, 1000.0)
        self.assertFalse(self.env["customer.loyalty.communication"].search([]))
        self.send()
        self.assertFalse(self.mails(self.card(self.customer)))

    def test_creation_communication_once_per_new_card(self):
        self.communicate("create")
        self.post_invoice(self.customer, 10.0, "2026-03-01")
        self.post_invoice(self.customer, 10.0, "2026-03-02")  # same card: not new
        card = self.card(self.customer)
        self.assertFalse(self.mails(card), "queued with the move, sent after its commit")
        self.send()
        self.assertEqual(len(self.mails(card)), 1)
        self.assertEqual(self.mails(card).recipient_ids, self.customer)
        self.assertEqual(self.mails(card).state, "outgoing", "queued, not sent in the transaction")
        self.send()
        self.assertEqual(len(self.mails(card)), 1, "sent once")
        self.assertFalse(self.env["customer.loyalty.communication"].search([]))

    def test_points_reach_once_when_crossing_upward(self):
        self.communicate("points_reach", 100.0)
        self.post_invoice(self.customer, 40.0, "2026-03-01")  # 80 points
        card = self.card(self.customer)
        self.send()
        self.assertFalse(self.mails(card))
        invoice = self.post_invoice(self.customer, 20.0, "2026-03-02")  # 120 points: crosses 100
        self.send()
        self.assertEqual(len(self.mails(card)), 1)
        # counted again (a re-run), sent again: nothing new
        self.env["customer.loyalty.ledger"]._award_documents(invoice)
        self.send()
        self.post_invoice(self.customer, 100.0, "2026-03-03")  # 320 points: no milestone crossed
        self.send()
        self.assertEqual(card.points, 320.0)
        self.assertEqual(len(self.mails(card)), 1)

    def test_no_mail_context_and_backfill_send_nothing(self):
        """Odoo's loyalty_no_mail is honoured; the first catch-up of a company
        (a back-fill of past invoices) sends nothing."""
        self.communicate("create")
        self.communicate("points_reach", 100.0)
        Card = self.env["loyalty.card"].with_context(loyalty_no_mail=True)
        Card._bulk_create_tier_cards(self.program, [self.customer.id])
        self.assertFalse(self.env["customer.loyalty.communication"].search([]))
        invoice = self.post_invoice(self.twin, 100.0, "2026-03-01")
        self.assertEqual(
            self.env["customer.loyalty.communication"].search([]).mapped("trigger"), ["create", "points_reach"]
        )
        self.env["customer.loyalty.communication"].sudo().search([]).unlink()
        # the twin's points as if counted before the company's first check
        self.env.cr.execute(
            SQL(
                "DELETE FROM loyalty_history WHERE card_id = %(card)s; DELETE FROM loyalty_card WHERE id = %(card)s",
                card=self.card(self.twin).id,
            )
        )
        self.env.invalidate_all()
        self.config.write({"points_full_check": False, "points_checked_since": False})
        self.env["customer.loyalty.ledger"]._cron_loyalty()
        self.assertEqual(self.card(self.twin).points, 200.0, invoice.name)
        self.assertFalse(self.env["customer.loyalty.communication"].search([]))
        self.assertFalse(self.mails(self.card(self.twin)))
