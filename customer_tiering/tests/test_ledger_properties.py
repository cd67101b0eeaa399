"""The points ledger against a model of its rules, under random sequences of
real Odoo flows (hypothesis stateful testing), plus the regressions they found.

``TestLedgerProperties.test_state_machine`` drives the real add-on in the test
database: invoices and credit notes (Odoo's reversal wizard) posted,
cancelled, reset and re-posted, tier changes, the clock and the expiry,
rewards spent on sale orders and their cancellation, adjustments, the
catch-up, customer merges, an uninstall and reinstall, a program change,
*Earn Points When* switched between its three modes, payments registered,
partial and reversed, sale orders confirmed, invoiced, cancelled and
confirmed again. Next
to it, ``ledger_model.LedgerModel`` applies the ledger rules, and after every
step the database is checked against the invariants below and against the
model. Each example runs in a savepoint rolled back after it.

``make test`` runs it with a fixed seed; ``make fuzz`` (``scripts/fuzz.sh``)
runs more and longer examples with random seeds: ``LEDGER_FUZZ_EXAMPLES``,
``LEDGER_FUZZ_STEPS`` and ``LEDGER_FUZZ_RANDOM=1``.
"""

import logging
import os
from collections import Counter, defaultdict
from datetime import date, timedelta

from freezegun import freeze_time
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.customer_tiering import _uninstall_hook

from .common import TieringInvoiceCommon
from .ledger_model import MOVE, ORDER, LedgerModel, NegativeBalance, exact

_logger = logging.getLogger(__name__)
EXAMPLES = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", "25"))
STEPS = int(os.environ.get("LEDGER_FUZZ_STEPS", "40"))
RANDOM = os.environ.get("LEDGER_FUZZ_RANDOM") == "1"
# Shrinking a failure of the real flows takes minutes: make fuzz does it, make test reports the failure as found.
SHRINK = os.environ.get("LEDGER_FUZZ_SHRINK", "1" if RANDOM else "0") == "1"
EPSILON = 1e-6
REWARD_POINTS = 100
# The machine's first day, fixed: with derandomized examples the steps it takes
# (and so whether every rule runs) depend on the dates, which must not move with
# the day the suite runs. make fuzz's random runs start from the real tomorrow.
MACHINE_START = date(2026, 1, 1)
RATE = 3.0  # units of the foreign currency per unit of company currency: amounts that do not divide evenly
PAID_STATES = ("in_payment", "paid")


class LedgerFlows:
    """The real Odoo flows the machine and the regression tests go through."""

    def make_invoice(self, partner, amount, day, currency=None, move_type="out_invoice", post=True):
        move = self.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": partner.id,
                "invoice_date": day,
                "currency_id": (currency or self.company_data["currency"]).id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Goods",
                            "quantity": 1,
                            "price_unit": amount,
                            "tax_ids": [Command.set(self.company_data["default_tax_sale"].ids)],
                        }
                    )
                ],
            }
        )
        if post:
            move.action_post()
        return move

    def reverse(self, invoices, day=None, prices=None, modify=False, post=True):
        """Credit notes of ``invoices`` through Odoo's reversal wizard: in
        full, or partial (``prices``: each credit note's untaxed price, set on
        the draft before posting). ``modify`` is the wizard's *Reverse and
        Create Invoice*: the credit notes are posted at once, and new draft
        invoices made. Returns (credit notes, new draft invoices)."""
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create({"date": day or date.today(), "journal_id": invoices[0].journal_id.id})
        )
        reversals = self.env["account.move"].search([("reversed_entry_id", "in", invoices.ids)])
        wizard.reverse_moves(is_modify=modify)
        # With modify, the wizard's new moves are the new invoices only.
        refunds = self.env["account.move"].search([("reversed_entry_id", "in", invoices.ids)]) - reversals
        drafts = wizard.new_move_ids - refunds
        if not modify:
            for refund, price in zip(refunds, prices or [], strict=False):
                if price is not None:
                    refund.invoice_line_ids.price_unit = price
            if post:
                refunds.action_post()
        return refunds, drafts

    def tier_card(self, partner, program=None):
        program = program or self.config.loyalty_program_id
        return (
            self.env["loyalty.card"]
            .search([("partner_id", "=", partner.commercial_partner_id.id), ("program_id", "=", program.id)])
            .filtered("is_tier_card")
        )

    def redeem(self, partner, program=None):
        """Spend the card's points on the program's reward in a confirmed sale order."""
        program = program or self.config.loyalty_program_id
        order = self.quotation(partner)
        order._update_programs_and_rewards()
        card = self.tier_card(partner, program)
        reward = self.fixed_cost_reward(program, REWARD_POINTS)
        result = order._apply_program_reward(reward, card)
        if result.get("error"):
            raise AssertionError(f"reward refused: {result['error']}")
        order.action_confirm()
        return order


