"""Who is reading a received item, enforced by the database: exactly one reader applies it.

A reader (a job on the intake queue, or a person running a quarantined item again) first claims the
item with one atomic UPDATE: `received` (or `reading` whose lease has run out: its reader stopped
part-way) becomes `reading` with the reader's claim token and a lease. Every outcome is written by
another UPDATE that only matches while the claim is still the reader's, inside the transaction that
makes the case change; so an item read twice (a job delivered twice, a slow reader overtaken after
its lease) is applied once, and the loser's transaction is rolled back.

A reader renews its lease while it works (`heartbeat`: a thread of its own, on its own connection,
moving `lease_until` on with an UPDATE that matches only while the claim is still its own), so an
OCR reading or a LibreOffice conversion longer than the lease is never taken over while its reader
lives; a reader that died renews nothing, and its lease runs out as before.

The queue may lose a job (a worker killed after taking it, Redis restarted without its data, Redis
down when the item was stored): `stalled` finds what needs a job again, from the database alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import threading
import time
import uuid

from sqlalchemy import bindparam, case, func, inspect, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service.intake.models import ReceivedItem
from service.intake.store import now_or

log = logging.getLogger(__name__)
MAX_STARTS = 3  # a reader stopped part-way this many times: a person looks at it instead
STOPPED = "its reading stopped part-way {n} times (the reading process ended, e.g. a restart); run it again"


@functools.cache
def _columns() -> tuple[str, ...]:
    # On first use, not at import: inspecting the mapper configures every mapper (tens of ms), which
    # `flask ingest` would pay before reading its first byte.
    return tuple(c.key for c in inspect(ReceivedItem).column_attrs)


class ClaimLost(Exception):
    """Another reader holds the item now (this one's lease ran out): this reader's work is dropped."""


def lease() -> dt.timedelta:
    """How long a reader holds an item: far beyond a reading's 30 s wall-clock backstop."""
    return dt.timedelta(seconds=float(os.environ.get("INTAKE_LEASE_SECONDS", 300)))


def requeue_after() -> dt.timedelta:
    """How long a waiting item's job may sit in the queue before the sweep queues it again."""
    return dt.timedelta(seconds=float(os.environ.get("INTAKE_REQUEUE_SECONDS", 600)))


def max_hold() -> dt.timedelta:
    """How long a live reader may keep renewing: a reading is bounded by the sandbox's wall clock
    (90 s), so a reader still holding an item after this is stuck, and another may take it over."""
    return dt.timedelta(seconds=float(os.environ.get("INTAKE_MAX_HOLD_SECONDS", 900)))


MIN_BEAT = 0.1  # seconds between renewals at the least, however short a lease is set: never a busy loop


def new_token() -> str:
    return uuid.uuid4().hex


def claim(session: Session, item_id: int, token: str, now: dt.datetime | None = None) -> ReceivedItem | None:
    """Take the item for this reader (the same token takes it again: a retried job); None when another
    reader holds it or it was read already. The item comes back with its bytes, in one statement."""
    now = now_or(now)
    params = {"item_id": item_id, "token": token, "now": now, "until": now + lease()}
    taken = session.execute(_take_statement(), params, execution_options=_RETURNED).first()
    session.commit()
    if taken is None:
        return None
    item, raw = taken
    set_committed_value(item, "raw", raw)
    return item


@contextlib.contextmanager
def holding(session: Session, item_id: int, token: str, now: dt.datetime | None = None):
    """claim(), its lease renewed from the moment it is taken until the block ends (`heartbeat`)."""
    item = claim(session, item_id, token, now)
    if item is None:
        yield None
        return
    with heartbeat(session, item_id, token):
        yield item


_RETURNED = {"synchronize_session": False, "populate_existing": True}


@functools.cache
def _take_statement():  # built once: building it cost as much as running it
    Item = ReceivedItem
    token, now = bindparam("token", type_=Item.claim.type), bindparam("now", type_=Item.lease_until.type)
    held = (Item.status == "reading") & ((Item.claim == token) | (Item.lease_until < now))
    return (
        update(Item)
        .where(Item.id == bindparam("item_id"), (Item.status == "received") | held)
        .values(
            status="reading",
            claim=token,
            lease_until=bindparam("until", type_=Item.lease_until.type),
            read_started_at=now,
            read_starts=Item.read_starts + case((Item.claim == token, 0), else_=1),
        )
        .returning(Item, Item.raw)  # the claimed row as it is now: no SELECT after
    )


def renew(session: Session, item_id: int, token: str, now: dt.datetime | None = None) -> bool:
    """Move this reader's lease on (committed); False when the claim is no longer its own."""
    Item = ReceivedItem
    mine = (Item.id == item_id) & (Item.claim == token) & (Item.status == "reading")
    done = session.execute(
        update(Item).where(mine).values(lease_until=now_or(now) + lease()).execution_options(synchronize_session=False)
    )
    session.commit()
    return done.rowcount == 1


@contextlib.contextmanager
def heartbeat(session: Session, item_id: int, token: str):
    """Renew the claim every third of the lease while the block runs (on a connection of its own: a
    session is not shared between threads); stops when the block ends, when the claim is lost, or
    after max_hold() (said in the log). A renewal that fails (the database briefly down) is tried at
    the next beat."""
    stop = threading.Event()
    beat = max(lease().total_seconds() / 3, MIN_BEAT)
    until = time.monotonic() + max_hold().total_seconds()

    def run():
        while not stop.wait(beat):
            if time.monotonic() > until:
                log.warning(
                    "item %s still held by its reader after %s; its lease is no longer renewed (another reader may take it)",
                    item_id,
                    max_hold(),
                )
                return
            try:
                with Session(session.get_bind()) as own:
                    if not renew(own, item_id, token):
                        return
            except Exception as exc:  # the next beat tries again; the lease covers two missed beats
                log.warning("could not renew the lease of item %s (%s)", item_id, type(exc).__name__)

    thread = threading.Thread(target=run, name=f"lease-{item_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def settle(session: Session, item: ReceivedItem, status: str, now: dt.datetime | None = None, **values) -> None:
    """Write the reading's outcome while the claim is still this reader's (not committed here);
    raises ClaimLost otherwise. What the reader changed on the item goes in the same UPDATE, and the
    item object is left matching the row (nothing for the commit to write again)."""
    # A held item keeps the person's choices (a corrected reply): releasing it applies those answers.
    kept = {} if status == "held" else {"rerun": None}
    values = {**_changed(item), "status": status, "read_at": now_or(now), "lease_until": None, **kept, **values}
    with session.no_autoflush:  # the item's own changes are in `values`; nothing else touches its row
        done = session.execute(_settle_statement(), {**values, "item_id": item.id, "token": item.claim})
    if done.rowcount != 1:
        session.rollback()
        raise ClaimLost(f"item {item.id} is being read by another reader")
    for key, value in values.items():
        set_committed_value(item, key, value)


@functools.cache
def _settle_statement():  # built once; the SET clause is made from the parameters' names
    table = ReceivedItem.__table__
    mine = (table.c.id == bindparam("item_id")) & (table.c.claim == bindparam("token"))
    return update(table).where(mine & (table.c.status == "reading"))


def _changed(item: ReceivedItem) -> dict:
    """The item's columns set since it was loaded or flushed (what the reader read into it)."""
    state = inspect(item)
    return {key: state.attrs[key].value for key in _columns() if state.attrs[key].history.added}


def stalled(session: Session, now: dt.datetime | None = None, limit: int = 1000) -> list[int]:
    """Items that need a job again: waiting with no job queued (or one queued long ago), or being
    read by a reader whose lease ran out. Marked queued now, so concurrent sweeps rarely repeat them."""
    now = now_or(now)
    Item = ReceivedItem
    grace = now - dt.timedelta(seconds=10)  # a channel queues its item just after storing it
    waiting = (Item.status == "received") & (Item.received_at < grace)
    waiting &= or_(Item.queued_at.is_(None), Item.queued_at < now - requeue_after())
    overdue = (Item.status == "reading") & (Item.lease_until < now)
    overdue &= or_(Item.queued_at.is_(None), Item.queued_at < Item.lease_until, Item.queued_at < now - requeue_after())
    ids = list(session.scalars(select(Item.id).where(waiting | overdue).order_by(Item.id).limit(limit)))
    if ids:
        session.execute(
            update(Item).where(Item.id.in_(ids)).values(queued_at=now).execution_options(synchronize_session=False)
        )
    session.commit()
    return ids


def mark_queued(session: Session, item_ids: list[int], now: dt.datetime | None = None) -> None:
    if item_ids:
        session.execute(
            update(ReceivedItem)
            .where(ReceivedItem.id.in_(item_ids))
            .values(queued_at=now_or(now))
            .execution_options(synchronize_session=False)
        )
        session.commit()


def backlog(session: Session, now: dt.datetime | None = None) -> dict:
    """What is waiting or being read: counts, the oldest waiting item's age, readings past their lease."""
    now = now_or(now)
    Item = ReceivedItem
    pending = Item.status.in_(("received", "reading"))
    counts = dict(session.execute(select(Item.status, func.count()).where(pending).group_by(Item.status)).all())
    oldest = session.scalar(select(func.min(Item.received_at)).where(pending))
    overdue = session.scalar(select(func.count()).where((Item.status == "reading") & (Item.lease_until < now)))
    return {
        "waiting": counts.get("received", 0),
        "reading": counts.get("reading", 0),
        "oldest_seconds": round((now - oldest).total_seconds()) if oldest else 0,
        "readers_stopped": overdue,
    }
