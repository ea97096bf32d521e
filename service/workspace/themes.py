"""Themes across escalations, for the dashboard and the annual report.

The policies ask business units to monitor themes and report them (North Tyneside: "NTSCP will
collate the emerging issues ... and report within the Annual Report"; SSCP: "monitor themes arising
from escalations"). Counts are by the shared taxonomy category, by highest stage reached, by pair of
agencies; the median working days spent in each stage; the overdue rate; and cases per month.

Everything is a GROUP BY in the database, so the work done in Python is proportional to the number
of groups, not of cases. Working days are counted with a small calendar table (each day's working
day number) joined in the query, then the median is read off the per-stage histogram.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    extract,
    func,
    literal_column,
    select,
    text,
    values,
)
from sqlalchemy import column as sa_column
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Grouping

from forms.model import Registry
from forms.taxonomy import CATEGORIES
from service.casework.access import CONFERENCE
from service.casework.models import Case, CaseStage
from service.casework.workdays import Calendar
from service.documents import charts
from service.workspace import outcomes

TOP_PAIRS = 12


@dataclass(frozen=True)
class Themes:
    title: str
    total: int
    charts: list[charts.Chart]  # the escalations' themes; conference escalations are apart (`conference`)
    learning: list[outcomes.Theme] = field(default_factory=list)
    conference: list[charts.Chart] = field(default_factory=list)
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


CACHE_SECONDS = 60


def cached(app, key: tuple, compute) -> Themes:
    """The themes for `key`, computed at most once a CACHE_SECONDS (WORKSPACE_THEMES_CACHE_SECONDS):
    themes are for monitoring, and a dashboard a minute old spares the database a scan of every case
    on each view. The page says when its figures are from. Kept per app (so per database)."""
    seconds = app.config.get("WORKSPACE_THEMES_CACHE_SECONDS", CACHE_SECONDS)
    store = app.extensions.setdefault("workspace_themes_cache", {})
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and now - hit[0] < seconds:
        return hit[1]
    value = compute()
    if seconds > 0:
        for stale in [k for k, (at, _) in store.items() if now - at >= seconds]:
            del store[stale]
        store[key] = (now, value)
    return value


def _scope(stmt, partnerships: list[str], year: int | None):
    # Conference escalations are not escalations between agencies: they have their own charts and section.
    stmt = stmt.where(Case.partnership.in_(partnerships), Case.process != CONFERENCE)
    if year is not None:
        start, end = _year_bounds(year)
        stmt = stmt.where(Case.created_at >= start, Case.created_at < end)
    return stmt


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class CaseGroups:
    """Cases counted by (partnership, category, highest stage, year, month): one scan of the cases
    gives the counts by category, by stage, by month and the total (a few thousand groups at most)."""

    rows: tuple[tuple[str, str | None, str | None, int, int, int], ...]

    def count(self, key) -> dict:
        counts: dict = defaultdict(int)
        for row in self.rows:
            counts[key(row)] += row[5]
        return counts

    @property
    def total(self) -> int:
        return sum(row[5] for row in self.rows)


def case_groups(session: Session, partnerships: list[str], year: int | None) -> CaseGroups:
    y, m = extract("year", Case.created_at), extract("month", Case.created_at)
    columns = (Case.partnership, Case.category, Case.current_stage, y, m)
    stmt = _scope(select(*columns, func.count()).group_by(*columns), partnerships, year)
    return CaseGroups(tuple((p, c, s, int(yy), int(mm), n) for p, c, s, yy, mm, n in session.execute(stmt)))


def by_category(
    session: Session, partnerships: list[str], year: int | None, groups: CaseGroups | None = None
) -> list[tuple[str, int]]:
    groups = groups or case_groups(session, partnerships, year)
    counts = dict(groups.count(lambda row: row[1]))
    rows = [(label, counts.pop(key, 0)) for key, label in CATEGORIES.items()]
    rows += [("Not recorded" if key is None else key, n) for key, n in counts.items()]
    return [(label, n) for label, n in rows if n]


def by_highest_stage(
    session: Session,
    registry: Registry,
    partnerships: list[str],
    year: int | None,
    groups: CaseGroups | None = None,
) -> list[tuple[str, int]]:
    """Cases by the furthest stage they reached, in each pack's stage order."""
    groups = groups or case_groups(session, partnerships, year)
    counts = dict(groups.count(lambda row: (row[0], row[2])))
    several = len(partnerships) > 1
    rows: list[tuple[str, int]] = []
    for partnership in partnerships:
        pack = registry.pack(partnership)
        for stage in pack.stages:
            n = counts.pop((partnership, stage.id), 0)
            if n:
                label = f"{stage.label}: {stage.name}"
                rows.append((f"{pack.short_name} {label}" if several else label, n))
    for (partnership, stage_id), n in counts.items():
        # On no stage of the policy (a conference escalation), or on one a pack no longer has.
        label = (
            f"Stage '{stage_id}' (no longer in the policy)" if stage_id else "On no stage (e.g. conference escalations)"
        )
        rows.append((f"{registry.pack(partnership).short_name} {label}" if several else label, n))
    return rows


