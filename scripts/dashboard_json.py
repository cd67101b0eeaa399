"""Build customer_tiering's two spreadsheet dashboards (All Customers, My Customers).

Run ``python3 scripts/dashboard_json.py`` after changing the definition below;
it rewrites ``customer_tiering/data/files/*_dashboard.json``.

They are the same spreadsheet: My Customers' salesperson filter defaults to
the user who opens it ("current_user", Odoo 18).
"""

import json
import sys
from pathlib import Path

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "customer_tiering/data/files"

BUYING_STAGES = ["new", "active", "loyal", "reactivated"]
#: The lifecycle stages in lifecycle order, with their labels (models/customer_lifecycle_history.STAGES)
#: followed by "customers": labels of their own, as a pivot has no header for a stage none of the
#: customers is in. Not the bare stage names: the browser's catalogue is one flat table for every
#: module, and "New" or "Active" would relabel Odoo's own New buttons and Active filters.
STAGES = [
    ("potential", "Potential customers"),
    ("new", "New customers"),
    ("active", "Active customers"),
    ("loyal", "Loyal customers"),
    ("sleeping", "Sleeping customers"),
    ("churned", "Churned customers"),
    ("reactivated", "Reactivated customers"),
]
AT_RISK = [["lifecycle_stage", "in", BUYING_STAGES], ["churn_risk_level", "in", ["medium", "high"]]]

PERIOD, COMPANY, SALESPERSON = (
    "f1c7a0b2-5d3e-4c11-9a6e-2b7d8e9f0a01",
    "f1c7a0b2-5d3e-4c11-9a6e-2b7d8e9f0a02",
    "f1c7a0b2-5d3e-4c11-9a6e-2b7d8e9f0a03",
)


def matching(company="company_id", user="user_id", date=None):
    match = {
        COMPANY: {"chain": company, "type": "many2one"},
        SALESPERSON: {"chain": user, "type": "many2one"},
    }
    if date:
        match[PERIOD] = {"chain": date, "type": "datetime", "offset": 0}
    return match


ANALYSIS = "customer.tiering.analysis"


def pivot(pid, name, model, measures, rows=(), columns=(), domain=(), match=None):
    return {
        "type": "ODOO",
        "id": pid,
        "formulaId": pid,
        "name": name,
        "model": model,
        "domain": list(domain),
        "context": {},
        "measures": [{"id": m, "fieldName": m} for m in measures],
        "rows": [{"fieldName": r} for r in rows],
        "columns": [{"fieldName": c} for c in columns],
        "sortedColumn": None,
        "fieldMatching": match or matching(),
    }


PIVOTS = {
    "1": pivot(
        "1",
        "Tier mix",
        ANALYSIS,
        ["customer_count", "revenue_window", "value_at_risk", "respondent_count", "nps", "csat_score"],
        rows=["tier_id"],
        domain=[["tier_id", "!=", False]],
    ),
    "2": pivot(
        "2",
        "Lifecycle funnel",
        ANALYSIS,
        ["customer_count", "revenue_window"],
        rows=["lifecycle_stage"],
        domain=[["lifecycle_stage", "!=", False]],
    ),
    "3": pivot("3", "Tier A revenue", ANALYSIS, ["revenue_window"], domain=[["tier_id.code", "=", "A"]]),
    "4": pivot("4", "Customers at risk", ANALYSIS, ["customer_count", "value_at_risk"], domain=AT_RISK),
    "5": pivot(
        "5", "Retention and points", "customer.tiering.kpi", ["retention_base", "retained", "points", "points_expiring"]
    ),
    "6": pivot(
        "6",
        "Tier moves",
        "customer.tier.history",
        ["__count"],
        rows=["old_tier_id"],
        columns=["new_tier_id"],
        match=matching(user="partner_id.user_id", date="date"),
    ),
    "7": pivot(
        "7",
        "Stage moves",
        "customer.lifecycle.history",
        ["__count"],
        rows=["new_stage"],
        match=matching(user="partner_id.user_id", date="date"),
    ),
}

