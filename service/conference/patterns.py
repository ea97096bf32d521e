"""Reading the chair's log: by agency, by chair and by period; patterns; charts; CSV and XLSX.

Patterns are counted per calendar quarter (January–March, April–June, ...): an agency with at
least PATTERN_MIN rows of the same reason in the quarter is surfaced ("Greenfield High School
missed 3 conferences this quarter"). `dashboard_charts` gives the themes dashboard (issue 6,
service.workspace.themes) the same numbers as charts it can place beside its own.

Counting is a GROUP BY in the database; only the groups come back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session, selectinload

from service.conference.models import REASONS, Conference, ConferenceIssue
from service.documents import cells, charts, sheets

PATTERN_MIN = 2
# What a pattern says for each reason: "<agency> <verb> <n> <noun> this quarter".
PATTERN_WORDS = {
    "non-attendance": ("missed", "conference", "conferences"),
    "report-not-provided": ("sent no report to", "conference", "conferences"),
    "report-late": ("sent a late report to", "conference", "conferences"),
    "other": ("had other issues raised at", "conference", "conferences"),
}


@dataclass(frozen=True)
class Filters:
    agency: str | None = None
    chair: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive


ALL = Filters()


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    end = dt.date(day.year + (first_month == 10), 1 if first_month == 10 else first_month + 3, 1)
    return start, end - dt.timedelta(days=1)


def quarter_name(day: dt.date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def _scoped(stmt, partnerships: list[str], filters: Filters):
    stmt = stmt.where(Conference.partnership.in_(partnerships))
    if filters.agency:
        stmt = stmt.where(func.lower(ConferenceIssue.agency) == filters.agency.strip().lower())
    if filters.chair:
        stmt = stmt.where(func.lower(Conference.chair_name) == filters.chair.strip().lower())
    if filters.start:
        stmt = stmt.where(Conference.meeting_date >= filters.start)
    if filters.end:
        stmt = stmt.where(Conference.meeting_date <= filters.end)
    return stmt


def issues(
    session: Session, partnerships: list[str], filters: Filters = ALL, *, limit: int | None = 500
) -> list[ConferenceIssue]:
    """The log's rows, newest conference first."""
    stmt = _scoped(
        select(ConferenceIssue)
        .join(Conference)
        .options(selectinload(ConferenceIssue.conference), selectinload(ConferenceIssue.case))
        .order_by(Conference.meeting_date.desc(), Conference.id.desc(), ConferenceIssue.position),
        partnerships,
        filters,
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def _reason_table(session: Session, key, partnerships: list[str], filters: Filters) -> list[dict]:
    stmt = _scoped(
        select(key, ConferenceIssue.reason, func.count()).join(Conference).group_by(key, ConferenceIssue.reason),
        partnerships,
        filters,
    )
    table: dict[str, dict] = {}
    for name, reason, n in session.execute(stmt):
        row = table.setdefault(name, {"name": name, "total": 0, **dict.fromkeys(REASONS, 0)})
        row[reason] = row.get(reason, 0) + n
        row["total"] += n
    return sorted(table.values(), key=lambda r: (-r["total"], str(r["name"]).casefold()))


def by_agency(session: Session, partnerships: list[str], filters: Filters = ALL) -> list[dict]:
    return _reason_table(session, ConferenceIssue.agency, partnerships, filters)


def by_chair(session: Session, partnerships: list[str], filters: Filters = ALL) -> list[dict]:
    return _reason_table(session, Conference.chair_name, partnerships, filters)


def by_quarter(session: Session, partnerships: list[str], filters: Filters = ALL) -> list[dict]:
    """Rows per calendar quarter (grouped by month in the database, folded into quarters here)."""
    year, month = extract("year", Conference.meeting_date), extract("month", Conference.meeting_date)
    stmt = _scoped(
        select(year, month, ConferenceIssue.reason, func.count())
        .join(Conference)
        .group_by(year, month, ConferenceIssue.reason),
        partnerships,
        filters,
    )
    table: dict[str, dict] = {}
    for y, m, reason, n in session.execute(stmt):
        name = quarter_name(dt.date(int(y), int(m), 1))
        row = table.setdefault(name, {"name": name, "total": 0, **dict.fromkeys(REASONS, 0)})
        row[reason] = row.get(reason, 0) + n
        row["total"] += n
    return [table[k] for k in sorted(table)]


@dataclass(frozen=True)
class Pattern:
    agency: str
    reason: str
    count: int
    quarter: str
    text: str


def patterns(session: Session, partnerships: list[str], today: dt.date) -> list[Pattern]:
    """Agencies with PATTERN_MIN or more rows of one reason in the current quarter, most first."""
    start, end = quarter_bounds(today)
    stmt = _scoped(
        select(ConferenceIssue.agency, ConferenceIssue.reason, func.count(func.distinct(Conference.id)).label("n"))
        .join(Conference)
        .group_by(ConferenceIssue.agency, ConferenceIssue.reason),
        partnerships,
        Filters(start=start, end=end),
    )
    found = []
    for agency, reason, n in session.execute(stmt):
        if n < PATTERN_MIN:
            continue
        verb, one, many = PATTERN_WORDS.get(reason, ("had issues at", "conference", "conferences"))
        text = f"{agency} {verb} {n} {one if n == 1 else many} this quarter ({quarter_name(today)})"
        found.append(Pattern(agency, reason, n, quarter_name(today), text))
    return sorted(found, key=lambda p: (-p.count, p.agency.casefold(), p.reason))


def dashboard_charts(session: Session, partnerships: list[str], year: int | None, today: dt.date) -> list[charts.Chart]:
    """Charts of the conference log for the themes dashboard: patterns this quarter, by agency, by reason,
    by quarter. None when nothing is logged in scope (so a partnership without conference escalations, or
    whose policy has no such form, keeps its dashboard as it was)."""
    from service.conference.log import conference_partnerships

    partnerships = [p for p in partnerships if p in conference_partnerships()]
    if not partnerships:
        return []
    found = patterns(session, partnerships, today)
    filters = Filters(start=dt.date(year, 1, 1), end=dt.date(year, 12, 31)) if year else Filters()
    every_agency = by_agency(session, partnerships, filters)
    if not every_agency:
        return []
    agencies = every_agency[:12]
    totals = {reason: 0 for reason in REASONS}
    for row in every_agency:
        for reason in REASONS:
            totals[reason] += row[reason]
    return [
        charts.bar_chart(
            "conference-patterns",
            f"Conference escalation patterns this quarter ({quarter_name(today)}, by agency and reason)",
            [(f"{p.agency}: {REASONS.get(p.reason, p.reason)}", p.count) for p in found],
        ),
        charts.bar_chart(
            "conference-agency", "Conference escalations by agency", [(r["name"], r["total"]) for r in agencies]
        ),
        charts.bar_chart(
            "conference-reason",
            "Conference escalations by reason",
            [(REASONS[k], n) for k, n in totals.items() if n],
        ),
        charts.line_chart(
            "conference-quarter",
            "Conference escalations per quarter",
            [(r["name"], r["total"]) for r in by_quarter(session, partnerships, filters)],
        ),
    ]


# --- exports -----------------------------------------------------------------------------------

COLUMNS = (
    ("Reference", "The row's case reference (replies quote it)"),
    ("Partnership", "The partnership, by its short name"),
    ("Conference date", "Date of the conference; in the CSV as YYYY-MM-DD"),
    ("Family", "Family name or identifying factors"),
    ("Conference chair", "The conference chair"),
    ("Agency", "The agency escalated"),
    ("Agency representative", "Name of the agency's representative"),
    ("Reason", "Non-attendance at conference, report not provided, report provided late, or other"),
    ("Details", "The reason as written in the notification"),
    ("Notified", "Date the agency's lead was notified; in the CSV as YYYY-MM-DD"),
    (
        "Response due",
        "The date the agency was asked to respond by (the notification's, or the last chaser's); in the CSV as YYYY-MM-DD",
    ),
    ("Status", "Awaiting response or Responded"),
    ("Overdue", "Yes when awaiting past the due date, else No"),
    ("Responded", "When the first accepted response came (UTC)"),
    ("Chasers sent", "How many chasers were sent"),
)
WIDTHS = (14, 12, 13, 24, 22, 30, 24, 24, 40, 12, 13, 18, 9, 18, 8)


def export_values(issue: ConferenceIssue, today: dt.date) -> list:
    """The row as COLUMNS in words, dates as dates and numbers as numbers (the XLSX)."""
    from forms import registry

    conference = issue.conference
    overdue = issue.status == "awaiting" and issue.due < today
    pack = next((p for p in registry().packs if p.id == conference.partnership), None)
    return [
        issue.case.reference if issue.case else "",
        pack.short_name if pack else conference.partnership,
        conference.meeting_date,
        conference.family,
        conference.chair_name,
        issue.agency,
        issue.agency_rep or "",
        REASONS.get(issue.reason, issue.reason),
        issue.reason_detail or "",
        issue.notified_on,
        issue.due,
        "Responded" if issue.status == "responded" else "Awaiting response",
        "Yes" if overdue else "No",
        issue.responded_at,
        issue.chasers,
    ]


def export_row(issue: ConferenceIssue, today: dt.date) -> list[str]:
    """The row as COLUMNS, all text (the CSV): dates in ISO 8601."""
    out = []
    for value in export_values(issue, today):
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat(timespec="seconds")
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out.append("" if value is None else str(value))
    return out


def csv_lines(rows: Iterable[ConferenceIssue], today: dt.date) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS])
    yield out.getvalue()
    for issue in rows:
        out.seek(0)
        out.truncate()
        writer.writerow([cells.formula_safe(v) for v in export_row(issue, today)])
        yield out.getvalue()


