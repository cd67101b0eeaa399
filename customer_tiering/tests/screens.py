"""The read calls the web client makes to open the add-on's main screens:
the dashboard's data, the Customer Analysis pivot (tier by stage), the
Retention by Cohort pivot, the first page of Customers at Risk, the
customers grouped by tier, a partner form with its Tiering tab and the
Points Ledger pivot.

Shared by ``test_replica`` (in a read-only transaction, and over
``/web/dataset/call_kw``) and by ``scripts/replica_check.py`` (over JSON-RPC,
against a real streaming replica). Plain Python, no Odoo import: the check's
driver runs outside Odoo. ``client`` is any object with
``action(screen, xmlid)``, returning what ``/web/action/load`` returns, and
``call(screen, model, method, args, kwargs)``, returning what
``/web/dataset/call_kw`` returns.
"""

import ast
import xml.etree.ElementTree as ET

DASHBOARD = "Dashboard"
ANALYSIS = "Customer Analysis pivot"
COHORTS = "Retention by Cohort pivot"
AT_RISK = "Customers at Risk, first page"
BY_TIER = "Customers grouped by tier"
PARTNER_FORM = "Partner form, Tiering tab"
LEDGER = "Points Ledger pivot"

#: {screen: the action that opens it}
ACTIONS = {
    DASHBOARD: "customer_tiering.customer_tiering_dashboard_action",
    ANALYSIS: "customer_tiering.customer_tiering_analysis_action",
    COHORTS: "customer_tiering.customer_cohort_analysis_action",
    AT_RISK: "customer_tiering.res_partner_action_at_risk",
    BY_TIER: "customer_tiering.res_partner_action_tiering",
    LEDGER: "customer_tiering.loyalty_history_action_points",
}
#: Odoo 18.0's own methods on these screens that it does not mark
#: ``@api.readonly``: the web client's calls to them go to the primary.
CORE_READ_WRITE = {"get_readonly_dashboard", "fields_get"}
#: Rows of a list's first page, as the web client asks for them.
PAGE = 80
RELATIONAL = ("many2one", "one2many", "many2many")


def routed_to_replica(method):
    """Whether Odoo 18.0 serves the web client's call of ``method`` on these
    screens from a read-only replica."""
    return method not in CORE_READ_WRITE


def open_screens(client):
    """Open every screen, in order."""
    dashboard(client)
    pivot_view(client, ANALYSIS)
    pivot_view(client, COHORTS)
    records, views = list_page(client, AT_RISK)
    if not records:
        # No customer at risk: the form opens from the tier list instead.
        records, _views = list_page(client, BY_TIER, grouped=False)
    if records:
        partner_form(client, views, records[0]["id"])
    list_page(client, BY_TIER)
    pivot_view(client, LEDGER)


def dashboard(client):
    """The spreadsheet, then each of its data sources (pivots, lists, Odoo
    charts) read as the spreadsheet reads them, without global filter values."""
    action = client.action(DASHBOARD, ACTIONS[DASHBOARD])
    dashboard_id = action["params"]["dashboard_id"]
    snapshot = client.call(DASHBOARD, "spreadsheet.dashboard", "get_readonly_dashboard", [[dashboard_id]], {})[
        "snapshot"
    ]
    fields = {}

    def fields_of(model):
        if model not in fields:
            fields[model] = client.call(DASHBOARD, model, "fields_get", [], {"attributes": ["type", "aggregator"]})
        return fields[model]

    for pivot in snapshot.get("pivots", {}).values():
        model = pivot["model"]
        model_fields = fields_of(model)
        measures = [measure_spec(m["fieldName"], model_fields) for m in pivot["measures"]]
        rows = [dimension(d) for d in pivot["rows"]]
        cols = [dimension(d) for d in pivot["columns"]]
        read_pivot(client, DASHBOARD, model, parse(pivot.get("domain")), measures, rows, cols)
    for list_ in snapshot.get("lists", {}).values():
        model = list_["model"]
        model_fields = fields_of(model)
        order = ", ".join(f"{o['name']} {'ASC' if o.get('asc') else 'DESC'}" for o in list_.get("orderBy", []))
        client.call(
            DASHBOARD,
            model,
            "web_search_read",
            [],
            {
                "domain": parse(list_.get("domain")),
                "specification": specification(list_["columns"], model_fields),
                "limit": PAGE,
                "order": order,
            },
        )
    for sheet in snapshot.get("sheets", []):
        for figure in sheet.get("figures", []):
            chart = figure.get("data", {})
            if not chart.get("type", "").startswith("odoo_"):
                continue
            meta = chart["metaData"]
            model = meta["resModel"]
            client.call(
                DASHBOARD,
                model,
                "web_read_group",
                [],
                {
                    "domain": parse(chart["searchParams"].get("domain")),
                    "fields": [measure_spec(meta["measure"], fields_of(model))],
                    "groupby": meta["groupBy"],
                    "lazy": False,
                },
            )


