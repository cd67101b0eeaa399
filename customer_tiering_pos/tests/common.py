from datetime import datetime, time
from itertools import count

from odoo import Command, fields

from odoo.addons.customer_tiering.tests.common import TieringInvoiceCommon

_order_numbers = count(1)


class PosTieringCommon(TieringInvoiceCommon):
    """Real point of sale orders, rung up in an open session and synced as
    the till syncs them (``pos.order.sync_from_ui``), next to the invoices
    of customer_tiering's tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tax = cls.company_data["default_tax_sale"]
        cls.till_product = cls.env["product.product"].create(
            {
                "name": "Till goods",
                "type": "consu",
                "available_in_pos": True,
                "taxes_id": [Command.set(cls.tax.ids)],
            }
        )
        cls.session = cls.open_session(cls.company_data)

    @classmethod
    def open_session(cls, company_data, currency=None, name="Shop"):
        """An open session of a new shop of ``company_data``'s company, in
        ``currency`` (the company's by default): its own sales, invoice and
        cash journals and pricelist in that currency, as Odoo requires."""
        company = company_data["company"]
        env = cls.env(context=dict(cls.env.context, allowed_company_ids=[company.id]))
        Journal = env["account.journal"].with_company(company)
        cash_journal = company_data["default_journal_cash"]
        sales_journal = invoice_journal = company_data["default_journal_sale"]
        pricelist_currency = company.currency_id
        if currency:
            code = currency.name[:2]
            cash_journal = Journal.create(
                {"name": f"{name} cash", "code": f"{code}C", "type": "cash", "currency_id": currency.id}
            )
            sales_journal = Journal.create(
                {"name": f"{name} sales", "code": f"{code}S", "type": "sale", "currency_id": currency.id}
            )
            invoice_journal = Journal.create(
                {"name": f"{name} invoices", "code": f"{code}I", "type": "sale", "currency_id": currency.id}
            )
            pricelist_currency = currency
        pricelist = env["product.pricelist"].create(
            {"name": f"{name} prices", "currency_id": pricelist_currency.id, "company_id": company.id}
        )
        cash = env["pos.payment.method"].create(
            {"name": f"{name} cash", "journal_id": cash_journal.id, "company_id": company.id}
        )
        config = (
            env["pos.config"]
            .with_company(company)
            .create(
                {
                    "name": name,
                    "journal_id": sales_journal.id,
                    "invoice_journal_id": invoice_journal.id,
                    "pricelist_id": pricelist.id,
                    "available_pricelist_ids": [Command.set(pricelist.ids)],
                    "use_pricelist": True,
                    "payment_method_ids": [Command.set(cash.ids)],
                }
            )
        )
        config.open_ui()
        session = config.current_session_id
        session.set_opening_control(0, None)
        return session

    @classmethod
    def ring_up(cls, partner, untaxed, day, session=None, invoice=False, refund_of=None, user=None, hour=12):
        """A paid order of ``partner`` (none: an anonymous one) of
        ``untaxed`` (in the session's currency, taxed at the company's sale
        tax) on ``day`` at ``hour`` UTC, synced as the till syncs it;
        ``invoice``: invoiced at the till; ``refund_of``: the order it
        refunds (``untaxed`` is then what is given back, positive)."""
        session = session or cls.session
        env = cls.env(context=dict(cls.env.context, allowed_company_ids=[session.company_id.id]))
        if user:
            env = env(user=user)
        quantity = -1 if refund_of else 1
        taxes = cls.tax.compute_all(untaxed, session.currency_id, 1, cls.till_product)
        subtotal, total = quantity * taxes["total_excluded"], quantity * taxes["total_included"]
        line = {
            "product_id": cls.till_product.id,
            "qty": quantity,
            "price_unit": untaxed,
            "discount": 0.0,
            "price_subtotal": subtotal,
            "price_subtotal_incl": total,
            "tax_ids": [Command.set(cls.tax.ids)],
        }
        if refund_of:
            line["refunded_orderline_id"] = refund_of.lines[:1].id
        number = next(_order_numbers)
        uuid = f"customer-tiering-pos-{number}"
        moment = datetime.combine(fields.Date.to_date(day), time(hour))
        order = {
            "uuid": uuid,
            "name": f"Order {uuid}",
            "session_id": session.id,
            "sequence_number": number,
            "user_id": env.uid,
            "partner_id": partner.id if partner else False,
            "pricelist_id": session.config_id.pricelist_id.id,
            "fiscal_position_id": False,
            "date_order": fields.Datetime.to_string(moment),
            "lines": [Command.create(line)],
            "payment_ids": [
                Command.create(
                    {
                        "amount": total,
                        "name": fields.Datetime.now(),
                        "payment_method_id": session.config_id.payment_method_ids[:1].id,
                    }
                )
            ],
            "amount_paid": total,
            "amount_return": 0.0,
            "amount_tax": total - subtotal,
            "amount_total": total,
            "last_order_preparation_change": "{}",
            "to_invoice": invoice,
        }
        result = env["pos.order"].sync_from_ui([order])
        return env["pos.order"].browse(result["pos.order"][0]["id"])
