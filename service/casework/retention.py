"""Retention: cases closed more than `RETENTION_YEARS` ago are purged, each purge audited.

A case counts as closed on the day it was resolved (its `updated_at` when resolved; a resolved case
is not changed afterwards). The purge deletes the case with its stages, submissions and original
files, routing, outbox rows and notes (database cascades); its audit entries stay, naming the
reference, so the log still shows who saw it and that it was purged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.casework import audit
from service.casework.models import Case

DEFAULT_YEARS = 6


@dataclass(frozen=True)
class Due:
    reference: str
    partnership: str
    closed_at: dt.datetime


def cutoff(now: dt.datetime, years: int) -> dt.datetime:
    """The same calendar day `years` back (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def due_for_purge(session: Session, years: int, now: dt.datetime, limit: int | None = None) -> list[Due]:
    if years < 1:
        raise ValueError("the retention period must be at least 1 year")
    query = (
        select(Case.reference, Case.partnership, Case.updated_at)
        .where(Case.status == "resolved", Case.updated_at < cutoff(now, years))
        .order_by(Case.updated_at, Case.id)
    )
    if limit:
        query = query.limit(limit)
    return [Due(*row) for row in session.execute(query)]


def purge(session: Session, years: int, now: dt.datetime, actor: str = "system: retention purge") -> list[Due]:
    """Delete the cases due, in batches of 500, each batch with its audit entries in one transaction."""
    purged: list[Due] = []
    while True:
        batch = due_for_purge(session, years, now, limit=500)
        if not batch:
            return purged
        for item in batch:
            audit.record(
                session,
                actor,
                "retention.purge",
                partnership=item.partnership,
                case_reference=item.reference,
                detail=f"closed {item.closed_at.date().isoformat()}, older than {years} years",
            )
        session.execute(
            delete(Case)
            .where(Case.reference.in_([item.reference for item in batch]))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        purged += batch