def xlsx(rows: Iterable[ConferenceIssue], today: dt.date) -> bytes:
    """The log as a workbook: frozen header in words, filters, dates as dates (documents.sheets)."""
    return sheets.workbook("Conference log", COLUMNS, WIDTHS, (export_values(issue, today) for issue in rows))


def row_view(issue: ConferenceIssue, today: dt.date) -> dict:
    """One row as the pages show it (status in words, overdue worked out here, not in a template)."""
    overdue = issue.status == "awaiting" and issue.due < today
    if issue.status == "responded":
        status = f"Responded {issue.responded_at:%d/%m/%Y}" if issue.responded_at else "Responded"
    elif overdue:
        status = "Overdue" + (f" (chased {issue.chasers}×)" if issue.chasers else "")
    else:
        status = "Awaiting response"
    return {
        "id": issue.id,
        "conference_id": issue.conference_id,
        "reference": issue.case.reference if issue.case else "",
        "meeting_date": issue.conference.meeting_date.strftime("%d/%m/%Y"),
        "family": issue.conference.family,
        "chair": issue.conference.chair_name,
        "agency": issue.agency,
        "agency_rep": issue.agency_rep or "",
        "reason": issue.reason_text,
        "due": issue.due.strftime("%d/%m/%Y"),
        "status": status,
        "overdue": overdue,
        "responded": issue.status == "responded",
        "tag_class": "govuk-tag--red"
        if overdue
        else "govuk-tag--green"
        if issue.status == "responded"
        else "govuk-tag--yellow",
    }