def load_views(client, screen):
    """The screen's action and its views (with the search view), as the web
    client loads them when the action opens."""
    action = client.action(screen, ACTIONS[screen])
    model = action["res_model"]
    views = [list(view) for view in action["views"]]
    search = action.get("search_view_id")
    views.append([search[0] if search else False, "search"])
    result = client.call(
        screen,
        model,
        "get_views",
        [],
        {"views": views, "options": {"action_id": action["id"], "load_filters": True, "toolbar": True}},
    )
    return action, result


def pivot_view(client, screen):
    action, views = load_views(client, screen)
    model = action["res_model"]
    fields = views["models"][model]["fields"]
    rows, cols, measures = [], [], []
    for node in ET.fromstring(views["views"]["pivot"]["arch"]).iter("field"):
        name, kind = node.get("name"), node.get("type")
        if kind == "measure":
            measures.append(measure_spec(name, fields))
        elif kind in ("row", "col"):
            groupby = f"{name}:{node.get('interval')}" if node.get("interval") else name
            (rows if kind == "row" else cols).append(groupby)
    read_pivot(client, screen, model, parse(action.get("domain")), measures + ["__count"], rows, cols)


def read_pivot(client, screen, model, domain, measures, rows, cols):
    """One read_group per pair of row and column prefixes, as a pivot loads
    its headers and cells."""
    for row_depth in range(len(rows) + 1):
        for col_depth in range(len(cols) + 1):
            client.call(
                screen,
                model,
                "read_group",
                [],
                {"domain": domain, "fields": measures, "groupby": rows[:row_depth] + cols[:col_depth], "lazy": False},
            )


def list_page(client, screen, grouped=None):
    """The first page of the screen's list: its groups when the action groups
    it by default (see ``default_groupby``), else its first rows. Returns the rows
    read and the views loaded."""
    action, views = load_views(client, screen)
    model = action["res_model"]
    fields = views["models"][model]["fields"]
    arch = ET.fromstring(views["views"]["list"]["arch"])
    names = own_fields(arch)
    domain = parse(action.get("domain"))
    groupby = default_groupby(views["views"]["search"]["arch"], parse(action.get("context")) or {})
    if grouped is None:
        grouped = bool(groupby)
    if grouped:
        aggregates = [f"{node.get('name')}:sum" for node in arch.iter("field") if node.get("sum")]
        client.call(
            screen,
            model,
            "web_read_group",
            [],
            {"domain": domain, "fields": aggregates, "groupby": groupby, "limit": PAGE, "lazy": True},
        )
        return [], views
    result = client.call(
        screen,
        model,
        "web_search_read",
        [],
        {
            "domain": domain,
            "specification": specification(names, fields),
            "offset": 0,
            "limit": PAGE,
            "order": arch.get("default_order") or "",
            "count_limit": 10001,
        },
    )
    return result["records"], views


def default_groupby(search_arch, context):
    """The groupings the action's ``search_default_<filter>`` keys turn on in its search view."""
    groupby = []
    for node in ET.fromstring(search_arch).iter("filter"):
        if context.get(f"search_default_{node.get('name')}") and "group_by" in (node.get("context") or ""):
            groupby.append(ast.literal_eval(node.get("context"))["group_by"])
    return groupby


def partner_form(client, views, partner_id):
    """The partner form, every page of it (the Tiering tab with the rest)."""
    fields = views["models"]["res.partner"]["fields"]
    names = own_fields(ET.fromstring(views["views"]["form"]["arch"]))
    client.call(
        PARTNER_FORM, "res.partner", "web_read", [[partner_id]], {"specification": specification(names, fields)}
    )


def own_fields(arch):
    """The names of a view's fields, not those of its sub-views (an x2many's list)."""
    names = []

    def walk(node):
        for child in node:
            if child.tag == "field":
                names.append(child.get("name"))
            else:
                walk(child)

    walk(arch)
    return list(dict.fromkeys(names))


def specification(names, fields):
    """What ``web_read`` and ``web_search_read`` read: the display name of related records."""
    return {
        name: {"fields": {"display_name": {}}} if fields[name]["type"] in RELATIONAL else {}
        for name in names
        if name in fields
    }


def measure_spec(name, fields):
    if name == "__count":
        return name
    return f"{name}:{fields[name].get('aggregator') or 'sum'}"


def dimension(dim):
    return f"{dim['fieldName']}:{dim['granularity']}" if dim.get("granularity") else dim["fieldName"]


def parse(domain):
    """A domain or context as the action or spreadsheet stores it: a list, or its literal text."""
    if not domain:
        return []
    if isinstance(domain, str):
        return ast.literal_eval(domain)
    return domain
