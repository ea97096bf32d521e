"""A conference row's response by e-mail counts only from that row's agency, authenticated (issue 14)."""

from __future__ import annotations

import pytest

from service.conference import responses
from service.intake import ingest
from tests.conference.test_log import (  # noqa: F401 - fixtures
    LEADS,
    NOW,
    _lead_message,
    conference_app,
    conference_session,
    record,
    reply,
)


@pytest.mark.parametrize(
    "sender",
    [
        LEADS["West Yorkshire Police"],  # another agency's lead, answering Greenfield High School's row
        "business.unit@kscp.example",  # any Kirklees directory contact
        "dsl@greenfield-high.example.attacker.example",  # the lead's address inside another
    ],
)
def test_only_the_rows_agency_may_answer_it(ws_app, ws_session, sender):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Greenfield High School")
    with ws_app.app_context():
        result = responses.thread_reply(ws_session, reply(lead, sender, "We were there."), now=NOW)
    assert not result.accepted and "not a party" in result.reason
    ws_session.refresh(conference.issues[0])
    assert conference.issues[0].status == "awaiting"


def test_a_forged_lead_address_is_held_by_smtp_and_the_check_is_kept(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Greenfield High School")
    forged = reply(lead, LEADS["Greenfield High School"], "We attended.", dmarc="fail")
    with ws_app.app_context():
        outcome = ingest.ingest(ws_session, forged, channel="smtp", now=NOW)
    assert outcome.status == "held" and "sender not authenticated: DMARC fail" in outcome.reason
    issue = conference.issues[0]
    ws_session.refresh(issue)
    assert issue.status == "awaiting"
    assert issue.responses[0].sender_check == "DMARC fail at mx.test.example" and not issue.responses[0].accepted


def test_the_rows_own_lead_authenticated_is_recorded(ws_app, ws_session):
    conference = record(ws_app, ws_session)
    lead = _lead_message(ws_session, "Greenfield High School")
    raw = reply(lead, LEADS["Greenfield High School"].upper(), "Our DSL was ill; a deputy will attend next time.")
    with ws_app.app_context():
        outcome = ingest.ingest(ws_session, raw, channel="imap", now=NOW)
    assert outcome.status == "accepted", outcome.reason
    ws_session.refresh(conference.issues[0])
    assert conference.issues[0].status == "responded"
    assert conference.issues[0].responses[0].sender_check == "DMARC passed at mx.test.example"
