"""What reading an input needs to know about what is already here: the e-mail it repeats, the case
a reply belongs to, whether its sender is a party to that case; (a validation error in words is forms.schema.describe_errors)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from parsers import ParseResult
from service.casework.models import Case, OutboxMessage
from service.intake.claims import ClaimLost
from service.intake.models import ReceivedItem


def share_case(session, message_id: str | None = None) -> None:
    """Give the duplicates of an e-mail the case its applied copy made. A duplicate settled while that
    copy was still being applied found no case yet; whichever of the two settles second fills it in
    (both run this once settled), so none is left pointing nowhere whatever the order. Without a
    Message-ID, every duplicate still waiting: the intake sweep's repair for a fill-in that a database
    fault stopped after its item had settled."""
    table = ReceivedItem.__table__
    applied = table.alias("applied")
    holder = (
        select(applied.c.case_reference)
        .where((applied.c.message_id == table.c.message_id) & (applied.c.status != "duplicate"))
        .scalar_subquery()
    )
    waiting = (table.c.status == "duplicate") & table.c.case_reference.is_(None) & table.c.message_id.is_not(None)
    if message_id is not None:
        waiting &= table.c.message_id == message_id
    with session.get_bind().begin() as connection:  # only rows with a case to take are written
        connection.execute(update(table).where(waiting & holder.is_not(None)).values(case_reference=holder))


def take_message_id(session, item: ReceivedItem, message_id: str | None, sender: str | None):
    """Make this item the one that holds its e-mail's Message-ID, with its sender (so a copy read at the
    same moment can tell it came from the same one), or return (id, case_reference, received_at, sender)
    of the item that holds it already. The database decides, by a unique index over the items that are
    not duplicates, so two copies of one e-mail read at the same moment cannot both be applied (a check
    before the write could not tell them apart: each would find the other not yet written). Written and
    committed on a connection of its own, so the reader's session keeps what it holds."""
    if not message_id:
        return None
    table = ReceivedItem.__table__
    mine = (table.c.id == item.id) & (table.c.claim == item.claim) & (table.c.status == "reading")
    holder = (table.c.message_id == message_id) & (table.c.status != "duplicate") & (table.c.id != item.id)
    for _ in range(3):  # the holder may be removed (retention) between the refusal and the look
        try:
            with session.get_bind().begin() as connection:
                done = connection.execute(update(table).where(mine).values(message_id=message_id, sender=sender))
        except IntegrityError:
            with session.get_bind().connect() as connection:
                found = connection.execute(
                    select(table.c.id, table.c.case_reference, table.c.received_at, table.c.sender).where(holder)
                ).first()
            if found is not None:
                return found
            continue
        if done.rowcount != 1:
            raise ClaimLost(f"item {item.id} is being read by another reader")
        set_committed_value(item, "message_id", message_id)
        set_committed_value(item, "sender", sender)
        return None
    raise RuntimeError("the e-mail's Message-ID is held by an item that cannot be found")


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
