"""The chair's log (issue 7): recording, routing and the Appendix 3 notification, responses by link
and by reply e-mail, follow-up and chasers, patterns, exports, returned tables, and who sees what."""

from __future__ import annotations

import datetime as dt
import io
import re
from email.message import EmailMessage

import docx
import pytest
from sqlalchemy import func, select

from app import create_app
from forms import registry
from service.casework import directory, outbox
from service.casework.models import Case, OutboxMessage
from service.conference import log, patterns, responses, tables
from service.conference.models import Conference, ConferenceResponse
from service.db import sessions
from service.documents import records as documents
from tests.intake.mailauth import MX, vouched
from tests.workspace.support import WS_CONFIG

NOW = dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC)  # Monday 9 November 2026
SPEC = registry().form("kirklees-appendix-3")
ROWS = [
    {"agency": "Greenfield High School", "agency_rep": "Not known", "reason": "non-attendance"},
    {
        "agency": "Adult Mental Health Service",
        "agency_rep": "Dr Kwame Mensah",
        "reason": "report-late",
        "reason_detail": "received on the morning of conference",
    },
    {
        "agency": "West Yorkshire Police",
        "agency_rep": "DC Nguyễn Văn An",
        "reason": "other",
        "reason_detail": "Report did not address the child's lived experience",
    },
]
LEADS = {
    "Greenfield High School": "dsl@greenfield-high.example",
    "Adult Mental Health Service": "safeguarding@amhs.example",
    "West Yorkshire Police": "safeguarding.lead@wyp.example",
}
CPRU = "cpru@kscp.example"


@pytest.fixture(name="ws_app")
def conference_app(db_engine):
    """The app on db_engine (SQLite, and PostgreSQL with TEST_DATABASE_URL), CSRF on, directory seeded."""
    app = create_app({**WS_CONFIG, "DATABASE_ENGINE": db_engine, "TRUSTED_AUTHSERV_ID": MX})
    with sessions(app)() as session:
        directory.seed(session)
    return app


@pytest.fixture(name="ws_session")
def conference_session(ws_app):
    with sessions(ws_app)() as session:
        yield session


def answers(**changes) -> dict:
    base = {"meeting_date": "2026-11-05", "family": "Family B", "chair_name": "Rhian Pritchard", "rows": ROWS}
    return {**base, **changes}


def link_for(token: str) -> str:
    return f"http://escalate.example/conference/respond/{token}"


def record(app, session, data=None, now=NOW) -> Conference:
    with app.app_context():
        return log.record(
            session, "kirklees", data or answers(), recorded_by="chair@kirklees.example", link_for=link_for, now=now
        )


