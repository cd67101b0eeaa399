from odoo import Command
from odoo.tools import SQL

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


class TieringInvoiceCommon(AccountTestInvoicingCommon):
    """Real posted invoices for tiering tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id += cls.env.ref("customer_tiering.group_customer_tiering_manager")
        cls.company = cls.company_data["company"]
        cls.tiers = cls.env["customer.tier"].search([("company_id", "=", cls.company.id)], order="sequence")
        cls.tier_a, cls.tier_b, cls.tier_c = cls.tiers
        cls.config = cls.env["customer.tiering.config"]._for_companies(cls.company).sudo()
        cls.cron = cls.env.ref("customer_tiering.ir_cron_reclassify")

    @classmethod
    def post_invoice(cls, partner, amount, date, currency=None, move_type="out_invoice", company=None):
        """A posted invoice (or credit note) of ``amount`` untaxed, taxed at tax_sale_a."""
        company_data = cls.company_data if company is None else company
        move = (
            cls.env["account.move"]
            .with_company(company_data["company"])
            .create(
                {
                    "move_type": move_type,
                    "partner_id": partner.id,
                    "invoice_date": date,
                    "currency_id": (currency or company_data["currency"]).id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Goods",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.set(company_data["default_tax_sale"].ids)],
                            }
                        )
                    ],
                }
            )
        )
        move.action_post()
        return move

    @classmethod
    def credit_note(cls, invoice, amount):
        """A posted partial credit note of ``amount`` untaxed, reversing ``invoice``."""
        refund = cls.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": invoice.partner_id.id,
                "invoice_date": invoice.invoice_date,
                "reversed_entry_id": invoice.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Return",
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.set(cls.company_data["default_tax_sale"].ids)],
                        }
                    )
                ],
            }
        )
        refund.action_post()
        return refund

    @classmethod
    def quotation(cls, partner):
        """A quotation of 500 for ``partner``, on which points can be spent."""
        return cls.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "order_line": [
                    Command.create({"product_id": cls.product_a.id, "product_uom_qty": 1, "price_unit": 500.0})
                ],
            }
        )

    @classmethod
    def fixed_cost_reward(cls, program, points=100.0):
        """A reward of ``program`` that always costs ``points``: 1 off per 100
        points, once. The default reward spends every point it can (a
        per-point discount), which tests of the ledger's own flows need not
        follow."""
        reward = program.reward_ids.filtered(lambda r: r.discount_mode == "per_order" and r.required_points == points)
        return reward[:1] or cls.env["loyalty.reward"].create(
            {
                "program_id": program.id,
                "reward_type": "discount",
                "discount_mode": "per_order",
                "discount": points / 100,
                "discount_applicability": "order",
                "required_points": points,
            }
        )

    @classmethod
    def classified_customers(cls, sales):
        """Companies that bought ``sales`` ({name: [(amount, date)]}), after
        one run of the nightly job: {name: partner}."""
        partners = {name: cls.env["res.partner"].create({"name": name, "is_company": True}) for name in sales}
        for name, invoices in sales.items():
            for amount, day in invoices:
                cls.post_invoice(partners[name], amount, day)
        cls.cron.method_direct_trigger()
        return partners

    def run_cron(self):
        self.cron.method_direct_trigger()

    def run_full(self):
        """The weekly full run, which moves customers against everyone else's new sales."""
        self.env["customer.tiering.job"].with_user(self.cron.user_id)._reclassify(self.company, full=True)

    def history(self, partner):
        return self.env["customer.tier.history"].search(
            [("partner_id", "=", partner.id), ("company_id", "=", self.company.id)], order="id"
        )


def partner_reloptions(env):
    """res_partner's storage parameters, {name: value}."""
    options = env.execute_query(SQL("SELECT reloptions FROM pg_class WHERE relname = 'res_partner'"))[0][0] or []
    return dict(option.split("=", 1) for option in options)