@tagged("post_install", "-at_install")
class TestLedgerProperties(TieringInvoiceCommon, LedgerFlows):
    """The ledger against its model, under random sequences of real flows."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.foreign = cls.setup_other_currency("EUR", rates=[("2000-01-01", RATE)])
        cls.companies = {}
        cls.contacts = {}
        for name, tier in (("Alpha Ltd", cls.tier_a), ("Beta Ltd", cls.tier_b), ("Gamma Ltd", False)):
            company = cls.env["res.partner"].create({"name": name, "is_company": True})
            company.tier_id = tier
            contact = cls.env["res.partner"].create({"name": f"Buyer at {name}", "parent_id": company.id})
            cls.companies[company.id] = tier.code if tier else None
            cls.contacts[contact.id] = company.id

    def test_state_machine(self):
        LedgerMachine.case = self
        LedgerMachine.rules_run = Counter()
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=not RANDOM,
                database=None,
                print_blob=True,
                phases=[phase for phase in Phase if SHRINK or phase != Phase.shrink],
                suppress_health_check=list(HealthCheck),
            ),
        )
        expected = set(LedgerMachine.rule_names())
        missed = expected - set(LedgerMachine.rules_run)
        _logger.info(
            "ledger machine: %s steps, %s", sum(LedgerMachine.rules_run.values()), dict(LedgerMachine.rules_run)
        )
        self.assertFalse(missed, f"rules never run: more steps are needed ({dict(LedgerMachine.rules_run)})")


class LedgerMachine(RuleBasedStateMachine):
    """Real flows on the test database next to ``LedgerModel``."""

    case = None  # the running TestLedgerProperties
    rules_run = Counter()

    @classmethod
    def rule_names(cls):
        """The steps the machine can take: its rules, the housekeeping ones apart."""
        names = {name for name, value in vars(cls).items() if hasattr(value, "hypothesis_stateful_rule")}
        grouped = {"housekeeping": {"catch_up", "reinstall", "change_program"}}
        grouped["sale_order"] = {"redeem_reward", "cancel_order"}
        grouped["order_flow"] = {"confirm_order", "invoice_orders", "cancel_sale", "confirm_again"}
        grouped["payment"] = {"pay", "pay_partly", "reverse_payment"}
        return set().union(*(grouped.get(name, {name}) for name in names))

    def __init__(self):
        super().__init__()
        case = self.case
        self.env = case.env
        self.savepoint = self.env.cr.savepoint(flush=False)
        self.today = date.today() + timedelta(days=1) if RANDOM else MACHINE_START
        self.freezer = freeze_time(self.today)
        self.clock = self.freezer.start()
        self.config = case.config
        self.entities = dict(case.companies)  # {entity id: tier code}
        self.contacts = dict(case.contacts)  # {contact id: entity id}
        self.moves = {}  # {move id: state} of the documents made
        self.orders = {}  # {order id: (entity, program id)} of confirmed orders spending points
        self.sales = {}  # {order id: state} of every sale order made (spending points or not)
        self.payments = []  # the payments registered, to reverse one
        self.paid = {}  # {invoice id: paid}, as the model was last told
        self.adjust_keys = []  # the keys of the adjustments made, to retry one
        self.expired_at = None
        self.expiry_days = set()
        self.model = None

    def teardown(self):
        self.freezer.stop()
        self.env.clear()
        self.env.cr.precommit.clear()
        self.env.cr.postcommit.clear()
        self.savepoint.close(rollback=True)
        self.env.registry.clear_cache()
        self.env.invalidate_all(flush=False)

    def _ran(self, name):
        self.rules_run[name] += 1

    # ------------------------------------------------------------ helpers
    def partner(self, partner_id):
        return self.env["res.partner"].browse(partner_id)

    def entity_of(self, partner_id):
        return self.contacts.get(partner_id, partner_id)

    def tier_code(self, entity):
        return self.entities[entity]

    def billed(self, move):
        """{order id: (amount, company amount)} of the document's lines billing sale orders."""
        billed = {}
        for line in move.invoice_line_ids.filtered(lambda line: line.display_type == "product"):
            if line.sale_line_ids:
                order_id = min(line.sale_line_ids.order_id.ids)
                amount, company = billed.get(order_id, (0, 0))
                billed[order_id] = (amount + exact(line.price_subtotal), company + exact(abs(line.balance)))
        return billed

    def record_document(self, move):
        origin = move.reversed_entry_id.id or None
        self.model.add_document(
            move.id,
            move.move_type == "out_refund",
            move.commercial_partner_id.id,
            move.invoice_date,
            exact(move.amount_untaxed),
            exact(abs(move.amount_untaxed_signed)),
            origin,
            self.billed(move),
        )
        self.moves[move.id] = move.state

    def model_post(self, move):
        doc = self.model.documents[move.id]
        doc.date = move.invoice_date  # Odoo dates a draft without a date on posting
        doc.amount = exact(move.amount_untaxed)
        doc.amount_company = exact(abs(move.amount_untaxed_signed))
        doc.billed = self.billed(move)
        self.model.post(move.id, self.tier_code(doc.entity))
        self.moves[move.id] = move.state

    def refresh_moves(self):
        """The documents' states, after a flow that may move them (an order's cancellation cancels its drafts)."""
        for move in self.env["account.move"].browse(sorted(self.moves)):
            self.moves[move.id] = move.state

    def sync_payments(self):
        """What the commit runs first (the ledger's check of the invoices
        whose payment state moved), and the model told of those moves."""
        self.env.cr.flush()
        moved = []
        for move in self.env["account.move"].browse(sorted(self.moves)):
            if move.move_type == "out_invoice":
                paid = move.payment_state in PAID_STATES
                if self.paid.get(move.id, False) != paid:
                    self.paid[move.id] = paid
                    moved.append((paid, move.id))
        # The check takes back first, then counts.
        for paid, move_id in sorted(moved):
            self.model.payment_changed(move_id, paid, self.tier_code(self.model.documents[move_id].entity))

    def moves_in(self, *states, move_type=None):
        moves = self.env["account.move"].browse(sorted(self.moves))
        return [m.id for m in moves if self.moves[m.id] in states and (move_type is None or m.move_type == move_type)]

    # ------------------------------------------------------------ rules
    @initialize(
        start_days_ago=st.integers(0, 400),
        expiry_months=st.sampled_from([24, 24, 12, 0]),
        mode=st.sampled_from(["posted", "posted", "paid", "confirmed"]),
    )
    def setup_ledger(self, start_days_ago, expiry_months, mode):
        start = self.today - timedelta(days=start_days_ago)
        self.config.write({"points_start_date": start, "points_expiry_months": expiry_months, "points_earn_on": mode})
        self.model = LedgerModel(start, expiry_months, self.config.points_per_currency, self.config.points_rounding)
        self.model.mode = mode
        self.model.tiers = self.entities

    @rule(
        data=st.data(),
        amount=st.integers(1, 5000),
        foreign=st.booleans(),
        days_ago=st.integers(0, 500),
    )
    def post_invoice(self, data, amount, foreign, days_ago):
        self._ran("post_invoice")
        partner_id = data.draw(st.sampled_from(sorted([*self.entities, *self.contacts])), label="partner")
        day = self.today - timedelta(days=days_ago)
        move = self.case.make_invoice(
            self.partner(partner_id), amount, day, currency=self.case.foreign if foreign else None, post=False
        )
        self.record_document(move)
        move.action_post()
        self.model_post(move)

    @precondition(lambda self: self.moves_in("posted", move_type="out_invoice"))
    @rule(
        data=st.data(),
        how=st.sampled_from(["full", "partial", "modify", "draft"]),
        several=st.booleans(),
        fractions=st.lists(st.integers(1, 150), min_size=2, max_size=2),
        back_days=st.integers(0, 60),
    )
    def credit_notes(self, data, how, several, fractions, back_days):
        """Credit notes through the reversal wizard: in full, partial (price
        edited on the draft), *Reverse and Create Invoice*, or left in draft."""
        self._ran("credit_notes")
        posted = self.moves_in("posted", move_type="out_invoice")
        count = 2 if several and len(posted) > 1 else 1
        picked = data.draw(
            st.lists(st.sampled_from(posted), min_size=count, max_size=count, unique=True), label="invoices"
        )
        invoices = self.env["account.move"].browse(sorted(picked))
        latest = max(invoices.mapped("invoice_date"))
        day = max(latest, self.today - timedelta(days=back_days))
        prices = None
        if how == "partial":
            prices = [
                round(invoice.invoice_line_ids[0].price_unit * fraction / 100.0, 2)
                for invoice, fraction in zip(invoices, fractions, strict=False)
            ]
        refunds, drafts = self.case.reverse(
            invoices, day=day, prices=prices, modify=how == "modify", post=how != "draft"
        )
        for refund in refunds.sorted("id"):
            self.record_document(refund)
            self.moves[refund.id] = "draft"
        for refund in refunds.sorted("id"):
            if refund.state == "posted":
                self.model_post(refund)
        for draft in drafts:
            self.record_document(draft)

    @rule(data=st.data(), amount=st.integers(1, 3000), foreign=st.booleans(), days_ago=st.integers(0, 500))
    def credit_note_without_origin(self, data, amount, foreign, days_ago):
        self._ran("credit_note_without_origin")
        partner_id = data.draw(st.sampled_from(sorted([*self.entities, *self.contacts])), label="partner")
        move = self.case.make_invoice(
            self.partner(partner_id),
            amount,
            self.today - timedelta(days=days_ago),
            currency=self.case.foreign if foreign else None,
            move_type="out_refund",
            post=False,
        )
        self.record_document(move)
        move.action_post()
        self.model_post(move)

    @precondition(lambda self: self.moves_in("posted", "draft"))
    @rule(data=st.data())
    def cancel(self, data):
        self._ran("cancel")
        move = self.env["account.move"].browse(
            data.draw(st.sampled_from(self.moves_in("posted", "draft")), label="move")
        )
        was_posted = move.state == "posted"
        move.button_cancel()
        self.moves[move.id] = move.state
        if was_posted:
            self.model.unpost(move.id)

    @precondition(lambda self: self.moves_in("posted", "cancel"))
    @rule(data=st.data())
    def reset_to_draft(self, data):
        self._ran("reset_to_draft")
        move = self.env["account.move"].browse(
            data.draw(st.sampled_from(self.moves_in("posted", "cancel")), label="move")
        )
        was_posted = move.state == "posted"
        move.button_draft()
        self.moves[move.id] = move.state
        if was_posted:
            self.model.unpost(move.id)

    @precondition(lambda self: self.moves_in("draft"))
    @rule(data=st.data(), reprice=st.one_of(st.none(), st.integers(1, 5000)))
    def post_draft(self, data, reprice):
        """(Re-)post a draft, maybe after changing its price."""
        self._ran("post_draft")
        move = self.env["account.move"].browse(data.draw(st.sampled_from(self.moves_in("draft")), label="move"))
        if reprice is not None:
            move.invoice_line_ids[0].price_unit = reprice
        move.action_post()
        self.model_post(move)

    @rule(data=st.data(), tier=st.sampled_from(["A", "B", "C", None]))
    def set_tier(self, data, tier):
        self._ran("set_tier")
        entity = data.draw(st.sampled_from(sorted(self.entities)), label="entity")
        tiers = {t.code: t for t in self.case.tiers}
        self.partner(entity).tier_id = tiers[tier] if tier else False
        self.entities[entity] = tier

    @rule(days=st.one_of(st.just(0), st.integers(1, 60), st.integers(300, 800)), cron=st.booleans())
    def advance_clock_and_expire(self, days, cron):
        self._ran("advance_clock_and_expire")
        self.today += timedelta(days=days)
        self.clock.move_to(self.today)
        if cron:
            self.env.ref("customer_tiering.ir_cron_loyalty").method_direct_trigger()
            self.model.catch_up(self.entities)
        else:
            self.env["customer.loyalty.ledger"]._expire(self.config, self.today)
        self.model.expire(self.today)
        # One expiry a day (its key is the day's): run again the same day, after
        # an order's cancellation gave back points spent from lots since expired,
        # it expires nothing more, in the model as in the add-on. Invariant 5
        # holds after a day's first expiry.
        if self.today not in self.expiry_days:
            self.expiry_days.add(self.today)
            self.expired_at = self.today

    def rich_entities(self):
        return sorted(e for e in self.entities if self.model.balance(e) >= REWARD_POINTS)

    def cancellable_orders(self):
        return sorted(self.orders)

    @precondition(lambda self: self.rich_entities() or self.cancellable_orders())
    @rule(data=st.data(), cancel=st.booleans(), contact=st.booleans())
    def sale_order(self, data, cancel, contact):
        """Spend points on a reward in a confirmed order, or cancel such an
        order: one rule, so that orders to cancel exist when it runs."""
        if (cancel or not self.rich_entities()) and self.cancellable_orders():
            self.cancel_order(data)
        else:
            self.redeem_reward(data, contact)

    def redeem_reward(self, data, contact):
        self._ran("redeem_reward")
        entity = data.draw(st.sampled_from(self.rich_entities()), label="entity")
        contacts = [c for c, e in self.contacts.items() if e == entity]
        partner_id = contacts[0] if contact and contacts else entity
        order = self.case.redeem(self.partner(partner_id), self.config.loyalty_program_id)
        self.orders[order.id] = (entity, self.config.loyalty_program_id.id)
        self.sales[order.id] = order.state
        self.model.add_order(order.id, entity, self.today, exact(order.amount_untaxed))
        self.model.spend(entity, order.id, REWARD_POINTS)
        self.model.confirm_order(order.id)

    def cancel_order(self, data):
        self._ran("cancel_order")
        order_id = data.draw(st.sampled_from(self.cancellable_orders()), label="order")
        self.cancel_sale_order(order_id)

    def cancel_sale_order(self, order_id):
        order = self.env["sale.order"].browse(order_id)
        order._action_cancel()
        self.orders.pop(order_id, None)
        self.sales[order_id] = order.state
        self.refresh_moves()
        self.model.cancel_order(order_id)

    # ------------------------------------------------------------ earning modes, orders, payments
    @rule(mode=st.sampled_from(["posted", "paid", "confirmed"]), catch_up=st.booleans())
    def set_mode(self, mode, catch_up):
        """Switch *Earn Points When*, and maybe run the catch-up the next
        night runs; what was counted stays counted."""
        self._ran("set_mode")
        self.config.points_earn_on = mode
        self.model.mode = mode
        if catch_up:
            self.env["customer.loyalty.ledger"]._catch_up(self.config)
            self.model.catch_up(self.entities)

    def sales_in(self, *states):
        return sorted(order_id for order_id, state in self.sales.items() if state in states)

    def invoiceable(self):
        orders = self.env["sale.order"].browse(self.sales_in("sale"))
        return sorted(orders.filtered(lambda order: order.invoice_status == "to invoice").ids)

    @rule(
        data=st.data(),
        action=st.sampled_from(["confirm", "confirm", "invoice", "invoice", "cancel", "confirm_again"]),
        amount=st.integers(1, 3000),
        several=st.booleans(),
    )
    def order_flow(self, data, action, amount, several):
        """A sale order confirmed, invoiced (with another of the same
        customer: one invoice of both), cancelled or confirmed again."""
        if action == "invoice" and self.invoiceable():
            self.invoice_orders(data, several)
        elif action == "cancel" and self.sales_in("sale"):
            self._ran("cancel_sale")
            self.cancel_sale_order(data.draw(st.sampled_from(self.sales_in("sale")), label="order"))
        elif action == "confirm_again" and self.sales_in("cancel"):
            self._ran("confirm_again")
            order = self.env["sale.order"].browse(data.draw(st.sampled_from(self.sales_in("cancel")), label="order"))
            order.action_draft()
            order.action_confirm()
            self.sales[order.id] = order.state
            self.model.orders[order.id].amount = exact(order.amount_untaxed)
            self.model.confirm_order(order.id)
        else:
            self._ran("confirm_order")
            partner_id = data.draw(st.sampled_from(sorted([*self.entities, *self.contacts])), label="partner")
            order = self.env["sale.order"].create(
                {
                    "partner_id": partner_id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.case.product_a.id,
                                "product_uom_qty": 1,
                                "price_unit": amount,
                                "tax_id": [],
                            }
                        )
                    ],
                }
            )
            order.action_confirm()
            self.sales[order.id] = order.state
            self.model.add_order(order.id, self.entity_of(partner_id), self.today, exact(order.amount_untaxed))
            self.model.confirm_order(order.id)

    def invoice_orders(self, data, several):
        self._ran("invoice_orders")
        first = self.env["sale.order"].browse(data.draw(st.sampled_from(self.invoiceable()), label="order"))
        entity = first.partner_id.commercial_partner_id
        others = [
            o for o in self.invoiceable() if o != first.id and self.entity_of(self.sales_order_partner(o)) == entity.id
        ]
        orders = first
        if several and others:
            orders |= self.env["sale.order"].browse(data.draw(st.sampled_from(others), label="with"))
        invoices = orders._create_invoices()
        for invoice in invoices.sorted("id"):
            invoice.invoice_date = self.today
            self.record_document(invoice)
            invoice.action_post()
            self.model_post(invoice)

    def sales_order_partner(self, order_id):
        return self.env["sale.order"].browse(order_id).partner_id.id

    def payable(self):
        invoices = self.env["account.move"].browse(self.moves_in("posted", move_type="out_invoice"))
        return sorted(invoices.filtered(lambda m: m.payment_state in ("not_paid", "partial") and m.amount_residual).ids)

    def reversible_payments(self):
        return [
            payment.id for payment in self.env["account.payment"].browse(self.payments) if payment.state != "canceled"
        ]

    @precondition(lambda self: self.payable() or self.reversible_payments())
    @rule(data=st.data(), action=st.sampled_from(["pay", "pay", "partly", "reverse"]))
    def payment(self, data, action):
        """A payment registered, in full or in part, or a payment reversed
        (reset to draft and cancelled: its reconciliation undone). The
        invariant's commit tells the model what it moved."""
        if action == "reverse" and self.reversible_payments() or not self.payable():
            self._ran("reverse_payment")
            payment = self.env["account.payment"].browse(
                data.draw(st.sampled_from(self.reversible_payments()), label="payment")
            )
            payment.action_draft()
            payment.action_cancel()
            return
        self._ran("pay_partly" if action == "partly" else "pay")
        invoice = self.env["account.move"].browse(data.draw(st.sampled_from(self.payable()), label="invoice"))
        values = {"payment_date": self.today}
        if action == "partly":
            values["amount"] = invoice.currency_id.round(invoice.amount_residual / 2) or invoice.amount_residual
        wizard = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(values)
        )
        self.payments += wizard._create_payments().ids

    @rule(data=st.data(), points=st.integers(-3000, 3000).filter(bool), again=st.booleans())
    def adjust(self, data, points, again):
        self._ran("adjust")
        entity = data.draw(st.sampled_from(sorted(self.entities)), label="entity")
        keys = self.adjust_keys
        if again and keys:
            key = data.draw(st.sampled_from(keys), label="key")
        else:
            key = f"adjust:fuzz:{len(self.adjust_keys)}"
            self.adjust_keys.append(key)
        ledger = self.env["customer.loyalty.ledger"]
        try:
            self.model.adjust(entity, points, key, self.today)
        except NegativeBalance:
            with self.case.assertRaises(UserError), self.env.cr.savepoint():
                ledger._adjust(self.partner(entity), points, "Fuzz", key=key)
        else:
            ledger._adjust(self.partner(entity), points, "Fuzz", key=key)

    @rule(what=st.sampled_from(["catch_up", "reinstall", "change_program"]))
    def housekeeping(self, what):
        """The catch-up, a reinstall or a program change: one rule, so that
        these argument-less steps do not crowd out the documents' flows."""
        if what == "reinstall":
            self.reinstall()
        elif what == "change_program":
            self.change_program()
        else:
            self.catch_up()

    def catch_up(self):
        """The nightly catch-up counts nothing twice."""
        self._ran("catch_up")
        ledger = self.env["customer.loyalty.ledger"]
        ledger._catch_up(self.config)
        ledger._catch_up(self.config)
        self.model.catch_up(self.entities)

    @precondition(lambda self: len(self.entities) > 1)
    @rule(data=st.data())
    def merge(self, data):
        self._ran("merge")
        src, dst = data.draw(st.lists(st.sampled_from(sorted(self.entities)), min_size=2, max_size=2, unique=True))
        self.env["base.partner.merge.automatic.wizard"]._merge(
            [src, dst], dst_partner=self.partner(dst), extra_checks=False
        )
        self.model.merge(src, dst)
        del self.entities[src]
        self.contacts = {c: (dst if e == src else e) for c, e in self.contacts.items()}
        # Odoo's merge keeps the destination's tier, or takes the source's: read it.
        self.entities[dst] = self.partner(dst).tier_id.code or None
        self.orders = {o: (dst if e == src else e, program) for o, (e, program) in self.orders.items()}

    def reinstall(self):
        """Uninstall and reinstall, as the database looks afterwards: the
        ledger columns and the settings are gone, the programs kept."""
        self._ran("reinstall")
        company = self.config.company_id
        _uninstall_hook(self.env)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_history SET points_kind = NULL, points_key = NULL, points_date = NULL, "
            "points_lot_id = NULL"
        )
        self.env.cr.execute("UPDATE loyalty_card SET is_tier_card = NULL")
        self.env.invalidate_all()
        self.env["customer.tiering.config"].sudo().search([]).unlink()
        self.config = self.env["customer.tiering.config"]._for_companies(company).sudo()
        # The reinstalled settings are the defaults: points from the install day, on posting.
        self.model.start = self.config.points_start_date
        self.model.expiry_months = self.config.points_expiry_months
        self.model.mode = self.config.points_earn_on

    def change_program(self):
        """A new program of the company, without rules: the balances follow."""
        self._ran("change_program")
        program = self.env["loyalty.program"]._create_tier_programs(self.config.company_id)
        self.config.loyalty_program_id = program

    # ------------------------------------------------------------ invariants
    @invariant()
    def ledger_holds(self):
        if self.model is None:
            return
        self.sync_payments()
        checker = LedgerCheck(self.env, self.config, list(self.entities), self.model)
        checker.check(self.expired_at)
        self.expired_at = None