def messages(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_each_row_is_a_case_routed_to_the_agency_lead_copying_the_cpru(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    assert [i.agency for i in conference.issues] == [r["agency"] for r in ROWS]
    references = [i.case.reference for i in conference.issues]
    assert len(set(references)) == 3 and all(re.fullmatch(r"KL-2026-\d{4}", r) for r in references)
    for issue in conference.issues:
        assert issue.case.process == "cp-conference" and issue.case.receiving_agency == issue.agency
        # Five working days from Monday 9 November 2026 (§2): Monday 16 November.
        assert issue.notified_on == dt.date(2026, 11, 9) and issue.due == dt.date(2026, 11, 16)
        sent = [m for m in messages(ws_session) if m.case_id == issue.case_id]
        assert sorted(m.to_email for m in sent) == sorted([LEADS[issue.agency], CPRU])
        assert all(m.subject.startswith(f"[{issue.case.reference}] ") for m in sent)
        # The one row only: the case's data is that agency's row.
        assert [r["agency"] for r in issue.case.submissions[0].data["rows"]] == [issue.agency]
    assert len(messages(ws_session)) == 6


def test_the_lead_gets_the_policy_letter_with_the_link_and_the_cpru_a_copy(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    issue = conference.issues[1]
    sent = {m.to_email: m for m in messages(ws_session) if m.case_id == issue.case_id}
    lead, copy = sent[LEADS[issue.agency]], sent[CPRU]
    for text in (*SPEC.instructions, *SPEC.closing):
        assert " ".join(text.split()) in " ".join(lead.body.split())
    assert "Reason for escalation: Report provided late: received on the morning of conference" in lead.body
    assert "CPRU: cpru@kscp.example" in lead.body
    assert "Monday 16 November 2026" in lead.body
    assert "Family B" not in lead.body  # child details stay in the attachment
    token = re.search(r"/conference/respond/(\S+)", lead.body).group(1)
    assert responses.by_token(ws_session, token).id == issue.id
    assert "/conference/respond/" not in copy.body and "Copy for the CPRU" in copy.body


def test_the_notification_is_attached_as_docx_and_pdf_holding_only_that_row(ws_app, ws_session):
    record(ws_app, ws_session)
    row = next(m for m in messages(ws_session) if m.to_email == LEADS["Greenfield High School"])
    with ws_app.app_context():
        built = outbox.build_message(ws_session, row, outbox.MailSettings())
    parts = {p.get_filename(): p.get_content() for p in built.iter_attachments()}
    reference = ws_session.get(Case, row.case_id).reference
    assert set(parts) == {f"{reference}-kirklees-appendix-3.docx", f"{reference}-kirklees-appendix-3.pdf"}
    assert parts[f"{reference}-kirklees-appendix-3.pdf"].startswith(b"%PDF")
    document = docx.Document(io.BytesIO(parts[f"{reference}-kirklees-appendix-3.docx"]))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert "Greenfield High School" in cells and "Family B" in cells
    assert "West Yorkshire Police" not in cells and "Adult Mental Health Service" not in cells
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Please contact the CPRU" in text
    assert "partnership training is available" in text


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"rows": [{**ROWS[0], "agency": "Nowhere Academy"}]}, "rows.0.agency", "no Agency safeguarding lead"),
        ({"rows": [ROWS[0], {**ROWS[2], "reason_detail": ""}]}, "rows.1.reason_detail", "say what the other issue is"),
        ({"rows": [{**ROWS[0], "reason": "late"}]}, "rows.0.reason", "choose one of"),
        ({"rows": []}, "rows", "from 1 to"),
        ({"meeting_date": "2026-11-31"}, "meeting_date", "not a date"),
        ({"meeting_date": "2026-12-01"}, "meeting_date", "in the future"),
        ({"family": "x" * 121}, "family", "between 1 and 120"),
        ({"chair_name": "  "}, "chair_name", "between 1 and 200"),
    ],
)
def test_a_wrong_answer_is_named_and_nothing_is_stored(ws_app, ws_session, changes, key, words):
    with pytest.raises(log.LogError) as error:
        record(ws_app, ws_session, answers(**changes))
    assert key in error.value.messages, error.value.messages
    assert words in " ".join(error.value.messages[key])
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0
    assert ws_session.scalar(select(func.count()).select_from(Case)) == 0


def _lead_message(session, agency: str) -> OutboxMessage:
    return next(m for m in messages(session) if m.to_email == LEADS[agency])


