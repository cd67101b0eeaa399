"""make demo: a realistic customer base for the demo database.

A few hundred companies with contacts and two years of posted invoices and
credit notes, spread the way real sales are (few large buyers, many small
ones, some who stopped buying), then one reclassification so that every screen
shows tiers. Run by scripts/demo.sh: python scripts/demo_data.py CONFIG DATABASE
"""

import random
import sys
from datetime import date, timedelta

import odoo
from odoo import SUPERUSER_ID, Command, api

CUSTOMERS = 300
SEED = 20241101
CITIES = ["Shanghai", "Shenzhen", "Hangzhou", "Chengdu", "Suzhou", "Guangzhou", "Beijing", "Wuhan"]
TRADES = ["Trading", "Electronics", "Foods", "Textiles", "Logistics", "Machinery", "Retail", "Packaging"]


def salespeople(env):
    users = env["res.users"].with_context(no_reset_password=True)
    team = [("li.wei", "Li Wei"), ("emma.stone", "Emma Stone")]
    found = users.search([("login", "in", [login for login, _name in team])])
    missing = [(login, name) for login, name in team if login not in found.mapped("login")]
    return found | users.create(
        [
            {
                "login": login,
                "name": name,
                "password": login,
                "groups_id": [
                    Command.link(env.ref("sales_team.group_sale_salesman").id),
                    Command.link(env.ref("customer_tiering.group_customer_tiering_user").id),
                ],
            }
            for login, name in missing
        ]
    )


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


def invoice_plan(rng, partners, today):
    """(partner, date, amount, is_refund) tuples: a Pareto-like size per
    customer, a buying rhythm, and a share of customers who stopped buying."""
    plan = []
    start = today - timedelta(days=730)
    for partner in partners:
        size = rng.paretovariate(1.3) * 800
        interval = rng.choice([30, 45, 60, 90, 120, 180])
        stopped = start + timedelta(days=rng.randint(120, 730)) if rng.random() < 0.25 else today
        day = start + timedelta(days=rng.randint(0, 400))
        while day <= stopped:
            amount = round(size * rng.uniform(0.5, 1.5), 2)
            plan.append((partner, day, amount, False))
            if rng.random() < 0.04:
                plan.append((partner, min(day + timedelta(days=7), today), round(amount * 0.3, 2), True))
            day += timedelta(days=max(1, int(rng.expovariate(1 / interval))))
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
        sellers = salespeople(env)
        partners = customers(env, rng, sellers)
        posted = post(env, invoice_plan(rng, partners, date.today()))
        lock_strategic(env, partners)
        env["customer.tiering.job"]._reclassify(env.company)
        award_points(env)
        env["customer.followup.job"]._cron_followup()
        print(f"demo data: {len(partners)} customers, {posted} posted invoices and credit notes")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
