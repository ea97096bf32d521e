"""What reading an input needs to know about what is already here: the e-mail it repeats, the case
a reply belongs to, whether its sender is a party to that case; and a validation error in words."""

from __future__ import annotations

from sqlalchemy import select

from parsers import ParseResult
from service.casework.models import Case, OutboxMessage
from service.intake.models import ReceivedItem


def describe(spec, errors: dict) -> str:
    parts = []
    for key, messages in errors.items():
        text = messages if isinstance(messages, str) else "; ".join(_flatten(messages))
        parts.append(text if "'" in text else f"{key}: {text}")
    return "; ".join(parts)


def _flatten(messages) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flatten(value)]
    return [m for value in messages for m in _flatten(value)]


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