LISTS = {
    "1": {
        "id": "1",
        "name": "Customers at risk",
        "model": ANALYSIS,
        "domain": AT_RISK,
        "context": {},
        "orderBy": [{"name": "value_at_risk", "asc": False}],
        "columns": ["partner_id", "lifecycle_stage", "churn_risk_level", "value_at_risk", "user_id"],
        "fieldMatching": matching(),
    }
}

# ---------------------------------------------------------------- layout
# Left block A-G (640 px), right block H-L (540 px). The tier mix's satisfaction
# takes F and G; the other left tables end at F, and the right block's charts
# start CHART_GAP px in, so that G is the gap where it is empty.
COL_SIZES = {0: 150, 1: 85, 2: 90, 3: 85, 4: 90, 5: 70, 6: 70, 7: 170, 8: 80, 9: 60, 10: 100, 11: 130}
CHART_GAP = 20
ROW_DEFAULT = 23
TITLE_ROW = 40
TABLE_ROW = 25

cells, styles, formats, borders, merges, row_sizes = {}, {}, {}, {}, [], {}
STYLE = {
    "title": 1,
    "header": 2,
    "body": 3,
    "header_num": 4,
    "total": 5,
    "note": 6,
    "total_num": 7,
}
STYLES = {
    "1": {"bold": True, "fontSize": 16, "textColor": "#01666b", "verticalAlign": "middle"},
    "2": {"bold": True, "fontSize": 10, "textColor": "#434343", "verticalAlign": "middle", "wrapping": "wrap"},
    "3": {"textColor": "#434343", "verticalAlign": "middle"},
    "4": {
        "bold": True,
        "fontSize": 10,
        "textColor": "#434343",
        "verticalAlign": "middle",
        "align": "right",
        "wrapping": "wrap",
    },
    "5": {"bold": True, "textColor": "#434343", "verticalAlign": "middle"},
    "6": {"textColor": "#6b6b6b", "fontSize": 9, "italic": True, "verticalAlign": "middle"},
    "7": {"bold": True, "textColor": "#434343", "verticalAlign": "middle", "align": "right"},
}
FORMAT = {"int": 1, "pct": 2, "money": 3, "score": 4}
FORMATS = {"1": "#,##0", "2": "0.0%", "3": "#,##0", "4": "0.0"}
BORDERS = {"1": {"bottom": {"style": "thin", "color": "#CCCCCC"}}, "2": {"top": {"style": "thin", "color": "#CCCCCC"}}}

COLS = "ABCDEFGHIJKL"


def col(index):
    return COLS[index]


def put(ref, content, style=None, fmt=None, border=None):
    cells[ref] = {"content": content}
    if style:
        styles[ref] = STYLE[style]
    if fmt:
        formats[ref] = FORMAT[fmt]
    if border:
        borders[ref] = border


def t(text):
    """A label translated in the browser (exported as an odoo-javascript term)."""
    return f'=_t("{text}")'


def q(value):
    return f'"{value}"'


# -- KPI cards: rows 1-10 ---------------------------------------------------------
for row in range(10):
    row_sizes[row] = ROW_DEFAULT

# -- Tier mix: rows 12-21 (left), pie chart (right) --------------------------------
row_sizes[10] = ROW_DEFAULT
row_sizes[11] = TITLE_ROW
put("A12", t("Tier mix"), "title")
merges.append("A12:G12")
headers = [
    ("A13", "Tier"),
    ("B13", "Customers"),
    ("C13", "Recent revenue"),
    ("D13", "Revenue share"),
    ("E13", "Revenue at risk"),
    ("F13", "NPS"),
    ("G13", "CSAT"),
]
for ref, label in headers:
    put(ref, t(label), "header" if ref.startswith("A") else "header_num", border=1)


def satisfaction(measure, *group):
    """A satisfaction average of pivot 1 (NPS, CSAT): blank where nobody
    answered, as 0 is a score of its own."""
    args = "".join(f",{arg}" for arg in group)
    return f'=IF(PIVOT.VALUE(1,"respondent_count"{args})>0,PIVOT.VALUE(1,"{measure}"{args}),"")'


