"""The inbox: every submission from every channel, normalised into one list.

One row per submission, with its case's reference, partnership, agencies, category, due date and
status, and who it was routed to. The same rows feed the CSV and XLSX exports (`COLUMNS` is their
documented, fixed column set), so what a business unit sees and what it exports cannot differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from forms import registry
from forms.taxonomy import CATEGORIES
from service.casework import access, channels
from service.casework.models import Case, RoutingDecision, Submission
from service.documents import cells

PAGE_SIZE = 25
COUNT_CAP = 10_000

# The fixed column set of the CSV and XLSX exports, in order: (column heading, what it holds).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Reference", "Case reference, e.g. KL-2026-0007"),
    ("Partnership", "The partnership, by its short name"),
    ("Submission number", "Number of the submission within the service"),
    ("Form", "The form the submission was made on"),
    ("How it came in", "Web form, e-mail, upload, API or import"),
    ("Received", "When it was received (UTC); in the CSV as YYYY-MM-DDThh:mm:ss+00:00"),
    ("Stage", "Stage the submission was made at"),
    ("Raising agency", "Agency that raised the escalation"),
    ("Receiving agency", "Agency whose decision is disputed"),
    ("Category", "The theme: the shared category every partnership's areas of disagreement map to"),
    ("Current stage", "Stage the case is at now"),
    ("Due", "Due date of the current stage, empty when the policy sets none; in the CSV as YYYY-MM-DD"),
    ("Overdue", "Yes when the case is open and past its due date, else No"),
    ("Routed to", "Who the submission was routed to, '; ' between recipients"),
    ("Status", "Open or Resolved"),
)
# Spreadsheet column widths (characters), in COLUMNS' order.
WIDTHS = (14, 14, 12, 34, 14, 18, 8, 30, 30, 30, 10, 13, 9, 45, 10)


class InboxFilterSchema(Schema):
    """The inbox's query string; unknown keys are ignored, bad values named."""

    class Meta:
        unknown = EXCLUDE

    partnership = fields.String(load_default=None, validate=validate.Length(max=40))
    stage = fields.String(load_default=None, validate=validate.Length(max=20))
    category = fields.String(load_default=None, validate=validate.OneOf(list(CATEGORIES)))
    channel = fields.String(load_default=None, validate=validate.OneOf(channels.SUBMITTED))
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "resolved"]))
    overdue = fields.Boolean(load_default=False)
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))

    @pre_load
    def _blank_is_none(self, data, **kwargs):
        return {k: v for k, v in data.items() if isinstance(v, str) and v.strip()}


@dataclass(frozen=True)
class Row:
    reference: str
    partnership: str
    case_id: int
    submission_id: int
    form_id: str
    channel: str
    received_at: dt.datetime
    stage: str | None
    raising_agency: str | None
    receiving_agency: str | None
    category: str | None
    current_stage: str | None
    due: dt.date | None
    overdue: bool
    routed_to: tuple[str, ...]
    status: str

    def values(self) -> list:
        """The row as COLUMNS, in words, with dates as dates and numbers as numbers (the XLSX)."""
        packs = registry()
        partnership = next((p.short_name for p in packs.packs if p.id == self.partnership), self.partnership)
        form = packs.forms.get(self.form_id)
        return [
            self.reference,
            partnership,
            self.submission_id,
            form.short_title if form else self.form_id,
            channels.name(self.channel),
            self.received_at,
            self.stage or "",
            self.raising_agency or "",
            self.receiving_agency or "",
            CATEGORIES.get(self.category or "", self.category or ""),
            self.current_stage or "",
            self.due,
            "Yes" if self.overdue else "No",
            "; ".join(self.routed_to),
            self.status.capitalize(),
        ]

    def export(self) -> list[str]:
        """The row as COLUMNS, all text (the CSV): dates in ISO 8601, which every spreadsheet reads."""
        out = []
        for value in self.values():
            if isinstance(value, dt.datetime):
                value = value.astimezone(dt.UTC).isoformat(timespec="seconds")
            elif isinstance(value, dt.date):
                value = value.isoformat()
            out.append("" if value is None else str(value))
        return out


ROUTED_SEPARATOR = "; "


def csv_safe(values: list[str]) -> list[str]:
    """Cells a spreadsheet would run as a formula get a leading apostrophe (service.documents.cells)."""
    return [cells.formula_safe(v) for v in values]


