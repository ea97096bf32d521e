"""The case page shows what was sent: each submission's answers under the form's own labels, the
completed record made from them and the original, one due date per stage, delivery in words, and a
conference row's response deadline."""

from __future__ import annotations

import datetime as dt
import io

import docx
from bs4 import BeautifulSoup
from pypdf import PdfReader

from service.conference import log
from tests.workspace.support import (  # noqa: F401
    csrf_from,
    signed_in,
    submit_sample,
    ws_app_fixture,
    ws_session_fixture,
)

MON = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def _soup(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_every_submission_shows_its_answers_with_the_forms_labels(ws_app):
    first = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    submit_sample(
        ws_app, "kirklees-appendix-5", {"stage": "6", "details": "Still no review."}, case=first.reference, now=MON
    )
    client = signed_in(ws_app)
    page = _soup(client, f"/workspace/cases/{first.reference}")
    items = page.select(".moj-timeline__item")
    assert len(items) == 2
    newest = items[0]
    rows = {
        row.select_one(".govuk-summary-list__key").get_text(strip=True): row.select_one(
            ".govuk-summary-list__value"
        ).get_text(" ", strip=True)
        for row in newest.select(".govuk-summary-list__row")
    }
    assert rows["Details of the professional difference and outcome sought"] == "Still no review."
    assert rows["Stage of escalation"] == "Stage 6"  # the choice's label, not its value
    assert rows["D.O.B."] == "14 February 2019"
    assert "Effectiveness of child's Plan (e.g. drift/delay)" in rows["Nature of professional difference (please tick)"]
    assert "Stage 5" in items[1].select_one(".moj-timeline__title").get_text()
    text = page.get_text(" ")
    assert "nature" not in rows and "plan-effectiveness" not in text  # no keys or values of the spec


def test_completed_records_are_made_from_the_submissions_answers(ws_app):
    made = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    client = signed_in(ws_app)
    page = _soup(client, f"/workspace/cases/{made.reference}")
    links = {a.get_text(strip=True): a["href"] for a in page.select(".moj-timeline__item a")}
    word = client.get(links["Download the completed record (DOCX)"])
    assert word.status_code == 200 and word.headers["Content-Disposition"].startswith("attachment")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(word.data)).paragraphs)
    tables = " ".join(c.text for t in docx.Document(io.BytesIO(word.data)).tables for r in t.rows for c in r.cells)
    assert "The child in need plan has not been reviewed" in text + tables
    pdf = client.get(links["Download the completed record (PDF)"])
    assert pdf.mimetype == "application/pdf"
    assert "Siobhán" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert (
        client.get(f"/workspace/cases/{made.reference}/submissions/{made.submission_id}/record.txt").status_code == 404
    )


def test_each_stage_has_one_due_date_and_its_state(ws_app):
    made = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    page = _soup(signed_in(ws_app), f"/workspace/cases/{made.reference}")
    headers = [th.get_text(strip=True) for th in page.select("#timeline + table thead th")]
    assert headers.count("Due") == 1 and "Due date" not in headers
    # Steps before the record (issue 12) come first as "Before this record"; the step it opened at is last.
    due_cell = page.select("#timeline + table tbody tr")[-1].select("td")[2].get_text(" ", strip=True)
    assert "March 2026" in due_cell and any(word in due_cell for word in ("Open", "Due soon", "Overdue"))


def test_routing_and_delivery_are_in_words(ws_app):
    made = submit_sample(ws_app, "kirklees-appendix-5", now=MON)
    page = _soup(signed_in(ws_app), f"/workspace/cases/{made.reference}")
    table = page.select_one(".moj-timeline__item table")
    assert table.select_one("caption").get_text(strip=True) == "Who it went to"
    delivery = [row.select("td")[2].get_text(strip=True) for row in table.select("tbody tr")]
    assert delivery and all(d.startswith(("E-mail waiting to be sent", "No e-mail address")) for d in delivery)
    assert "rule" not in table.get_text().lower()


def test_a_conference_row_shows_its_response_deadline(ws_app, ws_session):
    rows = [{"agency": "Greenfield High School", "agency_rep": "Not known", "reason": "non-attendance"}]
    answers = {"meeting_date": "2026-11-05", "family": "Family B", "chair_name": "Rhian Pritchard", "rows": rows}
    now = dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC)
    with ws_app.app_context():
        conference = log.record(
            ws_session, "kirklees", answers, recorded_by="chair@kirklees.example", link_for=str, now=now
        )
        reference = conference.issues[0].case.reference
    page = _soup(signed_in(ws_app), f"/workspace/cases/{reference}")
    assert "no stage deadlines" not in page.get_text()
    row = page.select_one("#timeline + table tbody tr")
    assert row.select_one("th").get_text(strip=True) == "Greenfield High School"
    assert "16 November 2026" in row.get_text(" ")  # 5 working days from Monday 9 November


def test_the_case_page_reads_no_original_file(ws_app):
    """The page links each original with its size from the database; the files themselves (up to tens of
    megabytes each) are neither loaded nor hashed, however many a case has. Read from the SQL sent."""
    from sqlalchemy import event

    raw = b"%PDF-1.7 " + b"x" * 200_000
    first = submit_sample(ws_app, "kirklees-appendix-5", raw=raw, filename="a5.pdf", channel="upload", now=MON)
    submit_sample(ws_app, "kirklees-appendix-5", {"stage": "6"}, case=first.reference, raw=raw[:1000], now=MON)
    client = signed_in(ws_app)
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = ws_app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = _soup(client, f"/workspace/cases/{first.reference}")
        # A form on the page sent with an error shows the page again: nor does that read them.
        token = csrf_from(str(page))
        refused = client.post(f"/workspace/cases/{first.reference}/notes", data={"csrf_token": token, "text": ""})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert refused.status_code == 400
    links = [
        li.get_text(" ", strip=True) for li in page.select(".moj-timeline__item li") if "original" in li.get_text()
    ]
    assert links == [
        "Download the original as received , 1000 bytes",
        "Download the original as received (a5.pdf) , 200009 bytes",
    ]
    reads = [s for s in statements if "submissions.raw" in s.replace('"', "")]
    assert reads and all("length(submissions.raw)" in s.replace('"', "") for s in reads), reads
    # The original itself is still there to download.
    submission_id = page.select_one(".moj-timeline__item:last-child")["id"].split("-")[1]
    original = client.get(f"/workspace/cases/{first.reference}/submissions/{submission_id}/original")
    assert original.status_code == 200 and original.data == raw