for i in range(7):
    r = 14 + i
    put(f"A{r}", f'=PIVOT.HEADER(1,"#tier_id",{i + 1})', "body")
    put(f"B{r}", f'=PIVOT.VALUE(1,"customer_count","#tier_id",{i + 1})', "body", "int")
    put(f"C{r}", f'=PIVOT.VALUE(1,"revenue_window","#tier_id",{i + 1})', "body", "money")
    put(f"D{r}", f'=IF(A{r}="","",IFERROR(C{r}/C$21,""))', "body", "pct")
    put(f"E{r}", f'=PIVOT.VALUE(1,"value_at_risk","#tier_id",{i + 1})', "body", "money")
    put(f"F{r}", satisfaction("nps", '"#tier_id"', i + 1), "body", "int")
    put(f"G{r}", satisfaction("csat_score", '"#tier_id"', i + 1), "body", "score")
put("A21", t("Total"), "total", border=2)
put("B21", '=PIVOT.VALUE(1,"customer_count")', "total_num", "int", 2)
put("C21", '=PIVOT.VALUE(1,"revenue_window")', "total_num", "money", 2)
put("D21", '=IFERROR(C21/C21,"")', "total_num", "pct", 2)
put("E21", '=PIVOT.VALUE(1,"value_at_risk")', "total_num", "money", 2)
put("F21", satisfaction("nps"), "total_num", "int", 2)
put("G21", satisfaction("csat_score"), "total_num", "score", 2)
for r in range(12, 21):
    row_sizes[r] = TABLE_ROW
row_sizes[12] = TITLE_ROW  # headers wrap on two lines

# -- Lifecycle funnel: rows 23-32 (left), bar chart (right) -------------------------
row_sizes[21] = ROW_DEFAULT
row_sizes[22] = TITLE_ROW
put("A23", t("Lifecycle funnel"), "title")
merges.append("A23:F23")
headers = [
    ("A24", "Stage"),
    ("B24", "Customers"),
    ("C24", "Share of customers"),
    ("D24", "Recent revenue"),
    ("E24", "Entered in period"),
]
for ref, label in headers:
    put(ref, t(label), "header" if ref.startswith("A") else "header_num", border=1)
put("F24", "", border=1)
for i, (stage, label) in enumerate(STAGES):
    r = 25 + i
    put(f"A{r}", t(label), "body")
    put(f"B{r}", f'=PIVOT.VALUE(2,"customer_count","lifecycle_stage",{q(stage)})', "body", "int")
    put(f"C{r}", f'=IFERROR(B{r}/B$32,"")', "body", "pct")
    put(f"D{r}", f'=PIVOT.VALUE(2,"revenue_window","lifecycle_stage",{q(stage)})', "body", "money")
    put(f"E{r}", f'=PIVOT.VALUE(7,"__count","new_stage",{q(stage)})', "body", "int")
put("A32", t("Total"), "total", border=2)
put("B32", '=PIVOT.VALUE(2,"customer_count")', "total_num", "int", 2)
put("C32", '=IFERROR(B32/B32,"")', "total_num", "pct", 2)
put("D32", '=PIVOT.VALUE(2,"revenue_window")', "total_num", "money", 2)
put("E32", '=PIVOT.VALUE(7,"__count")', "total_num", "int", 2)
put("F32", "", border=2)
for r in range(23, 32):
    row_sizes[r] = TABLE_ROW
row_sizes[23] = TITLE_ROW

# -- Tier moves (left) and customers at risk (right): rows 34-45 ----------------------
row_sizes[32] = ROW_DEFAULT
row_sizes[33] = TITLE_ROW
put("A34", t("Tier moves in the period"), "title")
merges.append("A34:F34")
put("H34", t("Customers at risk"), "title")
merges.append("H34:L34")
put("A35", t("Before / after"), "header", border=1)
for j in range(4):
    put(f"{col(1 + j)}35", f'=PIVOT.HEADER(6,"#new_tier_id",{j + 1})', "header_num", border=1)