def by_agency_pair(session: Session, partnerships: list[str], year: int | None) -> list[tuple[str, int]]:
    stmt = _scope(
        select(Case.raising_agency, Case.receiving_agency, func.count().label("n"))
        .group_by(Case.raising_agency, Case.receiving_agency)
        .order_by(literal_column("n").desc(), Case.raising_agency, Case.receiving_agency)
        .limit(TOP_PAIRS),
        partnerships,
        year,
    )
    return [(f"{a or 'not recorded'} → {b or 'not recorded'}", n) for a, b, n in session.execute(stmt)]


def overdue_rate(session: Session, partnerships: list[str], year: int | None, today: dt.date) -> tuple[int, int]:
    """(overdue, with a due date): stages left after their due date, or still open past it."""
    late = case(
        (and_(CaseStage.left_on.is_not(None), CaseStage.left_on > CaseStage.due), 1),
        (and_(CaseStage.left_on.is_(None), Case.status == "open", CaseStage.due < today), 1),
        else_=0,
    )
    stmt = _scope(
        select(func.coalesce(func.sum(late), 0), func.count())
        .select_from(CaseStage)
        .join(Case, CaseStage.case_id == Case.id)
        .where(CaseStage.due.is_not(None), CaseStage.skipped.is_(False)),
        partnerships,
        year,
    )
    overdue, total = session.execute(stmt).one()
    return int(overdue), int(total)


def by_month(
    session: Session, partnerships: list[str], year: int | None, groups: CaseGroups | None = None
) -> list[tuple[str, int]]:
    groups = groups or case_groups(session, partnerships, year)
    return sorted((f"{yy:04d}-{mm:02d}", n) for (yy, mm), n in groups.count(lambda row: (row[3], row[4])).items())


