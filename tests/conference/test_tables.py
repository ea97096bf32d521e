"""A returned table's conferences are recorded together or not at all (tables.record_all)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.casework.models import Case, OutboxMessage
from service.conference import tables
from service.conference.models import Conference, ConferenceIssue
from service.documents import records as documents
from tests.conference.test_log import NOW, SPEC, conference_app, conference_session, link_for  # noqa: F401


def test_a_table_is_recorded_whole_or_not_at_all(ws_app, ws_session):
    """Two conferences in one table: when the second fails while it is being recorded (after every
    one was checked), the first is not left recorded and notified either, so sending the table again
    does not record it twice."""
    row = {"family": "Family B", "cp_chair": "Rhian Pritchard", "agency_rep": "", "reason": "Did not attend"}
    data = {
        "rows": [
            {**row, "meeting_date": "2026-11-05", "agency": "Greenfield High School"},
            {**row, "meeting_date": "2026-11-06", "agency": "West Yorkshire Police"},
        ]
    }
    links = []

    def link_failing_on_the_second_conference(token: str) -> str:
        links.append(token)
        if len(links) == 2:
            raise RuntimeError("the second conference's link could not be made")
        return link_for(token)

    with ws_app.app_context(), pytest.raises(RuntimeError):
        tables.ingest(
            ws_session,
            documents.render(SPEC, data, "docx"),
            "a3.docx",
            "kirklees",
            recorded_by="bu@kirklees.example",
            link_for=link_failing_on_the_second_conference,
            now=NOW,
        )
    assert len(links) == 2
    for table in (Conference, ConferenceIssue, Case, OutboxMessage):
        assert ws_session.scalar(select(func.count()).select_from(table)) == 0, table.__name__
    # Sent again, once the link can be made, both conferences are recorded, each once.
    with ws_app.app_context():
        found = tables.ingest(
            ws_session,
            documents.render(SPEC, data, "docx"),
            "a3.docx",
            "kirklees",
            recorded_by="bu@kirklees.example",
            link_for=link_for,
            now=NOW,
        )
    assert len(found) == 2 and ws_session.scalar(select(func.count()).select_from(Conference)) == 2
