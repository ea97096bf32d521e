"""Who may answer a case by e-mail: its parties, by exact address, and only when authenticated.

A party to a case is, by the exact address (compared whole, case-insensitive; never a part of one):
- someone the case was routed to;
- the raiser, at an e-mail address written in the form's contact details;
- a sender whose earlier message on this case was accepted.

A reply applies only when its single From: address is a party and the message passed the sender
check (service.intake.sender_auth). Anything else is held with its reason, for the business unit.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.casework.models import Case, RoutingDecision
from service.casework.receipts import ADDRESS, addresses_in
from service.intake.models import ReceivedItem

NOT_A_PARTY = "not a party"
NOT_AUTHENTICATED = "sender not authenticated"
NO_SENDER = "no single sender"


def exact(sender: str | None) -> str | None:
    """The sender as one whole address, lower case; None for anything that is not one."""
    sender = (sender or "").strip().lower()
    return sender if ADDRESS.fullmatch(sender) else None


def is_party(session: Session, case: Case, sender: str | None) -> bool:
    sender = exact(sender)
    if sender is None:
        return False
    if sender in addresses_in(case.raiser_contact):
        return True
    routed = select(RoutingDecision.id).where(
        RoutingDecision.case_id == case.id, func.lower(RoutingDecision.email) == sender
    )
    earlier = select(ReceivedItem.id).where(
        ReceivedItem.case_reference == case.reference,
        ReceivedItem.status == "accepted",
        func.lower(ReceivedItem.sender) == sender,
    )
    return any(session.scalar(q.limit(1)) is not None for q in (routed, earlier))


def hold_reason(session: Session, case: Case, item: ReceivedItem) -> str | None:
    """Why a reply to `case` may not be applied (None: it may), in words for the review page."""
    sender = exact(item.sender)
    if sender is None:
        return f"a reply to {case.reference} without a single sender address ({NO_SENDER})"
    if not is_party(session, case, sender):
        return f"a reply to {case.reference} from {sender}, who is {NOT_A_PARTY} to the case"
    if item.sender_auth != "pass":
        detail = item.sender_auth_detail or "it was not checked"
        return f"a reply to {case.reference} from {sender}, {NOT_AUTHENTICATED}: {detail}"
    return None


__all__ = ["exact", "hold_reason", "is_party"]