def median_working_days(
    session: Session,
    registry: Registry,
    calendar: Calendar,
    partnerships: list[str],
    year: int | None,
) -> list[tuple[str, float]]:
    """Median working days from entering a stage to leaving it, per stage, for stages that ended."""
    bounds = session.execute(
        _scope(
            select(func.min(CaseStage.entered_on), func.max(CaseStage.left_on))
            .select_from(CaseStage)
            .join(Case, CaseStage.case_id == Case.id)
            .where(CaseStage.left_on.is_not(None)),
            partnerships,
            year,
        )
    ).one()
    if bounds[0] is None or bounds[1] is None:
        return []
    days = _calendar_rows(calendar, bounds[0], bounds[1])
    if session.get_bind().dialect.name == "postgresql":
        # One array of working-day numbers, indexed by days since the first date: no join at all.
        numbers = Grouping(bindparam("cal", [n for _, n in days], type_=ARRAY(Integer)))
        first = bindparam("first", bounds[0], type_=Date)
        # date - date is an integer number of days in PostgreSQL; its arrays count from 1.
        left_n = numbers[CaseStage.left_on - first + 1]
        entered_n = numbers[CaseStage.entered_on - first + 1]
        worked = (left_n - entered_n).label("worked")
        stmt = select(Case.partnership, CaseStage.stage, worked, func.count()).select_from(CaseStage)
    else:
        # A CTE, not a VALUES subquery: SQLite accepts only the former, and it is sent once, not twice.
        cal = values(sa_column("day", Date), sa_column("n", Integer), name="cal").data(days).cte("cal")
        entered, left = cal.alias("entered"), cal.alias("left_cal")
        worked = (left.c.n - entered.c.n).label("worked")
        stmt = (
            select(Case.partnership, CaseStage.stage, worked, func.count())
            .select_from(CaseStage)
            .join(entered, entered.c.day == CaseStage.entered_on)
            .join(left, left.c.day == CaseStage.left_on)
        )
    stmt = _scope(
        stmt.join(Case, CaseStage.case_id == Case.id)
        .where(CaseStage.skipped.is_(False), CaseStage.left_on.is_not(None), CaseStage.entered_on.is_not(None))
        .group_by(Case.partnership, CaseStage.stage, worked),
        partnerships,
        year,
    )
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for partnership, stage, n_days, count in session.execute(stmt):
        histograms[(partnership, stage)][int(n_days)] = count
    several = len(partnerships) > 1
    rows = []
    for partnership in partnerships:
        pack = registry.pack(partnership)
        for stage in pack.stages:
            histogram = histograms.get((partnership, stage.id))
            if histogram:
                label = f"{stage.label}: {stage.name}"
                rows.append((f"{pack.short_name} {label}" if several else label, _median(histogram)))
    return rows


def _calendar_rows(calendar: Calendar, first: dt.date, last: dt.date) -> list[tuple[dt.date, int]]:
    """Each day from first to last with the number of working days after `first` up to it."""
    rows, n, day = [], 0, first
    while day <= last:
        if day != first and calendar.is_working_day(day):
            n += 1
        rows.append((day, n))
        day += dt.timedelta(days=1)
    return rows


def _median(histogram: dict[int, int]) -> float:
    total = sum(histogram.values())
    ordered = sorted(histogram.items())

    def nth(k: int) -> int:  # the k-th value (0-based) in sorted order
        seen = 0
        for value, count in ordered:
            seen += count
            if k < seen:
                return value
        raise IndexError(k)

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def themes(
    session: Session,
    registry: Registry,
    calendar: Calendar,
    partnerships: list[str],
    year: int | None,
    today: dt.date,
) -> Themes:
    if session.get_bind().dialect.name == "postgresql":
        # Grouping 100,000s of rows: give this transaction's hash joins room to stay in memory.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    groups = case_groups(session, partnerships, year)
    overdue, with_due = overdue_rate(session, partnerships, year, today)
    built = [
        charts.bar_chart("category", "Escalations by category", by_category(session, partnerships, year, groups)),
        charts.bar_chart(
            "stage",
            "Escalations by highest stage reached",
            by_highest_stage(session, registry, partnerships, year, groups),
        ),
        charts.bar_chart(
            "pairs",
            "Escalations by pair of agencies (raising → receiving)",
            by_agency_pair(session, partnerships, year),
        ),
        charts.bar_chart(
            "median",
            "Median working days by stage",
            median_working_days(session, registry, calendar, partnerships, year),
            value_header="Median working days",
        ),
        charts.gauge(
            "overdue",
            "Overdue rate of stages with a due date",
            overdue / with_due if with_due else 0.0,
            overdue,
            with_due,
        ),
        charts.line_chart("months", "Escalations received per month", by_month(session, partnerships, year, groups)),
    ]
    # Conference escalations (issue 7): patterns and counts from the chairs' log, where the policy has one.
    from service.conference import patterns as conference_patterns

    conference = conference_patterns.dashboard_charts(session, partnerships, year, today)
    learning = outcomes.by_theme(session, partnerships, year, _year_bounds)
    names = [registry.pack(p).short_name for p in partnerships]
    title = "All partnerships" if len(partnerships) > 1 else names[0] if names else "No partnership"
    if year is not None:
        title += f", {year}"
    return Themes(title, groups.total, built, learning, conference)
