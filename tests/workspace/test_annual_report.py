"""The annual report: a year picker, outcomes and learning collated by theme, and conference
escalations in their own section (never counted as escalations with no category)."""

from __future__ import annotations

import datetime as dt
import io

import docx
import pypdf

from service.casework import cases
from service.conference import log
from service.db import sessions
from tests.workspace.support import signed_in, submit_sample, ws_app_fixture, ws_session_fixture  # noqa: F401

MON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _record_learning(app, reference: str, **kwargs) -> None:
    with app.app_context(), sessions(app)() as session:
        cases.record_outcome(session, cases.get(session, reference), **kwargs)


def _conference(app, session) -> None:
    rows = [{"agency": "Greenfield High School", "agency_rep": "Not known", "reason": "non-attendance"}]
    answers = {"meeting_date": "2026-11-05", "family": "Family B", "chair_name": "Rhian Pritchard", "rows": rows}
    with app.app_context():
        log.record(
            session,
            "kirklees",
            answers,
            recorded_by="chair@kirklees.example",
            link_for=str,
            now=dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC),
        )


def test_the_year_is_chosen_on_the_page(ws_app):
    client = signed_in(ws_app)
    page = client.get("/workspace/annual-report").get_data(as_text=True)
    assert '<select class="govuk-select" id="year" name="year">' in page and 'value="2015"' in page
    chosen = client.get("/workspace/annual-report?year=2024&fmt=pdf")
    assert chosen.status_code == 302 and chosen.location.endswith("/workspace/annual-report/kirklees/2024.pdf")
    wrong = client.get("/workspace/annual-report?year=1900&fmt=pdf")
    assert wrong.status_code == 400 and 'href="#year"' in wrong.get_data(as_text=True)


def test_outcomes_and_learning_by_theme_and_conferences_apart(ws_app, ws_session):
    drift = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    _record_learning(
        ws_app,
        drift.reference,
        resolution="Review meeting held; plan updated.",
        learning="Diarise review dates when a plan is made.",
        resolved=True,
    )
    submit_sample(ws_app, "kirklees-appendix-5", {"nature": ["assessment"]}, now=MON)  # nothing recorded yet
    _conference(ws_app, ws_session)
    client = signed_in(ws_app)
    document = docx.Document(io.BytesIO(client.get("/workspace/annual-report/kirklees/2026.docx").data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings.index("Outcomes and learning by theme") < headings.index("Child protection conference escalations")
    assert "Plan effectiveness or drift" in headings
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "Diarise review dates when a plan is made." in cells
    assert "Review meeting held; plan updated." in cells
    assert "Not recorded" not in cells and "Category not recorded" not in cells  # the conference row is apart
    assert "Conference escalations by agency" in headings and "Greenfield High School" in cells
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Escalations recorded by the Kirklees Safeguarding Children Partnership in 2026: 2." in text
    pdf = client.get("/workspace/annual-report/kirklees/2026.pdf")
    pdf_text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Outcomes and learning by theme" in pdf_text and "Diarise review dates" in pdf_text
    assert "Child protection conference escalations" in pdf_text


def test_the_report_pdf_holds_the_longest_learning_a_case_may_record(ws_app):
    """A de-brief's learning may run to 20,000 characters; its row splits across pages."""
    made = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    long = " ".join(["Diarise review dates when a plan is made, and check them at supervision."] * 270)[:20_000]
    _record_learning(ws_app, made.reference, resolution="Agreed. " * 2000, learning=long, resolved=True)
    pdf = signed_in(ws_app).get("/workspace/annual-report/kirklees/2026.pdf")
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert text.count("check them at supervision") > 100  # all of it, over several pages


def test_the_dashboard_shows_learning_by_theme_and_conferences_apart(ws_app, ws_session):
    from bs4 import BeautifulSoup

    drift = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    _record_learning(ws_app, drift.reference, learning="Diarise review dates when a plan is made.")
    _conference(ws_app, ws_session)
    page = BeautifulSoup(signed_in(ws_app).get("/workspace/themes?year=2026").get_data(as_text=True), "html.parser")
    learning = page.select_one("#learning ~ table")
    assert learning.select_one("caption").get_text(strip=True) == "Plan effectiveness or drift"
    assert "Diarise review dates" in learning.get_text()
    headings = [h.get_text(strip=True) for h in page.select("h2")]
    assert headings.index("Child protection conference escalations") > headings.index("Outcomes and learning by theme")
    assert headings.index("Conference escalations per quarter") > headings.index(
        "Child protection conference escalations"
    )
