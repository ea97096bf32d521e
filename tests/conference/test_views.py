"""The chair's log pages: a chair sees only their partnership's log; recording through the page;
the agency's private response page; exports as CSV and XLSX; uploads of returned tables."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook
from sqlalchemy import func, select

from forms import registry
from service.casework.models import AuditEntry, OutboxMessage
from service.conference import log
from service.conference.models import Conference
from service.documents import records as documents
from tests.conference.test_log import ROWS, answers, conference_app, conference_session, link_for, record  # noqa: F401
from tests.workspace.support import csrf_from, hidden_from, make_user, sign_in

TODAY = dt.date.today()


def signed_in(app, email: str, role: str, partnership: str | None):
    make_user(app, email, role, partnership)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def merton_conference(session) -> int:
    """A conference row of another partnership, written directly (Merton's policy has no such form)."""
    other = Conference(
        partnership="merton",
        meeting_date=dt.date(2026, 11, 2),
        family="Other partnership family",
        chair_name="Merton Chair",
        recorded_by="x@merton.example",
        channel="web",
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(other)
    session.commit()
    return other.id


def test_a_chair_sees_only_their_partnerships_log(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    other_id = merton_conference(ws_session)
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    page = chair.get("/workspace/conference").get_data(as_text=True)
    assert "Family B" in page and "Greenfield High School" in page
    assert "Other partnership family" not in page
    # Recorded weeks ago: every row is past its due date, said in words (no command for staff to run).
    warning = BeautifulSoup(page, "html.parser").select_one(".govuk-warning-text").get_text(" ", strip=True)
    rows = len(conference.issues)
    assert f"{rows} agency responses are overdue. The service sends their chasers each weekday morning." in warning
    assert chair.get(f"/workspace/conference/{conference.id}").status_code == 200
    assert chair.get(f"/workspace/conference/{other_id}").status_code == 404  # like a missing one
    assert chair.get("/workspace/conference?partnership=merton").status_code == 400
    # A chair of another partnership has no Kirklees log at all.
    merton = signed_in(ws_app, "chair@merton.example", "conference-chair", "merton")
    assert merton.get("/workspace/conference").status_code == 403
    assert merton.get(f"/workspace/conference/{conference.id}").status_code == 403
    assert merton.get("/workspace/conference/new?partnership=kirklees").status_code == 403
    # Nor has another partnership's business unit; Kirklees's business unit reads it but cannot record.
    assert (
        signed_in(ws_app, "bu@merton.example", "business-unit", "merton").get("/workspace/conference").status_code
        == 403
    )
    kirklees_bu = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    assert kirklees_bu.get(f"/workspace/conference/{conference.id}").status_code == 200
    assert kirklees_bu.get("/workspace/conference/new").status_code == 403
    # The business unit exports the log, and so does the chair who records it (the chair's own export);
    # another partnership's chair has none.
    assert chair.get("/workspace/conference/export.csv").status_code == 200
    assert merton.get("/workspace/conference/export.csv").status_code == 403
    assert kirklees_bu.get("/workspace/conference/export.csv").status_code == 200


def _overdue_warning(chair) -> str:
    page = chair.get("/workspace/conference").get_data(as_text=True)
    return BeautifulSoup(page, "html.parser").select_one(".govuk-warning-text").get_text(" ", strip=True)


def test_the_overdue_warning_does_not_promise_a_chaser_the_pack_does_not_give(ws_app, ws_session):
    """Rows that have had the Kirklees pack's two chasers get no more: the warning says they stay
    overdue, and promises the weekday chasers only for the rows that still have one to come."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    chased = record(ws_app, ws_session, answers(meeting_date=start.date().isoformat(), rows=ROWS[:2]), now=start)
    with ws_app.app_context():
        for days in (10, 25, 40):  # the third finds both rows with their last chaser sent
            log.chase(ws_session, now=start + dt.timedelta(days=days), link_for=link_for)
    assert [i.chasers for i in chased.issues] == [2, 2]
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    assert _overdue_warning(chair) == (
        "! Warning 2 agency responses are overdue. They have had every chaser the service sends, "
        "and stay overdue until the agency responds."
    )
    later = start + dt.timedelta(days=30)
    record(ws_app, ws_session, answers(meeting_date=later.date().isoformat(), rows=ROWS[2:]), now=later)
    assert _overdue_warning(chair) == (
        "! Warning 3 agency responses are overdue. The service sends chasers for 1 of them each weekday "
        "morning; 2 have had every chaser the service sends, and stay overdue until the agency responds."
    )


def test_a_stranger_is_sent_to_sign_in(ws_app):
    client = ws_app.test_client()
    for path in ("/workspace/conference", "/workspace/conference/new", "/workspace/conference/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/workspace/sign-in" in response.headers["Location"]


def _form(page: str, **fields) -> dict:
    data = {"csrf_token": csrf_from(page), "family": "Family K", "chair_name": "Rhian Pritchard"}
    data.update({"meeting_date-day": "5", "meeting_date-month": "11", "meeting_date-year": "2026"})
    data.update(fields)
    return data


def test_a_chair_records_a_conference_through_the_page(ws_app, ws_session):
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    page = chair.get("/workspace/conference/new").get_data(as_text=True)
    assert "Greenfield High School" in page and "Non-attendance at conference" in page
    data = _form(
        page,
        **{
            "rows-0-agency": "Greenfield High School",
            "rows-0-reason": "non-attendance",
            "rows-1-agency": "West Yorkshire Police",
            "rows-1-agency_rep": "DC Smith",
            "rows-1-reason": "report-not-provided",
        },
    )
    response = chair.post("/workspace/conference/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    shown = chair.get(response.headers["Location"]).get_data(as_text=True)
    assert "Conference recorded: 2 agency notification(s) queued." in shown
    assert "Report not provided" in shown and "Awaiting response" in shown
    assert "Designated Safeguarding Lead &lt;dsl@greenfield-high.example&gt;" in shown
    assert "CPRU &lt;cpru@kscp.example&gt;" in shown
    assert ws_session.scalar(select(func.count()).select_from(OutboxMessage)) == 4
    conference = ws_session.scalars(select(Conference)).one()
    assert conference.chair_user_id is not None and conference.recorded_by == "chair@kirklees.example"
    entry = ws_session.scalars(select(AuditEntry).where(AuditEntry.action == "conference.record")).one()
    assert entry.actor == "chair@kirklees.example" and entry.partnership == "kirklees"
    assert all(i.case.reference in entry.detail for i in conference.issues)


def test_a_wrong_page_answer_is_shown_against_its_row(ws_app, ws_session):
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    page = chair.get("/workspace/conference/new").get_data(as_text=True)
    data = _form(page, **{"rows-0-agency": "Greenfield High School", "rows-0-reason": "other"})
    response = chair.post("/workspace/conference/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'href="#rows-0-reason_detail"' in html and "say what the other issue is" in html
    assert "Family K" in html  # the answers are kept
    del data["csrf_token"]
    assert chair.post("/workspace/conference/new", data=data).status_code == 400
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0


def test_the_agency_responds_through_its_private_link(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    body = ws_session.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id)).first()
    path = re.search(r"http://escalate\.example(/conference/respond/\S+)", body).group(1)
    client = ws_app.test_client()
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Greenfield High School" in html
    assert "Family B" not in html  # the link shows no child details
    missing = client.post(path, data={**hidden_from(html), "responder": "", "text": ""})
    assert missing.status_code == 400 and "enter your name" in missing.get_data(as_text=True)
    done = client.post(
        path, data={**hidden_from(html), "responder": "A. Lead, DSL", "text": "We will attend next time."}
    )
    assert done.status_code == 200 and "Response received" in done.get_data(as_text=True)
    ws_session.refresh(conference.issues[0])
    assert conference.issues[0].status == "responded"
    assert conference.issues[0].responses[0].text == "We will attend next time."
    assert client.get("/conference/respond/not-a-real-token").status_code == 404


def test_exports_as_csv_and_xlsx(ws_app, ws_session):
    record(ws_app, ws_session, answers(family='=HYPERLINK("http://x.example")'))
    bu = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    response = bu.get("/workspace/conference/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:6] == ["Reference", "Partnership", "Conference date", "Family", "Conference chair", "Agency"]
    assert len(rows) == 4 and rows[1][3].startswith("'=")  # no formula in a spreadsheet
    assert {r[5] for r in rows[1:]} == {
        "Greenfield High School",
        "Adult Mental Health Service",
        "West Yorkshire Police",
    }
    only = bu.get("/workspace/conference/export.csv?agency=west+yorkshire+police").get_data(as_text=True)
    assert len(only.strip().splitlines()) == 2
    book = load_workbook(io.BytesIO(bu.get("/workspace/conference/export.xlsx").data), read_only=True)
    sheet = [[c.value for c in r] for r in book["Conference log"].iter_rows()]
    assert len(sheet) == 4 and sheet[1][3] == '=HYPERLINK("http://x.example")'  # stored as text
    assert book["Conference log"]["D2"].data_type == "s"
    assert bu.get("/workspace/conference/export.xlsx?from=not-a-date").status_code == 400


def test_views_by_agency_chair_and_period_and_patterns(ws_app, ws_session):
    now = dt.datetime.now(dt.UTC)
    record(ws_app, ws_session, answers(meeting_date=TODAY.isoformat(), family="Family C"), now=now)
    record(ws_app, ws_session, answers(meeting_date=TODAY.isoformat()), now=now)
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    page = chair.get("/workspace/conference").get_data(as_text=True)
    assert "Greenfield High School missed 2 conferences this quarter" in page
    for view, name in (("agency", "Adult Mental Health Service"), ("chair", "Rhian Pritchard"), ("period", " Q")):
        html = chair.get(f"/workspace/conference?view={view}").get_data(as_text=True)
        assert 'id="summary"' in html and name in html
    assert chair.get("/workspace/conference?view=nonsense").status_code == 400


def _upload(ws_app, content: bytes, filename: str):
    """The chair's upload of a returned table, from the Record a conference page."""
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    page = chair.get("/workspace/conference/new").get_data(as_text=True)
    return chair.post(
        "/workspace/conference/upload",
        data={"csrf_token": csrf_from(page), "table": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize("fmt", ["docx", "pdf", "eml"])
def test_a_returned_table_is_uploaded_into_log_rows(ws_app, ws_session, fmt):
    spec = registry().form("kirklees-appendix-3")
    row = {"meeting_date": "2026-11-05", "family": "Family B", "cp_chair": "Rhian Pritchard", "agency_rep": ""}
    data = {
        "rows": [
            {**row, "agency": "Greenfield High School", "reason": "Did not attend"},
            {**row, "agency": "Adult Mental Health Service", "reason": "Report received late"},
        ]
    }
    if fmt == "eml":
        from email.message import EmailMessage

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "chair@kirklees.example",
            "log@escalate.example",
            "Appendix 3",
        )
        message.set_content("Conference escalations attached.")
        docx_bytes = documents.render(spec, data, "docx")
        message.add_attachment(docx_bytes, maintype="application", subtype="octet-stream", filename="appendix3.docx")
        content = message.as_bytes()
    else:
        content = documents.render(spec, data, fmt)
    response = _upload(ws_app, content, f"appendix3.{fmt}")
    assert response.status_code == 302, response.get_data(as_text=True)
    (conference,) = ws_session.scalars(select(Conference)).all()
    assert [(i.agency, i.reason) for i in conference.issues] == [
        ("Greenfield High School", "non-attendance"),
        ("Adult Mental Health Service", "report-late"),
    ]
    assert conference.raw == content and conference.channel == "upload"


def test_an_unreadable_upload_says_why(ws_app, ws_session):
    response = _upload(ws_app, b"PK\x03\x04broken", "a3.docx")
    assert response.status_code == 400 and "The table could not be read" in response.get_data(as_text=True)
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0


def test_a_refused_upload_names_each_conference_row_and_question_in_words(ws_app, ws_session):
    """A table whose conferences cannot be logged is refused whole; the error summary names each
    conference by its date, family and chair, then the row and question as the chair's form words it."""
    spec = registry().form("kirklees-appendix-3")
    row = {"family": "Family B", "cp_chair": "Rhian Pritchard", "agency_rep": "", "reason": "Did not attend"}
    future = (TODAY + dt.timedelta(days=30)).isoformat()
    data = {
        "rows": [
            {**row, "meeting_date": "2026-11-05", "agency": "Greenfield High School"},
            {**row, "meeting_date": "2026-11-05", "agency": "Nowhere Agency Ltd"},
            {**row, "meeting_date": future, "agency": "Greenfield High School"},
        ]
    }
    response = _upload(ws_app, documents.render(spec, data, "docx"), "appendix3.docx")
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    summary = {a.get_text(" ", strip=True): a["href"] for a in soup.select(".govuk-error-summary a")}
    when = dt.date.fromisoformat(future).strftime("%-d %B %Y")
    assert summary == {
        "Conference 1 (5 November 2026, Family B, chaired by Rhian Pritchard): Row 2, agency: "
        "no Agency safeguarding lead for the agency 'Nowhere Agency Ltd' in the KSCP directory: check the "
        "agency's name, or the business unit adds its contact to the directory": "#table",
        f"Conference 2 ({when}, Family B, chaired by Rhian Pritchard): "
        "Date of meeting must be today or in the past": "#table",
    }
    text = soup.get_text(" ")
    for inside in ("rows.", "meeting_date", "chair_name", "conference 1 (", "_"):
        assert inside not in " ".join(summary), inside
    assert "meeting_date" not in text and "rows.1" not in text
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0


def test_the_themes_dashboard_shows_the_conference_log(ws_app, ws_session):
    now = dt.datetime.now(dt.UTC)
    for family in ("Family C", "Family D"):
        record(ws_app, ws_session, answers(meeting_date=TODAY.isoformat(), family=family), now=now)
    bu = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    html = bu.get("/workspace/themes").get_data(as_text=True)
    assert "Conference escalations by agency" in html and "Conference escalation patterns this quarter" in html
    assert "Greenfield High School: Non-attendance at conference" in html
    # The conference charts are built apart from the escalations' themes, and each is shown once.
    with ws_app.app_context():
        from service.casework.workdays import Calendar
        from service.workspace import themes

        found = themes.themes(ws_session, registry(), Calendar(), ["kirklees"], None, TODAY)
    assert {c.key for c in found.conference} >= {"conference-agency", "conference-patterns"}
    assert not {c.key for c in found.charts} & {c.key for c in found.conference}
    assert html.count('id="chart-conference-agency"') == 1


def test_the_workspace_navigation_links_the_log_for_those_who_may_read_it(ws_app):
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    assert 'href="/workspace/conference"' in chair.get("/workspace/themes").get_data(as_text=True)
    merton = signed_in(ws_app, "bu@merton.example", "business-unit", "merton")
    assert 'href="/workspace/conference"' not in merton.get("/workspace/themes").get_data(as_text=True)


def test_the_emailed_link_is_on_the_public_base_url_not_the_requests_host(ws_app, ws_session):
    ws_app.config["PUBLIC_BASE_URL"] = "https://escalate.kirklees.example"
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    page = chair.get("/workspace/conference/new").get_data(as_text=True)
    data = _form(page, **{"rows-0-agency": "Greenfield High School", "rows-0-reason": "non-attendance"})
    assert chair.post("/workspace/conference/new", data=data).status_code == 302
    body = ws_session.scalars(select(OutboxMessage.body).where(OutboxMessage.to_email.like("dsl@%"))).one()
    assert "https://escalate.kirklees.example/conference/respond/" in body and "//localhost" not in body


def test_the_business_unit_accepts_a_held_reply_on_the_conference_page(ws_app, ws_session):
    from service.conference import responses
    from tests.conference.test_log import _lead_message, reply

    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Greenfield High School")
    with ws_app.app_context():
        responses.thread_reply(ws_session, reply(lead, "someone@elsewhere.example", "Forwarded for our DSL"))
    bu = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    assert "1 reply e-mail(s) held for review" in bu.get("/workspace/conference").get_data(as_text=True)
    page = bu.get(f"/workspace/conference/{conference.id}").get_data(as_text=True)
    assert "held for review" in page and "Forwarded for our DSL" in page
    action = re.search(r'action="(/workspace/conference/reply/\d+/accept)"', page).group(1)
    assert bu.post(action, data={}).status_code == 400  # no CSRF token
    assert bu.post(action, data={"csrf_token": csrf_from(page)}).status_code == 302
    ws_session.refresh(conference.issues[0])
    assert conference.issues[0].status == "responded"
    merton = signed_in(ws_app, "bu@merton.example", "business-unit", "merton")
    assert merton.post(action, data={"csrf_token": csrf_from(page)}).status_code in (400, 403)


def _summary_links(html: str) -> list[str]:
    summary = BeautifulSoup(html, "html.parser").select_one(".govuk-error-summary")
    return [a["href"] for a in summary.select("a")] if summary else []


@pytest.mark.parametrize(
    ("query", "links"),
    [
        ("from=5/11/2026&to=never", ["#from", "#to"]),
        ("view=everything", ["#view"]),
        ("partnership=merton", ["#partnership"]),  # a chair of one partnership asking for another's
    ],
)
def test_every_error_on_the_log_page_links_to_its_input(ws_app, query, links):
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    response = chair.get(f"/workspace/conference?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and _summary_links(html) == links
    page = BeautifulSoup(html, "html.parser")
    assert all(page.find(id=link[1:]) is not None for link in links), links


def test_the_response_page_names_a_missing_answer_by_its_label(ws_app, ws_session):
    record(ws_app, ws_session)
    body = ws_session.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id)).first()
    path = re.search(r"http://escalate\.example(/conference/respond/\S+)", body).group(1)
    client = ws_app.test_client()
    html = client.get(path).get_data(as_text=True)
    missing = client.post(path, data={**hidden_from(html), "responder": "", "text": "x"})
    page = BeautifulSoup(missing.get_data(as_text=True), "html.parser")
    summary = page.select_one(".govuk-error-summary").get_text(" ", strip=True)
    assert "Your name and role: enter your name" in summary and "responder" not in summary
    assert _summary_links(str(page)) == ["#responder"] and page.find(id="responder") is not None


def test_the_conference_page_says_how_it_was_recorded_in_words(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    bu = signed_in(ws_app, "bu@kirklees.example", "business-unit", "kirklees")
    soup = BeautifulSoup(bu.get(f"/workspace/conference/{conference.id}").get_data(as_text=True), "html.parser")
    recorded = {
        row.select_one("dt").get_text(strip=True): row.select_one("dd").get_text(strip=True)
        for row in soup.select(".govuk-summary-list__row")
    }["Recorded by"]
    assert recorded == "chair@kirklees.example (sent with the web form)"  # not the channel's key, "(web)"
