"""The pipeline's first step: a received file's raw bytes kept (keyed by their SHA-256) before
anything reads them, and the outcome every step answers with.

Apart from service.intake.ingest (which reads and applies), so that what only stores and queues
(`flask ingest` without --now) loads the tables and nothing of cases, routing or mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms import normalise
from service.casework import channels
from service.casework.models import MAX_RAW_BYTES
from service.casework.wording import item_state, received_file
from service.intake.models import ReceivedItem

CHANNELS = channels.RECEIVED  # how a file reaches intake, each with the case channel it becomes
MAX_INPUT_BYTES = MAX_RAW_BYTES


@dataclass
class IngestOutcome:
    status: str  # received | reading | accepted | duplicate | quarantined | held | ignored
    item_id: int | None
    reference: str | None = None
    routed: list[dict] = field(default_factory=list)
    reason: str | None = None
    form_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    created: bool = False

    def to_json(self) -> dict:
        return asdict(self)


MAX_FILENAME = 200


def file_name(given: str | None) -> str | None:
    """A received file's name as people will read it on pages and in reasons: through the one text
    normaliser on one line, without a folder path, and at most MAX_FILENAME characters with its
    ending (.docx) kept, which says what kind of file it is. A name that is not text is mended, not
    refused: the file is what matters."""
    if not given:
        return None
    given = _NOT_TEXT.sub("\ufffd", given)
    name = normalise.text(given, one_line=True).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if len(name) > MAX_FILENAME:
        _stem, dot, ending = name.rpartition(".")
        ending = dot + ending if dot and len(ending) <= 10 else ""
        name = name[: MAX_FILENAME - len(ending) - 1] + "…" + ending
    return name or None


_NOT_TEXT = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair (a name decoded with surrogateescape)


def now_or(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def store(
    session: Session,
    content: bytes,
    *,
    channel: str,
    filename: str | None = None,
    content_type: str | None = None,
    partnership: str | None = None,
    now: dt.datetime | None = None,
) -> IngestOutcome:
    """The raw bytes, committed before anything reads them: "received" with the item to read (bytes
    already waiting give the same item), "duplicate" for bytes read before, "quarantined" when too big."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
    digest = hashlib.sha256(content).hexdigest()
    seen = session.scalar(select(ReceivedItem).where(ReceivedItem.sha256 == digest))
    if seen is not None:  # counted by the database: two channels bringing it at once count twice
        session.execute(
            update(ReceivedItem)
            .where(ReceivedItem.id == seen.id)
            .values(times_seen=ReceivedItem.times_seen + 1)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        session.expire(seen, ["times_seen"])
        if seen.status == "received":
            waiting = f"the same file is waiting to be read ({received_file(seen)})"
            return IngestOutcome("received", seen.id, reason=waiting)
        reason = f"the same file was received before ({received_file(seen)}; {item_state(seen)})"
        return IngestOutcome("duplicate", seen.id, seen.case_reference, reason=reason, form_id=seen.form_id)
    item = ReceivedItem(
        received_at=now_or(now),
        channel=channel,
        filename=file_name(filename),
        content_type=content_type,
        sha256=digest,
        size=len(content),
        raw=content,
        status="received",
        partnership=partnership,
        times_seen=1,
        read_starts=0,
    )
    session.add(item)
    try:
        session.commit()  # the raw bytes are safe before anything tries to read them
    except IntegrityError:  # the same bytes stored at this moment by another channel: the unique hash won
        session.rollback()
        return store(session, content, channel=channel, filename=filename, partnership=partnership, now=now)
    if len(content) > MAX_INPUT_BYTES:
        item.status, item.read_at = "quarantined", now_or(now)
        item.reason = f"refused: {len(content):,} bytes (at most {MAX_INPUT_BYTES:,})"
        session.commit()
        return outcome_of(item)
    return IngestOutcome("received", item.id)


def outcome_of(item: ReceivedItem) -> IngestOutcome:
    warnings = list((item.parsed or {}).get("warnings", []))
    return IngestOutcome(item.status, item.id, item.case_reference, [], item.reason, item.form_id, warnings)