class LedgerCheck:
    """Invariants 1-5 on the database, and the database against the model."""

    def __init__(self, env, config, entities, model):
        self.env = env
        self.config = config
        self.entities = entities
        self.model = model
        env.flush_all()
        programs = (
            env["loyalty.program"].with_context(active_test=False).search([("company_id", "=", config.company_id.id)])
        )
        self.cards = {
            card_id: (partner_id, program_id, points, is_tier)
            for card_id, partner_id, program_id, points, is_tier in env.execute_query(
                SQL(
                    "SELECT id, partner_id, program_id, points, COALESCE(is_tier_card, FALSE) FROM loyalty_card"
                    " WHERE program_id = ANY(%s)",
                    programs.ids,
                )
            )
        }
        self.rows = env.execute_query(
            SQL(
                """
                SELECT id, card_id, issued, used, points_kind, points_key, points_date, points_lot_id,
                       order_model, order_id, create_date::date, description
                  FROM loyalty_history WHERE card_id = ANY(%s) ORDER BY id
                """,
                list(self.cards),
            )
        )
        self.by_card = defaultdict(list)
        for row in self.rows:
            self.by_card[row[1]].append(row)

    def fail(self, message, entity=None):
        details = ""
        if entity is not None:
            card = self.model.cards.get(entity)
            entries = card.entries if card else []
            details = "\n model entries:\n  " + "\n  ".join(map(repr, entries))
            details += "\n database rows:\n  " + "\n  ".join(
                repr(row)
                for card_id, (partner_id, *_rest) in self.cards.items()
                if partner_id == entity
                for row in self.by_card[card_id]
            )
        raise AssertionError(message + details)

    def check(self, expired_at):
        program = self.config.loyalty_program_id.id
        tier_cards = {}
        for card_id, (partner_id, program_id, points, is_tier) in self.cards.items():
            total = sum(row[2] - row[3] for row in self.by_card[card_id])
            if abs(points - total) > EPSILON:  # 1. balance
                self.fail(f"card {card_id}: balance {points} but its history sums to {total}", partner_id)
            if is_tier and points < -EPSILON:  # 4. never below zero
                self.fail(f"tier card {card_id}: negative balance {points}", partner_id)
            if is_tier and program_id == program:
                if partner_id in tier_cards:
                    self.fail(f"two tier cards for partner {partner_id}", partner_id)
                tier_cards[partner_id] = card_id
        for entity in {*self.model.cards, *tier_cards}:
            points = self.cards[tier_cards[entity]][2] if entity in tier_cards else 0.0
            expected = float(self.model.balance(entity))
            if abs(points - expected) > EPSILON:
                self.fail(f"partner {entity}: balance {points}, the model says {expected}", entity)
        self.check_documents()
        self.check_shortfalls()
        if expired_at and self.model.expiry_months:
            self.check_expiry(expired_at, tier_cards)

    def check_documents(self):
        by_document = defaultdict(list)
        by_lot = defaultdict(list)
        rows = {row[0]: row for row in self.rows}
        for row in self.rows:
            # sale_loyalty's own rows of an order (no key) are spendings, not the ledger's
            if row[8] in (MOVE, ORDER) and (row[8] == MOVE or row[5]):
                by_document[row[8], row[9]].append(row)
            if row[7]:
                by_lot[row[7]].append(row)
        documents = [(MOVE, move_id, doc) for move_id, doc in self.model.documents.items()]
        documents += [(ORDER, order_id, order) for order_id, order in self.model.orders.items()]
        for model, doc_id, doc in documents:
            entity = doc.entity
            net = sum(row[2] - row[3] for row in by_document[model, doc_id])
            expected = float(self.model.document_net(doc_id, model))
            if abs(net - expected) > EPSILON:
                self.fail(f"{model} {doc_id}: net points {net}, the model says {expected}", entity)
            if model == ORDER or not doc.refund:  # 2. document bound
                lots = [row for row in by_document[model, doc_id] if row[4] == "earn"]
                earned = sum(row[2] for row in lots)
                attached = sum(row[3] - row[2] for lot in lots for row in by_lot[lot[0]])
                own_voids = sum(
                    row[3] - row[2] for row in by_document[model, doc_id] if row[4] == "void" and not row[7]
                )
                if earned - attached - own_voids < -EPSILON:
                    self.fail(f"{model} {doc_id}: reversals took {attached + own_voids} of {earned}", entity)
                for lot in lots:
                    taken = sum(row[3] - row[2] for row in by_lot[lot[0]])
                    if taken > lot[2] + EPSILON:
                        self.fail(f"earning {lot[0]} of {model} {doc_id}: {taken} reversed of {lot[2]}", entity)
            elif doc.origin is not None:  # 3. never counted
                origin_earned = any(row[4] == "earn" and row[2] > 0 for row in by_document[MOVE, doc.origin])
                # what it takes of its invoice: its parts take from orders' earnings
                took = [
                    row
                    for row in by_document[MOVE, doc_id]
                    if row[3] > EPSILON and not (row[7] and rows[row[7]][8] == ORDER)
                ]
                if not origin_earned and took:
                    self.fail(f"credit note {doc_id} took points of invoice {doc.origin}, which never earned", entity)

    def check_shortfalls(self):
        """What a reversal could not take back is written on its entry."""
        for entry in self.model.entries.values():
            if entry.shortfall <= 0 or entry.key is None:
                continue
            rows = [
                row
                for row in self.rows
                if row[8] == entry.model and row[9] == entry.doc and (row[5] or "").endswith(entry.key)
            ]
            amount = str(float(entry.shortfall))
            # A credit note without origin that took nothing writes no entry: nowhere to say it.
            if rows and not any(amount in (row[11] or "") for row in rows):
                self.fail(f"entry {entry.key}: {amount} points not taken back, not said in {rows}", None)

    def check_expiry(self, today, tier_cards):
        """5. Right after an expiry, no balance holds more than its valid points."""
        cutoff = self.model.cutoff(today)
        rows = {row[0]: row for row in self.rows}
        for entity, card_id in tier_cards.items():
            valid = 0.0
            for row in self.by_card[card_id]:
                is_lot = row[2] > 0 and not row[7] and row[4] in ("earn", "adjust", "void")
                if is_lot and (row[6] or row[10]) > cutoff:
                    reversed_ = sum(r[3] - r[2] for r in rows.values() if r[7] == row[0])
                    valid += row[2] - reversed_
            points = self.cards[card_id][2]
            if points - valid > EPSILON:
                self.fail(f"partner {entity}: {points} points after the expiry at {today}, {valid} valid", entity)