put("F35", t("Total"), "header_num", border=1)
for i in range(5):
    r = 36 + i
    put(f"A{r}", f'=PIVOT.HEADER(6,"#old_tier_id",{i + 1})', "body")
    for j in range(4):
        put(
            f"{col(1 + j)}{r}",
            f'=PIVOT.VALUE(6,"__count","#old_tier_id",{i + 1},"#new_tier_id",{j + 1})',
            "body",
            "int",
        )
    put(f"F{r}", f'=PIVOT.VALUE(6,"__count","#old_tier_id",{i + 1})', "total_num", "int")
put("A41", t("Total"), "total", border=2)
for j in range(4):
    put(f"{col(1 + j)}41", f'=PIVOT.VALUE(6,"__count","#new_tier_id",{j + 1})', "total_num", "int", 2)
put("F41", '=PIVOT.VALUE(6,"__count")', "total_num", "int", 2)
put("A42", t("None: no tier before (a new customer) or after."), "note")
merges.append("A42:F42")

list_headers = [
    ("H35", "Customer"),
    ("I35", "Stage"),
    ("J35", "Risk"),
    ("K35", "Revenue at risk"),
    ("L35", "Salesperson"),
]
for ref, label in list_headers:
    put(ref, t(label), "header_num" if ref.startswith("K") else "header", border=1)
list_fields = ["partner_id", "lifecycle_stage", "churn_risk_level", "value_at_risk", "user_id"]
for i in range(10):
    r = 36 + i
    for j, field in enumerate(list_fields):
        put(
            f"{col(7 + j)}{r}",
            f"=ODOO.LIST(1,{i + 1},{q(field)})",
            "body",
            "money" if field == "value_at_risk" else None,
        )
for r in range(34, 46):
    row_sizes[r] = TABLE_ROW
row_sizes[34] = TITLE_ROW

# -- Notes: what the figures mean ----------------------------------------------------------
NOTES = [
    "Customers still buying: new, active, loyal or reactivated. Customers at risk: customers still buying "
    "whose churn risk is medium or high.",
    "Retention: of the customers who bought in the 12 months before the last 12, the share who bought again "
    "in the last 12 months; churn is the rest.",
    "Revenue at risk: predicted revenue (CLV) times churn risk. Points expiring: what expires within 30 days "
    "unless it is spent first.",
    "NPS: of the customers who answered the satisfaction survey, the share of promoters less the share of "
    "detractors, from -100 to 100. CSAT: their average satisfaction, from 1 to 5.",
    "The period applies to the moves (tier moves, stages entered); the other figures are as of today.",
]
row_sizes[46] = ROW_DEFAULT
for i, note in enumerate(NOTES):
    r = 48 + i
    put(f"A{r}", t(note), "note")
    merges.append(f"A{r}:L{r}")
    row_sizes[r - 1] = 20
ROW_COUNT = 48 + len(NOTES)


def row_top(row_index):
    """Top of a 0-based row, in px."""
    return sum(row_sizes.get(r, ROW_DEFAULT) for r in range(row_index))


def col_left(col_index):
    return sum(COL_SIZES[c] for c in range(col_index))


RIGHT_X = col_left(7) + CHART_GAP
RIGHT_WIDTH = sum(COL_SIZES[c] for c in range(7, 12)) - CHART_GAP
TOTAL_WIDTH = col_left(12)