def reply(
    to: OutboxMessage,
    sender: str,
    text: str,
    *,
    thread: str = "in-reply-to",
    message_id: str | None = None,
    dmarc: str = "pass",
):
    """A reply as the partnership's receiving server hands it on, with its DMARC verdict."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "escalations@escalate.example"
    # In-Reply-To alone must thread it (a subject without the reference); else the reference tag.
    message["Subject"] = {"subject": "Re: " + to.subject, "in-reply-to": "Re: conference"}.get(thread, "Our response")
    message["Message-ID"] = message_id or f"<reply-{to.id}@{sender.split('@')[1]}>"
    if thread == "in-reply-to":
        message["In-Reply-To"] = to.message_id
    message.set_content(f"{text}\n\nOn Mon, 9 Nov 2026 Escalate wrote:\n> Dear lead,\n> quoted notification\n")
    return vouched(message.as_bytes(), dmarc)


def test_a_failure_part_way_records_nothing_and_sends_nothing(ws_app, ws_session):
    """The third row fails after two are written: the whole conference is rolled back, so no
    agency is told of a conference the log does not hold."""
    made = []

    def failing_link(token: str) -> str:
        made.append(token)
        if len(made) == 3:
            raise OSError("the database went away")
        return link_for(token)

    with ws_app.app_context(), pytest.raises(OSError):
        log.record(ws_session, "kirklees", answers(), recorded_by="chair@kirklees.example", link_for=failing_link)
    counted = [ws_session.scalar(select(func.count()).select_from(t)) for t in (Conference, Case, OutboxMessage)]
    assert counted == [0, 0, 0]
    assert record(ws_app, ws_session).id is not None  # and the log goes on working


@pytest.mark.parametrize("thread", ["in-reply-to", "subject"])
def test_a_reply_email_is_threaded_to_its_row(ws_app, ws_session, thread):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Adult Mental Health Service")
    raw = reply(
        lead, LEADS["Adult Mental Health Service"], "Our report was late; we have changed our process.", thread=thread
    )
    with ws_app.app_context():
        result = responses.thread_reply(ws_session, raw, now=NOW)
    issue = conference.issues[1]
    assert result.reference == issue.case.reference and result.accepted and not result.duplicate
    ws_session.refresh(issue)
    assert issue.status == "responded"
    (response,) = issue.responses
    assert response.channel == "email" and response.text == "Our report was late; we have changed our process."
    assert response.raw == raw
    assert [i.status for i in conference.issues] == ["awaiting", "responded", "awaiting"]
    with ws_app.app_context():
        again = responses.thread_reply(ws_session, raw, now=NOW)
    assert again.duplicate and ws_session.scalar(select(func.count()).select_from(ConferenceResponse)) == 1


def test_a_reply_from_a_stranger_is_held_and_a_person_can_accept_it(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Greenfield High School")
    with ws_app.app_context():
        result = responses.thread_reply(ws_session, reply(lead, "someone@elsewhere.example", "Hello"), now=NOW)
        assert not result.accepted and "held for review" in result.reason
        issue = conference.issues[0]
        ws_session.refresh(issue)
        assert issue.status == "awaiting" and len(responses.held(ws_session, ["kirklees"])) == 1
        responses.accept(ws_session, issue.responses[0])
        assert issue.status == "responded"


def test_mail_that_answers_no_row_or_is_not_mail(ws_app, ws_session):
    record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Greenfield High School")
    with ws_app.app_context():
        assert (
            responses.thread_reply(ws_session, reply(lead, LEADS["Greenfield High School"], "x", thread="none")) is None
        )
        with pytest.raises(responses.ResponseError, match="not an e-mail"):
            responses.thread_reply(ws_session, b"%PDF-1.7 not mail")


def test_an_overdue_response_raises_a_chaser_then_stops(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    with ws_app.app_context():
        responses.record_link_response(
            ws_session, conference.issues[0], responder="DSL", text="We will attend.", send_key="chaser-test-key-0001"
        )
        assert log.chase(ws_session, now=NOW + dt.timedelta(days=7), link_for=link_for) == []  # due Monday 16th
        chased = log.chase(ws_session, now=dt.datetime(2026, 11, 17, 8, tzinfo=dt.UTC), link_for=link_for)
    assert sorted(c.agency for c in chased) == ["Adult Mental Health Service", "West Yorkshire Police"]
    assert all(c.due == dt.date(2026, 11, 24) and c.chasers == 1 for c in chased)
    reminders = [m for m in messages(ws_session) if "Reminder: response overdue" in m.subject]
    assert sorted(m.to_email for m in reminders) == sorted(
        [LEADS["Adult Mental Health Service"], LEADS["West Yorkshire Police"], CPRU, CPRU]
    )
    lead = next(m for m in reminders if m.to_email == LEADS["West Yorkshire Police"])
    token = re.search(r"/conference/respond/(\S+)", lead.body).group(1)
    assert responses.by_token(ws_session, token).agency == "West Yorkshire Police"  # the same link again
    with ws_app.app_context():
        assert len(log.chase(ws_session, now=dt.datetime(2026, 11, 25, 8, tzinfo=dt.UTC), link_for=link_for)) == 2
        assert log.chase(ws_session, now=dt.datetime(2026, 12, 10, 8, tzinfo=dt.UTC), link_for=link_for) == []
    assert [i.chasers for i in conference.issues] == [0, 2, 2]


def test_chase_command(ws_app, ws_session):
    record(ws_app, ws_session, answers(meeting_date="2026-10-01"), now=NOW - dt.timedelta(days=30))
    result = ws_app.test_cli_runner().invoke(args=["conference", "chase"])
    assert result.exit_code == 0, result.output
    assert len([line for line in result.output.splitlines() if line.startswith("{")]) == 3


def test_patterns_by_agency_chair_and_quarter(ws_app, ws_session):
    for day, chair in (("2026-10-06", "Rhian Pritchard"), ("2026-10-20", "Sam Okafor"), ("2026-11-05", "Sam Okafor")):
        record(ws_app, ws_session, answers(meeting_date=day, chair_name=chair, rows=[ROWS[0], ROWS[1]]))
    record(ws_app, ws_session, answers(meeting_date="2026-09-30", rows=[ROWS[0]]))  # last quarter
    found = patterns.patterns(ws_session, ["kirklees"], dt.date(2026, 11, 9))
    assert [p.text for p in found] == [
        "Adult Mental Health Service sent a late report to 3 conferences this quarter (2026 Q4)",
        "Greenfield High School missed 3 conferences this quarter (2026 Q4)",
    ]
    by_agency = {r["name"]: r for r in patterns.by_agency(ws_session, ["kirklees"])}
    assert by_agency["Greenfield High School"]["non-attendance"] == 4
    assert {r["name"]: r["total"] for r in patterns.by_chair(ws_session, ["kirklees"])} == {
        "Sam Okafor": 4,
        "Rhian Pritchard": 3,
    }
    assert [(r["name"], r["total"]) for r in patterns.by_quarter(ws_session, ["kirklees"])] == [
        ("2026 Q3", 1),
        ("2026 Q4", 6),
    ]
    only = patterns.Filters(chair="sam okafor", start=dt.date(2026, 11, 1))
    assert [i.conference.meeting_date for i in patterns.issues(ws_session, ["kirklees"], only)] == [
        dt.date(2026, 11, 5)
    ] * 2
    charts = patterns.dashboard_charts(ws_session, ["kirklees"], 2026, dt.date(2026, 11, 9))
    assert [c.key for c in charts] == [
        "conference-patterns",
        "conference-agency",
        "conference-reason",
        "conference-quarter",
    ]
    assert ("Greenfield High School: Non-attendance at conference", "3") in charts[0].rows
    assert ("Greenfield High School", "4") in charts[1].rows
    assert patterns.dashboard_charts(ws_session, ["merton"], 2026, dt.date(2026, 11, 9)) == []
    assert patterns.dashboard_charts(ws_session, ["kirklees"], 2025, dt.date(2026, 11, 9)) == []  # nothing logged
    assert patterns.patterns(ws_session, ["merton"], dt.date(2026, 11, 9)) == []


def test_returned_tables_are_read_into_log_rows(ws_app, ws_session, tmp_path):
    data = {
        "rows": [
            {
                "meeting_date": "2026-11-05",
                "family": "Family B",
                "cp_chair": "Rhian Pritchard",
                "agency": "Greenfield High School",
                "agency_rep": "",
                "reason": "Did not attend; no report submitted",
            },
            {
                "meeting_date": "2026-11-05",
                "family": "Family B",
                "cp_chair": "Rhian Pritchard",
                "agency": "West Yorkshire Police",
                "agency_rep": "DC Smith",
                "reason": "Report received late",
            },
            {
                "meeting_date": "2026-11-02",
                "family": "J family",
                "cp_chair": "Sam Okafor",
                "agency": "Adult Mental Health Service",
                "agency_rep": "",
                "reason": "Safeguarding plan queried",
            },
        ]
    }
    content = documents.render(SPEC, data, "pdf")
    with ws_app.app_context():
        found = tables.ingest(
            ws_session,
            content,
            "appendix-3.pdf",
            "kirklees",
            recorded_by="bu@kirklees.example",
            link_for=link_for,
            now=NOW,
        )
    assert [(c.meeting_date.isoformat(), c.family, len(c.issues)) for c in found] == [
        ("2026-11-05", "Family B", 2),
        ("2026-11-02", "J family", 1),
    ]
    assert [i.reason for c in found for i in c.issues] == ["non-attendance", "report-late", "other"]
    assert found[0].issues[1].reason_detail == "Report received late" and found[0].raw == content
    assert len(messages(ws_session)) == 6


def test_a_returned_table_naming_an_unknown_agency_is_refused_whole(ws_app, ws_session):
    data = {
        "rows": [{"meeting_date": "2026-11-05", "family": "F", "cp_chair": "C", "agency": "Nowhere", "reason": "late"}]
    }
    with ws_app.app_context(), pytest.raises(log.LogError, match="Nowhere"):
        tables.ingest(
            ws_session, documents.render(SPEC, data, "docx"), "a3.docx", "kirklees", recorded_by="x@y.example"
        )
    with ws_app.app_context(), pytest.raises(tables.TableError):
        tables.ingest(ws_session, b"not a document", "a3.txt", "kirklees", recorded_by="x@y.example")
    assert ws_session.scalar(select(func.count()).select_from(Conference)) == 0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Non-attendance at Initial Child Protection Conference; no report submitted", "non-attendance"),
        ("Did not attend", "non-attendance"),
        ("No report provided", "report-not-provided"),
        ("Report was not submitted", "report-not-provided"),
        ("Report provided late: two days before", "report-late"),
        ("Plan queried", "other"),
    ],
)
def test_reasons_written_in_a_table_are_classified(text, reason):
    assert tables.classify(text) == reason


def test_reply_and_import_commands(ws_app, ws_session, tmp_path):
    record(ws_app, ws_session)
    lead = _lead_message(ws_session, "West Yorkshire Police")
    good = tmp_path / "reply.eml"
    good.write_bytes(
        reply(lead, LEADS["West Yorkshire Police"], "Noted; the report template is being revised.", thread="subject")
    )
    stranger = tmp_path / "stranger.eml"
    stranger.write_bytes(
        reply(lead, "someone@elsewhere.example", "Hi", thread="subject", message_id="<s@elsewhere.example>")
    )
    runner = ws_app.test_cli_runner()
    result = runner.invoke(args=["conference", "reply", str(good), str(stranger)])
    assert result.exit_code == 0, result.output
    assert '"status": "recorded"' in result.output and '"status": "held"' in result.output
    again = runner.invoke(args=["conference", "reply", str(good)])
    assert '"status": "duplicate"' in again.output
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4 not mail")
    refused = runner.invoke(args=["conference", "reply", str(junk)])
    assert refused.exit_code == 1 and "not an e-mail" in refused.output

    table = tmp_path / "a3.docx"
    row = {"meeting_date": "2026-11-02", "family": "J", "cp_chair": "Sam Okafor", "agency_rep": ""}
    table.write_bytes(
        documents.render(SPEC, {"rows": [{**row, "agency": "Greenfield High School", "reason": "No report"}]}, "docx")
    )
    imported = runner.invoke(
        args=["conference", "import", str(table), "--partnership", "kirklees", "--recorded-by", "bu@kirklees.example"]
    )
    assert imported.exit_code == 0, imported.output
    assert '"meeting_date": "2026-11-02"' in imported.output
    wrong = runner.invoke(
        args=["conference", "import", str(junk), "--partnership", "kirklees", "--recorded-by", "x@y.example"]
    )
    assert wrong.exit_code == 1 and "Error" in wrong.output
