from odoo.http import request, route

from odoo.addons.portal.controllers.portal import CustomerPortal


class CustomerPortalMembership(CustomerPortal):
    """My Membership: the customer's tier, progress and points, as far as
    the tiering settings of the company show them."""

    def _membership(self):
        return request.env["customer.membership"]._membership_of(request.env.user, request.env.company)

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "membership_count" in counters:
            values["membership_count"] = 1 if self._membership() else 0
        return values

    @route(["/my/membership"], type="http", auth="user", website=True, readonly=True)
    def portal_my_membership(self, **kw):
        membership = self._membership()
        if not membership:
            return request.redirect("/my")
        values = self._prepare_portal_layout_values()
        values.update({"page_name": "membership", "membership": membership})
        return request.render("customer_tiering.portal_my_membership", values)
