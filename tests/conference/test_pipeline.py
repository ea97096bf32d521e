"""The conference log in issue 5's ingestion pipeline: replies to a row by SMTP/IMAP are threaded to
it (held when the sender is not a party, applied when a person releases them); returned Appendix 3
tables become log rows, each agency notified on its own; from a stranger by e-mail they are held."""

from __future__ import annotations

import io
from email.message import EmailMessage

import docx
from sqlalchemy import func, select

from service.casework.models import Case, OutboxMessage
from service.conference.models import Conference
from service.documents import records as documents
from service.intake import ingest, review
from tests.conference.test_log import (  # noqa: F401
    LEADS,
    NOW,
    SPEC,
    _lead_message,
    conference_app,
    conference_session,
    record,
    reply,
)
from tests.workspace.support import make_user

TABLE = {
    "rows": [
        {
            "meeting_date": "2026-11-05",
            "family": "Family B",
            "cp_chair": "Rhian Pritchard",
            "agency_rep": "",
            "agency": "Greenfield High School",
            "reason": "Did not attend",
        },
        {
            "meeting_date": "2026-11-05",
            "family": "Family B",
            "cp_chair": "Rhian Pritchard",
            "agency_rep": "",
            "agency": "West Yorkshire Police",
            "reason": "Report late",
        },
    ]
}


def test_a_reply_by_smtp_is_threaded_to_its_row(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "West Yorkshire Police")
    raw = reply(lead, LEADS["West Yorkshire Police"], "We will review our report template.")
    with ws_app.app_context():
        outcome = ingest.ingest(ws_session, raw, channel="smtp", now=NOW)
    assert outcome.status == "accepted" and outcome.reference == conference.issues[2].case.reference
    ws_session.refresh(conference.issues[2])
    assert conference.issues[2].status == "responded"
    assert conference.issues[2].responses[0].text == "We will review our report template."
    with ws_app.app_context():
        assert ingest.ingest(ws_session, raw, channel="smtp", now=NOW).status == "duplicate"


def test_a_strangers_reply_is_held_until_a_person_releases_it(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Greenfield High School")
    with ws_app.app_context():
        held = ingest.ingest(ws_session, reply(lead, "someone@elsewhere.example", "Hello"), channel="smtp", now=NOW)
        assert held.status == "held" and "not a party" in held.reason
        issue = conference.issues[0]
        ws_session.refresh(issue)
        assert issue.status == "awaiting"
        released = review.release(ws_session, held.item_id, actor="bu@kirklees.example", now=NOW)
    assert released.status == "accepted"
    ws_session.refresh(issue)
    assert issue.status == "responded" and issue.responses[0].accepted


def _emailed_table(sender: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "escalations@escalate.example", "Appendix 3"
    message["Message-ID"] = f"<a3-{sender.split('@')[0]}@kirklees.example>"
    message.set_content("The conference escalations are attached.")
    message.add_attachment(
        documents.render(SPEC, TABLE, "docx"), maintype="application", subtype="octet-stream", filename="a3.docx"
    )
    return message.as_bytes()


def test_an_appendix_3_table_by_email_from_a_chair_becomes_log_rows(ws_app, ws_session):
    make_user(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    with ws_app.app_context():
        outcome = ingest.ingest(ws_session, _emailed_table("chair@kirklees.example"), channel="smtp", now=NOW)
    assert outcome.status == "accepted", outcome.reason
    (conference,) = ws_session.scalars(select(Conference)).all()
    assert conference.recorded_by == "chair@kirklees.example" and conference.channel == "email"
    assert [(i.agency, i.reason) for i in conference.issues] == [
        ("Greenfield High School", "non-attendance"),
        ("West Yorkshire Police", "report-late"),
    ]
    # One case per agency row, each lead told only of their own row.
    assert ws_session.scalar(select(func.count()).select_from(Case)) == 2
    to = sorted(ws_session.scalars(select(OutboxMessage.to_email)))
    assert to == sorted(
        [LEADS["Greenfield High School"], LEADS["West Yorkshire Police"], "cpru@kscp.example", "cpru@kscp.example"]
    )
    assert {r["email"] for r in outcome.routed} >= {LEADS["Greenfield High School"], "cpru@kscp.example"}


def test_an_appendix_3_table_from_a_stranger_is_held_and_an_upload_is_taken(ws_app, ws_session):
    with ws_app.app_context():
        held = ingest.ingest(ws_session, _emailed_table("someone@elsewhere.example"), channel="smtp", now=NOW)
        assert held.status == "held" and "may not record" in held.reason
        assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0
        uploaded = ingest.ingest(
            ws_session, documents.render(SPEC, TABLE, "pdf"), channel="upload", filename="a3.pdf", now=NOW
        )
    assert uploaded.status == "accepted"
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 1


def test_a_table_naming_an_unknown_agency_is_quarantined_with_the_reason(ws_app, ws_session):
    bad = {"rows": [{**TABLE["rows"][0], "agency": "Nowhere Academy"}]}
    with ws_app.app_context():
        outcome = ingest.ingest(
            ws_session, documents.render(SPEC, bad, "docx"), channel="upload", filename="a3.docx", now=NOW
        )
    assert outcome.status == "quarantined" and "Nowhere Academy" in outcome.reason
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0


def test_a_table_that_does_not_fit_the_form_is_quarantined_in_its_words(ws_app, ws_session):
    """The reason names the question and column by their labels, never a dict of keys."""
    table = docx.Document(io.BytesIO(documents.render(SPEC, {"rows": [TABLE["rows"][0]]}, "docx")))
    for cell in (c for t in table.tables for row in t.rows for c in row.cells):
        if cell.text.strip() in ("Rhian Pritchard", "05/11/2026", "2026-11-05", "5 November 2026"):
            cell.text = "" if cell.text.strip() == "Rhian Pritchard" else "the 40th of Novembruary"
    written = io.BytesIO()
    table.save(written)
    with ws_app.app_context():
        outcome = ingest.ingest(ws_session, written.getvalue(), channel="upload", filename="a3.docx", now=NOW)
    assert outcome.status == "quarantined", outcome.reason
    assert outcome.reason.startswith("the table does not fit the Child Protection Case Conference escalation")
    assert "CP Chair" in outcome.reason and "Date of meeting" in outcome.reason
    assert not any(c in outcome.reason for c in "{}[]") and not any(k in outcome.reason for k in ("cp_chair", "rows."))
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0
