"""The conference log in issue 5's ingestion pipeline: replies to a row by SMTP/IMAP are threaded to
it (held when the sender is not a party, applied when a person releases them); returned Appendix 3
tables become log rows, each agency notified on its own; from a stranger by e-mail they are held."""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import docx
from sqlalchemy import func, select, update

from service.casework.models import Case, OutboxMessage
from service.conference.models import Conference, ConferenceResponse
from service.db import sessions
from service.documents import records as documents
from service.intake import claims, ingest, review
from service.intake.models import ReceivedItem
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
        assert held.status == "held" and held.reason == (
            "the Appendix 3 table from someone@elsewhere.example, who may not record the KSCP conference log; "
            "held for review"
        )  # the partnership as staff name it, not its id ('kirklees')
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
    item = ws_session.get(ReceivedItem, outcome.item_id)
    assert item.form_id == SPEC.id and item.parsed  # what was read is kept for the person correcting it
    # A person corrects the agency and runs it again: their answers, not the document's, are recorded.
    with ws_app.app_context():
        again = review.reprocess(ws_session, outcome.item_id, actor="bu@kirklees.example", data=TABLE, now=NOW)
    assert again.status == "accepted", again.reason
    (conference,) = ws_session.scalars(select(Conference)).all()
    assert [i.agency for i in conference.issues] == ["Greenfield High School", "West Yorkshire Police"]


def _two_readers(app, session, content: bytes, channel: str) -> tuple[list, ReceivedItem]:
    """Two readers of one item: the first claimed it, stalled past its lease and was overtaken by the
    second; then both read and apply it at once, each in a thread of its own with its own session."""
    item_id = ingest.store(session, content, channel=channel, now=NOW).item_id
    slow_session, other_session = sessions(app)(), sessions(app)()
    slow = claims.claim(slow_session, item_id, "slow-job")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.execute(update(ReceivedItem).where(ReceivedItem.id == item_id).values(lease_until=past))
    session.commit()
    taken = claims.claim(other_session, item_id, "other-job")
    assert slow is not None and taken is not None and taken.read_starts == 2

    def apply(reader_session, item):
        with app.app_context(), reader_session:
            outcome = ingest._guarded(reader_session, item, NOW, trusted=False)
            return outcome if outcome is None else outcome.status

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(apply, (slow_session, other_session), (slow, taken)))
    return outcomes, session.get(ReceivedItem, item_id, populate_existing=True)


def test_a_table_read_by_an_overtaken_reader_too_is_recorded_once(ws_app, ws_session):
    make_user(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    outcomes, item = _two_readers(ws_app, ws_session, _emailed_table("chair@kirklees.example"), "smtp")
    assert outcomes == [None, "accepted"]  # the overtaken reader's log rows were rolled back with its claim
    assert item.status == "accepted" and item.claim == "other-job" and item.case_reference
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 1
    assert ws_session.scalar(select(func.count()).select_from(Case)) == 2
    assert ws_session.scalar(select(func.count()).select_from(OutboxMessage)) == 4


def test_a_reply_read_by_an_overtaken_reader_too_is_recorded_once(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "West Yorkshire Police")
    raw = reply(lead, LEADS["West Yorkshire Police"], "We will review our report template.")
    outcomes, item = _two_readers(ws_app, ws_session, raw, "smtp")
    assert outcomes == [None, "accepted"]
    assert item.status == "accepted" and item.claim == "other-job"
    assert item.case_reference == conference.issues[2].case.reference
    assert ws_session.scalar(select(func.count()).select_from(ConferenceResponse)) == 1


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


def test_a_table_whose_conferences_are_refused_is_quarantined_in_words(ws_app, ws_session):
    """Each refused conference is named by its date, family and chair, then the row and question as
    the chair's form words them: no answer keys (the table's form allows a longer family name than the log)."""
    huge = "Family " + "Z" * 150
    bad = {
        "rows": [
            {**TABLE["rows"][0], "agency": "Nowhere Academy"},
            {**TABLE["rows"][1], "meeting_date": "2026-11-06", "family": huge},
            {**TABLE["rows"][1], "meeting_date": "2026-11-06", "family": huge, "agency": "Greenfield High School"},
        ]
    }
    with ws_app.app_context():
        outcome = ingest.ingest(
            ws_session, documents.render(SPEC, bad, "docx"), channel="upload", filename="a3.docx", now=NOW
        )
    assert outcome.status == "quarantined", outcome.reason[:500]
    assert outcome.reason == (
        "the table's conferences were not recorded: "
        "Conference 1 (5 November 2026, Family B, chaired by Rhian Pritchard): Row 1, agency: no Agency "
        "safeguarding lead for the agency 'Nowhere Academy' in the KSCP directory: check the agency's name, or "
        "the business unit adds its contact to the directory; "
        f"Conference 2 (6 November 2026, {huge}, chaired by Rhian Pritchard): Family name or identifying "
        "factors: enter at most 120 characters"
    )
    assert ws_session.get(ReceivedItem, outcome.item_id).reason == outcome.reason
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0
