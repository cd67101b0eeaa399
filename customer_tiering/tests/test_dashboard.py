"""The KPI dashboards: Odoo 18 spreadsheet dashboards shipped as JSON.

Every data source of the spreadsheet (pivots, lists, Odoo charts, the global
filters' field matchings) and every formula reading one is checked against
the models as they are, the figures against the blocks they sit in, the
labels against the translation export, and the figures' numbers against
known invoices and points.
"""

import fnmatch
import importlib.util
import itertools
import json
import re
from datetime import timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools.translate import code_translations, extract_formula_terms, extract_spreadsheet_terms

from ..engine.lifecycle import BUYING_STAGES
from .common import TieringInvoiceCommon

FILES = Path(__file__).parents[1] / "data" / "files"
MIGRATIONS = Path(__file__).parents[1] / "migrations" / "18.0.1.7.0"
ALL = "customer_tiering.spreadsheet_dashboard_all_customers"
MINE = "customer_tiering.spreadsheet_dashboard_my_customers"
PIVOT_FORMULA = re.compile(r"PIVOT\.(VALUE|HEADER)\(([^()]*)\)")
LIST_FORMULA = re.compile(r"ODOO\.LIST\((\d+),(\d+),\"(\w+)\"\)")
CELL = re.compile(r"^([A-Z]+)(\d+)$")
#: The page the dashboard was (4,450 px of board) must not come back.
MAX_HEIGHT = 1400
SALESMAN = "base.group_user,sales_team.group_sale_salesman"
MANAGER = "base.group_user,sales_team.group_sale_manager,customer_tiering.group_customer_tiering_manager"


def col_index(letters):
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def formula_args(text):
    """The arguments of a formula call, strings unquoted, numbers as int."""
    return [arg.strip('"') if arg.startswith('"') else int(arg) for arg in re.findall(r'"[^"]*"|\d+', text)]


