"""The append-only audit log: who saw or changed which case, when, and what.

Every view of a case that holds child details is written here, as are changes, exports, downloads
and retention purges. Entries are never changed or removed: the ORM refuses to flush an update or a
delete of one (`_refuse_changes`), and the migration adds database triggers that refuse UPDATE and
DELETE on both SQLite and PostgreSQL, so not even a hand-written statement can rewrite history.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, event, select
from sqlalchemy.orm import Session

from service.casework.models import AuditEntry

ACTIONS = {
    "case.view": "Viewed the case",
    "case.note": "Added a note",
    "case.close": "Closed the case with its de-brief and learning",
    "case.outcome": "Recorded the outcome and learning",
    "submission.download": "Downloaded an original submission",
    "quarantine.view": "Viewed a quarantined submission",
    "quarantine.fix": "Fixed and re-ran a quarantined submission",
    "intake.upload": "Uploaded returned forms to be read",
    "export.csv": "Exported submissions as CSV",
    "export.xlsx": "Exported submissions as XLSX",
    "report.annual": "Produced the annual report",
    "directory.edit": "Changed the contacts directory",
    "retention.purge": "Purged a case past its retention period",
    "database.restore": "Restored the database from a backup and advanced the case references",
    "conference.record": "Recorded a child protection conference and notified the agencies",
    "conference.accept": "Accepted a held reply as an agency's response",
    "user.create": "Made a staff account",
    "ingest.trusted": "Loaded a file as vouched for, applying a reply whoever sent it (flask ingest --trusted)",
    "tracking.recover": "Asked for a new tracking link on the lost-link page",
    "sign-in": "Signed in",
    "sign-out": "Signed out",
}


class AuditLogIsAppendOnly(RuntimeError):
    pass


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    partnership: str | None = None,
    case_reference: str | None = None,
    detail: str | None = None,
    remote_addr: str | None = None,
) -> AuditEntry:
    if action not in ACTIONS:
        raise KeyError(f"unknown audit action '{action}'")
    entry = AuditEntry(
        at=dt.datetime.now(dt.UTC),
        actor=actor[:254],
        action=action,
        partnership=partnership,
        case_reference=case_reference,
        detail=detail,
        remote_addr=remote_addr,
    )
    session.add(entry)
    return entry


def for_case(session: Session, reference: str, limit: int = 200) -> list[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.case_reference == reference)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise AuditLogIsAppendOnly("audit entries cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj):
            raise AuditLogIsAppendOnly("audit entries cannot be changed")


# Triggers that refuse UPDATE and DELETE on audit_log: run by the migration, and by create_all
# (the DDL events at the end) so test databases made from the models are append-only too.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
POSTGRES_TRIGGERS = (
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


for _sql in SQLITE_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in POSTGRES_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", DDL(_sql).execute_if(dialect="postgresql"))