# -- Data sheet: the cards' values -----------------------------------------------------------
data_cells, data_formats = {}, {}
DATA = [
    (
        "Customers still buying",
        "=0+" + "+".join(f'PIVOT.VALUE(2,"customer_count","lifecycle_stage",{q(s)})' for s in BUYING_STAGES),
        "int",
    ),
    ("Recent revenue", '=0+PIVOT.VALUE(1,"revenue_window")', "money"),
    ("Tier A recent revenue", '=0+PIVOT.VALUE(3,"revenue_window")', "money"),
    ("Tier A revenue share", '=IFERROR(B4/B3,"")', "pct"),
    ("Prior-year buyers", '=0+PIVOT.VALUE(5,"retention_base")', "int"),
    ("Prior-year buyers who bought again", '=0+PIVOT.VALUE(5,"retained")', "int"),
    ("Retention, last 12 months", '=IFERROR(B7/B6,"")', "pct"),
    ("Churn, last 12 months", '=IFERROR(1-B7/B6,"")', "pct"),
    ("Customers at risk", '=0+PIVOT.VALUE(4,"customer_count")', "int"),
    ("Revenue at risk", '=0+PIVOT.VALUE(4,"value_at_risk")', "money"),
    ("Points outstanding", '=0+PIVOT.VALUE(5,"points")', "int"),
    ("Points expiring in 30 days", '=0+PIVOT.VALUE(5,"points_expiring")', "int"),
    ("Retained of prior-year buyers", '=TEXT(B7,"#,##0")&" / "&TEXT(B6,"#,##0")', None),
    ("Lost of prior-year buyers", '=TEXT(B6-B7,"#,##0")&" / "&TEXT(B6,"#,##0")', None),
]
# Not "KPI" and "Value": the browser's catalogue is shared with Odoo's own dashboards.
data_cells["A1"] = {"content": t("Key figure")}
data_cells["B1"] = {"content": t("Key figure value")}
for i, (label, formula, fmt) in enumerate(DATA):
    r = 2 + i
    data_cells[f"A{r}"] = {"content": t(label)}
    data_cells[f"B{r}"] = {"content": formula}
    if fmt:
        data_formats[f"B{r}"] = FORMAT[fmt]
DATA_ROW = {label: 2 + i for i, (label, _f, _fmt) in enumerate(DATA)}

# -- Figures --------------------------------------------------------------------------------
CARD_W, CARD_H, GAP = 270, 100, 20
card_x = [0, CARD_W + GAP + 10, 2 * (CARD_W + GAP) + 20, 3 * (CARD_W + GAP) + 30]
CARDS = [
    ("Customers still buying", "Customers still buying", None, "#EFF6FF"),
    ("Tier A revenue share", "Tier A revenue share", None, "#EFF6FF"),
    ("Retention, last 12 months", "Retention, last 12 months", "Retained of prior-year buyers", "#EFF6FF"),
    ("Churn, last 12 months", "Churn, last 12 months", "Lost of prior-year buyers", "#FFF7ED"),
    ("Customers at risk", "Customers at risk", None, "#FFF7ED"),
    ("Revenue at risk", "Revenue at risk", None, "#FFF7ED"),
    ("Points outstanding", "Points outstanding", None, "#F0FDF4"),
    ("Points expiring in 30 days", "Points expiring in 30 days", None, "#F0FDF4"),
]
figures = []
for i, (title, key, baseline, color) in enumerate(CARDS):
    data = {
        "type": "scorecard",
        "title": {"text": title, "bold": True, "color": "#434343"},
        "background": color,
        "keyValue": f"Data!B{DATA_ROW[key]}",
        "baselineMode": "text",
        "baselineColorDown": "#DC6965",
        "baselineColorUp": "#00A04A",
        "humanize": False,
    }
    if baseline:
        data["baseline"] = f"Data!B{DATA_ROW[baseline]}"
    figures.append(
        {
            "id": f"ct-card-{i + 1}",
            "x": card_x[i % 4],
            "y": 8 if i < 4 else 8 + CARD_H + 12,
            "width": CARD_W,
            "height": CARD_H,
            "tag": "chart",
            "data": data,
        }
    )
