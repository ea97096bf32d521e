"""Themes (counts, median working days, overdue rate, by month), the SVG charts, the dashboard,
the CSV/XLSX exports and the annual report."""

from __future__ import annotations

import csv
import datetime as dt
import io

import docx
import openpyxl
import pypdf

from forms import registry
from service.casework import inbox
from service.casework.workdays import Calendar
from service.documents import charts
from service.workspace import themes
from tests.workspace.support import signed_in, submit_sample, ws_app_fixture, ws_session_fixture  # noqa: F401

MON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)


def _two_cases(app):
    """A: stage 5 met in 3 working days, then stage 6 open (overdue). B: stage 5 took 9, then 6 (overdue)."""
    a = submit_sample(app, "kirklees-appendix-5", now=MON)
    submit_sample(app, "kirklees-appendix-5", {"stage": "6"}, case=a.reference, now=MON + dt.timedelta(days=3))
    b = submit_sample(app, "kirklees-appendix-5", {"nature": ["assessment"]}, now=MON)
    submit_sample(
        app,
        "kirklees-appendix-5",
        {"stage": "6", "nature": ["assessment"]},
        case=b.reference,
        now=MON + dt.timedelta(days=11),
    )
    return a, b


def test_theme_counts_medians_and_overdue_rate(ws_app, ws_session):
    _two_cases(ws_app)
    submit_sample(ws_app, "merton-disagreement-record", now=MON)
    packs = registry()
    assert themes.by_category(ws_session, ["kirklees"], None) == [("Assessment", 1), ("Plan effectiveness or drift", 1)]
    assert themes.by_highest_stage(ws_session, packs, ["kirklees"], None) == [
        ("Stage 6: Escalation to KSCP Business Unit Manager", 2)
    ]
    assert themes.by_agency_pair(ws_session, ["kirklees"], None) == [
        ("Kirklees Health Visiting Service → Children's Social Care", 2)
    ]
    medians = themes.median_working_days(ws_session, packs, Calendar(), ["kirklees"], None)
    assert medians == [("Stage 5: Escalation to Head of Service (or equivalent Senior Manager)", 6.0)]
    # Step 6 is "referred urgently": no due date, so only the two step 5 stages count (B took 9 days).
    assert themes.overdue_rate(ws_session, ["kirklees"], None, TODAY) == (1, 2)
    assert themes.by_month(ws_session, ["kirklees"], 2026) == [("2026-03", 2)]
    assert themes.by_month(ws_session, ["kirklees"], 2025) == []
    both = themes.themes(ws_session, packs, Calendar(), ["kirklees", "merton"], None, TODAY)
    assert both.total == 3 and both.title == "All partnerships"
    stage_rows = next(c for c in both.charts if c.key == "stage").rows
    assert any(label.startswith("KSCP ") for label, _ in stage_rows)


def test_a_conference_escalation_is_not_counted_among_the_escalations(ws_app, ws_session):
    """A conference escalation is on no stage and has no category: it is reported in its own section
    (the conference charts), never as an escalation "on no stage" or "not recorded"."""
    submit_sample(ws_app, "kirklees-appendix-3", now=MON)
    packs = registry()
    assert themes.by_highest_stage(ws_session, packs, ["kirklees"], None) == []
    assert themes.by_category(ws_session, ["kirklees"], None) == []
    assert themes.themes(ws_session, packs, Calendar(), ["kirklees"], None, TODAY).total == 0


def test_median_counts_working_days_not_calendar_days():
    assert themes._median({3: 1, 9: 1}) == 6.0
    assert themes._median({2: 3, 7: 1}) == 2.0
    rows = dict(themes._calendar_rows(Calendar(), dt.date(2026, 12, 24), dt.date(2026, 12, 31)))
    # 25 and 28 December 2026 are bank holidays, 26-27 a weekend.
    assert rows[dt.date(2026, 12, 29)] - rows[dt.date(2026, 12, 24)] == 1


