"""Staff who work cases: accounts, their roles per partnership, sign-in sessions and attempts.

The workspace (service.workspace) signs them in; the conference pipeline asks whether a sender is a
chair. Case notes and the audit log are case records (service.casework.models).

They share issue 3's declarative `Base`, so one Alembic history migrates everything.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.casework.models import Base, UTCDateTime

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