tier_top, tier_bottom = row_top(11), row_top(21)
figures.append(
    {
        "id": "ct-chart-tiers",
        "x": RIGHT_X,
        "y": tier_top,
        "width": RIGHT_WIDTH,
        "height": tier_bottom - tier_top,
        "tag": "chart",
        "data": {
            "type": "odoo_pie",
            "title": {"text": "Recent revenue by tier", "bold": True, "color": "#434343"},
            "background": "#FFFFFF",
            "legendPosition": "right",
            "metaData": {
                "groupBy": ["tier_id"],
                "measure": "revenue_window",
                "order": None,
                "resModel": ANALYSIS,
                "mode": "pie",
            },
            "searchParams": {
                "comparison": None,
                "context": {},
                "domain": [["tier_id", "!=", False]],
                "groupBy": ["tier_id"],
                "orderBy": [],
            },
            "fieldMatching": matching(),
        },
    }
)
funnel_top, funnel_bottom = row_top(22), row_top(32)
figures.append(
    {
        "id": "ct-chart-funnel",
        "x": RIGHT_X,
        "y": funnel_top,
        "width": RIGHT_WIDTH,
        "height": funnel_bottom - funnel_top,
        "tag": "chart",
        "data": {
            "type": "bar",
            "title": {"text": "Customers by stage", "bold": True, "color": "#434343"},
            "background": "#FFFFFF",
            "dataSets": [{"dataRange": "Dashboard!B25:B31"}],
            "dataSetsHaveTitle": False,
            "labelRange": "Dashboard!A25:A31",
            "legendPosition": "none",
            "stacked": False,
            "aggregated": False,
        },
    }
)


def sheet(sheet_id, name, sheet_cells, **extra):
    base = {
        "id": sheet_id,
        "name": name,
        "colNumber": 12,
        "rowNumber": ROW_COUNT,
        "rows": {},
        "cols": {},
        "merges": [],
        "cells": sheet_cells,
        "styles": {},
        "formats": {},
        "borders": {},
        "conditionalFormats": [],
        "figures": [],
        "tables": [],
        "areGridLinesVisible": False,
        "isVisible": True,
        "headerGroups": {"ROW": [], "COL": []},
        "dataValidationRules": [],
        "comments": {},
    }
    base.update(extra)
    return base


def spreadsheet(salesperson_default):
    salesperson = {
        "id": SALESPERSON,
        "type": "relation",
        "label": "Salesperson",
        "modelName": "res.users",
        "defaultValue": salesperson_default,
        "includeChildren": False,
        "domainOfAllowedValues": [["share", "=", False]],
    }
    if salesperson_default == []:
        salesperson["defaultValueDisplayNames"] = []
    return {
        "version": 21,
        "odooVersion": 12,
        "sheets": [
            sheet(
                "dashboard",
                "Dashboard",
                cells,
                rows={str(r): {"size": s} for r, s in sorted(row_sizes.items())},
                cols={str(c): {"size": s} for c, s in COL_SIZES.items()},
                merges=merges,
                styles=styles,
                formats=formats,
                borders=borders,
                figures=figures,
            ),
            sheet(
                "data",
                "Data",
                data_cells,
                rowNumber=len(DATA) + 2,
                colNumber=2,
                cols={"0": {"size": 260}, "1": {"size": 120}},
                formats=data_formats,
                areGridLinesVisible=True,
            ),
        ],
        "styles": STYLES,
        "formats": FORMATS,
        "borders": BORDERS,
        "revisionId": "START_REVISION",
        "uniqueFigureIds": True,
        "settings": {
            "locale": {
                "name": "English (US)",
                "code": "en_US",
                "thousandsSeparator": ",",
                "decimalSeparator": ".",
                "dateFormat": "mm/dd/yyyy",
                "timeFormat": "hh:mm:ss",
                "formulaArgSeparator": ",",
                "weekStart": 7,
            }
        },
        "pivots": PIVOTS,
        "pivotNextId": len(PIVOTS) + 1,
        "customTableStyles": {},
        "globalFilters": [
            {"id": PERIOD, "type": "date", "label": "Period", "defaultValue": "last_year", "rangeType": "relative"},
            {
                "id": COMPANY,
                "type": "relation",
                "label": "Company",
                "modelName": "res.company",
                "defaultValue": [],
                "defaultValueDisplayNames": [],
                "includeChildren": False,
            },
            salesperson,
        ],
        "lists": LISTS,
        "listNextId": len(LISTS) + 1,
        "chartOdooMenusReferences": {},
    }


def write(name, data):
    path = OUT / name
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(path, TOTAL_WIDTH, "x", row_top(ROW_COUNT))


write("customer_tiering_dashboard.json", spreadsheet([]))
write("customer_tiering_my_dashboard.json", spreadsheet("current_user"))