class DashboardCase(TieringInvoiceCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dashboard = cls.env.ref(ALL)
        cls.my_dashboard = cls.env.ref(MINE)
        cls.data = json.loads(cls.dashboard.spreadsheet_data)

    def sheet(self, name):
        return next(sheet for sheet in self.data["sheets"] if sheet["name"] == name)

    def data_sources(self):
        """(kind, definition, model, domain, groupbys, measures) of every pivot, list and Odoo chart."""
        for pivot in self.data["pivots"].values():
            groupbys = [dim["fieldName"] for dim in pivot["rows"] + pivot["columns"]]
            measures = [measure["fieldName"] for measure in pivot["measures"]]
            yield "pivot", pivot, pivot["model"], pivot["domain"], groupbys, measures
        for list_ in self.data["lists"].values():
            yield "list", list_, list_["model"], list_["domain"], [], []
        for sheet in self.data["sheets"]:
            for figure in sheet["figures"]:
                chart = figure["data"]
                if chart["type"].startswith("odoo_"):
                    meta = chart["metaData"]
                    groupbys = meta["groupBy"]
                    yield "chart", chart, meta["resModel"], chart["searchParams"]["domain"], groupbys, [meta["measure"]]


@tagged("post_install", "-at_install")
class TestDashboardDefinition(DashboardCase):
    """The spreadsheet as shipped: installed, valid, and true to the models."""

    def test_installed_in_dashboards_and_the_app(self):
        group = self.env.ref("customer_tiering.spreadsheet_dashboard_group_customer_tiering")
        self.assertEqual(group.published_dashboard_ids, self.dashboard | self.my_dashboard)
        self.assertEqual(self.dashboard.group_ids, self.env.ref("customer_tiering.group_customer_tiering_user"))
        self.assertEqual(self.my_dashboard.group_ids, self.env.ref("sales_team.group_sale_salesman"))
        for menu, action, dashboard in (
            ("customer_tiering_menu_dashboard", "customer_tiering_dashboard_action", self.dashboard),
            ("customer_tiering_menu_my_dashboard", "customer_tiering_my_dashboard_action", self.my_dashboard),
        ):
            action = self.env.ref(f"customer_tiering.{action}")
            self.assertEqual(self.env.ref(f"customer_tiering.{menu}").action, action)
            self.assertEqual(
                (action.tag, action.params), ("action_spreadsheet_dashboard", {"dashboard_id": dashboard.id})
            )
        module = self.env["ir.module.module"].search([("name", "=", "customer_tiering")])
        self.assertIn("spreadsheet_dashboard", module.dependencies_id.mapped("name"))
        self.assertNotIn("board", module.dependencies_id.mapped("name"), "the spreadsheet replaces the board")

    def test_my_dashboard_is_the_same_spreadsheet_on_the_current_user(self):
        """One spreadsheet twice: only the salesperson filter's default differs."""
        mine = json.loads(self.my_dashboard.spreadsheet_data)
        salesperson = next(f for f in mine["globalFilters"] if f["label"] == "Salesperson")
        self.assertEqual(salesperson["defaultValue"], "current_user")
        everyone = next(f for f in self.data["globalFilters"] if f["label"] == "Salesperson")
        self.assertEqual(everyone["defaultValue"], [])
        salesperson["defaultValue"] = []
        salesperson["defaultValueDisplayNames"] = []
        self.assertEqual(mine, self.data)

    def test_data_sources_name_existing_fields_and_measures(self):
        for kind, definition, model, domain, groupbys, measures in self.data_sources():
            with self.subTest(kind=kind, name=definition.get("name") or definition.get("title")):
                self.assertIn(model, self.env)
                Model = self.env[model]
                described = Model.fields_get(attributes=["type", "groupable", "aggregator", "selection", "relation"])
                for groupby in groupbys:
                    self.assertTrue(described[groupby.split(":")[0]]["groupable"], groupby)
                for measure in measures:
                    if measure != "__count":
                        self.assertIn(described[measure]["type"], ("integer", "float", "monetary"), measure)
                        self.assertTrue(described[measure]["aggregator"], measure)
                for column in definition.get("columns", []) if kind == "list" else []:
                    self.assertIn(column, described)
                for order in definition.get("orderBy", []):
                    self.assertIn(order["name"], described)
                Model.search_count(domain)  # raises on a wrong field or value
                for leaf in domain:
                    if isinstance(leaf, list) and leaf[0] in described and described[leaf[0]]["type"] == "selection":
                        keys = {key for key, _label in described[leaf[0]]["selection"]}
                        self.assertLessEqual(set(leaf[2] if isinstance(leaf[2], list) else [leaf[2]]) - {False}, keys)

    def test_filters_match_a_field_of_every_source(self):
        """Each filter matches a field of the right kind, or none (the
        period does not apply to today's figures); the spreadsheet's own
        check looks at none of them (Odoo 18 reads ``fieldMatching.chain``)."""
        filters = {f["id"]: f for f in self.data["globalFilters"]}
        self.assertEqual({f["label"] for f in filters.values()}, {"Period", "Company", "Salesperson"})
        period = next(f for f in filters.values() if f["type"] == "date")
        applied = set()
        for kind, definition, model, _domain, _groupbys, _measures in self.data_sources():
            for filter_id, matching in definition["fieldMatching"].items():
                with self.subTest(kind=kind, name=definition.get("name"), filter=filters[filter_id]["label"]):
                    field = self.field_at(model, matching["chain"])
                    if filters[filter_id]["type"] == "date":
                        self.assertIn(field.type, ("date", "datetime"))
                        self.assertEqual(matching["type"], field.type)
                        applied.add(filter_id)
                    else:
                        self.assertEqual(
                            (field.type, field.comodel_name), ("many2one", filters[filter_id]["modelName"])
                        )
                    self.env[model].search_count([(matching["chain"], "!=", False)])
            relations = {f["id"] for f in filters.values() if f["type"] == "relation"}
            self.assertLessEqual(
                relations, set(definition["fieldMatching"]), "company and salesperson apply everywhere"
            )
        self.assertIn(period["id"], applied)

    def field_at(self, model, chain):
        field = None
        for name in chain.split("."):
            field = self.env[model]._fields[name]
            model = field.comodel_name
        return field

    def test_formulas_read_existing_pivots_measures_and_values(self):
        pivots, lists = self.data["pivots"], self.data["lists"]
        checked = 0
        for sheet in self.data["sheets"]:
            for ref, cell in sheet["cells"].items():
                content = cell.get("content", "")
                for function, args in PIVOT_FORMULA.findall(content):
                    args = formula_args(args)
                    pivot = pivots[str(args[0])]
                    described = self.env[pivot["model"]].fields_get(attributes=["selection"])
                    dimensions = {dim["fieldName"] for dim in pivot["rows"] + pivot["columns"]}
                    pairs = args[1:] if function == "HEADER" else args[2:]
                    if function == "VALUE":
                        self.assertIn(args[1], {m["id"] for m in pivot["measures"]}, f"{sheet['name']}!{ref}")
                    for dimension, value in zip(pairs[::2], pairs[1::2], strict=True):
                        field = dimension.lstrip("#")
                        self.assertIn(field, dimensions, f"{sheet['name']}!{ref}")
                        if not dimension.startswith("#") and "selection" in described[field]:
                            self.assertIn(value, dict(described[field]["selection"]), f"{sheet['name']}!{ref}")
                    checked += 1
                for list_id, _row, field in LIST_FORMULA.findall(content):
                    self.assertIn(field, lists[list_id]["columns"], f"{sheet['name']}!{ref}")
                    checked += 1
        self.assertGreater(checked, 100)

    def test_stage_figures_use_the_stages_of_customers_still_buying(self):
        """Active customers and customers at risk are those the risk levels
        watch (engine.lifecycle.BUYING_STAGES), and the funnel lists every
        stage in lifecycle order."""
        data_cells = self.sheet("Data")["cells"]
        active = next(cell["content"] for cell in data_cells.values() if "lifecycle_stage" in cell["content"])
        self.assertEqual(re.findall(r'"lifecycle_stage","(\w+)"', active), list(BUYING_STAGES))
        at_risk = next(p for p in self.data["pivots"].values() if p["name"] == "Customers at risk")
        self.assertIn(["lifecycle_stage", "in", list(BUYING_STAGES)], at_risk["domain"])
        self.assertEqual(at_risk["domain"], self.data["lists"]["1"]["domain"])
        cells = self.sheet("Dashboard")["cells"]
        funnel = []
        for row in range(1, self.sheet("Dashboard")["rowNumber"] + 1):
            match = re.search(
                r'PIVOT\.VALUE\(2,"customer_count","lifecycle_stage","(\w+)"\)',
                cells.get(f"B{row}", {}).get("content", ""),
            )
            if match:
                funnel.append((match[1], re.fullmatch(r'=_t\("(.+)"\)', cells[f"A{row}"]["content"])[1]))
        stages = [
            (stage, f"{label} customers")
            for stage, label in self.env["customer.tiering.analysis"]._fields["lifecycle_stage"].selection
        ]
        self.assertEqual(funnel, stages, "every stage in lifecycle order, labelled as the stage field")

    def test_figures_fit_their_blocks(self):
        """No figure wider than its block or over a table, and a page of one screen and a half."""
        sheet = self.sheet("Dashboard")
        widths = [sheet["cols"].get(str(c), {}).get("size", 96) for c in range(sheet["colNumber"])]
        heights = [sheet["rows"].get(str(r), {}).get("size", 23) for r in range(sheet["rowNumber"])]
        width, height = sum(widths), sum(heights)
        self.assertLessEqual(height, MAX_HEIGHT)
        self.assertLessEqual(width, 1200, "fits a laptop screen beside the dashboards' menu")

        def cell_box(ref):
            letters, row = CELL.match(ref).groups()
            c, r = col_index(letters), int(row) - 1
            return (sum(widths[:c]), sum(heights[:r]), sum(widths[: c + 1]), sum(heights[: r + 1]))

        merged = {}
        for merge in sheet["merges"]:
            start, end = merge.split(":")
            merged[start] = (*cell_box(start)[:2], *cell_box(end)[2:])
        filled = [merged.get(ref) or cell_box(ref) for ref, cell in sheet["cells"].items() if cell.get("content")]
        boxes = []
        for figure in sheet["figures"]:
            box = (figure["x"], figure["y"], figure["x"] + figure["width"], figure["y"] + figure["height"])
            with self.subTest(figure=figure["data"]["title"]["text"]):
                self.assertTrue(box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height)
                for other in boxes + filled:
                    overlap = min(box[2], other[2]) > max(box[0], other[0]) and min(box[3], other[3]) > max(
                        box[1], other[1]
                    )
                    self.assertFalse(overlap, f"{figure['data']['title']['text']} covers {other}")
                if figure["data"]["type"] == "odoo_pie":
                    self.assertNotEqual(figure["data"]["legendPosition"], "none")
            boxes.append(box)

    def test_cards_and_charts_read_cells_that_exist(self):
        data_cells = self.sheet("Data")["cells"]
        dashboard_cells = self.sheet("Dashboard")["cells"]
        cards = [f["data"] for f in self.sheet("Dashboard")["figures"] if f["data"]["type"] == "scorecard"]
        self.assertEqual(len(cards), 8)
        for card in cards:
            for key in ("keyValue", "baseline"):
                if key in card:
                    sheet_name, ref = card[key].split("!")
                    self.assertEqual(sheet_name, "Data")
                    self.assertTrue(data_cells[ref]["content"].startswith("="), card["title"]["text"])
        for chart in (f["data"] for f in self.sheet("Dashboard")["figures"] if "labelRange" in f["data"]):
            for reference in [chart["labelRange"]] + [d["dataRange"] for d in chart["dataSets"]]:
                start, end = reference.split("!")[1].split(":")
                letters = CELL.match(start)[1]
                for row in range(int(CELL.match(start)[2]), int(CELL.match(end)[2]) + 1):
                    self.assertIn(f"{letters}{row}", dashboard_cells)

    def test_every_label_is_exported_for_translation(self):
        """Labels are _t() formulas, chart titles and filter labels, which
        Odoo's export reads from data/**/*_dashboard.json; none is a plain text."""
        for path in FILES.glob("*.json"):
            self.assertTrue(
                fnmatch.fnmatch(str(path.parent), "*/data/*") and fnmatch.fnmatch(path.name, "*_dashboard.json")
            )
        with open(FILES / "customer_tiering_dashboard.json", "rb") as file:
            terms = {term for _line, _func, term, _comments in extract_spreadsheet_terms(file, [], [], {})}
        for sheet in self.data["sheets"]:
            for ref, cell in sheet["cells"].items():
                content = cell.get("content", "")
                self.assertFalse(content and not content.startswith("=") and re.search("[A-Za-z]", content), ref)
                self.assertLessEqual(set(extract_formula_terms(content)), terms)
        titles = {f["data"]["title"]["text"] for s in self.data["sheets"] for f in s["figures"]}
        self.assertNotIn("", titles)
        self.assertLessEqual(titles | {f["label"] for f in self.data["globalFilters"]}, terms)
        self.assertIn("Tier moves in the period", terms)

    def test_every_label_reaches_the_web_client_in_chinese(self):
        """The spreadsheet translates its labels in the browser, with the
        module's JavaScript terms (exported with the odoo-javascript flag)."""
        with open(FILES / "customer_tiering_dashboard.json", "rb") as file:
            terms = {term for _line, _func, term, _comments in extract_spreadsheet_terms(file, [], [], {})}
        messages = code_translations.get_web_translations("customer_tiering", "zh_CN")["messages"]
        translated = {message["id"] for message in messages if message["string"]}
        self.assertEqual(terms - translated, set(), "untranslated dashboard labels in i18n/zh_CN.po")


@tagged("post_install", "-at_install")
class TestDashboardMigration(TransactionCase):
    def test_1_7_frees_the_xml_id_of_the_board_action(self):
        """A 1.6 database has a window action under the dashboard action's
        XML id: the migration removes it, so that the data load creates the
        client action under the same id."""
        xmlid = "customer_tiering.customer_tiering_dashboard_action"
        spec = importlib.util.spec_from_file_location("pre_dashboard", MIGRATIONS / "pre-dashboard.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        client = self.env.ref(xmlid)
        module.migrate(self.env.cr, "18.0.1.7.0")
        self.assertTrue(client.exists(), "the client action of 1.7 stays")
        imd = self.env["ir.model.data"].search(
            [("module", "=", "customer_tiering"), ("name", "=", xmlid.split(".")[1])]
        )
        board = self.env["ir.actions.act_window"].create({"name": "Dashboard", "res_model": "res.partner"})
        imd.write({"model": "ir.actions.act_window", "res_id": board.id})
        self.env.flush_all()
        self.env.registry.clear_cache()
        module.migrate(self.env.cr, "18.0.1.6.0")
        self.assertFalse(board.exists())
        self.assertFalse(self.env.ref(xmlid, raise_if_not_found=False))


@tagged("post_install", "-at_install")
class TestDashboardFigures(DashboardCase):
    """The numbers behind the cards, from known invoices and points."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env.user)
        cls.salesman = new_test_user(cls.env, login="ct_dash_salesman", groups=SALESMAN)
        cls.manager = new_test_user(cls.env, login="ct_dash_manager", groups=MANAGER)
        cls.config.points_start_date = cls.today - relativedelta(years=5)
        months = lambda n: cls.today - relativedelta(months=n)  # noqa: E731
        sales = {
            "Retained Co": [(1000.0, months(18)), (1000.0, months(2))],
            "Lost Co": [(1000.0, months(18))],
            "New Co": [(1000.0, months(2))],
            "Long Gone Co": [(1000.0, months(30))],
        }
        cls.customers = {name: cls.env["res.partner"].create({"name": name, "is_company": True}) for name in sales}
        for partner in cls.customers.values():
            partner.tier_id = cls.tier_c
        cls.customers["Retained Co"].user_id = cls.salesman
        cls.invoices = {
            name: [cls.post_invoice(cls.customers[name], amount, day) for amount, day in invoices]
            for name, invoices in sales.items()
        }

    def kpis(self, user=None):
        self.env.flush_all()
        self.env.invalidate_all()  # a view: its rows change with the tables under it
        Kpi = self.env["customer.tiering.kpi"].with_user(user or self.env.user)
        rows = Kpi.search([("partner_id", "in", [p.id for p in self.customers.values()])])
        return {row.partner_id.name: row for row in rows}

    def test_retention_of_the_last_twelve_months(self):
        kpis = self.kpis()
        self.assertEqual(
            {name: (row.retention_base, row.retained) for name, row in kpis.items()},
            {"Retained Co": (1, 1), "Lost Co": (1, 0), "New Co": (0, 0), "Long Gone Co": (0, 0)},
            "a customer who last bought 30 months ago is in neither year (its row holds its points)",
        )

    def test_points_expiring_within_thirty_days(self):
        """With points valid 24 months, the points of the invoice of 23 months
        and 20 days ago expire within 30 days; those of 2 months ago do not."""
        self.config.points_expiry_months = 24
        customer = self.customers["New Co"]
        old = self.post_invoice(customer, 300.0, self.today - relativedelta(months=23, days=20))
        card = self.env["loyalty.card"].search([("partner_id", "=", customer.id), ("is_tier_card", "=", True)])
        earned = self.env["loyalty.history"].search([("order_model", "=", "account.move"), ("order_id", "=", old.id)])
        self.assertTrue(earned.issued)
        row = self.kpis()["New Co"]
        self.assertEqual((row.points, row.points_expiring), (card.points, earned.issued))
        self.config.points_expiry_months = 0
        self.assertEqual(self.kpis()["New Co"].points_expiring, 0.0, "points that never expire")

    def test_nps_and_csat_per_tier_are_the_customers_answers(self):
        """The tier mix's NPS and CSAT columns, as the spreadsheet computes
        them from its pivot (each measure with its aggregator, the company
        filter applied), are those of the customers' last answers: per tier
        and in total, % promoters - % detractors of those who answered the
        NPS question, and the average CSAT of those who answered it."""
        self.customers["Retained Co"].tier_id = self.tier_b
        answers = {"Retained Co": (9, 4), "Lost Co": (10, 5), "New Co": (3, 2), "Long Gone Co": (8, None)}
        for name, (nps, csat) in answers.items():
            self.customers[name]._record_satisfaction(self.company, nps, csat, self.today)
        quiet = self.env["res.partner"].create({"name": "Quiet Co", "is_company": True})
        quiet.tier_id = self.tier_a  # nobody in tier A answered: no score, not 0
        partners = self.env["res.partner"].with_company(self.company).browse(p.id for p in self.customers.values())
        partners |= quiet

        def scores(group):
            answered = group.filtered("nps_category")
            promoters = len(answered.filtered(lambda p: p.nps_category == "promoter"))
            detractors = len(answered.filtered(lambda p: p.nps_category == "detractor"))
            csat = group.filtered("csat_score").mapped("csat_score")
            if not answered:
                return "", ""
            return 100.0 * (promoters - detractors) / len(answered), sum(csat) / len(csat)

        expected = {tier.name: scores(partners.filtered(lambda p, t=tier: p.tier_id == t)) for tier in partners.tier_id}
        expected["Total"] = scores(partners)
        self.assertEqual(expected[self.tier_c.name][0], 0.0, "a promoter, a passive and a detractor")

        shown = self.tier_mix_satisfaction()
        self.assertEqual(shown.keys(), expected.keys())
        for label, (nps, csat) in expected.items():
            with self.subTest(row=label):
                self.assertAlmostEqual(shown[label][0], nps)
                self.assertAlmostEqual(shown[label][1], csat)
        self.assertEqual(shown[self.tier_a.name], ("", ""))

    def tier_mix_satisfaction(self):
        """{tier name or "Total": (NPS, CSAT)} as the Dashboard's tier mix
        shows them: its cells' formulas evaluated on pivot 1, read as the
        spreadsheet reads it, for the test company."""
        pivot = self.data["pivots"]["1"]
        Analysis = self.env["customer.tiering.analysis"]
        described = Analysis.fields_get(attributes=["aggregator"])
        specs = [
            f"{m['fieldName']}:{m.get('aggregator') or described[m['fieldName']]['aggregator']}"
            for m in pivot["measures"]
        ]
        domain = [*pivot["domain"], ("company_id", "in", self.company.ids)]
        self.env.flush_all()
        self.env.invalidate_all()
        groups = Analysis.read_group(domain, specs, ["tier_id"], lazy=False)
        [total] = Analysis.read_group(domain, specs, [], lazy=False)

        def value(args):
            row = total if len(args) == 2 else groups[args[3] - 1]
            return row[args[1]]

        def evaluate(content):
            guard, measure = PIVOT_FORMULA.findall(content)
            self.assertEqual(content, f'=IF(PIVOT.VALUE({guard[1]})>0,PIVOT.VALUE({measure[1]}),"")')
            return value(formula_args(measure[1])) if value(formula_args(guard[1])) > 0 else ""

        cells = self.sheet("Dashboard")["cells"]
        headers = {
            cell["content"]: ref for ref, cell in cells.items() if cell["content"] in ('=_t("NPS")', '=_t("CSAT")')
        }
        nps_col, csat_col = (CELL.match(headers[f'=_t("{label}")'])[1] for label in ("NPS", "CSAT"))
        first = int(CELL.match(headers['=_t("NPS")'])[2]) + 1
        shown = {}
        for row in itertools.count(first):
            header = cells[f"A{row}"]["content"]
            if header == '=_t("Total")':
                label = "Total"
            else:
                [(_function, args)] = PIVOT_FORMULA.findall(header)
                position = formula_args(args)[2]
                if position > len(groups):
                    continue  # a row for one tier more: empty
                label = groups[position - 1]["tier_id"][1]
            shown[label] = (
                evaluate(cells[f"{nps_col}{row}"]["content"]),
                evaluate(cells[f"{csat_col}{row}"]["content"]),
            )
            if label == "Total":
                return shown

    def test_salesman_reads_their_own_customers_manager_everyone(self):
        self.assertEqual(set(self.kpis(self.salesman)), {"Retained Co"})
        self.assertEqual(set(self.kpis(self.manager)), set(self.customers))
        Analysis = self.env["customer.tiering.analysis"]
        ids = [p.id for p in self.customers.values()]
        own = Analysis.with_user(self.salesman).search([("partner_id", "in", ids)])
        self.assertEqual(own.partner_id, self.customers["Retained Co"])
        self.assertEqual(len(Analysis.with_user(self.manager).search([("partner_id", "in", ids)])), 4)

    def test_salesman_and_manager_open_their_dashboards(self):
        """What the browser does: the dashboards the user is offered, each
        one's spreadsheet, then every data source with the filters applied."""
        for user, dashboards in (
            (self.salesman, self.my_dashboard),
            (self.manager, self.dashboard | self.my_dashboard),
        ):
            Dashboard = self.env["spreadsheet.dashboard"].with_user(user)
            offered = Dashboard.search([("dashboard_group_id.name", "=", "Customer Tiering")])
            self.assertEqual(offered, dashboards.with_user(user))
            for dashboard in offered:
                snapshot = dashboard.get_readonly_dashboard()["snapshot"]
                self.assertEqual(snapshot["pivots"].keys(), self.data["pivots"].keys())
            self.read_every_source(user)

    def read_every_source(self, user):
        period_start = fields.Datetime.to_string(fields.Datetime.now() - timedelta(days=365))
        filters = {f["id"]: f for f in self.data["globalFilters"]}
        values = {"date": period_start, "res.company": user.company_ids.ids, "res.users": [user.id]}
        for kind, definition, model, domain, groupbys, measures in self.data_sources():
            Model = self.env[model].with_user(user)
            filtered = list(domain)
            for filter_id, matching in definition["fieldMatching"].items():
                f = filters[filter_id]
                if f["type"] == "date":
                    filtered.append((matching["chain"], ">=", values["date"]))
                else:
                    filtered.append((matching["chain"], "in", values[f["modelName"]]))
            with self.subTest(user=user.login, kind=kind, name=definition.get("name")):
                if kind == "list":
                    Model.search_read(filtered, definition["columns"], limit=10, order="value_at_risk desc")
                else:
                    aggregates = [f"{m}:sum" for m in measures if m != "__count"]
                    Model.read_group(filtered, aggregates, groupbys, lazy=False)
        for f in filters.values():
            if f["type"] == "relation":
                self.env[f["modelName"]].with_user(user).name_search("", args=f.get("domainOfAllowedValues") or [])


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase):
    """The dashboards open in the browser without an error."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env, login="ct_dash_tour_manager", password="ct_dash_tour_manager_pw", groups=MANAGER
        )
        cls.salesman = new_test_user(
            cls.env, login="ct_dash_tour_salesman", password="ct_dash_tour_salesman_pw", groups=SALESMAN
        )

    def test_manager_opens_the_dashboard(self):
        self.start_tour(
            "/odoo/action-customer_tiering.customer_tiering_dashboard_action",
            "customer_tiering_dashboard",
            login="ct_dash_tour_manager",
        )

    def test_salesman_opens_my_dashboard(self):
        self.start_tour(
            "/odoo/action-customer_tiering.customer_tiering_my_dashboard_action",
            "customer_tiering_my_dashboard",
            login="ct_dash_tour_salesman",
        )
