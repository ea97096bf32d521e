"""The API honours an Idempotency-Key the way payment APIs do: the same key and body give the first
answer again (one case, one set of e-mails, however concurrently sent); the same key with another
body is refused with 422. The channel is the server's to set. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from service.casework.models import Case, OutboxMessage, Submission
from service.db import sessions
from tests.api import test_api
from tests.conftest import sample

db_app = test_api.db_app  # the fixture: the app with the sample directory and two business units
BODY = {"form_id": "nt-appendix-a", "data": sample("nt-appendix-a")}


def count(app, model) -> int:
    with sessions(app)() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_same_key_and_body_give_the_first_answer_again(db_app):
    client = db_app.test_client()
    first = client.post("/api/submissions", json=BODY, headers={"Idempotency-Key": "a3f9-retry-1"})
    again = client.post("/api/submissions", json=BODY, headers={"Idempotency-Key": "a3f9-retry-1"})
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert first.json["tracking_token"]
    assert count(db_app, Case) == 1
    other = client.post("/api/submissions", json=BODY, headers={"Idempotency-Key": "another-key"})
    assert other.status_code == 201 and other.json["reference"] != first.json["reference"]
    assert count(db_app, Case) == 2


def test_same_key_with_another_body_is_refused(db_app):
    client = db_app.test_client()
    assert client.post("/api/submissions", json=BODY, headers={"Idempotency-Key": "k-1"}).status_code == 201
    changed = {**BODY, "data": {**BODY["data"], "name": "Someone Else"}}
    refused = client.post("/api/submissions", json=changed, headers={"Idempotency-Key": "k-1"})
    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json["error"]
    assert count(db_app, Case) == 1


def test_ten_concurrent_posts_with_one_key_make_one_case(db_app):
    barrier = threading.Barrier(10)
    answers = []

    def post():
        client = db_app.test_client()
        barrier.wait()
        response = client.post("/api/submissions", json=BODY, headers={"Idempotency-Key": "burst-1"})
        answers.append((response.status_code, response.json.get("reference")))

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [s for s, _ in answers] == [201] * 10
    assert len({r for _, r in answers}) == 1
    assert count(db_app, Case) == count(db_app, Submission) == 1
    with sessions(db_app)() as session:  # one set: the notification and the receipt to the sender, once each
        kinds = sorted(session.scalars(select(OutboxMessage.kind)))
    assert kinds == ["notification", "receipt"]


def test_the_channel_is_set_by_the_server(db_app):
    client = db_app.test_client()
    refused = client.post("/api/submissions", json={**BODY, "channel": "import"})
    assert refused.status_code == 400
    assert count(db_app, Case) == 0
    created = client.post("/api/submissions", json=BODY)
    assert created.status_code == 201
    with sessions(db_app)() as session:
        assert session.scalar(select(Submission.channel)) == "api"


def test_a_key_is_bounded(db_app):
    response = db_app.test_client().post("/api/submissions", json=BODY, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json["error"]
