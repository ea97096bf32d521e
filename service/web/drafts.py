"""Drafts: answers to a form in progress, kept server-side behind a private, unguessable link.

Only the SHA-256 of a draft's token is stored, so the table alone cannot open a draft. The answers
of someone moving through the pages (perhaps only to download the completed form, which must leave
nothing behind) are a working copy kept 24 hours from the last page; "Save and come back later"
keeps them 28 days from that save. A draft is deleted when the form is submitted (or on request).
A draft that updates an existing case carries that case's id, so it can only ever update that case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import JSON, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.casework.models import Base, UTCDateTime

LIFETIME = dt.timedelta(days=28)  # saved to come back later
WORKING_LIFETIME = dt.timedelta(hours=24)  # a working copy between pages
TOKEN_BYTES = 32  # 256 bits: a link nobody can guess


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    partnership: Mapped[str] = mapped_column(String(40))
    form_id: Mapped[str] = mapped_column(String(80))
    # The case this draft updates (a stage update from the tracking page); None for a new escalation.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict] = mapped_column(JSON)
    # Sections whose answers passed their checks, so the journey knows where to resume.
    done: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create(
    session: Session, *, partnership: str, form_id: str, answers: dict, case_id: int | None = None
) -> tuple[str, Draft]:
    """A new draft and its token (given once: only its hash is kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    moment = now()
    draft = Draft(
        token_hash=token_hash(token),
        partnership=partnership,
        form_id=form_id,
        case_id=case_id,
        answers=answers,
        done=[],
        created_at=moment,
        expires_at=moment + WORKING_LIFETIME,
    )
    session.add(draft)
    session.commit()
    return token, draft


def find(session: Session, token: str) -> Draft | None:
    """The draft behind a token, unless it has expired (an expired draft is deleted)."""
    if not token or len(token) > 100:
        return None
    draft = session.scalar(select(Draft).where(Draft.token_hash == token_hash(token)))
    if draft is None:
        return None
    if draft.expires_at <= now():
        session.delete(draft)
        session.commit()
        return None
    return draft


def save(session: Session, draft: Draft, *, answers: dict, done: list[str], for_later: bool = False) -> None:
    """Keep new answers: another 24 hours, or 28 days when saved to come back later (a draft once
    saved for later keeps at least that date as the person goes on through its pages)."""
    draft.answers = answers
    draft.done = done
    draft.expires_at = max(draft.expires_at, now() + (LIFETIME if for_later else WORKING_LIFETIME))
    session.commit()


def discard(session: Session, draft: Draft) -> None:
    session.delete(draft)
    session.commit()


def purge_expired(session: Session) -> int:
    """Delete every expired draft; returns how many."""
    result = session.execute(delete(Draft).where(Draft.expires_at <= now()))
    session.commit()
    return result.rowcount or 0
