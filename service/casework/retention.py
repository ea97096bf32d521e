"""Retention: cases closed more than `RETENTION_YEARS` ago are purged, each purge audited.

A case counts as closed on the day it was resolved (its `closed_at`; an outcome or de-brief edited
afterwards does not move it). The purge deletes everything of the case, in one transaction per batch:
the case with its stages, submissions and original files, routing, outbox rows, notes and drafts
(database cascades); every received item (raw file and parsed answers) threaded to it or to one of
its submissions; its child protection conference row with the agency's responses, and the
conference itself (family, chair, the returned Appendix 3) once none of its rows is left. Files live
only in the database, so nothing is left on disk. Its audit entries stay, naming the reference, with
one more recording the purge and what it removed (tests/casework/test_retention.py lists every table).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.casework import audit
from service.casework.models import Case, Submission

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
        select(Case.reference, Case.partnership, Case.closed_at)
        .where(Case.status == "resolved", Case.closed_at < cutoff(now, years))
        .order_by(Case.closed_at, Case.id)
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
            removed = _remove(session, item.reference)
            audit.record(
                session,
                actor,
                "retention.purge",
                partnership=item.partnership,
                case_reference=item.reference,
                detail=f"closed {item.closed_at.date().isoformat()}, older than {years} years; removed {removed}",
            )
        session.commit()
        purged += batch


# What other packages keep of a case (received items, conference rows), each removed by a function
# they register here (the domain's lower layers never import the upper ones): (session, case id,
# reference, submission ids) -> counts, run before the case itself is deleted.
Remover = Callable[[Session, int, str, list[int]], str]
REMOVERS: list[Remover] = []


def also_remove(remover: Remover) -> Remover:
    REMOVERS.append(remover)
    return remover


def _remove(session: Session, reference: str) -> str:
    """Delete one case and everything tied to it (not committed); says what went, in counts."""
    case_id = session.scalar(select(Case.id).where(Case.reference == reference))
    submissions = list(session.scalars(select(Submission.id).where(Submission.case_id == case_id)))
    removed = [count(len(submissions), "submission")]
    removed += [remover(session, case_id, reference, submissions) for remover in REMOVERS]
    session.execute(delete(Case).where(Case.id == case_id).execution_options(synchronize_session=False))
    return ", ".join(removed)


def count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
