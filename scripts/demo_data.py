"""make demo: a realistic customer base for the demo database.

Real purchase histories: a random sample of the CDNOW customers (Fader,
Hardie and Lee 2005, shipped with the tests, MIT licence) with their dates
shifted so that the data ends today, turned into companies with contacts and
posted invoices. Then the demo users, and one run of every job, so that every
screen shows data. Run by scripts/demo.sh: python scripts/demo_data.py CONFIG DATABASE
"""

import random
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import odoo
from odoo import SUPERUSER_ID, Command, api

CUSTOMERS = 500
SEED = 20241101
CDNOW = Path(__file__).parents[1] / "customer_tiering" / "tests" / "data" / "CDNOW_sample.txt"
CDNOW_END = date(1998, 6, 30)
#: CDNOW sold CDs to consumers; the demo company sells to businesses.
AMOUNT_SCALE = 20
CITIES = ["Shanghai", "Shenzhen", "Hangzhou", "Chengdu", "Suzhou", "Guangzhou", "Beijing", "Wuhan"]
TRADES = ["Trading", "Electronics", "Foods", "Textiles", "Logistics", "Machinery", "Retail", "Packaging"]
#: What Odoo gives a salesperson created in Settings (Sales: User: Own Documents
#: Only, with Contact Creation as every new user gets): they log notes and
#: messages on their customers and see the app's My Follow-ups, My Customers
#: and My Dashboard; the tiering lists and settings are the manager's.
SALESPERSON_GROUPS = ["base.group_partner_manager", "sales_team.group_sale_salesman"]
#: login, name, language, groups
USERS = [
    (
        "manager",
        "Zhou Min",
        "en_US",
        [
            "base.group_partner_manager",
            "sales_team.group_sale_manager",
            "customer_tiering.group_customer_tiering_manager",
        ],
    ),
    ("li.wei", "Li Wei", "en_US", SALESPERSON_GROUPS),
    ("emma.stone", "Emma Stone", "en_US", SALESPERSON_GROUPS),
    ("wang.fang", "王芳", "zh_CN", SALESPERSON_GROUPS),
]


def demo_users(env):
    """A manager and three salespeople, one of whom works in Chinese; the
    password is the login."""
    env["res.lang"]._activate_lang("zh_CN")
    env["ir.module.module"].search([("state", "=", "installed")])._update_translations(["zh_CN"])
    users = env["res.users"].with_context(no_reset_password=True)
    found = users.search([("login", "in", [login for login, *_rest in USERS])])
    missing = [row for row in USERS if row[0] not in found.mapped("login")]
    for login, _name, _lang, groups in USERS:
        # Users of an earlier demo get the groups they lacked.
        found.filtered(lambda user, login=login: user.login == login).write(
            {"groups_id": [Command.link(env.ref(group).id) for group in groups]}
        )
    created = users.create(
        [
            {
                "login": login,
                "name": name,
                "password": login,
                "lang": lang,
                "groups_id": [Command.link(env.ref(group).id) for group in groups],
            }
            for login, name, lang, groups in missing
        ]
    )
    return (found | created).filtered(lambda user: user.login != "manager")


def customers(env, rng, sellers):
    partners = env["res.partner"].create(
        [
            {
                "name": f"{rng.choice(CITIES)} {rng.choice(TRADES)} Co. {index:03d}",
                "is_company": True,
                "city": rng.choice(CITIES),
                "email": f"buyer{index:03d}@example.com",
                "user_id": rng.choice(sellers).id,
            }
            for index in range(1, CUSTOMERS + 1)
        ]
    )
    env["res.partner"].create(
        [
            {"name": f"Purchasing Manager {partner.id}", "parent_id": partner.id, "type": "contact"}
            for partner in partners[::3]
        ]
    )
    return partners


def cdnow_histories(rng):
    """A random sample of CDNOW customers: a list of [(date, amount)] each."""
    histories = defaultdict(list)
    for line in CDNOW.read_text().splitlines():
        customer, _index, day, _quantity, amount = line.split()
        histories[customer].append((datetime.strptime(day, "%Y%m%d").date(), float(amount)))
    sample = rng.sample(sorted(histories), CUSTOMERS)
    return [histories[customer] for customer in sample]


def invoice_plan(histories, partners, today):
    """(partner, date, amount, is_refund) tuples: each partner buys what its
    CDNOW customer bought, shifted to end today; a few returns."""
    shift = today - CDNOW_END
    plan = []
    for partner, history in zip(partners, histories, strict=True):
        for index, (day, amount) in enumerate(history):
            if amount <= 0:
                continue
            plan.append((partner, day + shift, round(amount * AMOUNT_SCALE, 2), False))
            if index % 17 == 16:
                plan.append((partner, min(day + shift + timedelta(days=7), today), round(amount * 6, 2), True))
    return plan


def post(env, plan, batch=250):
    """Create and post in batches: posting thousands of moves at once is slow."""
    product = env["product.product"].create({"name": "Demo goods", "type": "consu", "list_price": 100.0})
    plan.sort(key=lambda row: row[1])
    posted = 0
    for start in range(0, len(plan), batch):
        moves = env["account.move"].create(
            [
                {
                    "move_type": "out_refund" if refund else "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": day,
                    "invoice_line_ids": [
                        Command.create({"product_id": product.id, "quantity": 1, "price_unit": amount})
                    ],
                }
                for partner, day, amount, refund in plan[start : start + batch]
            ]
        )
        moves.action_post()
        posted += len(moves)
        print(f"posted {posted}/{len(plan)} invoices and credit notes", flush=True)
    return posted


def lock_strategic(env, partners):
    """Two strategic accounts the manager keeps in tier A whatever they buy."""
    tier_a = env["customer.tier"].search([("company_id", "=", env.company.id), ("code", "=", "A")])
    partners[-2:].write({"tier_locked": True, "tier_lock_reason": "Strategic account", "tier_id": tier_a.id})


def award_points(env):
    """The admin opts in to points for the whole history, at today's tiers."""
    config = env["customer.tiering.config"]._for_companies(env.company)
    config.points_start_date = date.today() - timedelta(days=3 * 365)
    env["customer.loyalty.ledger"]._cron_loyalty()


def main(config_path, database):
    odoo.tools.config.parse_config(["-c", config_path, "-d", database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(database)
    rng = random.Random(SEED)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        sellers = demo_users(env)
        partners = customers(env, rng, sellers)
        posted = post(env, invoice_plan(cdnow_histories(rng), partners, date.today()))
        lock_strategic(env, partners)
        env["customer.tiering.job"]._reclassify(env.company)
        award_points(env)
        env["customer.followup.job"]._cron_followup()
        env["customer.followup.digest"]._cron_digest()
        print(f"demo data: {len(partners)} CDNOW customers, {posted} posted invoices and credit notes")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
