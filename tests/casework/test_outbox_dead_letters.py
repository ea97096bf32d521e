"""Notifications that never stick: the recipient is read from the directory when a message is sent,
headers are built safely whatever a name holds, a message that cannot be sent stops after a bounded
number of attempts in a dead-letter state with its reason and can be retried after a fix, and an
attachment that cannot be built is replaced by a link to the record. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.casework import cases, outbox
from service.casework.models import Contact
from service.db import sessions
from tests.casework import test_outbox
from tests.casework.test_outbox import NOW, NT, rows, settings

smtp = test_outbox.smtp  # the fixture: a local SMTP server the test starts

MANAGER = "business.manager@ntscp.example"


def manager(session) -> Contact:
    return session.scalar(select(Contact).where(Contact.email == MANAGER))


class Refusing:
    """An SMTP handler that refuses one address for good (550) and keeps what it accepts."""

    def __init__(self, inbox, refused: str):
        self.inbox = inbox
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return await self.inbox.handle_DATA(server, session, envelope)


def test_the_recipient_is_read_from_the_directory_when_sent(db_app, db_session, smtp):
    cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    [row] = rows(db_session)
    assert row.role and row.contact_id
    contact = manager(db_session)
    contact.name = "Acting Business Manager"
    contact.email = "acting.manager@ntscp.example"
    db_session.commit()
    smtp.start()
    assert outbox.deliver(sessions(db_app), settings(smtp), now=NOW).sent == 1
    [message] = smtp.inbox.messages
    [to] = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Acting Business Manager", "acting.manager@ntscp.example")
    assert message.get_body(("plain",)).get_content().startswith("Dear Acting Business Manager,")


def test_a_name_with_line_breaks_is_sent_in_one_safe_header(db_app, db_session, smtp):
    contact = manager(db_session)
    contact.name = "Business Manager\r\nBcc: intruder@elsewhere.example\x07"
    db_session.commit()
    cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    smtp.start()
    report = outbox.deliver(sessions(db_app), settings(smtp), now=NOW)
    assert report.sent == 1, report.errors
    [message] = smtp.inbox.messages
    assert message["Bcc"] is None
    assert "\n" not in message["To"] and "\x07" not in message["To"]
    assert message["To"].addresses[0].addr_spec == MANAGER


def test_a_refused_address_is_dead_lettered_with_its_reason_and_retried_after_a_fix(db_app, db_session, smtp):
    cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    smtp.controller = None
    from aiosmtpd.controller import Controller

    smtp.controller = Controller(Refusing(smtp.inbox, MANAGER), hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()
    factory = sessions(db_app)
    report = outbox.deliver(factory, settings(smtp), now=NOW)
    assert report.failed == 1
    [row] = rows(db_session)
    assert row.status == "dead" and "550" in row.last_error and "refused" in row.last_error
    assert outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(days=1)).claimed == 0
    assert [r.id for r in outbox.dead_letters(db_session, None)] == [row.id]

    manager(db_session).email = "manager@ntscp.example"  # the fix, in the directory
    db_session.commit()
    assert outbox.retry(db_session, row.id, now=NOW + dt.timedelta(hours=1))
    db_session.commit()
    again = outbox.deliver(factory, settings(smtp), now=NOW + dt.timedelta(hours=1))
    assert again.sent == 1
    [row] = rows(db_session)
    assert row.status == "sent" and smtp.inbox.messages[0]["To"].addresses[0].addr_spec == "manager@ntscp.example"


def test_a_server_that_stays_away_stops_after_bounded_attempts(db_app, db_session, smtp):
    cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    factory = sessions(db_app)
    moment = NOW
    for _ in range(outbox.MAX_ATTEMPTS + 3):
        outbox.deliver(factory, settings(smtp), now=moment)
        moment += outbox.BACKOFF_MAX
    [row] = rows(db_session)
    assert row.status == "dead" and row.attempts == outbox.MAX_ATTEMPTS
    assert f"after {outbox.MAX_ATTEMPTS} attempts" in row.last_error


def test_an_attachment_that_cannot_be_built_is_replaced_by_a_link(db_app, db_session, smtp):
    broken = cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    submission = cases.get(db_session, broken.reference).submissions[0]
    submission.data = {"not": "a field of the form"}  # as if the stored data had been damaged
    db_session.commit()
    smtp.start()
    report = outbox.deliver(
        sessions(db_app), outbox.MailSettings(host="127.0.0.1", port=smtp.port, timeout=5, base_url="https://x.example")
    )
    assert report.sent == 1
    [message] = smtp.inbox.messages
    assert list(message.iter_attachments()) == []
    body = message.get_body(("plain",)).get_content()
    assert f"https://x.example/workspace/cases/{broken.reference}" in body
    assert "could not be attached" in body


def test_a_stage_moves_e_mail_is_read_from_the_directory_when_sent_too(db_app, db_session, smtp):
    outcome = cases.submit(db_session, "nt-appendix-a", NT, channel="web", now=NOW)
    cases.move_stage(db_session, outcome.reference, "4", reason="no agreement at stage 3", now=NOW)
    moved = [r for r in rows(db_session) if r.submission_id is None]
    assert moved, "the move routes to someone at stage 4"
    assert all(r.role == r.routing.role and r.contact_id == r.routing.contact_id is not None for r in moved)
    first = db_session.get(Contact, moved[0].contact_id)
    first.name, first.email = "Acting Lead", "acting.lead@ntscp.example"  # the correction, in the directory
    db_session.commit()
    smtp.start()
    report = outbox.deliver(sessions(db_app), settings(smtp), now=NOW)
    assert report.failed == 0, report.errors
    [message] = [m for m in smtp.inbox.messages if m["Message-ID"] == moved[0].message_id]
    assert message["To"].addresses[0].addr_spec == "acting.lead@ntscp.example"
    assert message.get_body(("plain",)).get_content().startswith("Dear Acting Lead,")
    assert "has moved to" in message.get_body(("plain",)).get_content()
