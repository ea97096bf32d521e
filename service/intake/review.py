"""What a person does with what could not be applied: the review list (quarantined and held items),
running an item again with their choices (the form, corrected answers, the case), and releasing a
held reply after checking its sender.

Running again is reading again: `request_rerun` keeps the person's choices on the item and puts it
back to "received" in one atomic update (two people pressing at once: one wins), and the next
reading job (service.intake.jobs) applies them, trusted as a person's action. `reprocess` and
`release` do the same and read it at once, in this process.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from service.intake import claims
from service.intake.ingest import read
from service.intake.models import ReceivedItem
from service.intake.store import IngestOutcome, outcome_of

REVIEWED = ("quarantined", "held")


def for_review(
    session: Session, partnerships: list[str] | None = None, unattributed: bool = True, limit: int = 200
) -> list[ReceivedItem]:
    """Quarantined and held items, oldest first: all of them, or those of `partnerships` and, when
    `unattributed`, the items no partnership could be read from (they may name any partnership's child)."""
    query = select(ReceivedItem).where(ReceivedItem.status.in_(REVIEWED))
    if partnerships is not None:
        mine = ReceivedItem.partnership.in_(partnerships)
        query = query.where(or_(mine, ReceivedItem.partnership.is_(None)) if unattributed else mine)
    return list(session.scalars(query.order_by(ReceivedItem.received_at, ReceivedItem.id).limit(limit)))


def request_rerun(
    session: Session,
    item_id: int,
    *,
    actor: str,
    form_id: str | None = None,
    data: dict | None = None,
    case: str | None = None,
    held_only: bool = False,
    sender_checked: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """Put a quarantined or held item back to be read with a person's choices: as `form_id` (they
    chose the form), with `data` (they corrected the answers), optionally onto `case`. A reply is
    still applied only from a party whose message passed the sender check, unless `sender_checked`
    (a person released it: "I have checked the sender"). Raises LookupError or ValueError (in words)
    when it cannot be run again."""
    item = session.get(ReceivedItem, item_id)
    if item is None:
        raise LookupError(f"no received item {item_id}")
    allowed = ("held",) if held_only else REVIEWED
    if item.status not in allowed:
        raise ValueError(f"item {item_id} is {item.status}; only {' or '.join(allowed)} items are run again")
    if data is not None and form_id is None:
        form_id = item.form_id
        if form_id is None:
            raise ValueError("choose the form the corrected answers are for")
    options = {"form_id": form_id, "data": data, "case": case, "actor": actor, "sender_checked": sender_checked}
    moment = now or dt.datetime.now(dt.UTC)
    again = session.execute(
        update(ReceivedItem)
        .where(ReceivedItem.id == item_id, ReceivedItem.status.in_(allowed))
        .values(status="received", rerun=options, reviewed_by=actor, reviewed_at=moment, read_starts=0, queued_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if again.rowcount != 1:  # two people pressed "run again" at once: the other one's run goes ahead
        raise ValueError(f"item {item_id} is already being run again")


def reprocess(session: Session, item_id: int, *, actor: str, now: dt.datetime | None = None, **choices):
    """request_rerun, then read it here and now; the outcome."""
    request_rerun(session, item_id, actor=actor, now=now, **choices)
    return _read_now(session, item_id, now)


def release(session: Session, item_id: int, *, actor: str, now: dt.datetime | None = None) -> IngestOutcome:
    """Apply a held reply to its case after a person has checked the sender."""
    request_release(session, item_id, actor=actor, now=now)
    return _read_now(session, item_id, now)


def request_release(session: Session, item_id: int, *, actor: str, now: dt.datetime | None = None) -> None:
    item = session.get(ReceivedItem, item_id)
    if item is None or item.status != "held":
        raise ValueError(f"item {item_id} is not held for review")
    request_rerun(
        session,
        item_id,
        actor=actor,
        form_id=item.form_id,
        data=(item.rerun or {}).get("data"),  # answers a person corrected before it was held, if any
        case=item.case_reference,
        held_only=True,
        sender_checked=True,
        now=now,
    )


def _read_now(session: Session, item_id: int, now) -> IngestOutcome:
    outcome = read(session, item_id, claim=claims.new_token(), now=now or dt.datetime.now(dt.UTC))
    return outcome or outcome_of(session.get(ReceivedItem, item_id, populate_existing=True))
