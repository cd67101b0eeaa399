from odoo import api, fields, models
from odoo.osv import expression


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # The customer's standing, for the salesperson writing the quotation: read
    # from its commercial entity in the order's company, not stored (the
    # nightly job moves tiers and points without touching the orders).
    partner_tier_id = fields.Many2one(
        "customer.tier",
        string="Customer Tier",
        compute="_compute_partner_tiering",
        help="The customer's tier in the order's company.",
    )
    # The tier badge widget paints the badge in the record's ``tier_color``.
    tier_color = fields.Integer(compute="_compute_partner_tiering")
    partner_loyalty_points = fields.Float(
        string="Points Balance",
        digits=(16, 2),
        compute="_compute_partner_tiering",
        help="The points on the customer's card in the order's company's points program.",
    )
    tier_reward_claimable = fields.Boolean(
        string="Reward Claimable",
        compute="_compute_tier_reward_claimable",
        help="The customer's points card holds enough points for a reward on this quotation.",
    )

    def init(self):
        # The incremental tiering run looks up the orders written since the last run.
        self.env.cr.execute("CREATE INDEX IF NOT EXISTS sale_order_write_date_idx ON sale_order (write_date)")
        return super().init()

    @api.depends("partner_id", "company_id")
    def _compute_partner_tiering(self):
        for order in self:
            entity = order.partner_id.commercial_partner_id.with_company(order.company_id)
            order.partner_tier_id = entity.tier_id
            order.tier_color = entity.tier_id.color
            order.partner_loyalty_points = entity.loyalty_points

    @api.depends("partner_id", "company_id", "state", "order_line.price_total", "order_line.reward_id")
    def _compute_tier_reward_claimable(self):
        """Whether sale_loyalty would offer a reward of the customer's tier
        card on this quotation (its own test, which skips rewards already
        applied and discounts on an empty order)."""
        for order in self:
            card = order._tier_card()
            order.tier_reward_claimable = bool(
                card and order.state in ("draft", "sent") and order._get_claimable_rewards(forced_coupons=card)
            )

    def _tier_card(self):
        """The customer's tier points card in the order's company's program, if it has points:
        the partner's own ``tier_card_id``, read as superuser, since salespeople need not read
        the settings to use their customers' points."""
        self.ensure_one()
        entity = self.partner_id.commercial_partner_id.with_company(self.company_id).sudo()
        card = entity.tier_card_id.sudo()
        return card if card.points > 0 else self.env["loyalty.card"].sudo()

    def _compute_loyalty_data(self):
        """sale_loyalty's, counting only the order's own entries: the points
        ledger keeps invoice ids in the same ``order_id`` column, with
        ``order_model`` 'account.move', and an order must not show the points
        of the invoice that happens to share its id."""
        self.loyalty_data = {}
        confirmed_so = self.filtered(lambda order: order.state == "sale" and bool(order.id))
        if not confirmed_so:
            return
        loyalty_history_data = (
            self.env["loyalty.history"]
            .sudo()
            ._read_group(
                domain=[("order_model", "=", self._name), ("order_id", "in", confirmed_so.ids)],
                groupby=["order_id"],
                aggregates=["issued:sum", "used:sum"],
            )
        )
        loyalty_history_data_per_order = {
            order_id: {"total_issued": issued, "total_cost": cost} for order_id, issued, cost in loyalty_history_data
        }
        for order in confirmed_so:
            if order.id not in loyalty_history_data_per_order:
                continue
            coupons = order.coupon_point_ids.coupon_id
            coupon_point_name = (len(coupons) == 1 and coupons.point_name) or self.env._("Points")
            order.loyalty_data = {
                "point_name": coupon_point_name,
                "issued": loyalty_history_data_per_order[order.id]["total_issued"],
                "cost": loyalty_history_data_per_order[order.id]["total_cost"],
            }

    def action_confirm(self):
        """Odoo's, then the orders earn their points where the company earns
        on order confirmation (``customer.loyalty.ledger._read_sale``)."""
        res = super().action_confirm()
        self.env["customer.loyalty.ledger"].sudo()._award_source("sale", self)
        return res

    def _action_cancel(self):
        """Odoo's, then a counted order's points are taken back, in every
        mode: its invoices earn nothing more. sale_loyalty deletes the
        order's entries; the ledger's own stay (``tiering_keep_points_entries``)."""
        confirmed = self.filtered(lambda order: order.state == "sale")
        res = super(SaleOrder, self.with_context(tiering_keep_points_entries=True))._action_cancel()
        self.env["customer.loyalty.ledger"].sudo()._void_source("sale", confirmed)
        return res

    def _update_loyalty_history(self, coupon_id, points):
        """sale_loyalty's, on its own entry of the order: the ledger's keyed
        entry of the same order and card (its earning, in *Order confirmed*)
        is never changed."""
        self.ensure_one()
        history = self.env["loyalty.history"].search(
            [
                ("card_id", "=", coupon_id.id),
                ("order_model", "=", self._name),
                ("order_id", "=", self.id),
                ("points_key", "=", False),
            ],
            limit=1,
        )
        history.update({"used": history.used + points})

    def _customer_tier(self):
        """The tier of the order's commercial entity in the order's company."""
        self.ensure_one()
        return self.partner_id.commercial_partner_id.with_company(self.company_id).sudo().tier_id

    def _tier_domain(self, field):
        """Programs (through ``field``) without tiers or with the customer's."""
        return ["|", (field, "=", False), (field, "in", self._customer_tier().ids)]

    def _get_program_domain(self):
        """sale_loyalty's, where a program limited to tiers only applies to
        customers of those tiers, like its limit to pricelists (unless the
        context's ``tiering_any_tier`` asks for the programs open otherwise)."""
        domain = super()._get_program_domain()
        if self.env.context.get("tiering_any_tier"):
            return domain
        return expression.AND([domain, self._tier_domain("tier_ids")])

    def _get_trigger_domain(self):
        return expression.AND([super()._get_trigger_domain(), self._tier_domain("program_id.tier_ids")])

    def _try_apply_code(self, code):
        """sale_loyalty's, saying why a code of a program limited to tiers the
        customer is not in is refused (it would only call the code invalid)."""
        self.ensure_one()
        program = self._tier_refused_program(code)
        if program:
            return {
                "error": self.env._(
                    "This code is only for customers of the tiers %(tiers)s (%(code)s).",
                    tiers=", ".join(program.sudo().tier_ids.mapped("name")),
                    code=code,
                )
            }
        return super()._try_apply_code(code)

    def _tier_refused_program(self, code):
        """The program of ``code`` (a promo code or a coupon) that is limited
        to tiers the customer is not in, and otherwise open to the order."""
        rule = self.env["loyalty.rule"].search([("mode", "=", "with_code"), ("code", "=", code)])
        programs = rule.program_id or self.env["loyalty.card"].search([("code", "=", code)]).program_id
        tier = self._customer_tier()
        refused = programs.filtered(lambda program: program.tier_ids and tier not in program.tier_ids)
        open_domain = self.with_context(tiering_any_tier=True)._get_program_domain()
        return refused.filtered_domain(open_domain)[:1]

    def _update_programs_and_rewards(self):
        """Offer the customer's tier points, earned on invoices, like an eWallet:
        the card is applied to the order so its rewards can be claimed."""
        self._apply_tier_card()
        return super()._update_programs_and_rewards()

    def _apply_tier_card(self):
        self.ensure_one()
        entity = self.partner_id.commercial_partner_id
        # Another customer's card (the order's customer changed) no longer applies.
        self.applied_coupon_ids -= self.applied_coupon_ids.filtered(
            lambda card: card.is_tier_card and card.partner_id != entity
        )
        card = self._tier_card()
        if card and card not in self.applied_coupon_ids:
            self.applied_coupon_ids += card