@tagged("post_install", "-at_install")
class TestLedgerRegressions(TieringInvoiceCommon, LedgerFlows):
    """The scenarios of the issue, and every failure the state machine found,
    as plain tests with a minimal reproduction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({"name": "Regression Account", "is_company": True})

    def balance(self):
        return self.tier_card(self.customer).points

    def test_credit_note_of_an_invoice_from_before_the_start_takes_nothing(self):
        """Installed today: a 10,000 invoice of 30 days ago earned nothing, so
        crediting it in full takes nothing from today's 2,000 points."""
        today = date.today()
        self.config.points_start_date = today
        self.customer.tier_id = self.tier_a
        old = self.make_invoice(self.customer, 10000.0, today - timedelta(days=30))
        self.make_invoice(self.customer, 1000.0, today)
        self.assertEqual(self.balance(), 2000.0)
        self.reverse(old)
        self.assertEqual(self.balance(), 2000.0)

    def test_credit_notes_never_take_more_than_their_invoice_earned(self):
        """Tier C: a 1,000 invoice earns 1,000; two credit notes of 600 each
        take back 600, then the 400 left, not 1,200."""
        self.config.points_start_date = date(2020, 1, 1)
        self.customer.tier_id = self.tier_c
        invoice = self.make_invoice(self.customer, 1000.0, date.today())
        self.assertEqual(self.balance(), 1000.0)
        self.reverse(invoice, prices=[600.0])
        self.assertEqual(self.balance(), 400.0)
        self.reverse(invoice, prices=[600.0])
        self.assertEqual(self.balance(), 0.0)

    def test_order_cancelled_after_a_program_change_gives_the_points_back_to_the_tier_card(self):
        """Found by the state machine. The balances follow a program change;
        an order that spent points before it and is cancelled after it gave
        them back to the card it was paid with, archived since: the customer
        lost them (model: 396; database: 296 on the tier card, 100 on the
        archived card)."""
        self.config.points_start_date = date(2020, 1, 1)
        self.customer.tier_id = self.tier_c
        self.make_invoice(self.customer, 300.0, date.today())
        order = self.redeem(self.customer)
        self.assertEqual(self.balance(), 200.0)
        self.config.loyalty_program_id = self.env["loyalty.program"]._create_tier_programs(self.company)
        self.assertEqual(self.balance(), 200.0, "the balance follows the program")
        order._action_cancel()
        self.assertEqual(self.balance(), 300.0, "the order's 100 points come back to the customer's tier card")

    def test_adjustment_retried_after_a_program_change_counts_once(self):
        """Found by the state machine. An adjustment's key makes a retry
        count once; the program change moves the entries to the new card
        with their keys prefixed ('card<id>:adjust:...'), so the same
        adjustment retried after it counts a second time (100, not 50)."""
        ledger = self.env["customer.loyalty.ledger"]
        ledger._adjust(self.customer, 50.0, "Welcome", key="adjust:retried")
        self.config.loyalty_program_id = self.env["loyalty.program"]._create_tier_programs(self.company)
        ledger._adjust(self.customer, 50.0, "Welcome", key="adjust:retried")
        self.assertEqual(self.balance(), 50.0)

    def test_credit_note_without_origin_that_took_nothing_is_not_taken_again_by_the_catch_up(self):
        """Found by the state machine. A credit note without origin takes what
        its amount would earn, at most the balance: posted on an empty card it
        takes nothing, and writes no entry. The nightly catch-up then finds it
        uncounted and takes its points from the balance earned since."""
        self.config.points_start_date = date(2020, 1, 1)
        self.customer.tier_id = self.tier_c
        self.make_invoice(self.customer, 100.0, date.today(), move_type="out_refund")
        self.make_invoice(self.customer, 1000.0, date.today())
        self.assertEqual(self.balance(), 1000.0)
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.assertEqual(self.balance(), 1000.0, "the credit note was counted when posted: taking nothing")

    def test_credit_note_posted_while_its_invoice_is_in_draft_counts_with_the_invoice(self):
        """Found comparing the model with the code. A credit note posted
        while its invoice has no open earning cycle takes nothing and waits:
        it is counted with the invoice once that is posted again, not later
        by whichever catch-up runs first."""
        self.config.points_start_date = date(2020, 1, 1)
        self.customer.tier_id = self.tier_c
        invoice = self.make_invoice(self.customer, 1000.0, date.today())
        refunds, _drafts = self.reverse(invoice, post=False)
        invoice.button_draft()
        refunds.action_post()
        self.assertEqual(self.balance(), 0.0)
        invoice.action_post()
        self.assertEqual(self.balance(), 0.0, "the invoice and its full credit note")
        self.env["customer.loyalty.ledger"]._catch_up(self.config)
        self.assertEqual(self.balance(), 0.0)

    def test_invoice_reposted_after_its_points_expired_does_not_bring_them_back(self):
        """Found by the state machine (shortened). An invoice whose points
        expired, cancelled, reset to draft and posted again earns again less
        what its first posting still holds: the expired points stay expired."""
        foreign = self.setup_other_currency("EUR", rates=[("2000-01-01", RATE)])
        today = date.today()
        self.config.points_start_date = today - timedelta(days=233)
        self.customer.tier_id = self.tier_a
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": self.customer.id})
        invoice = self.make_invoice(contact, 835.0, today - timedelta(days=133), currency=foreign)
        self.assertEqual(self.balance(), 556.0)
        later = today + timedelta(days=800)
        with freeze_time(later):
            self.env["customer.loyalty.ledger"]._expire(self.config, later)
            self.assertEqual(self.balance(), 0.0)
            self.env["customer.loyalty.ledger"]._adjust(self.customer, 201.0, "Gift", key="adjust:gift")
            invoice.button_cancel()
            self.assertEqual(self.balance(), 201.0, "nothing left of its points to take back")
            invoice.button_draft()
            invoice.action_post()
        self.assertEqual(self.balance(), 201.0, "posted again, it earns nothing its first posting had")

    def test_an_invoice_posted_after_a_spending_was_not_spent(self):
        """Found by the state machine (shortened). 100 points spent before an
        older-dated invoice was posted could not come out of that invoice:
        its full credit note takes back all its 525."""
        ledger = self.env["customer.loyalty.ledger"]
        today = date.today()
        self.config.points_start_date = today - timedelta(days=365)
        self.customer.tier_id = self.tier_c
        ledger._adjust(self.customer, 2246.0, "Welcome", key="adjust:welcome")
        ledger._adjust(self.customer, -100.0, "Gift", key="adjust:gift")
        invoice = self.make_invoice(self.customer, 525.0, today - timedelta(days=60))
        self.assertEqual(self.balance(), 2671.0)
        self.reverse(invoice)
        self.assertEqual(self.balance(), 2146.0, "the 100 were spent from the welcome points")

    def test_quotation_offers_the_card_created_after_an_order_in_the_same_transaction(self):
        """Found by the state machine. An order confirmed before the customer
        had a card read the customer's card (none) into the cache; the card
        created and credited later in the same transaction was then not
        offered on a quotation: its reward line was dropped at confirmation
        and nothing was spent (database: 2314; model: 2214)."""
        self.config.points_start_date = date(2020, 1, 1)
        self.customer.tier_id = self.tier_c
        self.quotation(self.customer).action_confirm()
        self.make_invoice(self.customer, 2314.0, date.today())
        order = self.redeem(self.customer)
        self.assertTrue(order.order_line.filtered("coupon_id"), "the reward line stays")
        self.assertEqual(self.balance(), 2214.0)
