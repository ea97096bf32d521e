"""Outbound mail that survives filters and never starts a loop (issue 14): Auto-Submitted, a
Message-ID on the service's domain and References per case, DKIM signing with a key from settings
(verified by the service's own DKIM check against a local DNS server), and auto-replies or our own
messages coming back are kept and ignored, sending nothing."""

from __future__ import annotations

import base64
import datetime as dt
import email
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from service.casework import cases, mailheaders, outbox
from service.casework.models import OutboxMessage
from service.db import sessions
from service.intake import ingest, sender_auth
from tests.conftest import sample
from tests.intake.dns_server import TxtServer
from tests.support.ports import free_port

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)


class Raw:
    """Keeps each accepted message's bytes exactly as sent."""

    def __init__(self):
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def relay():
    handler, port = Raw(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


@pytest.fixture
def dkim_key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def send_all(db_app, port: int, **changes) -> outbox.DeliveryReport:
    with db_app.app_context():
        config = {**db_app.config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, **changes}
        return outbox.deliver(sessions(db_app), outbox.MailSettings.from_config(config), now=NOW)


def test_notifications_are_signed_threaded_and_marked_automatic(db_app, relay, dkim_key, monkeypatch, tmp_path):
    port, inbox = relay
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(dkim_key[0])
    monkeypatch.setenv("MAIL_SENDER", "NTSCP Escalations <escalations@ntscp.example>")
    monkeypatch.setenv("MAIL_DKIM_DOMAIN", "ntscp.example")
    monkeypatch.setenv("MAIL_DKIM_SELECTOR", "escalate")
    monkeypatch.setenv("MAIL_DKIM_KEY_FILE", str(key_file))
    db_app.config["MAIL_SENDER"] = "NTSCP Escalations <escalations@ntscp.example>"
    with db_app.app_context(), sessions(db_app)() as session:
        first = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
        cases.submit(
            session,
            "nt-appendix-a",
            {**sample("nt-appendix-a"), "stage": "4"},
            channel="web",
            case=first.reference,
            now=NOW,
        )
    report = send_all(db_app, port)
    assert report.failed == 0 and report.sent == len(inbox.messages) >= 4
    parsed = [email.message_from_bytes(raw, policy=policy.default) for raw in inbox.messages]
    assert {m["Auto-Submitted"] for m in parsed} == {"auto-generated"}
    assert {m["References"] for m in parsed} == {f"<case.{first.reference}@ntscp.example>"}  # one thread
    assert all(m["Message-ID"].endswith("@ntscp.example>") for m in parsed)
    with TxtServer({"escalate._domainkey.ntscp.example": dkim_key[1]}) as dns:
        checked = sender_auth.check(inbox.messages[0], sender_auth.Settings(dns_servers=(dns.address,)))
    assert checked == sender_auth.Verdict(True, "DKIM signature of ntscp.example verified")


def test_an_auto_reply_to_a_notification_is_ignored_and_answered_by_nothing(db_app, relay):
    port, inbox = relay
    with db_app.app_context(), sessions(db_app)() as session:
        first = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
    send_all(db_app, port)
    ours = email.message_from_bytes(inbox.messages[0], policy=policy.default)
    replies = []
    for headers in ({"Auto-Submitted": "auto-replied"}, {"X-Autoreply": "yes"}, {"Precedence": "auto_reply"}, {}):
        m = EmailMessage()
        m["From"] = ours["To"]
        m["To"] = ours["From"]
        m["Subject"] = f"Automatic reply: {ours['Subject']}" if not headers else f"RE: {ours['Subject']}"
        m["Message-ID"] = f"<oof-{len(replies)}@ntscp.example.net>"
        m["In-Reply-To"] = ours["Message-ID"]
        for name, value in headers.items():
            m[name] = value
        m.set_content("I am out of the office until Monday.")
        replies.append(m.as_bytes())
    with db_app.app_context(), sessions(db_app)() as session:
        before = session.scalar(select(func.count()).select_from(OutboxMessage))
        outcomes = [ingest.ingest(session, raw, channel="imap") for raw in replies]
        # Our own notification, come back (a forwarding rule pointing at the shared mailbox, say), as
        # sent, and another with its Auto-Submitted header dropped on the way.
        outcomes.append(ingest.ingest(session, inbox.messages[0], channel="imap"))
        stripped = inbox.messages[1].replace(b"Auto-Submitted: auto-generated\r\n", b"")
        outcomes.append(ingest.ingest(session, stripped, channel="imap"))
        assert [o.status for o in outcomes] == ["ignored"] * 6
        assert outcomes[-1].reason == "one of this service's own messages came back"
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == before
        assert cases.get(session, first.reference).current_stage == "3"
    assert send_all(db_app, port).claimed == 0  # nothing new to send: no loop


def test_the_message_id_domain_defaults_to_the_senders(monkeypatch):
    monkeypatch.delenv("MAIL_MESSAGE_ID_DOMAIN", raising=False)
    monkeypatch.setenv("MAIL_SENDER", "Escalations <escalations@kscp.example>")
    assert mailheaders.message_id_domain() == "kscp.example"
    assert outbox.new_message_id("KL-2026-0001").endswith(".KL-2026-0001@kscp.example>")
    monkeypatch.setenv("MAIL_MESSAGE_ID_DOMAIN", "escalate.kscp.example")
    assert mailheaders.thread_root("KL-2026-0001") == "<case.KL-2026-0001@escalate.kscp.example>"


def test_a_person_writing_from_the_shared_mailbox_is_not_taken_for_our_own_mail(db_app, monkeypatch):
    """Staff answering from the shared mailbox (the same address as MAIL_SENDER) are read like anyone:
    not ignored: this one, holding no form, waits for a person with its reason."""
    monkeypatch.setenv("MAIL_SENDER", "NTSCP Escalations <escalations@ntscp.example>")
    with db_app.app_context(), sessions(db_app)() as session:
        first = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web", now=NOW)
        m = EmailMessage()
        m["From"], m["To"] = "escalations@ntscp.example", "escalations@ntscp.example"
        m["Subject"], m["Message-ID"] = f"RE: [{first.reference}]", "<AM0PR01MB1234@AM0PR01MB1234.eurprd01.example>"
        m.set_content("Stage: 4")
        outcome = ingest.ingest(session, m.as_bytes(), channel="imap")
    assert outcome.status == "quarantined" and "carries no form" in outcome.reason  # read, not ignored


def test_a_bad_dkim_or_oauth_setting_stops_the_worker_with_its_name(db_app, tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_DKIM_DOMAIN", "ntscp.example")
    monkeypatch.setenv("MAIL_DKIM_SELECTOR", "escalate")
    monkeypatch.setenv("MAIL_DKIM_KEY_FILE", str(tmp_path / "missing.pem"))
    result = db_app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code != 0 and "MAIL_DKIM_KEY_FILE cannot be read" in result.output
    (tmp_path / "bad.pem").write_text("not a key")
    monkeypatch.setenv("MAIL_DKIM_KEY_FILE", str(tmp_path / "bad.pem"))
    result = db_app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code != 0 and "not an RSA key in PEM form" in result.output
    monkeypatch.delenv("MAIL_DKIM_DOMAIN")
    monkeypatch.setenv("MAIL_OAUTH_CLIENT_ID", "escalate-app")
    result = db_app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code != 0 and "MAIL_OAUTH_CLIENT_SECRET" in result.output