# Who each submission went to, "name (agency)" joined by "; ", as one column of the same query:
# aggregate_strings is string_agg on PostgreSQL and group_concat on SQLite.
_RECIPIENT = case(
    (RoutingDecision.agency.is_not(None), RoutingDecision.name + " (" + RoutingDecision.agency + ")"),
    else_=RoutingDecision.name,
)
_ROUTED_TO = (
    select(func.aggregate_strings(_RECIPIENT, ROUTED_SEPARATOR))
    .where(RoutingDecision.submission_id == Submission.id)
    .correlate(Submission)
    .scalar_subquery()
    .label("routed_to")
)

_FIELDS = (
    Case.reference,
    Case.partnership,
    Case.id,
    Submission.id,
    Submission.form_id,
    Submission.channel,
    Submission.received_at,
    Submission.stage,
    Case.raising_agency,
    Case.receiving_agency,
    Case.category,
    Case.current_stage,
    Case.current_due,
    Case.status,
    _ROUTED_TO,
)


def query(partnerships: list[str], filters: dict, today: dt.date) -> Select:
    """Submissions of the allowed partnerships matching the filters, newest first."""
    stmt = select(*_FIELDS).join(Case, Submission.case_id == Case.id).where(access.where(partnerships))
    if filters.get("partnership"):
        stmt = stmt.where(Case.partnership == filters["partnership"])
    if filters.get("stage"):
        stmt = stmt.where(Submission.stage == filters["stage"])
    if filters.get("category"):
        stmt = stmt.where(Case.category == filters["category"])
    if filters.get("channel"):
        stmt = stmt.where(Submission.channel == filters["channel"])
    if filters.get("status"):
        stmt = stmt.where(Case.status == filters["status"])
    if filters.get("overdue"):
        stmt = stmt.where(and_(Case.status == "open", Case.current_due < today))
    if filters.get("q"):
        term = filters["q"].strip()
        like = f"%{_escape_like(term.lower())}%"
        stmt = stmt.where(
            or_(
                Case.reference == term.upper(),
                func.lower(Case.raising_agency).like(like, escape="\\"),
                func.lower(Case.receiving_agency).like(like, escape="\\"),
                func.lower(Case.raiser_name).like(like, escape="\\"),
            )
        )
    return stmt.order_by(Submission.received_at.desc(), Submission.id.desc())


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    page: int
    pages: int
    total: int  # at most COUNT_CAP + 1

    @property
    def total_text(self) -> str:
        return f"more than {COUNT_CAP:,}" if self.total > COUNT_CAP else f"{self.total:,}"


def page(session: Session, partnerships: list[str], filters: dict, today: dt.date) -> Page:
    stmt = query(partnerships, filters, today)
    # Counted up to COUNT_CAP only: an exact count of every submission would cost a scan of them all
    # on each page view; past the cap the page says "more than".
    capped = stmt.order_by(None).with_only_columns(Submission.id).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    pages = max(1, -(-min(total, COUNT_CAP) // PAGE_SIZE))
    number = min(filters.get("page", 1), pages)
    found = session.execute(stmt.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).all()
    return Page(_rows(found, today), number, pages, total)


def iter_rows(
    session: Session, partnerships: list[str], filters: dict, today: dt.date, batch: int = 2000
) -> Iterator[Row]:
    """Every matching row from one streamed query (a server-side cursor on PostgreSQL), read `batch`
    rows at a time, so memory stays flat however many rows there are."""
    stmt = query(partnerships, filters, today).execution_options(yield_per=batch)
    for found in session.execute(stmt).partitions():
        yield from _rows(found, today)


def _rows(found, today: dt.date) -> list[Row]:
    return [
        Row(
            reference=r[0],
            partnership=r[1],
            case_id=r[2],
            submission_id=r[3],
            form_id=r[4],
            channel=r[5],
            received_at=r[6],
            stage=r[7],
            raising_agency=r[8],
            receiving_agency=r[9],
            category=r[10],
            current_stage=r[11],
            due=r[12],
            overdue=r[13] == "open" and r[12] is not None and r[12] < today,
            routed_to=tuple(r[14].split(ROUTED_SEPARATOR)) if r[14] else (),
            status=r[13],
        )
        for r in found
    ]
