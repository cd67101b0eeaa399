"""Every menu of the app, opened in the real web client as each role.

The tour ``customer_tiering_every_menu`` (static/src/js/tours/every_menu_tour.js)
reads the menus the web client loaded for the user, so it follows the app's
menus as they are, not a list kept here. It fails on any error dialog, danger
notification, JS error or failed RPC, and logs each screen's visible text;
for the user working in Chinese this test then fails on English words left
on any screen.
"""

import json
import logging
import re
from collections import defaultdict
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged

from .common import TieringInvoiceCommon

ROOT_MENU = "customer_tiering.customer_tiering_menu_root"
SCREEN_LOG = "every_menu screen "
DONE_LOG = "every_menu done "
#: The walk opens a few dozen screens; the browser's default minute is too short.
TOUR_TIMEOUT = 900
#: Roles as Odoo and the demo give them: a salesperson has Sales and
#: Contact Creation; the demo's salespeople are tiering users as well.
GROUPS = {
    "manager": "base.group_partner_manager,sales_team.group_sale_manager,"
    "customer_tiering.group_customer_tiering_manager",
    "tiering user": "base.group_partner_manager,sales_team.group_sale_salesman,"
    "customer_tiering.group_customer_tiering_user",
    "salesperson": "base.group_partner_manager,sales_team.group_sale_salesman",
}
#: Words, numbers and codes in Latin script; those with a digit are codes
#: (card codes, document numbers), not words.
LATIN_TOKEN = re.compile(r"[A-Za-z0-9'’]*[A-Za-z][A-Za-z0-9'’]*")
#: Text that is not the app's to translate: e-mail addresses, URLs, document
#: numbers (a journal's code and sequence, e.g. INV/2026/00013), and the
#: breadcrumbs' tooltip, which Odoo 18 builds in English (web/breadcrumbs.xml).
NOT_INTERFACE = re.compile(r"\S+@\S+|https?://\S+|\b[A-Z]+/\d{4}/\d+\b|^Back to \".*\"( form)?$")
#: Latin-letter words a user working in Chinese rightly sees. Keep it short:
#: anything else on a screen is a missing translation.
ALLOWED_WORDS = {
    # Tier codes, and the abbreviations Chinese sales teams use as they are.
    "A",
    "B",
    "C",
    "ABC",
    "RFM",
    "CLV",
    # Satisfaction scores, named as the survey method names them.
    "NPS",
    "CSAT",
    # The statistical models' names (BG/NBD, MBG/NBD).
    "BG",
    "MBG",
    "NBD",
    # File formats.
    "xlsx",
    # Currency codes (the test company's is USD).
    "USD",
    "CNY",
    # Names, and words Odoo's own Chinese keeps in Latin letters
    # (税号ID for Tax ID; "VIP" in the tags' placeholder).
    "Odoo",
    "ID",
    "VIP",
}


