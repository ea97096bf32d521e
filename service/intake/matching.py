"""What reading an input needs to know about what is already here: the e-mail it repeats, the case
a reply belongs to, whether its sender is a party to that case; (a validation error in words is forms.schema.describe_errors)."""

from __future__ import annotations

from sqlalchemy import select

from parsers import ParseResult
from service.casework.models import Case, OutboxMessage
from service.intake.models import ReceivedItem


def same_message(session, item: ReceivedItem) -> ReceivedItem | None:
    if not item.message_id:
        return None
    return session.scalar(
        select(ReceivedItem)
        .where(ReceivedItem.message_id == item.message_id, ReceivedItem.id != item.id)
        .where(ReceivedItem.status != "duplicate")
        .order_by(ReceivedItem.id)
        .limit(1)
    )


def thread(session, result: ParseResult) -> str | None:
    """The case a reply belongs to: its reference tag, else a Message-ID of ours it answers."""
    if result.reference:
        return result.reference
    email = result.email or {}
    ids = [i for i in [email.get("in_reply_to"), *email.get("references", [])] if i]
    if not ids:
        return None
    ours = session.scalar(select(OutboxMessage.case_id).where(OutboxMessage.message_id.in_(ids)).limit(1))
    if ours is None:
        return None
    return session.scalar(select(Case.reference).where(Case.id == ours))
