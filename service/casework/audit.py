"""The append-only audit log: who saw or changed which case, when, and what.

Every view of a case that holds child details is written here, as are changes, exports, downloads
and retention purges. Entries are never changed or removed: the ORM refuses to flush an update or a
delete of one (`_refuse_changes`), and the migration adds database triggers that refuse UPDATE and
DELETE on both SQLite and PostgreSQL (and, on SQLite, INSERT OR REPLACE, which removes a row
without firing DELETE triggers), so not even a hand-written statement can rewrite history.

And if someone with the database owner's rights switches the triggers off, it shows: each row
carries the SHA-256 of the previous row's hash and its own values, one chain for the whole log.
Every writer first updates the single `audit_chain_head` row, so writers queue on its lock and the
chain never forks; `verify` (`flask --app app audit verify`, and `/readyz?deep=1`) walks the chain
and names the first row that does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import DDL, event, select, update
from sqlalchemy.orm import Session

from service.casework.models import AuditChainHead, AuditEntry

GENESIS = "0" * 64  # the "previous hash" of the first row
HEAD_MISSING = "the chain's head row was removed: nothing more can be written to the audit log until it is restored"

ACTIONS = {
    "case.view": "Viewed the case",
    "case.note": "Added a note",
    "case.close": "Closed the case with its de-brief and learning",
    "case.outcome": "Recorded the outcome and learning",
    "case.stage": "Moved the case to another stage",
    "case.emergency-route": "Recorded that the policy's emergency route was used",
    "submission.download": "Downloaded an original submission",
    "quarantine.view": "Viewed a quarantined submission",
    "quarantine.fix": "Fixed and re-ran a quarantined submission",
    "intake.upload": "Uploaded returned forms to be read",
    "export.csv": "Exported submissions as CSV",
    "export.xlsx": "Exported submissions as XLSX",
    "report.annual": "Produced the annual report",
    "directory.edit": "Changed the contacts directory",
    "outbox.retry": "Sent an undelivered notification again",
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


def case_viewed(session: Session, case, actor: str, *, detail: str, remote_addr: str | None = None) -> bool:
    """Reading a case that holds a child's details is audited, wherever it is read (the case page, the
    API, `flask case`); True when it was recorded, for the caller to commit with its work."""
    from service.casework.lookup import holds_child_details

    if not holds_child_details(case):
        return False
    record(
        session,
        actor,
        "case.view",
        partnership=case.partnership,
        case_reference=case.reference,
        detail=detail,
        remote_addr=remote_addr,
    )
    return True


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
    previous = _take_head(session)
    entry = AuditEntry(
        at=dt.datetime.now(dt.UTC),
        actor=actor[:254],
        action=action,
        partnership=partnership,
        case_reference=case_reference,
        detail=detail,
        remote_addr=remote_addr,
        prev_hash=previous,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(hash=entry.hash),
        execution_options={"synchronize_session": False},
    )
    return entry


def _take_head(session: Session) -> str:
    """Lock the chain's head (held to the end of the transaction) and read the newest hash."""
    taken = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(count=AuditChainHead.count + 1)
        .returning(AuditChainHead.hash),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()
    # The row comes with its table (migration 1301, or create_all): gone, it was removed by hand, and
    # starting it again from the newest row would hide rows removed from the end.
    if taken is None:
        raise AuditLogIsAppendOnly(HEAD_MISSING)
    return taken


def entry_hash(entry: AuditEntry) -> str:
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    values = [
        entry.prev_hash,
        at,
        entry.actor,
        entry.action,
        entry.partnership,
        entry.case_reference,
        entry.detail,
        entry.remote_addr,
    ]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Verified:
    ok: bool
    checked: int
    problem: str | None = None
    row_id: int | None = None


def verify(session: Session) -> Verified:
    """Walk the chain from the first row; the first row whose hash or link does not match is named."""
    expected = GENESIS
    checked = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)):
        checked += 1
        if entry.prev_hash != expected:
            return Verified(
                False, checked, f"row {entry.id} does not match: the row before it was removed or changed", entry.id
            )
        if entry.hash != entry_hash(entry):
            return Verified(
                False, checked, f"row {entry.id} does not match: its values were changed after it was written", entry.id
            )
        expected = entry.hash
    head = session.scalar(select(AuditChainHead.hash).where(AuditChainHead.id == 1))
    if head is None:
        return Verified(False, checked, HEAD_MISSING)
    if head != expected:
        return Verified(False, checked, "the newest rows do not match the chain's head: rows were removed from the end")
    return Verified(True, checked)


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
# INSERT OR REPLACE deletes the row it replaces without firing DELETE triggers (recursive triggers
# are off): refuse any insert whose id is taken, before the conflict is resolved.
SQLITE_NO_REPLACE = (
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)
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


# Migration 0201 runs SQLITE_TRIGGERS as they were; 1301 adds SQLITE_NO_REPLACE.
for _sql in (*SQLITE_TRIGGERS, SQLITE_NO_REPLACE):
    event.listen(AuditEntry.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in POSTGRES_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", DDL(_sql).execute_if(dialect="postgresql"))

# The chain's head row, so the first write finds it (the migration inserts it too).
event.listen(
    AuditChainHead.__table__,
    "after_create",
    DDL("INSERT INTO audit_chain_head (id, count, hash) VALUES (1, 0, '" + "0" * 64 + "')"),  # GENESIS
)
