"""make screenshots: real screenshots of the demo for the app page.

Drives headless Chromium over the DevTools protocol: logs in as the demo
manager, opens the dashboard, a key account's form and the customers at risk,
and saves each as a PNG. Run by scripts/screenshots.sh against a running demo:
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


def key_account(url, database):
    """The tier-A customer with the highest revenue, found over XML-RPC."""
    uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(database, LOGIN, PASSWORD, {})
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
    [partner] = models.execute_kw(
        database,
        uid,
        PASSWORD,
        "res.partner",
        "search_read",
        [[("tier_id.code", "=", "A"), ("is_company", "=", True)]],
        {"fields": ["id"], "order": "revenue_total desc", "limit": 1},
    )
    return partner["id"]


def main(url, database, output, chromium):
    output = Path(output)
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
            browser.open(f"{url}/odoo/action-customer_tiering.customer_tiering_dashboard_action")
            browser.capture(output / "screenshot_dashboard.png")
            browser.open(f"{url}/odoo/contacts/{key_account(url, database)}")
            browser.evaluate("document.querySelector('.o_notebook a[name=customer_tiering]').click()")
            time.sleep(2)
            browser.capture(output / "screenshot_partner_form.png")
            browser.open(f"{url}/odoo/action-customer_tiering.res_partner_action_at_risk")
            browser.capture(output / "screenshot_at_risk.png")
        finally:
            browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
