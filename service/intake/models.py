"""What came in, before and after it was read: every returned document or e-mail, kept as received."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, delete, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.casework import retention
from service.casework.models import Base, Submission, UTCDateTime

# received: stored, waiting for a reader (a job on the intake queue, service.intake.jobs); reading: a
# worker has claimed it (`claim`, until `lease_until`: past that another worker takes it over);
# accepted: a case was created or updated; quarantined: it could not be read or did not fit (the
# reason says why) and waits for a person to correct it or choose the form; held: a reply to a case
# from someone who is not a party to it, waiting for review; ignored: an auto-reply or a bounce;
# duplicate: the same message again (same Message-ID, different bytes), kept but not applied.
STATUSES = ("received", "reading", "accepted", "quarantined", "held", "ignored", "duplicate")


class ReceivedItem(Base):
    """One input on any channel, its raw bytes stored first, then what reading it gave."""

    __tablename__ = "received_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(20))  # upload | cli | smtp | imap
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    # Loaded only when read (lists and the pages that refresh never need the file itself).
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    sender: Mapped[str | None] = mapped_column(String(254))
    # The sender check (service.intake.sender_auth) of an e-mail: pass | fail, and its words.
    sender_auth: Mapped[str | None] = mapped_column(String(8))
    sender_auth_detail: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="received")
    reason: Mapped[str | None] = mapped_column(Text)
    form_id: Mapped[str | None] = mapped_column(String(80))
    partnership: Mapped[str | None] = mapped_column(String(40))
    parsed: Mapped[dict | None] = mapped_column(JSON)  # the parse result, as `flask parse` prints it
    case_reference: Mapped[str | None] = mapped_column(String(20), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The reading job: when it was put on the queue, claimed (by which job, until when), finished,
    # and how many times a reader started on it (more than one: a reader stopped part-way).
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claim: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    read_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    read_starts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A person ran it again from the quarantine: {"form_id", "data", "case", "actor"}, used by the job
    # that reads it next (kept here, not in the job, so a lost job loses nothing), cleared once read.
    rerun: Mapped[dict | None] = mapped_column(JSON)

    # Set by object inside the case's own transaction, so "accepted" and the case commit together.
    submission: Mapped[Submission | None] = relationship()

    __table_args__ = (
        # The review list: what waits for a person, per partnership, oldest first.
        Index("ix_received_items_status_partnership", "status", "partnership", "received_at"),
        # The sweep for stalled readings and unqueued items.
        Index("ix_received_items_status_lease", "status", "lease_until"),
        # One item holds an e-mail's Message-ID; a copy read later (or at the same moment) is a duplicate.
        Index(
            "uq_received_items_message_id",
            "message_id",
            unique=True,
            sqlite_where=text("status != 'duplicate'"),
            postgresql_where=text("status != 'duplicate'"),
        ),
    )


@retention.also_remove
def _purge_received_items(session, case_id: int, reference: str, submission_ids: list[int]) -> str:
    """Retention: every item threaded to the purged case or read into one of its submissions."""
    gone = session.execute(
        delete(ReceivedItem)
        .where((ReceivedItem.case_reference == reference) | ReceivedItem.submission_id.in_(submission_ids))
        .execution_options(synchronize_session=False)
    ).rowcount
    return retention.count(gone, "received item")


class UploadBatch(Base):
    """Files a person uploaded together, in order, each with the item it was stored as (a file seen
    before points at the earlier item), so the upload page can show the batch's progress."""

    __tablename__ = "upload_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, in the page's address
    uploaded_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    files: Mapped[list] = mapped_column(JSON)  # [{"filename": ..., "item_id": ..., "again": bool}]


__all__ = ["STATUSES", "ReceivedItem", "UploadBatch"]
