"""Exports a business unit can work with: headers in words, a frozen header row with filters,
dates as dates, widths set, values in words; the conference chair's own export of the log."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl

from service.conference import log
from tests.workspace.support import signed_in, submit_sample, ws_app_fixture, ws_session_fixture  # noqa: F401

MON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_xlsx_headers_in_words_frozen_filtered_and_dates_as_dates(ws_app):
    made = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    book = openpyxl.load_workbook(io.BytesIO(signed_in(ws_app).get("/workspace/export.xlsx").data))
    sheet = book["Submissions"]
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["Reference", "Partnership", "Submission number", "Form", "How it came in", "Received"]
    assert all("_" not in h for h in header)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:O{sheet.max_row}"
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Reference"].value == made.reference and row["Partnership"].value == "KSCP"
    assert row["Form"].value == "Professional Difference Escalation Record (Appendix 5)"
    assert row["Received"].is_date and row["Received"].value == dt.datetime(2026, 3, 2, 10, 0)
    assert row["Due"].is_date and row["Due"].number_format == "d mmm yyyy"
    assert row["Submission number"].data_type == "n"
    assert row["Category"].value == "Plan effectiveness or drift" and row["Status"].value == "Open"
    assert sheet.column_dimensions["D"].width >= 30


def test_csv_headers_in_words_and_iso_dates(ws_app):
    submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    text = signed_in(ws_app).get("/workspace/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Reference" and rows[0][11] == "Due"
    assert rows[1][5] == "2026-03-02T10:00:00+00:00" and rows[1][4] == "Web form"


def test_the_chair_exports_the_conference_log(ws_app, ws_session):
    rows = [{"agency": "Greenfield High School", "agency_rep": "Not known", "reason": "non-attendance"}]
    answers = {"meeting_date": "2026-11-05", "family": "Family B", "chair_name": "Rhian Pritchard", "rows": rows}
    now = dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC)
    with ws_app.app_context():
        log.record(ws_session, "kirklees", answers, recorded_by="chair@kirklees.example", link_for=str, now=now)
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    page = chair.get("/workspace/conference").get_data(as_text=True)
    assert "Export XLSX" in page
    response = chair.get("/workspace/conference/export.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["Conference log"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Reference", "Partnership", "Conference date"] and sheet.freeze_panes == "A2"
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Conference date"].is_date and row["Response due"].value == dt.datetime(2026, 11, 16)
    assert row["Reason"].value == "Non-attendance at conference" and row["Status"].value == "Awaiting response"
    assert chair.get("/workspace/conference/export.csv").status_code == 200
    assert chair.get("/workspace/export.xlsx").status_code == 403  # the cases' export stays the business unit's
