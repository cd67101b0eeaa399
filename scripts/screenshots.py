"""make screenshots: real screenshots of the demo for the app page.

Drives headless Chromium over the DevTools protocol: logs in as the demo
manager, opens the dashboard, a key account's form and the customers at risk,
and saves each as a PNG, first in English (screenshot_<name>.png), then with
the manager working in Simplified Chinese (screenshot_<name>_zh.png); the
manager's language is put back afterwards. Screens are opened from their menus,
so that a renamed action still gets its screenshot. Run by
scripts/screenshots.sh against a running demo:
python scripts/screenshots.py URL DATABASE OUTPUT_DIR CHROMIUM
"""

import base64
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

import websocket

LOGIN = PASSWORD = "manager"
DEVTOOLS_PORT = 9333
WINDOW = (1440, 900)
SETTLE_SECONDS = 6
#: (language, suffix of the file names)
LANGUAGES = [("en_US", ""), ("zh_CN", "_zh")]
#: (file name, menu whose action is shown)
MENU_SCREENS = [
    ("dashboard", "customer_tiering.customer_tiering_menu_dashboard"),
    ("at_risk", "customer_tiering.customer_tiering_menu_at_risk"),
]


class Browser:
    """The least of the DevTools protocol: navigate, evaluate, capture."""

    def __init__(self, chromium, profile):
        self.process = subprocess.Popen(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--remote-debugging-port={DEVTOOLS_PORT}",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.socket = websocket.create_connection(self._page_socket_url(), timeout=60)
        self.next_id = 0

    def _page_socket_url(self):
        for _attempt in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{DEVTOOLS_PORT}/json/list") as response:
                    pages = [target for target in json.load(response) if target["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("Chromium did not open its DevTools port")

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url):
        self.call("Page.navigate", url=url)
        time.sleep(SETTLE_SECONDS)

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, awaitPromise=True)

    def capture(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"saved {path}")

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait()


class Demo:
    """The demo database over XML-RPC, as the manager."""

    def __init__(self, url, database):
        self.database = database
        self.uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(database, LOGIN, PASSWORD, {})
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")

    def call(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.database, self.uid, PASSWORD, model, method, list(args), kwargs)

    def key_account(self):
        """The tier-A customer with the highest revenue."""
        [partner] = self.call(
            "res.partner",
            "search_read",
            [("tier_id.code", "=", "A"), ("is_company", "=", True)],
            fields=["id"],
            order="revenue_total desc",
            limit=1,
        )
        return partner["id"]

    def language(self):
        [user] = self.call("res.users", "read", [self.uid], fields=["lang"])
        return user["lang"]

    def set_language(self, lang):
        self.call("res.users", "write", [self.uid], {"lang": lang})


def open_menu(browser, url, xmlid):
    """Opens the menu ``xmlid`` as the menu bar does, through the web
    client's own menu service."""
    browser.open(f"{url}/odoo")
    # The first page of a fresh server builds its assets: wait for the web client (at most a minute).
    browser.evaluate(
        f"""(async () => {{
            for (let i = 0; i < 600 && !window.odoo?.__WOWL_DEBUG__?.root; i++) {{
                await new Promise((resolve) => setTimeout(resolve, 100));
            }}
            const menus = odoo.__WOWL_DEBUG__.root.env.services.menu;
            await menus.selectMenu(menus.getAll().find((menu) => menu.xmlid === {json.dumps(xmlid)}));
        }})()"""
    )
    time.sleep(SETTLE_SECONDS)


def capture_screens(browser, url, demo, output, suffix):
    """The app page's screens in the manager's current language."""
    screens = dict(MENU_SCREENS)
    open_menu(browser, url, screens["dashboard"])
    browser.capture(output / f"screenshot_dashboard{suffix}.png")
    browser.open(f"{url}/odoo/contacts/{demo.key_account()}")
    browser.evaluate("document.querySelector('.o_notebook a[name=customer_tiering]')?.click()")
    time.sleep(2)
    browser.capture(output / f"screenshot_partner_form{suffix}.png")
    open_menu(browser, url, screens["at_risk"])
    browser.capture(output / f"screenshot_at_risk{suffix}.png")


def main(url, database, output, chromium):
    output = Path(output)
    demo = Demo(url, database)
    language = demo.language()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        browser = Browser(chromium, profile)
        try:
            browser.open(f"{url}/web/login?db={database}")
            browser.evaluate(
                f"""document.querySelector('input[name=login]').value = {json.dumps(LOGIN)};
                    document.querySelector('input[name=password]').value = {json.dumps(PASSWORD)};
                    document.querySelector('form').submit();"""
            )
            time.sleep(SETTLE_SECONDS)
            for lang, suffix in LANGUAGES:
                demo.set_language(lang)
                capture_screens(browser, url, demo, output, suffix)
        finally:
            demo.set_language(language)
            browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