def test_charts_escape_labels_and_say_when_empty():
    chart = charts.bar_chart("x", "Escalations by agency", [("<script>alert(1)</script>", 3), ("B & C", 1)])
    assert "<script>" not in chart.svg and "&lt;script&gt;" in chart.svg and "B &amp; C" in chart.svg
    assert chart.svg.startswith("<svg") and 'role="img"' in chart.svg
    assert chart.rows == (("<script>alert(1)</script>", "3"), ("B & C", "1"))
    assert "No data yet" in charts.bar_chart("e", "Empty", []).svg
    line = charts.line_chart("m", "Per month", [("2026-01", 2), ("2026-02", 5)])
    assert line.svg.count("<circle") == 2
    assert "40%" in charts.gauge("o", "Overdue", 0.4, 2, 5).svg


def test_dashboard_draws_charts_with_their_tables_without_javascript(ws_app):
    _two_cases(ws_app)
    client = signed_in(ws_app)
    page = client.get("/workspace/themes?year=all").get_data(as_text=True)
    for title in ("Escalations by category", "Median working days by stage", "Overdue rate", "per month"):
        assert title in page
    assert page.count("<svg") == 6 and page.count("Numbers in this chart") == 6
    assert "Plan effectiveness or drift" in page
    assert client.get("/workspace/themes?year=2026").status_code == 200
    bad = client.get("/workspace/themes?year=abc&partnership=merton")
    assert bad.status_code == 400 and "not one of yours" in bad.get_data(as_text=True)


def test_admin_dashboard_covers_every_partnership(ws_app):
    _two_cases(ws_app)
    submit_sample(ws_app, "merton-disagreement-record", now=MON)
    client = signed_in(ws_app, "admin@escalate.example", "admin", None)
    page = client.get("/workspace/themes?year=all").get_data(as_text=True)
    assert "All partnerships" in page and "3 escalation(s)" in page
    assert "3 escalation(s)" in client.get("/workspace/themes?year=2026").get_data(as_text=True)
    assert "0 escalation(s)" in client.get("/workspace/themes?year=2025").get_data(as_text=True)
    merton_only = client.get("/workspace/themes?partnership=merton&year=all").get_data(as_text=True)
    assert "1 escalation(s)" in merton_only


def test_csv_export_has_the_fixed_columns_and_no_formulas(ws_app):
    submit_sample(ws_app, "kirklees-appendix-5", {"agency_initiating": '=HYPERLINK("http://x.example")'}, now=MON)
    submit_sample(ws_app, "kirklees-appendix-3", now=MON)
    client = signed_in(ws_app)
    response = client.get("/workspace/export.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [name for name, _ in inbox.COLUMNS]
    assert len(rows) == 3
    assert any(cell.startswith("'=HYPERLINK") for cell in rows[1] + rows[2])
    only_web = list(
        csv.reader(io.StringIO(client.get("/workspace/export.csv?form_id=x&channel=email").get_data(as_text=True)))
    )
    assert len(only_web) == 1
    assert client.get("/workspace/export.csv?channel=fax").status_code == 400


def test_xlsx_export(ws_app):
    submit_sample(ws_app, "kirklees-appendix-5", {"agency_initiating": "=1+1"}, now=MON)
    client = signed_in(ws_app)
    response = client.get("/workspace/export.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["Submissions"]
    values = list(sheet.values)
    assert list(values[0]) == [name for name, _ in inbox.COLUMNS]
    assert values[1][7] == "=1+1" and sheet.cell(row=2, column=8).data_type == "s"
    assert [r[0] for r in book["Columns"].values][1:] == [name for name, _ in inbox.COLUMNS]


def test_annual_report_docx_and_pdf_hold_the_tables_and_charts(ws_app):
    _two_cases(ws_app)
    client = signed_in(ws_app)
    assert "Annual report" in client.get("/workspace/annual-report").get_data(as_text=True)
    word = client.get("/workspace/annual-report/kirklees/2026.docx")
    assert word.status_code == 200
    document = docx.Document(io.BytesIO(word.data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "annual report 2026" in text and "Escalations by category" in text
    assert len(document.inline_shapes) == 6
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "Plan effectiveness or drift" in cells and "Assessment" in cells
    pdf = client.get("/workspace/annual-report/kirklees/2026.pdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf.data))
    pdf_text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Median working days by stage" in pdf_text and "Plan effectiveness or drift" in pdf_text
    assert client.get("/workspace/annual-report/kirklees/2026.odt").status_code == 404
    assert client.get("/workspace/annual-report/kirklees/1900.pdf").status_code == 404
