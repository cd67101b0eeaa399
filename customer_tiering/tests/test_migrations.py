import importlib.util
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
    def test_1_3_indexes_dormancy_dates_and_makes_the_next_run_full(self):
        company = self.env.ref("base.main_company")
        config = self.env["customer.tiering.config"]._for_companies(company).sudo()
        config.last_full_run = "2026-11-30 02:00:00"
        config.flush_recordset()
        index = f"res_partner_dormancy_date_company_{company.id}_index"
        self.env.cr.execute(SQL("DROP INDEX %s", SQL.identifier(index)))
        _migration("18.0.1.3.0", "post-migrate")(self.env.cr, "18.0.1.2.2")
        config.invalidate_recordset()
        self.assertFalse(config.last_full_run, "only a full run fills every customer's dormancy date")
        self.env.cr.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index])
        self.assertTrue(self.env.cr.fetchall())
