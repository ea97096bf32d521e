"""Closing a case: the resolution, the de-brief and the learning are all required, whichever route
closes it (the case page or the API), and they are recorded with an audit entry in one transaction.

The policies ask for a de-brief when a disagreement is resolved (Kirklees step 7, SSCP, Merton
§3.16); a case closed without one would leave the business unit nothing to learn from.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from service.casework import audit
from service.casework.errors import CaseError
from service.casework.models import Case, CaseNote
from service.casework.stages import record_outcome

REQUIRED = {
    "resolution": "Enter how it was resolved",
    "debrief": "Enter what the de-brief found, or why none was held",
    "learning": "Enter the learning, or 'none identified'",
}


class CloseRefused(CaseError):
    """What closing needs and was not given: `messages` maps each missing answer to what to enter."""

    def __init__(self, messages: dict[str, list[str]]):
        super().__init__("a case is closed with its resolution, de-brief and learning")
        self.messages = messages


def missing(**answers: str | None) -> dict[str, list[str]]:
    return {name: [text] for name, text in REQUIRED.items() if not (answers.get(name) or "").strip()}


def close(
    session: Session,
    case: Case,
    *,
    resolution: str | None,
    debrief: str | None,
    learning: str | None,
    actor: str,
    outcome: str | None = None,
    detail: str | None = None,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Close the case with its de-brief (a note) and an audit entry, or refuse naming what is missing."""
    if found := missing(resolution=resolution, debrief=debrief, learning=learning):
        raise CloseRefused(found)
    if case.status != "open":
        raise CaseError(f"{case.reference} is already closed")
    moment = now or dt.datetime.now(dt.UTC)
    session.add(CaseNote(case_id=case.id, kind="debrief", author_email=actor[:254], at=moment, text=debrief))
    audit.record(
        session,
        actor,
        "case.close",
        partnership=case.partnership,
        case_reference=case.reference,
        detail=detail,
        remote_addr=remote_addr,
    )
    # record_outcome commits the note and the audit entry with the resolution, or none of them.
    return record_outcome(
        session, case, outcome=outcome, resolution=resolution, learning=learning, resolved=True, now=moment
    )