@tagged("post_install", "-at_install")
class TestEveryMenu(TieringInvoiceCommon, HttpCase):
    """A tiering manager, a salesperson with and one without tiering rights,
    and a salesperson working in Chinese open every menu, view, first record
    and form page of the app."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        # Every installed module's: the app's screens show Odoo's own labels too.
        cls.env["ir.module.module"].search([("state", "=", "installed")])._update_translations(["zh_CN"])
        # Data names in Chinese, so that any English on a screen is the app's.
        cls.company.name = "上海示例贸易有限公司"
        # A Chinese company: the points ledger writes its descriptions in the company's language.
        cls.company.partner_id.lang = "zh_CN"
        cls.env["product.pricelist"].search([("company_id", "in", [cls.company.id, False])]).name = "标准价格表"
        cls.manager = cls.user_for("ct_menu_manager", "周敏", "manager", "en_US")
        cls.tiering_user = cls.user_for("ct_menu_tiering_user", "李伟", "tiering user", "en_US")
        cls.salesperson = cls.user_for("ct_menu_salesperson", "赵丽", "salesperson", "en_US")
        cls.chinese_salesperson = cls.user_for("ct_menu_zh_salesperson", "王芳", "tiering user", "zh_CN")
        cls.customer_base()

    @classmethod
    def user_for(cls, login, name, role, lang):
        return new_test_user(
            cls.env,
            login=login,
            password=f"{login}_pw",
            name=name,
            groups=GROUPS[role],
            lang=lang,
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    @classmethod
    def customer_base(cls):
        """Customers in every tier and several stages, shared by the two
        salespeople, after one night of every job: tiers, histories,
        points, follow-ups."""
        today = fields.Date.context_today(cls.env.user)
        months = [today - timedelta(days=30 * n) for n in range(24)]
        customers = cls.classified_customers(
            {
                "华东精密机械有限公司": [(9000.0, day) for day in months[:12]],
                "深圳电子贸易有限公司": [(4000.0, day) for day in months[:12:2]],
                "杭州食品有限公司": [(2500.0, months[1]), (2500.0, months[4])],
                "成都纺织有限公司": [(800.0, months[2])],
                "苏州包装有限公司": [(1200.0, day) for day in months[14:20]],
                "广州物流有限公司": [(600.0, months[23])],
            }
        )
        sellers = (cls.tiering_user, cls.salesperson, cls.chinese_salesperson)
        for index, customer in enumerate(customers.values()):
            customer.user_id = sellers[index % len(sellers)]
        policies = cls.env["customer.service.policy"].search([("company_id", "=", cls.company.id)])
        cls.env["customer.followup.job"].with_company(cls.company)._run_policies(policies, today)

    def walk(self, user):
        """Runs the tour as ``user``; returns {screen: texts} in the order
        the screens were opened and the ids of the menus it went through."""
        screens, done = {}, []
        browser_log = self._logger.getChild("browser")
        console = _ConsoleLines(screens, done, browser_log.getEffectiveLevel())
        previous_level = browser_log.level
        browser_log.setLevel(logging.INFO)
        browser_log.addFilter(console)
        try:
            self.start_tour("/odoo", "customer_tiering_every_menu", login=user.login, timeout=TOUR_TIMEOUT)
        finally:
            browser_log.removeFilter(console)
            browser_log.setLevel(previous_level)
        self.assertEqual(len(done), 1, "the walk did not report its end")
        self.assertEqual(set(done[0]), set(self.menus_with_actions(user).ids), "menus the walk went through")
        return screens

    def menus_with_actions(self, user):
        """The app's menus that open something, as ``user`` sees them: a
        menu shows only if its parents do."""
        root = self.env.ref(ROOT_MENU)
        visible = self.env["ir.ui.menu"].with_user(user).search([("id", "child_of", root.id)])
        return visible.filtered(lambda menu: menu.action and set(_ancestor_ids(menu, root)) <= set(visible.ids))

    def test_every_menu_as_tiering_manager(self):
        screens = self.walk(self.manager)
        self.assertIn(
            self.env.ref("customer_tiering.customer_tiering_menu_models"),
            self.menus_with_actions(self.manager),
            "managers see the model fits",
        )
        self.assertTrue(any("[form]" in screen or "> first record" in screen for screen in screens))

    def test_every_menu_as_tiering_user(self):
        screens = self.walk(self.tiering_user)
        self.assertTrue(any("> first record" in screen for screen in screens))

    def test_every_menu_as_salesperson(self):
        self.walk(self.salesperson)

    def test_every_menu_in_chinese(self):
        screens = self.walk(self.chinese_salesperson)
        english = english_left(screens)
        if english:
            self.fail("English left in the Chinese UI (screen, then its texts):\n" + report(english))


class _ConsoleLines(logging.Filter):
    """Takes the walk's lines out of the test browser's console log, which
    is read at INFO level for them; other lines keep the configured level."""

    def __init__(self, screens, done, level):
        super().__init__()
        self.screens, self.done, self.level = screens, done, level

    def filter(self, record):
        message = record.getMessage()
        if message.startswith(SCREEN_LOG):
            screen = json.loads(message[len(SCREEN_LOG) :].split("\n", 1)[0])
            self.screens.setdefault(screen["screen"], []).extend(screen["texts"])
            return False
        if message.startswith(DONE_LOG):
            self.done.append(json.loads(message[len(DONE_LOG) :].split("\n", 1)[0])["visited"])
            return False
        return record.levelno >= self.level


def _ancestor_ids(menu, root):
    """Ids of the menus from ``root`` down to ``menu``'s parent."""
    path = [int(menu_id) for menu_id in menu.parent_path.split("/") if menu_id]
    return path[path.index(root.id) : -1]


def english_left(screens):
    """{screen: [text]} of the texts with a Latin-letter word not allowed,
    each text under the first screen it appears on."""
    found, seen = defaultdict(list), set()
    for screen, texts in screens.items():
        for text in texts:
            tokens = LATIN_TOKEN.findall(NOT_INTERFACE.sub(" ", text))
            words = {token for token in tokens if not any(char.isdigit() for char in token)}
            if text not in seen and words - ALLOWED_WORDS:
                seen.add(text)
                found[screen].append(text)
    return dict(found)


def report(english):
    return "\n".join(f"{screen}\n" + "\n".join(f"    {text!r}" for text in texts) for screen, texts in english.items())
