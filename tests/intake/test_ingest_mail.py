"""The mail channels: a real SMTP receiver (aiosmtpd) and a real IMAP server (Debian's dovecot)."""

from __future__ import annotations

import smtplib
from email import policy
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from service.db import sessions
from service.intake.channels import ImapSettings, imap_poll, smtp_controller
from service.intake.models import ReceivedItem
from tests.intake.test_ingest import document
from tests.support import dovecot as peer
from tests.support.dovecot import deliver
from tests.support.ports import free_port


def returned_form(subject: str = "Escalation notification", message_id: str = "<a1@riverside.example>") -> EmailMessage:
    m = EmailMessage()
    m["From"] = "Zoë Nowak <zoe.nowak@riverside.example>"
    m["To"] = "escalations@escalate.example"
    m["Subject"] = subject
    m["Message-ID"] = message_id
    m.set_content("Our Appendix A is attached.")
    m.add_attachment(document("nt-appendix-a"), maintype="application", subtype="octet-stream", filename="a.docx")
    return m


def test_smtp_receiver_stores_queues_and_answers_with_the_item(db_app):
    port = free_port()
    controller, handler = smtp_controller(db_app, "127.0.0.1", port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo()
            smtp.mail("zoe.nowak@riverside.example")
            smtp.rcpt("escalations@escalate.example")
            code, answer = smtp.data(returned_form().as_bytes(policy=policy.SMTP))
        assert code == 250, answer
    finally:
        controller.stop()
    assert [o.status for o in handler.outcomes] == ["received"]  # the answer does not wait for the reading
    assert answer.decode() == f"2.0.0 Received as item {handler.outcomes[0].item_id}"
    with sessions(db_app)() as session:  # the job (run as it is queued here) read and applied it
        item = session.scalar(select(ReceivedItem))
        assert item.channel == "smtp" and item.status == "accepted"
        assert item.sender == "zoe.nowak@riverside.example" and item.case_reference.startswith("NT-")


@pytest.fixture
def dovecot():
    """A throwaway dovecot IMAP server on a free port, one mailbox (user bu, password secret)."""
    with peer.serve(peer.folder("dovecot-"), peer.PLAIN) as (port, maildir):
        yield port, maildir


def test_imap_polling_ingests_unseen_messages_once(db_app, dovecot):
    port, maildir = dovecot
    deliver(maildir, "1.eml", returned_form())
    auto = EmailMessage()
    auto["From"], auto["To"] = "away@school.example", "escalations@escalate.example"
    auto["Subject"], auto["Auto-Submitted"] = "Automatic reply: Escalation", "auto-replied"
    auto.set_content("I am away until Monday.")
    deliver(maildir, "2.eml", auto)
    settings = ImapSettings(host="127.0.0.1", port=port, user="bu", password="secret", ssl=False)

    outcomes = imap_poll(db_app, settings)
    assert [o.status for o in outcomes] == ["received", "received"]  # stored and queued
    assert imap_poll(db_app, settings) == []  # marked seen: not fetched again
    with sessions(db_app)() as session:  # the jobs (run as queued here) read them
        assert sorted(i.status for i in session.scalars(select(ReceivedItem))) == ["accepted", "ignored"]

    deliver(maildir, "3.eml", returned_form())  # the same message again (same Message-ID)
    (again,) = imap_poll(db_app, settings)
    with sessions(db_app)() as session:
        assert session.get(ReceivedItem, again.item_id).status == "duplicate"
        assert {i.channel for i in session.scalars(select(ReceivedItem))} == {"imap"}


def test_imap_poll_command_needs_its_settings(db_app, monkeypatch):
    for key in ("IMAP_HOST", "IMAP_USER", "IMAP_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    result = db_app.test_cli_runner().invoke(args=["imap-poll"])
    assert result.exit_code != 0 and "IMAP_HOST" in result.output
