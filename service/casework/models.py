"""Tables of the case service: cases, their stages and submissions, the directory, routing and the outbox.

Schema changes go through Alembic (migrations/versions); `alembic check` in the tests keeps the
migrations and these models in step.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

MAX_RAW_BYTES = 40 * 1024 * 1024  # the largest original file kept (a submission's or a received item's raw bytes)

# Stable constraint names, so migrations can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite keeps no zone, so read values get UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give times in UTC with tzinfo")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Case(Base):
    """One escalation (or one conference escalation record), from first submission to resolution."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    # sha256 of the tracking token; the token itself is given once, to the person who raised it.
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True)
    partnership: Mapped[str] = mapped_column(String(40))
    process: Mapped[str] = mapped_column(String(20), default="escalation")
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | resolved
    raiser_name: Mapped[str | None] = mapped_column(Text)
    raiser_role: Mapped[str | None] = mapped_column(Text)
    raiser_contact: Mapped[str | None] = mapped_column(Text)
    raising_agency: Mapped[str | None] = mapped_column(Text)
    receiving_agency: Mapped[str | None] = mapped_column(Text)
    receiving_sector: Mapped[str | None] = mapped_column(String(60))
    area: Mapped[str | None] = mapped_column(String(60))
    category: Mapped[str | None] = mapped_column(String(40))
    child_name: Mapped[str | None] = mapped_column(Text)
    date_raised: Mapped[dt.date | None] = mapped_column(Date)
    immediate_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    # When someone first said the child was at immediate risk and was shown the policy's emergency route.
    emergency_route_shown_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    current_stage: Mapped[str | None] = mapped_column(String(20))
    # The current stage's due date, copied here so the overdue query is one indexed range scan.
    current_due: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    learning: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # When it was closed as resolved: the retention period runs from here (an outcome edited after
    # closing changes updated_at, never this).
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    stages: Mapped[list[CaseStage]] = relationship(
        back_populates="case", order_by="CaseStage.id", cascade="all, delete-orphan"
    )
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="case", order_by="Submission.id", cascade="all, delete-orphan"
    )
    routings: Mapped[list[RoutingDecision]] = relationship(
        back_populates="case", order_by="RoutingDecision.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # Case list: newest first, per partnership or across all, paged by (created_at, id).
        Index("ix_cases_partnership_created", "partnership", "created_at", "id"),
        Index("ix_cases_created", "created_at", "id"),
        # Overdue query: open cases only, by due date.
        Index(
            "ix_cases_open_due",
            "current_due",
            postgresql_where=text("status = 'open' AND current_due IS NOT NULL"),
            sqlite_where=text("status = 'open' AND current_due IS NOT NULL"),
        ),
    )

    @property
    def current(self) -> CaseStage | None:
        return self.stages[-1] if self.stages and self.stages[-1].left_on is None else None


class ReferenceCounter(Base):
    """The last reference number given per partnership and year (NT-2026-0007 is the 7th)."""

    __tablename__ = "reference_counters"

    partnership: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CaseStage(Base):
    """A stage the case entered (or skipped): when, its due date, and how it ended."""

    __tablename__ = "case_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    entered_on: Mapped[dt.date | None] = mapped_column(Date)
    due: Mapped[dt.date | None] = mapped_column(Date)
    timescale: Mapped[str] = mapped_column(String(20))  # working_days | without_delay | none
    days: Mapped[int | None] = mapped_column(Integer)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(20))  # how the case came to this stage
    reason: Mapped[str | None] = mapped_column(Text)  # why: the move's reason, or what happened before the record

    case: Mapped[Case] = relationship(back_populates="stages")

    # A case moves forward only, so it enters each stage once: two moves made at once cannot both do so.
    __table_args__ = (UniqueConstraint("case_id", "stage"),)


class Submission(Base):
    """A form as received: channel, the original bytes exactly as they came, and the parsed data."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict] = mapped_column(JSON)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))

    case: Mapped[Case] = relationship(back_populates="submissions")


class Contact(Base):
    """A directory entry: who holds a role, for an agency or sector, at a stage, in a partnership."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(60))
    agency: Mapped[str | None] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(String(60))
    stage: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(Text)


class RoutingDecision(Base):
    """One recipient of one submission, and the pack rule that chose them."""

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # None for a stage move that came with no form (a staff move, the API): it routes all the same.
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str | None] = mapped_column(String(20))
    rule_id: Mapped[str] = mapped_column(String(80))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    # A copy of who it was, so the record stands when the directory changes.
    role: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    agency: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="routings")
    submission: Mapped[Submission | None] = relationship()


class OutboxMessage(Base):
    """An e-mail to send, written in the same transaction as the case change that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routing_decisions.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    # notification (to whom the case was routed) | receipt (to the sender of a form) | link (a new
    # tracking link). A receipt's or link's body holds a private link until sent, then it is removed.
    kind: Mapped[str] = mapped_column(String(12), default="notification", server_default="notification")
    # Who it is for: the directory entry and role it was routed to, read again when it is sent
    # (service.casework.mail); to_name and to_email are who it was last built for.
    role: Mapped[str | None] = mapped_column(String(60))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    to_name: Mapped[str] = mapped_column(Text)
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # Set by object so the case, submission, routing and messages go to the database in one flush.
    case: Mapped[Case] = relationship()
    submission: Mapped[Submission | None] = relationship()
    routing: Mapped[RoutingDecision | None] = relationship()

    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )


class BankHoliday(Base):
    """A one-off bank holiday an admin adds (a royal funeral, a coronation) on top of the library's."""

    __tablename__ = "bank_holidays"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(Text)


__all__ = [
    "BankHoliday",
    "Base",
    "Case",
    "CaseStage",
    "Contact",
    "OutboxMessage",
    "ReferenceCounter",
    "RoutingDecision",
    "Submission",
]


class CaseNote(Base):
    """A note on a case, or the de-brief recorded when it closes (Kirklees step 7, SSCP, Merton §3.16)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="note")  # note | debrief
    author_email: Mapped[str] = mapped_column(String(254))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text)


class AuditChainHead(Base):
    """The newest audit row's hash: one row, updated first by every audit write so writers queue on
    its lock and the chain never forks."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """Who did what, when, to which case. Append-only: database triggers refuse UPDATE and DELETE.

    The case is named by reference and partnership, not a foreign key, so the entry outlives the
    case when retention purges it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(254))  # a user's e-mail, or "system: <command>"
    action: Mapped[str] = mapped_column(String(40))
    partnership: Mapped[str | None] = mapped_column(String(40))
    case_reference: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the previous row's hash and this row's values (service.casework.audit.verify).
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_case_reference", "case_reference"),
        Index("ix_audit_log_at", "at"),
    )


# The inbox and the export read submissions newest first; this index makes the first page one short
# index scan at any size (declared here, on issue 3's table, and created by the workspace migration).
Index("ix_submissions_received", Submission.received_at, Submission.id)


class Send(Base):
    """One send that made (or added to) a case, and the answer it was given (service.casework.once):
    its unique (scope, key) is what makes a send happen once."""

    __tablename__ = "sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key_hash: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    created_case: Mapped[bool] = mapped_column(default=False)
    # The first answer (API), without its tracking token, which is derived again (`tracking_token`).
    response: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("scope", "key_hash", name="uq_sends_scope_key"),)
