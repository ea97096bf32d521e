"""Notification e-mails read as the partnership writes: the form's own name, the role in words, no
rule ids or internal names."""

from __future__ import annotations

from sqlalchemy import select

from service.casework.models import OutboxMessage
from service.db import sessions
from tests.workspace.support import submit_sample, ws_app_fixture, ws_session_fixture  # noqa: F401


def test_the_email_names_the_form_and_the_role_in_words(ws_app, ws_session):
    submit_sample(ws_app, "nt-appendix-a")
    with sessions(ws_app)() as session:
        # The routed notifications (the raiser's receipt, issue 14, has no routing decision).
        messages = list(session.scalars(select(OutboxMessage).where(OutboxMessage.routing_id.is_not(None))))
    assert messages
    for message in messages:
        assert "routing rule" not in message.body and "ntscp-" not in message.body
        assert "A Escalation" not in message.body and " A Appendix" not in message.body
        assert "has received the Escalation Notification" in message.body
        assert "It comes to you as:\n- " in message.body
