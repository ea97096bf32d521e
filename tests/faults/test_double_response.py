"""An agency's response sent from its private link page is recorded once, however often that page is
sent: six sends of one page at once (a double click, a browser's retry) keep one response, each
answered "Response received"; the link opened again may add to it. The database enforces it: the
page's send key is unique for the row. On SQLite and PostgreSQL; prints its FIGURE line."""

from __future__ import annotations

import re
import threading

from sqlalchemy import func, select

from service.casework.models import OutboxMessage
from service.conference.models import ConferenceResponse
from service.db import sessions
from tests.conference.test_log import conference_app, conference_session, record  # noqa: F401 - fixtures
from tests.workspace.support import hidden_from

SENDS = 6


def _link(app, session) -> str:
    """The private link in the first row's notification."""
    record(app, session)
    body = session.scalars(select(OutboxMessage.body).order_by(OutboxMessage.id)).first()
    return re.search(r"http://escalate\.example(/conference/respond/\S+)", body).group(1)


def _page(client, path: str) -> dict:
    return {
        **hidden_from(client.get(path).get_data(as_text=True)),
        "responder": "A. Lead, DSL",
        "text": "We will attend.",
    }


def test_one_page_sent_six_times_at_once_records_one_response(ws_app, ws_session, capsys):
    ws_app.config["PUBLIC_POST_RATE_LIMIT"] = "1000 per minute"
    path = _link(ws_app, ws_session)
    clients = [ws_app.test_client() for _ in range(SENDS)]
    page = _page(clients[0], path)  # one page: each client sends it with its own session's CSRF token
    posts = [{**page, **{"csrf_token": hidden_from(c.get(path).get_data(as_text=True))["csrf_token"]}} for c in clients]
    barrier = threading.Barrier(SENDS)
    answers: list[int] = []

    def send(client, data):
        barrier.wait()
        response = client.post(path, data=data)
        answers.append(response.status_code if "Response received" in response.get_data(as_text=True) else -1)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(clients, posts, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with sessions(ws_app)() as session:
        kept = session.scalar(select(func.count()).select_from(ConferenceResponse))
    with capsys.disabled():
        print(
            f"\nFIGURE double response ({ws_app.extensions['db_engine'].dialect.name}): one private link page "
            f"sent {SENDS} times at once, answered 'Response received' {answers.count(200)}, responses kept {kept}"
        )
    assert kept == 1
    assert answers == [200] * SENDS
    again = clients[0].post(path, data=_page(clients[0], path) | {"text": "And a report by Friday."})
    assert again.status_code == 200
    with sessions(ws_app)() as session:
        texts = sorted(session.scalars(select(ConferenceResponse.text)))
    assert texts == ["And a report by Friday.", "We will attend."]  # a new page adds to it


def test_a_page_without_its_send_key_is_not_recorded_and_says_so_in_words(ws_app, ws_session):
    path = _link(ws_app, ws_session)
    client = ws_app.test_client()
    data = _page(client, path) | {"send_key": "x"}
    refused = client.post(path, data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Your response was not sent whole: send it again" in html
    assert "send_key" not in html.replace('name="send_key"', "")
    assert ws_session.scalar(select(func.count()).select_from(ConferenceResponse)) == 0
    assert client.post(path, data=hidden_from(html) | {"responder": "DSL", "text": "Noted."}).status_code == 200


def test_a_page_sent_again_with_other_words_is_not_dropped_unseen(ws_app, ws_session):
    """Back, edit, send: the page's key is taken, so the new words are refused in words and the page
    offers to add them (a fresh key) rather than answering 'Response received' for what was not kept."""
    path = _link(ws_app, ws_session)
    client = ws_app.test_client()
    page = _page(client, path)
    assert client.post(path, data=page).status_code == 200
    edited = client.post(path, data=page | {"text": "We will attend and send a report."})
    html = edited.get_data(as_text=True)
    assert edited.status_code == 400 and "A response from this page is recorded already" in html
    assert "We will attend and send a report." in html  # what they wrote is kept on the page
    assert (
        client.post(path, data=hidden_from(html) | {"responder": page["responder"], "text": "And more."}).status_code
        == 200
    )
    with sessions(ws_app)() as session:
        assert sorted(session.scalars(select(ConferenceResponse.text))) == ["And more.", "We will attend."]
