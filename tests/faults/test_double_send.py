"""Ten concurrent sends of one draft make one case and one set of e-mails, and every one of them
is answered with the same confirmation (the database enforces it: a unique key on the draft's send,
not a check before the insert). On SQLite and PostgreSQL; prints its FIGURE line."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from app import create_app
from forms import registry
from service.casework import directory
from service.casework.models import Case, OutboxMessage
from service.db import sessions
from service.web import drafts
from service.web.answers import web_answers_from_canonical
from tests.conftest import sample
from tests.workspace.support import csrf_from

SENDS = 10
FORM = "kirklees-appendix-5"


@pytest.fixture
def send_app(db_engine):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_ENGINE": db_engine,
            "PUBLIC_POST_RATE_LIMIT": "1000 per minute",
        }
    )
    with sessions(app)() as session:
        directory.seed(session)
    return app


def completed_draft(app, form_id: str = FORM) -> str:
    spec = registry().form(form_id)
    with app.app_context(), sessions(app)() as session:
        token, draft = drafts.create(
            session,
            partnership=spec.partnership,
            form_id=spec.id,
            answers=web_answers_from_canonical(spec, sample(spec.id)),
        )
        drafts.save(session, draft, answers=draft.answers, done=[s.key for s in spec.sections])
    return token


def post_send(client, token: str):
    """Send the draft as the check page's button does (with that page's CSRF token)."""
    page = client.get(f"/d/{token}/check").get_data(as_text=True)
    return lambda: client.post(f"/d/{token}/submit", data={"csrf_token": csrf_from(page)})


def test_ten_concurrent_sends_of_one_draft_make_one_case(send_app, capsys):
    token = completed_draft(send_app)
    barrier = threading.Barrier(SENDS)
    answers: list[tuple[int, str]] = []

    def send():
        send_it = post_send(send_app.test_client(), token)
        barrier.wait()
        response = send_it()
        answers.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=send) for _ in range(SENDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with sessions(send_app)() as session:
        made = session.scalar(select(func.count()).select_from(Case))
        mails = session.scalar(select(func.count()).select_from(OutboxMessage))
        recipients = session.scalar(select(func.count(func.distinct(OutboxMessage.to_email))))
    with capsys.disabled():
        print(
            f"\nFIGURE double send ({send_app.extensions['db_engine'].dialect.name}): concurrent sends of one draft "
            f"{SENDS}, answered {len(answers)} (5xx {sum(s >= 500 for s, _ in answers)}), cases made {made}, "
            f"e-mails queued {mails} to {recipients} recipients, confirmations alike {len({a for a in answers})}"
        )
    assert made == 1
    assert mails == recipients  # one set: one message per recipient
    assert [s for s, _ in answers] == [302] * SENDS
    assert len({location for _, location in answers}) == 1  # every send shows the same confirmation
    assert "/confirmation" in answers[0][1]


def test_a_repeated_send_shows_the_same_confirmation(send_app):
    token = completed_draft(send_app)
    client = send_app.test_client()
    send_it = post_send(client, token)
    first = send_it()
    again = send_it()
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert client.get(first.headers["Location"]).status_code == 200
    with sessions(send_app)() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        # The answers are not kept once sent: the draft is gone, only the record of its send stays.
        assert session.scalar(select(func.count()).select_from(drafts.Draft)) == 0


def test_concurrent_sends_of_a_conference_table_record_it_once(send_app, capsys):
    """The Appendix 3 table a signed-in chair sends from the public pages is the same kind of send:
    ten at once record one conference, one case and one letter per row, and all see one confirmation."""
    from service.conference.models import Conference, ConferenceIssue
    from tests.workspace.support import make_user, sign_in

    send_app.config.update(ARGON2_MEMORY_KIB=1024, ARGON2_TIME_COST=1)
    make_user(send_app, "chair@kirklees.example", "conference-chair", "kirklees")
    token = completed_draft(send_app, "kirklees-appendix-3")
    clients = [send_app.test_client() for _ in range(SENDS)]
    for client in clients:
        assert sign_in(client, "chair@kirklees.example").status_code == 302
    barrier = threading.Barrier(SENDS)
    answers: list[tuple[int, str]] = []

    def send(client):
        send_it = post_send(client, token)
        barrier.wait()
        response = send_it()
        references = sorted(set(re.findall(r"KL-\d{4}-\d{4}", response.get_data(as_text=True))))
        answers.append((response.status_code, " ".join(references)))

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with sessions(send_app)() as session:
        conferences = session.scalar(select(func.count()).select_from(Conference))
        rows = session.scalar(select(func.count()).select_from(ConferenceIssue))
        made = session.scalar(select(func.count()).select_from(Case))
    with capsys.disabled():
        print(
            f"\nFIGURE double send of a conference table ({send_app.extensions['db_engine'].dialect.name}): "
            f"concurrent sends {SENDS}, answered {len(answers)} (5xx {sum(s >= 500 for s, _ in answers)}), "
            f"conferences recorded {conferences}, cases made {made}, confirmations alike {len(set(answers))}"
        )
    expected_rows = len(sample("kirklees-appendix-3")["rows"])
    assert (conferences, rows, made) == (1, expected_rows, expected_rows)
    assert [s for s, _ in answers] == [200] * SENDS
    assert len(set(answers)) == 1 and answers[0][1]  # every send shows the same rows and references
