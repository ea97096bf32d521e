"""The outbox against a real SMTP server (aiosmtpd) that the tests switch off and on."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.casework import cases, outbox
from service.casework.models import OutboxMessage
from service.db import sessions
from service.documents import records as documents
from tests.conftest import sample
from tests.support.smtp import SMTPServer

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
# The sample with a phone number only: no receipt to its sender (tests/web/test_receipts.py), so each
# case change here writes exactly its notifications.
NT = {**sample("nt-appendix-a"), "contact_details": "0191 000 0001"}
SSCP = {**sample("sscp-outcome-resolution-notice"), "contact": "0161 000 0005"}


@pytest.fixture
def smtp():
    server = SMTPServer()
    yield server
    server.stop()


def settings(server: SMTPServer) -> outbox.MailSettings:
    return outbox.MailSettings(host="127.0.0.1", port=server.port, timeout=5)


def rows(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_outbox_row_is_written_with_the_case_change(db_session):
    outcome = cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    [row] = rows(db_session)
    assert row.status == "pending" and row.to_email == "business.manager@ntscp.example"
    assert row.subject.startswith(f"[{outcome.reference}] ")
    assert row.message_id.startswith("<") and outcome.reference in row.message_id
    assert "ntscp-notified-from-stage-3" not in row.body and row.routing.reason in row.body  # the role in words
    assert sample("nt-appendix-a")["worry"] not in row.body  # the record travels as the attachment


def test_smtp_down_then_up_loses_nothing_and_sends_once(db_app, db_session, smtp):
    outcome = cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    factory = sessions(db_app)

    down = outbox.deliver(factory, settings(smtp), now=NOW)  # nobody listening on the port
    assert (down.claimed, down.sent, down.failed) == (1, 0, 1)
    [row] = rows(db_session)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert row.next_attempt_at == NOW + dt.timedelta(minutes=1) and row.claimed_until is None

    assert outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(seconds=30)).claimed == 0  # backing off
    again = outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(minutes=1))
    assert again.failed == 1 and rows(db_session)[0].next_attempt_at == NOW + dt.timedelta(minutes=3)

    smtp.start()
    up = outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(minutes=3))
    assert (up.sent, up.failed) == (1, 0)
    [row] = rows(db_session)
    assert row.status == "sent" and row.sent_at is not None
    [message] = smtp.inbox.messages
    assert message["Message-ID"] == row.message_id
    assert message["Subject"].startswith(f"[{outcome.reference}]")
    assert message["To"] == '"Business Manager, NTSCP" <business.manager@ntscp.example>'
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() in documents.FORMATS.values()
    assert attachment.get_filename().startswith(f"{outcome.reference}-nt-appendix-a.")
    assert len(attachment.get_content()) > 1000

    assert outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(hours=2)).claimed == 0
    assert len(smtp.inbox.messages) == 1


def test_a_crash_between_sending_and_marking_sent_keeps_the_message_identity(db_app, db_session, smtp):
    cases.submit(db_session, "kirklees-appendix-5", sample("kirklees-appendix-5"), channel="web", now=NOW)
    factory = sessions(db_app)
    smtp.start()

    def crash(_row):
        raise SystemExit("worker killed after the server accepted the message")

    with pytest.raises(SystemExit):
        outbox.deliver(factory, settings(smtp), now=NOW, after_send=crash)
    [row] = rows(db_session)
    assert row.status == "pending" and row.claimed_until == NOW + outbox.LEASE  # still leased to the dead worker
    assert len(smtp.inbox.messages) == 1

    # While the lease holds, no other worker sends it again.
    assert outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(minutes=1)).claimed == 0
    assert len(smtp.inbox.messages) == 1
    # After the lease, it is sent again as the same message: same Message-ID, subject and body.
    later = outbox.deliver(factory, settings(smtp), now=NOW + outbox.LEASE + dt.timedelta(seconds=1))
    assert later.sent == 1 and rows(db_session)[0].status == "sent"
    first, second = smtp.inbox.messages
    assert first["Message-ID"] == second["Message-ID"] == row.message_id
    assert first["Subject"] == second["Subject"] and first["Date"] == second["Date"]
    assert first.get_body(("plain",)).get_content() == second.get_body(("plain",)).get_content()


def test_two_workers_never_claim_the_same_row(db_app, db_session):
    for _ in range(3):
        cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    factory = sessions(db_app)
    first = outbox._claim(factory, "worker-a", NOW, limit=2)
    second = outbox._claim(factory, "worker-b", NOW, limit=10)
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
    assert outbox._claim(factory, "worker-c", NOW, limit=10) == []


def test_server_goes_down_mid_batch_and_the_rest_wait(db_app, db_session, smtp):
    for _ in range(3):
        cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    factory = sessions(db_app)
    smtp.start()

    def stop_after_first(_row):
        smtp.stop()

    report = outbox.deliver(factory, settings(smtp), now=NOW, after_send=stop_after_first)
    assert report.sent >= 1 and report.sent + report.failed == 3
    assert len(smtp.inbox.messages) == report.sent
    smtp.start()
    rest = outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(minutes=1))
    assert rest.sent == report.failed
    assert all(r.status == "sent" for r in rows(db_session))
    assert len({m["Message-ID"] for m in smtp.inbox.messages}) == 3 == len(smtp.inbox.messages)


def test_cli_deliver_uses_the_configured_server(db_app, db_session, smtp):
    cases.submit(db_session, "sscp-outcome-resolution-notice", SSCP, channel="web")
    db_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    runner = db_app.test_cli_runner()
    down = runner.invoke(args=["outbox", "deliver"])
    assert down.exit_code == 0 and "sent 0, failed 1" in down.output
    assert "1 pending" in runner.invoke(args=["outbox", "status"]).output
    # Retry times are real time here, so mark the row due again rather than wait a minute.
    row = rows(db_session)[0]
    row.next_attempt_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.commit()
    smtp.start()
    up = runner.invoke(args=["outbox", "deliver"])
    assert up.exit_code == 0 and "sent 1, failed 0" in up.output
    assert smtp.inbox.messages[0]["Subject"].startswith("[SS-")


def test_backoff_doubles_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]


def test_a_record_that_will_not_render_holds_back_no_message(db_app, db_session, smtp):
    """Its e-mail goes with a link to the record instead (tests/casework/test_outbox_dead_letters.py)."""
    broken = cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    cases.submit(db_session, "sscp-outcome-resolution-notice", SSCP, channel="web", now=NOW)
    submission = cases.get(db_session, broken.reference).submissions[0]
    submission.data = {"not": "a field of the form"}  # as if the stored data had been damaged
    db_session.commit()
    smtp.start()
    report = outbox.deliver(sessions(db_app), settings(smtp), now=NOW)
    assert (report.sent, report.failed) == (2, 0)
    first, second = smtp.inbox.messages
    assert list(first.iter_attachments()) == [] and len(list(second.iter_attachments())) == 1
