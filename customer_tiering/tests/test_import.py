from odoo.tests import tagged

from .common import TieringInvoiceCommon

FIELDS = ["name", "is_company", "tier_id", "tier_locked", "tier_lock_reason", "birthday"]


@tagged("post_install", "-at_install")
class TestPartnerImport(TieringInvoiceCommon):
    """Odoo's import takes tier codes, locks and birthdays, and all or nothing."""

    def run_import(self, rows):
        lines = [",".join(FIELDS)] + [",".join(row) for row in rows]
        importer = self.env["base_import.import"].create(
            {"res_model": "res.partner", "file": "\n".join(lines).encode(), "file_type": "text/csv"}
        )
        options = {"has_headers": True, "quoting": '"', "separator": ",", "date_format": "%Y-%m-%d"}
        return importer.execute_import(FIELDS, FIELDS, options)

    def test_import_by_tier_code(self):
        result = self.run_import(
            [
                ["Imported Key Account", "1", "A", "1", "Strategic", "1980-05-10"],
                ["Imported Standard", "1", "C", "0", "", ""],
            ]
        )
        self.assertFalse(result["messages"])
        key, standard = self.env["res.partner"].browse(result["ids"])
        self.assertRecordValues(
            key, [{"tier_id": self.tier_a.id, "tier_locked": True, "tier_lock_reason": "Strategic"}]
        )
        self.assertEqual(str(key.birthday), "1980-05-10")
        self.assertEqual(standard.tier_id, self.tier_c)

    def test_bad_rows_are_all_reported_and_nothing_is_imported(self):
        names = ["Good Row", "Unknown Tier", "Unclear Lock"]
        result = self.run_import(
            [
                ["Good Row", "1", "A", "0", "", "1980-05-10"],
                ["Unknown Tier", "1", "Z", "0", "", ""],
                ["Unclear Lock", "1", "B", "maybe", "", ""],
            ]
        )
        self.assertFalse(result["ids"])
        rows = sorted(message["record"] for message in result["messages"] if message["type"] == "error")
        self.assertEqual(rows, [1, 2], "every bad row is reported")
        self.assertFalse(self.env["res.partner"].search([("name", "in", names)]), "nothing is imported")

    def test_bad_birthday_stops_the_import(self):
        result = self.run_import(
            [["Good Row", "1", "A", "0", "", ""], ["Bad Birthday", "1", "B", "0", "", "1980-13-45"]]
        )
        self.assertFalse(result.get("ids"))
        self.assertIn("1980-13-45", str(result["messages"]), "the bad value is named")
        self.assertFalse(self.env["res.partner"].search([("name", "in", ["Good Row", "Bad Birthday"])]))
