"""Receipts and lost links (issue 14): whoever sends a form with an e-mail address gets a receipt with
the private tracking link; the "lost your link?" page sends a new one and revokes the old, giving the
same answer whether or not the reference and address match; rate-limited and audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from app import create_app
from service.casework import cases, directory, outbox
from service.casework.models import AuditEntry, Case, OutboxMessage
from service.db import sessions
from tests.conftest import sample
from tests.support.smtp import SMTPServer

NOW = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
RAISER = "zoe.nowak@riverside.example"
BASE = "https://escalate.partnership.example"


@pytest.fixture
def app(db_engine):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_ENGINE": db_engine,
            "PUBLIC_BASE_URL": BASE,
            "MAIL_SENDER": "NTSCP Escalations <escalations@ntscp.example>",
            "LOST_LINK_RATE_LIMIT": "5 per hour",
        }
    )
    with sessions(app)() as session:
        directory.seed(session)
    return app


def receipts(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(("receipt", "link")))))


def link_in(body: str) -> str:
    return re.search(rf"{BASE}(/t/[A-Za-z0-9_-]+)", body).group(1)


def submit(app, form_id="nt-appendix-a", **changes):
    with app.app_context(), sessions(app)() as session:
        return cases.submit(session, form_id, {**sample(form_id), **changes}, channel="web", now=NOW)


def test_the_sender_of_a_form_gets_a_receipt_with_the_tracking_link(app):
    outcome = submit(app)
    with app.app_context(), sessions(app)() as session:
        [receipt] = receipts(session)
        assert receipt.to_email == RAISER and receipt.kind == "receipt" and receipt.submission_id is None
        assert receipt.subject == f"[{outcome.reference}] Received: Escalation Notification (Appendix A), NTSCP"
        assert f"Reference: {outcome.reference}" in receipt.body
        assert "- Business Manager, NTSCP" in receipt.body  # who it went to
        assert outcome.next_step.text in receipt.body  # what happens next and by when, in the policy's words
        assert f"{BASE}/t/{outcome.tracking_token}" in receipt.body
        assert f"{BASE}/lost-link" in receipt.body
        assert sample("nt-appendix-a")["worry"] not in receipt.body  # no child details in the receipt
    assert app.test_client().get(link_in(receipt.body)).status_code == 200


def test_the_receipt_is_sent_once_and_its_link_is_not_kept(app):
    outcome = submit(app)
    server = SMTPServer()
    server.start()
    try:
        with app.app_context():
            config = {**app.config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port}
            report = outbox.deliver(sessions(app), outbox.MailSettings.from_config(config), now=NOW)
    finally:
        server.stop()
    assert report.sent == 2 and report.failed == 0
    sent = {m["To"]: m for m in server.inbox.messages}
    message = next(m for to, m in sent.items() if to.endswith(f"<{RAISER}>"))
    assert f"/t/{outcome.tracking_token}" in message.get_content()
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["References"] == f"<case.{outcome.reference}@ntscp.example>"
    assert message["Message-ID"].endswith("@ntscp.example>") and not list(message.iter_attachments())
    with sessions(app)() as session:
        [row] = receipts(session)
        assert row.status == "sent" and outcome.tracking_token not in row.body
        assert "(private link: sent, not kept)" in row.body


def test_no_address_on_the_form_no_receipt_and_an_update_has_no_new_link(app):
    submit(app, contact_details="0191 000 0001 (phone only)")
    with sessions(app)() as session:
        assert receipts(session) == []
    first = submit(app)
    with app.app_context(), sessions(app)() as session:
        cases.submit(
            session, "nt-appendix-a", {**sample("nt-appendix-a"), "stage": "4"}, channel="web", case=first.reference
        )
        update = receipts(session)[-1]
        assert "/t/" not in update.body and "Go on using the private tracking link" in update.body


def _ask(client, reference: str, address: str):
    page = BeautifulSoup(client.get("/lost-link").get_data(as_text=True), "html.parser")
    token = page.select_one("input[name=csrf_token]")["value"]
    return client.post("/lost-link", data={"csrf_token": token, "reference": reference, "email": address})


def test_a_lost_link_is_replaced_and_the_old_one_revoked(app):
    app.config["WTF_CSRF_ENABLED"] = True
    outcome = submit(app)
    old = f"/t/{outcome.tracking_token}"
    client = app.test_client()
    answer = _ask(client, outcome.reference.lower(), RAISER.upper())
    assert answer.status_code == 200
    with sessions(app)() as session:
        new = next(r for r in receipts(session) if r.kind == "link")
        assert new.to_email == RAISER and new.subject == f"[{outcome.reference}] Your new tracking link"
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "tracking.recover"))
        assert entry.case_reference == outcome.reference and entry.detail.startswith("matched")
    assert client.get(old).status_code == 404
    assert client.get(link_in(new.body)).status_code == 200


@pytest.mark.parametrize(
    ("reference", "address"),
    [
        ("NT-2026-0001", "someone@elsewhere.example"),
        ("NT-2026-9999", RAISER),
        ("NT-2026-0001", "nowak@riverside.example"),
    ],
)
def test_the_answer_is_the_same_when_nothing_matches(app, reference, address):
    outcome = submit(app)
    assert outcome.reference == "NT-2026-0001"
    client = app.test_client()
    text = BeautifulSoup(_ask(client, reference, address).get_data(as_text=True), "html.parser")
    matched = BeautifulSoup(_ask(client, outcome.reference, RAISER).get_data(as_text=True), "html.parser")
    assert text.select_one("main").get_text(" ", strip=True) == matched.select_one("main").get_text(" ", strip=True)
    with sessions(app)() as session:
        assert [r.kind for r in receipts(session)] == ["receipt", "link"]  # only the matching request sent one
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "tracking.recover").order_by(AuditEntry.id)
        ).all()
        assert details[0] == "no match: nothing sent" and details[1].startswith("matched")


def test_a_wrong_address_is_named_and_the_page_is_rate_limited(app):
    submit(app)
    client = app.test_client()
    wrong = BeautifulSoup(_ask(client, "NT-2026-0001", "not an address").get_data(as_text=True), "html.parser")
    assert "Enter an e-mail address in the correct format" in wrong.select_one(".govuk-error-summary").get_text()
    statuses = [_ask(client, "NT-2026-0001", "x@elsewhere.example").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # 5 per hour, the first (wrong) one counted


def test_a_resolved_case_gets_no_new_link(app):
    outcome = submit(app)
    with sessions(app)() as session:
        session.scalar(select(Case).where(Case.reference == outcome.reference)).status = "resolved"
        session.commit()
    _ask(app.test_client(), outcome.reference, RAISER)
    with sessions(app)() as session:
        assert [r.kind for r in receipts(session)] == ["receipt"]


def test_at_most_three_new_links_a_day_for_one_case(app):
    from service.casework import receipts as recovery

    outcome = submit(app)
    with sessions(app)() as session:
        answers = [recovery.recover(session, outcome.reference, RAISER) for _ in range(4)]
        assert answers == [True, True, True, False]
        assert [r.kind for r in receipts(session)].count("link") == 3
        last = session.scalars(select(AuditEntry.detail).order_by(AuditEntry.id.desc())).first()
        assert last == "matched, but 3 new links were sent in the last day: nothing sent"


def test_links_asked_for_at_the_same_moment_are_counted_in_turn(db_app, db_engine):
    """Six requests at once for one case send three links, not one each: each counts those sent
    before it (a count read before another's insert would let them all through)."""
    import threading

    from sqlalchemy.orm import Session

    from service.casework import receipts as recovery

    with db_app.app_context(), Session(db_engine) as session:
        reference = cases.submit(session, "nt-appendix-a", sample("nt-appendix-a"), channel="web").reference
    answers, errors, start = [], [], threading.Barrier(6)

    def ask():
        try:
            with db_app.app_context(), Session(db_engine) as session:
                start.wait()
                answers.append(recovery.recover(session, reference, RAISER))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(answers) == [False] * 3 + [True] * 3
    with Session(db_engine) as session:
        assert [r.kind for r in receipts(session)].count("link") == 3
