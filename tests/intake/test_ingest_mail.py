"""The mail channels: a real SMTP receiver (aiosmtpd) and a real IMAP server (Debian's dovecot)."""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from service.db import sessions
from service.intake.channels import ImapSettings, imap_poll, smtp_controller
from service.intake.models import ReceivedItem
from tests.intake.test_ingest import document

DOVECOT = "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    if not Path(DOVECOT).exists() or shutil.which("doveadm") is None:
        pytest.skip("dovecot (apt-get install dovecot-imapd) is not installed")
    if os.geteuid() != 0:
        pytest.skip("this dovecot set-up runs as root (it switches to the dovecot users)")
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)
    port = free_port()
    (root / "dovecot.conf").write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
mail_location = maildir:{root}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    maildir = root / "mail" / "bu"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for path in (root / "mail", maildir, *(maildir / sub for sub in ("new", "cur", "tmp"))):
        shutil.chown(path, "dovecot", "dovecot")
    server = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("dovecot did not start: " + (root / "dovecot.log").read_text(errors="replace"))
        yield port, maildir
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def deliver(maildir: Path, name: str, message: EmailMessage) -> None:
    path = maildir / "new" / name
    path.write_bytes(message.as_bytes())
    shutil.chown(path, "dovecot", "dovecot")


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
