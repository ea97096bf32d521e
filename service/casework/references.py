"""Case references after a restore: never issue one again.

A backup is older than the last reference the service gave out: cases opened after it are lost with
the restore, but their notifications went out and agencies' replies quote their references
(`[NT-2026-0003]`), so a new case taking the same number would receive them. `advance` moves every
partnership's counter for each year past the highest number it may have issued: the larger of the
restored counter plus a margin and the counter read from the database being replaced (when it could
still be read). Gaps in the numbering are harmless; a reused reference is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.model import Registry
from service.casework.models import ReferenceCounter


@dataclass(frozen=True)
class Advance:
    prefix: str
    partnership: str
    year: int
    was: int
    now: int

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year} from {self.was:04d} to {self.now:04d}"


def counters(session: Session) -> dict[tuple[str, int], int]:
    return {(row.partnership, row.year): row.last for row in session.scalars(select(ReferenceCounter))}


def advance(
    session: Session, packs: Registry, year: int, margin: int, floor: dict[tuple[str, int], int] | None = None
) -> list[Advance]:
    """Move each counter (every pack; the restored years, the replaced database's and `year`) to
    max(restored + margin, floor). Not committed."""
    if margin < 0:
        raise ValueError("the reference margin cannot be negative")
    floor = floor or {}
    restored = counters(session)
    keys = set(restored) | set(floor) | {(pack.id, year) for pack in packs.packs}
    prefixes = {pack.id: pack.reference_prefix for pack in packs.packs}
    done = []
    for partnership, when in sorted(keys):
        was = restored.get((partnership, when), 0)
        now = max(was + margin, floor.get((partnership, when), 0))
        if now == was:
            continue
        row = session.get(ReferenceCounter, (partnership, when))
        if row is None:
            session.add(ReferenceCounter(partnership=partnership, year=when, last=now))
        else:
            row.last = now
        done.append(Advance(prefixes.get(partnership, partnership), partnership, when, was, now))
    return done
