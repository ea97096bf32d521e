"""Tables of the business-unit workspace: staff accounts, their roles per partnership, sign-in
sessions and attempts, case notes, and the append-only audit log.

They share issue 3's declarative `Base`, so one Alembic history migrates everything.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models import Base, Submission, UTCDateTime

# Roles the policies name: the partnership's business unit keeps the record and the themes; the child
# protection conference chair acts on conference escalations; an admin manages accounts and the directory.
ROLES = {
    "business-unit": "Business unit",
    "conference-chair": "Child protection conference chair",
    "admin": "Admin",
}


class User(Base):
    """A member of staff who signs in to the workspace."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    # Base32 secret of the optional TOTP second factor; None when not set up.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="Membership.id"
    )


class Membership(Base):
    """One role a user holds; `partnership` None is an admin across every partnership."""

    __tablename__ = "staff_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    partnership: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(30))

    user: Mapped[User] = relationship(back_populates="memberships")

    __table_args__ = (UniqueConstraint("user_id", "partnership", "role", name="uq_staff_memberships_role"),)


class StaffSession(Base):
    """A signed-in session. The cookie carries only its random id, so a new id at each sign-in ends
    session fixation, and signing out or idling past the timeout ends it on the server too."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInAttempt(Base):
    """Every sign-in attempt, kept for the lockout and for investigating misuse."""

    __tablename__ = "staff_sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    succeeded: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(40))
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_staff_sign_in_attempts_email_at", "email", "at"),)


class CaseNote(Base):
    """A note on a case, or the de-brief recorded when it closes (Kirklees step 7, SSCP, Merton §3.16)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="note")  # note | debrief
    author_email: Mapped[str] = mapped_column(String(254))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text)


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

    __table_args__ = (
        Index("ix_audit_log_case_reference", "case_reference"),
        Index("ix_audit_log_at", "at"),
    )


# The inbox and the export read submissions newest first; this index makes the first page one short
# index scan at any size (declared here, on issue 3's table, and created by the workspace migration).
Index("ix_submissions_received", Submission.received_at, Submission.id)
