from pathlib import Path

from odoo.tests import BaseCase, tagged

from odoo.addons.customer_tiering.tests.test_packaging import WheelChecks


@tagged("post_install", "-at_install")
class TestWheel(WheelChecks, BaseCase):
    """The glue add-on builds as its own OCA wheel, requiring customer_tiering's."""

    addon = Path(__file__).resolve().parents[1]
