"""End to end in Debian's chromium: a chair logs a conference with three agency rows; each lead
receives the right Appendix 3 notification on a local SMTP server (aiosmtpd) started here; a reply
e-mail sent to the service's inbound SMTP receiver is threaded to its row; another lead answers
through the private link."""

from __future__ import annotations

import io
import re
import smtplib
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import docx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect
from pypdf import PdfReader

from service.casework import outbox
from service.db import sessions
from service.intake.channels import smtp_controller
from service.intake.models import ReceivedItem
from tests.browser.conftest import serious_violations
from tests.intake.mailauth import MX
from tests.support.ports import free_port
from tests.workspace.support import PASSWORD, WS_CONFIG, make_user

CHAIR = "chair@kirklees.example"
ROWS = [
    ("Greenfield High School", "Not known", "non-attendance", ""),
    ("Adult Mental Health Service", "Dr Kwame Mensah", "report-late", "received on the morning of conference"),
    ("West Yorkshire Police", "DC Nguyễn Văn An", "other", "Report did not address the child's lived experience"),
]
LEADS = {
    "Greenfield High School": "dsl@greenfield-high.example",
    "Adult Mental Health Service": "safeguarding@amhs.example",
    "West Yorkshire Police": "safeguarding.lead@wyp.example",
}
CPRU = "cpru@kscp.example"


class Inbox:
    """An aiosmtpd handler keeping every message it accepts, by recipient."""

    def __init__(self):
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def conference_server(tmp_path):
    """The app served on loopback, with the sample directory and a Kirklees conference chair."""
    from werkzeug.serving import make_server

    from app import create_app
    from service.casework import directory
    from service.casework.models import Base
    from service.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'conference.sqlite3'}")
    config = {key: value for key, value in WS_CONFIG.items() if key != "TESTING"}
    app = create_app(
        {
            **config,
            "SECRET_KEY": "browser-conference",
            "DATABASE_ENGINE": engine,
            "COOKIE_SECURE": False,
            "TRUSTED_AUTHSERV_ID": MX,  # the partnership's mail gateway in front of the receiver
            "INTAKE_QUEUE_IMMEDIATE": True,  # a returned e-mail's reading job runs as it is queued
        }
    )
    Base.metadata.create_all(engine)  # after create_app, which imports every model (the drafts table too)
    with sessions(app)() as session:
        directory.seed(session)
    make_user(app, CHAIR, "conference-chair", "kirklees")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    engine.dispose()


def _attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def test_a_chair_logs_a_conference_and_each_lead_is_notified_and_answers(page, conference_server, smtp):
    app, base = conference_server
    inbox, port = smtp

    page.goto(f"{base}/workspace/sign-in")
    page.fill("#email", CHAIR)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/workspace/conference")
    page.click("#record-conference")
    page.fill("#meeting_date-day", "5")
    page.fill("#meeting_date-month", "11")
    page.fill("#meeting_date-year", "2026")
    page.fill("#family", "Family B")
    page.fill("#chair_name", "Rhian Pritchard")
    for n, (agency, rep, reason, detail) in enumerate(ROWS):
        page.select_option(f"#rows-{n}-agency", agency)
        page.fill(f"#rows-{n}-agency_rep", rep)
        page.select_option(f"#rows-{n}-reason", reason)
        page.fill(f"#rows-{n}-reason_detail", detail)
    assert serious_violations(page) == []
    page.click("#send")
    page.get_by_text("Conference recorded: 3 agency notification(s) queued.").wait_for()
    expect(page.locator(".govuk-summary-card")).to_have_count(3)
    assert serious_violations(page) == []
    conference_url = page.url

    # The outbox worker delivers to the SMTP server started by this test.
    report = outbox.deliver(sessions(app), outbox.MailSettings(host="127.0.0.1", port=port))
    assert (report.sent, report.failed) == (6, 0), report.errors
    assert len(inbox.to(CPRU)) == 3
    for agency, rep, _reason, detail in ROWS:
        (letter,) = inbox.to(LEADS[agency])
        reference = re.match(r"\[(KL-\d{4}-\d{4})\]", letter["Subject"]).group(1)
        assert agency in letter["Subject"]
        body = letter.get_body(("plain",)).get_content()
        assert "your name has been provided as a Safeguarding Lead" in body
        assert f"Agency: {agency}" in body and f"Name of agency Rep: {rep}" in body and detail in body
        assert "CPRU: cpru@kscp.example" in body
        assert "partnership training is available" in body and "/conference/respond/" in body
        files = _attachments(letter)
        assert set(files) == {f"{reference}-kirklees-appendix-3.docx", f"{reference}-kirklees-appendix-3.pdf"}
        cells = [
            c.text
            for t in docx.Document(io.BytesIO(files[f"{reference}-kirklees-appendix-3.docx"])).tables
            for r in t.rows
            for c in r.cells
        ]
        assert agency in cells and "Family B" in cells
        assert not {a for a in LEADS if a != agency} & set(cells)  # only that agency's row
        pdf = PdfReader(io.BytesIO(files[f"{reference}-kirklees-appendix-3.pdf"]))
        values = {str(f.get("/V")) for f in (pdf.get_fields() or {}).values() if f.get("/V")}
        assert agency in values and "Family B" in values and not {a for a in LEADS if a != agency} & values
        copy = next(m for m in inbox.to(CPRU) if m["Subject"] == letter["Subject"])
        assert "/conference/respond/" not in copy.get_body(("plain",)).get_content()

    # The school's lead replies to the e-mail: the reply is threaded to its row.
    school = inbox.to(LEADS["Greenfield High School"])[0]
    answer = EmailMessage()
    # The partnership's gateway checked DMARC on the way in (issue 14: only authenticated replies count).
    answer["Authentication-Results"] = f"{MX}; dmarc=pass header.from=greenfield-high.example"
    answer["From"] = LEADS["Greenfield High School"]
    answer["To"] = "escalations@escalate.example"
    answer["Subject"] = "Re: " + school["Subject"]
    answer["Message-ID"] = "<reply-1@greenfield-high.example>"
    answer["In-Reply-To"] = school["Message-ID"]
    answer.set_content("Apologies: our DSL was off sick. A deputy will attend in future.\n\n> Dear lead")
    # ... sent to the service's inbound SMTP receiver (issue 5's pipeline), which threads it to the row.
    receiver, handler = smtp_controller(app, "127.0.0.1", free_port())
    receiver.start()
    try:
        with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client:
            client.send_message(answer)
    finally:
        receiver.stop()
    (stored,) = handler.outcomes
    with sessions(app)() as session:  # stored, answered, then read by its job
        threaded = session.get(ReceivedItem, stored.item_id)
        assert threaded.status == "accepted" and threaded.case_reference in school["Subject"]

    # The health service's lead answers through the private link in their e-mail.
    health = inbox.to(LEADS["Adult Mental Health Service"])[0].get_body(("plain",)).get_content()
    link = re.search(r"(http://\S+/conference/respond/\S+)", health).group(1)
    page.goto(link)
    assert "Family B" not in page.content()
    page.fill("#responder", "Dr Kwame Mensah, Named Professional")
    page.fill("#text", "Our report will be sent five working days before conference.")
    assert serious_violations(page) == []
    page.click("#send-response")
    page.get_by_text("Response received").first.wait_for()

    page.goto(conference_url)
    cards = page.locator(".govuk-summary-card")
    assert "A deputy will attend in future." in cards.nth(0).inner_text()
    assert "Responded" in cards.nth(0).inner_text()
    assert "five working days before conference" in cards.nth(1).inner_text()
    assert "Awaiting response" in cards.nth(2).inner_text()
