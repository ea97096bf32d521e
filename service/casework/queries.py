"""Reading cases: by reference or tracking link, lists and overdue, and each case as a view."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from forms.model import Pack
from service.casework import access, workdays
from service.casework.errors import CaseError, UnknownCase
from service.casework.lookup import hash_token, load_case, now_utc, pack_of
from service.casework.models import Case, CaseStage
from service.casework.stages import next_step


def get(session: Session, reference: str) -> Case:
    """The case with this reference (any case, upper or lower), or UnknownCase."""
    return load_case(session, reference)


def by_tracking_token(session: Session, token: str) -> Case:
    if not token or len(token) > 200:
        raise UnknownCase("no case for this tracking link")
    found = session.scalar(select(Case).where(Case.tracking_hash == hash_token(token)))
    if found is None:
        raise UnknownCase("no case for this tracking link")
    return found


@dataclass(frozen=True)
class Page:
    cases: list[Case]
    next_cursor: str | None


def list_cases(
    session: Session,
    *,
    partnership: str | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    within: list[str] | None = None,
) -> Page:
    """Newest first, `limit` per page; pass the returned `next_cursor` for the next page.

    `within` limits the list to those partnerships (the ones a member of staff may see)."""
    if partnership is not None:
        pack_of(partnership)
    limit = max(1, min(limit, 200))
    query = select(Case).order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    if within is not None:
        query = query.where(access.where(within))
    if partnership:
        query = query.where(Case.partnership == partnership)
    if status:
        query = query.where(Case.status == status)
    if cursor:
        try:
            stamp, _, ident = cursor.partition("~")
            created, case_id = dt.datetime.fromisoformat(stamp), int(ident)
        except ValueError:
            raise CaseError(f"not a page cursor: {cursor!r}") from None
        query = query.where(or_(Case.created_at < created, and_(Case.created_at == created, Case.id < case_id)))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1].created_at.isoformat()}~{rows[-1].id}" if more and rows else None
    return Page(rows, next_cursor)


def overdue(
    session: Session,
    *,
    today: dt.date | None = None,
    partnership: str | None = None,
    limit: int = 200,
    within: list[str] | None = None,
) -> list[Case]:
    """Open cases whose current stage is past its due date, longest overdue first (`within`: as list_cases)."""
    today = today or workdays.today()
    query = (
        select(Case)
        .where(Case.status == "open", Case.current_due.is_not(None), Case.current_due < today)
        .order_by(Case.current_due, Case.id)
        .limit(limit)
    )
    if within is not None:
        query = query.where(access.where(within))
    if partnership:
        pack_of(partnership)
        query = query.where(Case.partnership == partnership)
    return list(session.scalars(query))


def count_cases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case)) or 0


def stage_view(pack: Pack, row: CaseStage, cal: workdays.Calendar, today: dt.date) -> dict:
    stage = pack.stage(row.stage)
    finished = row.left_on is not None or row.skipped
    flags = cal.flags(row.due, today, finished=finished)
    met = None
    if row.due is not None and row.left_on is not None:
        met = row.left_on <= row.due
    return {
        "stage": row.stage,
        "name": stage.name,
        "label": stage.label,
        "skipped": row.skipped,
        "entered_on": row.entered_on.isoformat() if row.entered_on else None,
        "timescale": stage.timescale.describe(),
        "policy_words": stage.timescale.words,
        "reading": stage.timescale.reading,
        "due": row.due.isoformat() if row.due else None,
        "due_words": workdays.describe_due(row.due, stage.timescale),
        "left_on": row.left_on.isoformat() if row.left_on else None,
        "met": met,
        "overdue": flags["overdue"] or (met is False),
        "due_soon": flags["due_soon"],
        "outcome": row.outcome,
        "reason": row.reason,
    }


def case_view(session: Session, case: Case, *, now: dt.datetime | None = None, files: bool = True) -> dict:
    """The whole case as a JSON-ready dict (for business units: it includes child details). With
    `files=False` each submission leaves out its original's size and sha256, so no original is read
    (the workspace's case page, which never shows the digest and asks the database for the sizes)."""
    pack = pack_of(case.partnership)
    today = workdays.today(now_utc(now))
    cal = workdays.calendar(session)
    flags = cal.flags(case.current_due, today, finished=case.status != "open")
    step = next_step(pack, case)
    return {
        "reference": case.reference,
        "partnership": case.partnership,
        "partnership_name": pack.name,
        "process": case.process,
        "status": case.status,
        "raiser_name": case.raiser_name,
        "raiser_role": case.raiser_role,
        "raiser_contact": case.raiser_contact,
        "raising_agency": case.raising_agency,
        "receiving_agency": case.receiving_agency,
        "receiving_sector": case.receiving_sector,
        "area": case.area,
        "category": case.category,
        "child_name": case.child_name,
        "date_raised": case.date_raised.isoformat() if case.date_raised else None,
        "immediate_risk": case.immediate_risk,
        "emergency_route_shown_at": (
            case.emergency_route_shown_at.isoformat() if case.emergency_route_shown_at else None
        ),
        "current_stage": case.current_stage,
        "current_due": case.current_due.isoformat() if case.current_due else None,
        "overdue": flags["overdue"],
        "due_soon": flags["due_soon"],
        "next_step": step.text,
        "outcome": case.outcome,
        "resolution": case.resolution,
        "learning": case.learning,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "stages": [stage_view(pack, row, cal, today) for row in case.stages],
        "submissions": [
            {
                "id": s.id,
                "form_id": s.form_id,
                "channel": s.channel,
                "stage": s.stage,
                "received_at": s.received_at.isoformat(),
                "filename": s.filename,
                "content_type": s.content_type,
                **(_original(s.raw) if files else {}),
                "data": s.data,
            }
            for s in case.submissions
        ],
        "routing": [
            {
                "submission_id": r.submission_id,
                "stage": r.stage,
                "rule_id": r.rule_id,
                "role": r.role,
                "name": r.name,
                "email": r.email,
                "phone": r.phone,
                "agency": r.agency,
                "reason": r.reason,
            }
            for r in case.routings
        ],
    }


def _original(raw: bytes | None) -> dict:
    return {
        "raw_bytes": len(raw) if raw is not None else None,
        "raw_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
    }


def tracking_view(session: Session, case: Case, *, now: dt.datetime | None = None) -> dict:
    """What the person who raised the case may see by its tracking token: no child details, no contacts' data."""
    full = case_view(session, case, now=now)
    keys = (
        "reference",
        "partnership_name",
        "status",
        "current_stage",
        "current_due",
        "overdue",
        "due_soon",
        "next_step",
    )
    view = {k: full[k] for k in keys}
    view["emergency_route_shown_at"] = full["emergency_route_shown_at"]
    view["stages"] = [
        {k: s[k] for k in ("stage", "name", "entered_on", "timescale", "due", "due_words", "left_on", "met", "overdue")}
        | {"skipped": s["skipped"], "reason": _public_reason(s)}
        for s in full["stages"]
    ]
    return view


def _public_reason(stage: dict) -> str | None:
    """Why a stage was passed, without the raiser's own words (they may hold a child's details)."""
    reason = stage.get("reason") or ""
    if not stage.get("skipped"):
        return None
    return reason if reason.startswith("Bypassed") else "Before this record"
