"""The workspace lists notifications that stopped, with their reason, for the business unit and the
admin of the case's partnership, and sends one again after a fix."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlalchemy import select, update

from service.casework.models import OutboxMessage
from service.db import sessions
from tests.workspace.support import csrf_from, signed_in, submit_sample, ws_app_fixture  # noqa: F401


def kill(app, reason: str) -> int:
    with sessions(app)() as session:
        session.execute(update(OutboxMessage).values(status="dead", attempts=1, last_error=reason))
        session.commit()
        return session.scalar(select(OutboxMessage.id))


def test_dead_letters_are_listed_and_sent_again(ws_app):
    submit_sample(ws_app, "kirklees-appendix-5")
    row_id = kill(ws_app, "The mail server refused the address: 550 5.1.1 No such mailbox")
    client = signed_in(ws_app)
    page = client.get("/workspace/undelivered")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "550 5.1.1 No such mailbox" in html
    soup = BeautifulSoup(html, "html.parser")
    assert len(soup.select(".govuk-table__body form")) == 1
    retried = client.post(f"/workspace/undelivered/{row_id}/retry", data={"csrf_token": csrf_from(html)})
    assert retried.status_code == 302
    with sessions(ws_app)() as session:
        row = session.get(OutboxMessage, row_id)
        assert row.status == "pending" and row.attempts == 0


def test_other_partnerships_and_chairs_do_not_see_them(ws_app):
    submit_sample(ws_app, "kirklees-appendix-5")
    row_id = kill(ws_app, "Mailbox xyzzy unavailable")
    other = signed_in(ws_app, "bu@merton.example", "business-unit", "merton")
    html = other.get("/workspace/undelivered").get_data(as_text=True)
    assert "xyzzy" not in html
    assert other.post(f"/workspace/undelivered/{row_id}/retry", data={"csrf_token": csrf_from(html)}).status_code == 404
    chair = signed_in(ws_app, "chair@kirklees.example", "conference-chair", "kirklees")
    assert chair.get("/workspace/undelivered").status_code == 403
