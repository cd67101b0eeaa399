import importlib.util
import json
from datetime import date
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def _migration(version, stage):
    spec = importlib.util.spec_from_file_location(f"migration_{stage}", MIGRATIONS / version / f"{stage}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.migrate


@tagged("post_install", "-at_install")
class TestMigrations(TransactionCase):
    def test_1_3_builds_the_indexes_and_makes_the_next_run_full(self):
        company = self.env.ref("base.main_company")
        config = self.env["customer.tiering.config"]._for_companies(company).sudo()
        config.last_full_run = "2026-11-30 02:00:00"
        config.flush_recordset()
        index = f"res_partner_lifecycle_stage_company_{company.id}_index"
        self.env.cr.execute(SQL("DROP INDEX %s", SQL.identifier(index)))
        _migration("18.0.1.3.0", "post-migrate")(self.env.cr, "18.0.1.2.2")
        config.invalidate_recordset()
        self.assertFalse(config.last_full_run, "only a full run fills every customer's dormancy date")
        self.env.cr.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index])
        self.assertTrue(self.env.cr.fetchall())

    def test_1_4_moves_the_review_and_dormancy_days_off_the_partners(self):
        """The days of 1.3's res_partner columns, per company, land in the
        schedule as they are, and the columns go with their indexes."""
        company = self.env.ref("base.main_company")
        other = self.env["res.company"].create({"name": "Other Co"})
        entity, prospect = self.env["res.partner"].create([{"name": "Scheduled", "is_company": True}, {"name": "P"}])
        contact = self.env["res.partner"].create({"name": "Contact", "parent_id": entity.id})
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                ALTER TABLE res_partner ADD COLUMN tiering_review_date jsonb, ADD COLUMN dormancy_date jsonb;
                CREATE INDEX res_partner_dormancy_date_company_index ON res_partner ((dormancy_date->%(main)s->>0));
                UPDATE res_partner SET tiering_review_date = %(reviews)s, dormancy_date = %(dormancy)s
                 WHERE id IN %(ids)s;
                UPDATE res_partner SET tiering_review_date = %(null)s WHERE id = %(prospect)s
                """,
                main=str(company.id),
                reviews=json.dumps({company.id: "2026-12-03", other.id: "2027-01-05"}),
                dormancy=json.dumps({company.id: "2027-02-01"}),
                null=json.dumps({company.id: None}),
                ids=(entity.id, contact.id),
                prospect=prospect.id,
            )
        )
        _migration("18.0.1.4.0", "post-migrate")(self.env.cr, "18.0.1.3.0")
        schedules = self.env["customer.tiering.schedule"].search(
            [("partner_id", "in", (entity | contact | prospect).ids)]
        )
        self.assertRecordValues(
            schedules.sorted(lambda schedule: schedule.company_id.id),
            [
                {
                    "partner_id": entity.id,
                    "company_id": company.id,
                    "review_date": date(2026, 12, 3),
                    "dormancy_date": date(2027, 2, 1),
                },
                {
                    "partner_id": entity.id,
                    "company_id": other.id,
                    "review_date": date(2027, 1, 5),
                    "dormancy_date": False,
                },
            ],
        )
        self.env.cr.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'res_partner' "
            "AND column_name IN ('tiering_review_date', 'dormancy_date')"
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.env.cr.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'res_partner_dormancy_date_company_index'")
        self.assertFalse(self.env.cr.fetchall())
        self.assertEqual(entity.with_company(company).tiering_review_date, date(2026, 12, 3))
        self.assertEqual(contact.with_company(other).tiering_review_date, date(2027, 1, 5))

    def test_1_5_links_reversals_to_what_they_take_back(self):
        company = self.env.ref("base.main_company")
        program = self.env["customer.tiering.config"]._for_companies(company).loyalty_program_id
        partner = self.env["res.partner"].create({"name": "Legacy Buyer", "is_company": True})
        card = self.env["customer.loyalty.ledger"]._tier_cards(program, partner.ids)[partner.id]
        Move = self.env["account.move"]
        invoice = Move.create({"move_type": "out_invoice", "partner_id": partner.id})
        refund = Move.create({"move_type": "out_refund", "partner_id": partner.id, "reversed_entry_id": invoice.id})
        loose = Move.create({"move_type": "out_refund", "partner_id": partner.id})
        rows = [
            (invoice.id, "earn", f"post:{invoice.id}:0", 100, 0),
            (refund.id, "refund", f"post:{refund.id}:0", 0, 30),
            (refund.id, "void", f"void:{refund.id}:0", 30, 0),
            (invoice.id, "void", f"void:{invoice.id}:0", 0, 100),
            (loose.id, "refund", f"post:{loose.id}:0", 0, 5),
        ]
        ids = []
        for move_id, kind, key, issued, used in rows:
            self.env.cr.execute(
                """INSERT INTO loyalty_history (card_id, description, issued, used, order_model, order_id,
                                                points_kind, points_key, points_date)
                   VALUES (%s, 'legacy', %s, %s, 'account.move', %s, %s, %s, '2026-01-01') RETURNING id""",
                [card, issued, used, move_id, kind, key],
            )
            ids.append(self.env.cr.fetchone()[0])
        _migration("18.0.1.5.0", "post-migrate")(self.env.cr, "18.0.1.4.1")
        self.env.cr.execute(
            "SELECT points_kind, points_lot_id FROM loyalty_history WHERE id = ANY(%s) ORDER BY id", [ids]
        )
        earn = ids[0]
        self.assertEqual(
            self.env.cr.fetchall(),
            [("earn", None), ("refund", earn), ("void", earn), ("void", earn), ("return", None)],
        )
        self.env.cr.execute("SELECT description, points_note FROM loyalty_history WHERE id = %s", [earn])
        self.assertEqual(self.env.cr.fetchone(), (f"Invoice {invoice.name}", "legacy"), "no tier code on the portal")

    def test_1_6_care_emails_name_the_caring_company(self):
        birthday = self.env.ref("customer_tiering.mail_template_care_birthday")
        occasion = self.env.ref("customer_tiering.mail_template_care_occasion")
        old = "{{ user.company_id.email_formatted or user.email_formatted }}"
        edited = "{{ 'care@example.com' }}"
        self.env.cr.execute(
            SQL(
                """
                UPDATE mail_template SET email_from = %s,
                       body_html = jsonb_build_object('en_US', %s, 'zh_CN', %s) WHERE id = %s;
                UPDATE mail_template SET email_from = %s WHERE id = %s;
                """,
                old,
                '<p><t t-out="user.company_id.name">our company</t></p>',
                '<p><t t-out="user.company_id.name">我们公司</t></p>',
                birthday.id,
                edited,
                occasion.id,
            )
        )
        self.env.invalidate_all()
        _migration("18.0.1.6.0", "post-migrate")(self.env.cr, "18.0.1.5.0")
        self.env.invalidate_all()
        self.assertEqual(
            birthday.email_from,
            "{{ (ctx.get('care_company') or user.company_id).email_formatted or user.email_formatted }}",
        )
        [bodies] = self.env.execute_query(SQL("SELECT body_html FROM mail_template WHERE id = %s", birthday.id))[0]
        self.assertEqual(
            {lang: "ctx.get('care_company')" in body for lang, body in bodies.items()}, {"en_US": True, "zh_CN": True}
        )
        self.assertEqual(occasion.email_from, edited, "an edited template is left alone")
