"""What a person sees of returned files being read: an upload batch's files and their states, and
the items still waiting or being read (the inbox). Only the words a person reads: no internal names."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from service.casework.wording import NO_NAME, STATES
from service.intake.models import ReceivedItem, UploadBatch
from service.intake.store import IngestOutcome, file_name, store

MAX_FILES = 100
KEEP_BATCHES = dt.timedelta(days=30)  # the list of what was uploaded (file names) is only for following it
PENDING = ("received", "reading")


@dataclass(frozen=True)
class FileState:
    filename: str
    item_id: int | None
    status: str
    words: str
    colour: str
    reference: str | None
    reason: str | None
    again: bool  # the same file was uploaded or received before
    received_at: dt.datetime | None = None  # when it first came (of a file received before: that time)

    @property
    def pending(self) -> bool:
        return self.status in PENDING


def shown_name(given: str | None) -> str:
    """An uploaded file's name as the store keeps it (store.file_name), or words for a nameless one."""
    return file_name(given) or NO_NAME


def store_upload(
    session: Session, files: list[tuple[str, bytes, str | None]], *, uploaded_by: str, partnership: str | None
) -> tuple[UploadBatch, list[IngestOutcome]]:
    """Store every file (nothing is read here) and record them as one batch, in order."""
    outcomes = [
        store(session, content, channel="upload", filename=name, content_type=ctype, partnership=partnership)
        for name, content, ctype in files
    ]
    batch = UploadBatch(
        id=secrets.token_hex(16),
        uploaded_by=uploaded_by,
        created_at=dt.datetime.now(dt.UTC),
        files=[
            {
                "filename": shown_name(name),
                "item_id": o.item_id,
                "again": o.status == "duplicate" or bool(o.reason),
            }
            for (name, _, _), o in zip(files, outcomes, strict=True)
        ],
    )
    session.add(batch)
    session.commit()
    return batch, outcomes


def photos_of_one_form(photos: list[tuple[str, bytes]]) -> tuple[str, bytes, str]:
    """Photos of one form's pages, in the order chosen, as the one file stored and read as that form
    (parsers.photoset keeps each photo's bytes as they came), named as a person knows them:
    "3 photos: IMG_1.jpg, IMG_2.jpg, IMG_3.jpg"."""
    from parsers.photoset import CONTENT_TYPE, pack

    name = f"{len(photos)} photos: " + ", ".join(name for name, _ in photos)
    return name, pack(photos), CONTENT_TYPE


def batch_states(session: Session, batch: UploadBatch) -> list[FileState]:
    ids = [f["item_id"] for f in batch.files if f["item_id"] is not None]
    items = {i.id: i for i in session.scalars(select(ReceivedItem).where(ReceivedItem.id.in_(ids)))} if ids else {}
    return [_state(f["filename"], items.get(f["item_id"]), f["again"]) for f in batch.files]


def _state(filename: str, item: ReceivedItem | None, again: bool) -> FileState:
    if item is None:  # removed since (retention)
        return FileState(filename, None, "gone", "No longer held", "grey", None, None, again)
    words, colour = STATES.get(item.status, (item.status, "grey"))
    reference = item.case_reference if item.status in ("accepted", "held", "duplicate") else None
    return FileState(filename, item.id, item.status, words, colour, reference, item.reason, again, item.received_at)


def progress(states: list[FileState]) -> dict:
    """How far a batch has got: files read (whatever the outcome) of all, and how many by outcome."""
    done = [s for s in states if not s.pending]
    counts: dict[str, int] = {}
    for s in states:
        counts[s.words] = counts.get(s.words, 0) + 1
    return {"read": len(done), "total": len(states), "pending": len(states) - len(done), "counts": counts}


def being_read(
    session: Session, partnerships: list[str], unattributed: bool, limit: int = 50
) -> tuple[list[FileState], int]:
    """Items still waiting or being read, oldest first, of these partnerships (and, when `unattributed`,
    of none yet), and how many there are in all."""
    mine = ReceivedItem.partnership.in_(partnerships)
    where = ReceivedItem.status.in_(PENDING) & (or_(mine, ReceivedItem.partnership.is_(None)) if unattributed else mine)
    query = select(ReceivedItem).where(where).order_by(ReceivedItem.received_at, ReceivedItem.id)
    items = list(session.scalars(query.limit(limit)))
    total = len(items) if len(items) < limit else session.scalar(select(func.count()).where(where))
    return [_state(i.filename or "(no file name)", i, False) for i in items], total


def forget_old_batches(session: Session, now: dt.datetime | None = None) -> int:
    """Delete upload batches older than KEEP_BATCHES (the items themselves stay); how many."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - KEEP_BATCHES
    gone = session.execute(delete(UploadBatch).where(UploadBatch.created_at < cutoff))
    session.commit()
    return gone.rowcount
