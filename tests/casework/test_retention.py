"""Retention removes everything of a purged case, in every table that holds a case's reference, its
content or personal data (issue 19: the received item kept the original DOCX and the parsed answers).

Every table of the schema is classified below, so a new table must be placed before this passes."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select, text, update

from forms import registry
from service.casework import retention
from service.casework.models import AuditEntry, Base, Case, CaseNote
from service.conference import log, responses
from service.documents import records as documents
from service.intake import ingest
from tests.conftest import sample
from tests.workspace.support import submit_sample, ws_app_fixture, ws_session_fixture  # noqa: F401

# Every table holding a case's reference, its content, the original files or a person's details.
CASE_DATA = {
    "cases",
    "case_stages",
    "case_notes",
    "submissions",
    "routing_decisions",
    "outbox",
    "drafts",
    "received_items",
    "conferences",
    "conference_issues",
    "conference_responses",
    "sends",  # a send's key and first answer, deleted with its case
}
# Tables that hold no case's content, and why they stay.
NOT_CASE_DATA = {
    "audit_log": "append-only record of who did what, naming the reference only; it records the purge",
    "audit_chain_head": "the newest audit row's hash, nothing of a case",
    "bank_holidays": "the calendar",
    "contacts": "the partnership's directory, not a case",
    "reference_counters": "the last reference issued per partnership and year, so none is issued twice",
    "staff_users": "accounts",
    "staff_memberships": "accounts",
    "staff_sessions": "accounts",
    "staff_sign_in_attempts": "accounts",
    "upload_batches": "an upload's file names and item numbers for its progress page, forgotten after 30 days "
    "(intake.uploads.forget_old_batches), long before a closed case reaches its retention period",
}
NOW = dt.datetime.now(dt.UTC)
OLD = NOW - dt.timedelta(days=365 * 7)


def _close(session, reference: str, when: dt.datetime) -> None:
    session.execute(
        update(Case).where(Case.reference == reference).values(status="resolved", updated_at=when, closed_at=when)
    )
    session.commit()


def _rows_as_text(session, table: str) -> str:
    return "\n".join(repr(tuple(row)) for row in session.execute(text(f"SELECT * FROM {table}")))


def _conference(session):
    return log.record(
        session,
        "kirklees",
        {
            "meeting_date": (OLD - dt.timedelta(days=3)).date().isoformat(),
            "family": "Family Zedekiah",
            "chair_name": "Rhian Pritchard",
            "rows": [{"agency": "Greenfield High School", "agency_rep": "Ezinne Okafor", "reason": "non-attendance"}],
        },
        recorded_by="chair@kirklees.example",
        link_for=lambda token: f"https://escalate.example/conference/respond/{token}",
        now=OLD,
    )


def test_every_table_is_classified(ws_app):
    assert set(Base.metadata.tables) == CASE_DATA | set(NOT_CASE_DATA)


def test_a_purged_case_leaves_nothing_in_any_table(ws_app, ws_session):
    spec = registry().form("kirklees-appendix-5")
    returned = documents.render(spec, sample(spec.id), "docx")
    with ws_app.app_context():
        outcome = ingest.ingest(
            ws_session, returned, channel="upload", filename="returned.docx", partnership="kirklees", now=OLD
        )
    assert outcome.status == "accepted", outcome
    with ws_app.app_context():
        conference = _conference(ws_session)
        responses.record_link_response(
            ws_session,
            conference.issues[0],
            responder="Yusuf Abernethy",
            text="Our report was late.",
            now=OLD,
            send_key="retention-test-key-1",
        )
    purged = [outcome.reference, *(issue.case.reference for issue in conference.issues)]
    case_id = ws_session.scalar(select(Case.id).where(Case.reference == outcome.reference))
    ws_session.add(CaseNote(case_id=case_id, kind="note", author_email="bu@kirklees.example", at=OLD, text="seen"))
    ws_session.commit()
    kept = submit_sample(ws_app, "merton-disagreement-record")
    for reference in purged:
        _close(ws_session, reference, OLD)

    with ws_app.app_context():
        done = retention.purge(ws_session, 6, NOW)
    assert sorted(d.reference for d in done) == sorted(purged)

    markers = [
        *purged,
        hashlib.sha256(returned).hexdigest(),
        "Amira Haddad",  # the raiser, in the parsed answers
        "Siobhán",  # the child
        "Family Zedekiah",
        "Ezinne Okafor",
        "Yusuf Abernethy",  # the agency's responder
    ]
    for table in sorted(CASE_DATA):
        rows = _rows_as_text(ws_session, table)
        for marker in markers:
            assert marker not in rows, f"{table} still holds {marker!r} after the purge"
    assert set(ws_session.scalars(select(Case.reference))) == {kept.reference}
    assert not _rows_as_text(ws_session, "received_items") and not _rows_as_text(ws_session, "conferences")

    entries = ws_session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge")).all()
    assert sorted(e.case_reference for e in entries) == sorted(purged)
    ingested = next(e for e in entries if e.case_reference == outcome.reference)
    assert "1 received item" in ingested.detail and "1 submission" in ingested.detail
    assert any("1 conference" in e.detail for e in entries)


def test_the_period_runs_from_the_close_not_from_a_later_edit(ws_app, ws_session):
    """An outcome edited after closing moved the clock (it ran from updated_at): the case was kept
    past the period. It runs from closed_at, which only the close sets."""
    from service.casework import stages

    closed = submit_sample(ws_app, "kirklees-appendix-5", now=OLD)
    with ws_app.app_context():
        stages.record_outcome(ws_session, closed.reference, outcome="Agreed a joint visit", resolved=True, now=OLD)
        stages.record_outcome(ws_session, closed.reference, learning="Share the plan sooner", now=NOW)
    case = ws_session.scalar(select(Case).where(Case.reference == closed.reference))
    assert case.closed_at == OLD and case.updated_at == NOW
    assert [d.reference for d in retention.due_for_purge(ws_session, 6, NOW)] == [closed.reference]
    assert retention.due_for_purge(ws_session, 8, NOW) == []
