"""Outcomes and learning collated by theme, for the annual report and the dashboard.

North Tyneside §6 asks the partnership to "collate the emerging issues" and report them in its annual
report; Kirklees step 6–7 shares learning with the business unit "to aid wider partnership learning".
Each theme (the shared taxonomy category) lists the cases of the year whose outcome, resolution or
learning is recorded, with what was recorded, so the report says what was learned, not only how many.
Conference escalations are reported in their own section (service.conference.patterns), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from forms.taxonomy import CATEGORIES
from service.casework.access import CONFERENCE  # reported in their own section
from service.casework.models import Case

MAX_PER_THEME = 50


@dataclass(frozen=True)
class Learning:
    reference: str
    status: str
    outcome: str
    learning: str


@dataclass(frozen=True)
class Theme:
    name: str
    cases: tuple[Learning, ...]


def by_theme(session: Session, partnerships: list[str], year: int | None, years) -> list[Theme]:
    """Themes in the taxonomy's order, each with its cases' recorded outcome and learning (newest
    first, at most MAX_PER_THEME each); a theme with nothing recorded is left out. `years(year)` gives
    the year's (start, end) datetimes."""
    stmt = (
        select(Case.reference, Case.category, Case.status, Case.outcome, Case.resolution, Case.learning)
        .where(Case.partnership.in_(partnerships), Case.process != CONFERENCE)
        .where(or_(Case.outcome.is_not(None), Case.resolution.is_not(None), Case.learning.is_not(None)))
        .order_by(Case.created_at.desc(), Case.id.desc())
    )
    if year is not None:
        start, end = years(year)
        stmt = stmt.where(Case.created_at >= start, Case.created_at < end)
    found: dict[str, list[Learning]] = {}
    for reference, category, status, outcome, resolution, learning in session.execute(stmt):
        said = " ".join(t.strip() for t in (outcome, resolution) if t and t.strip())
        if not said and not (learning or "").strip():
            continue
        cases = found.setdefault(category or "", [])
        if len(cases) < MAX_PER_THEME:
            resolved = "Resolved" if status == "resolved" else "Open"
            cases.append(
                Learning(reference, resolved, said or "Not recorded", (learning or "").strip() or "None recorded")
            )
    order = [*CATEGORIES, *sorted(k for k in found if k not in CATEGORIES)]
    return [Theme(CATEGORIES.get(key) or "Category not recorded", tuple(found[key])) for key in order if key in found]
