"""Returned Appendix 3 tables (DOCX, PDF or e-mail) into log rows, through the project's parsers.

The file is read by parsers.sandbox.parse_safely (the same parsers and limits as every returned
document) as the partnership's conference form; its rows are grouped into conferences by (date of
meeting, family, chair) and each reason written in the table is read as one of the log's reasons:

- "non-attendance", "did not attend", "not attend", "absent", "no representative" -> non-attendance
- "late" -> report provided late
- "no report", "report not provided/submitted/received", "not provide" -> report not provided
- anything else -> other

The words are checked in that order, and the reason as written is always kept as the row's detail,
so nothing the chair wrote is lost. The original file is kept on each conference it yields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from forms import registry
from forms.schema import describe_errors
from parsers import ParseError
from service.conference import form_errors, log
from service.conference.models import Conference

MAX_BYTES = 20 * 1024 * 1024
_RULES = (
    ("non-attendance", re.compile(r"non[- ]?attend|did ?n[o']t attend|not attend|absent|no representative", re.I)),
    ("report-late", re.compile(r"\blate\b", re.I)),
    (
        "report-not-provided",
        re.compile(r"no report|report (?:was )?not (?:provided|submitted|received)|not provide", re.I),
    ),
)


class TableError(ValueError):
    """The file cannot be read as an Appendix 3 table; the message says why."""


class ConferencesRefused(log.LogError):
    """Conferences of a table that were refused: `refused` holds each one's number in the table (from
    1), its answers (log.record's) and what is wrong (log.LogError's messages), so a page can name
    each in words; the exception's own text is those words too (a quarantined item's reason, the CLI)."""

    def __init__(self, refused: list[tuple[int, dict, dict[str, list[str]]]]):
        self.refused = refused
        super().__init__(
            {
                f"conference {number} ({answers['meeting_date']}, {answers['chair_name']}): {key}": messages
                for number, answers, problems in refused
                for key, messages in problems.items()
            }
        )
        said = "; ".join(entry["text"] for entry in form_errors.table_errors(refused))
        self.args = (f"the table's conferences were not recorded: {said}",)


def classify(text: str) -> str:
    for reason, pattern in _RULES:
        if pattern.search(text or ""):
            return reason
    return "other"


def read(content: bytes, filename: str | None, partnership: str) -> list[dict]:
    """The conferences a returned table holds, as log answers (see log.record); TableError if none."""
    if not content:
        raise TableError("the file is empty")
    if len(content) > MAX_BYTES:
        raise TableError(f"the file is {len(content):,} bytes (at most {MAX_BYTES:,})")
    pack = registry().pack(partnership)
    spec = log.conference_form(pack)
    if spec is None:
        raise TableError(f"the {pack.short_name} policy has no conference escalation form")
    from parsers.sandbox import parse_safely

    try:
        result = parse_safely(content, filename, form_id=spec.id)
    except ParseError as exc:
        raise TableError(str(exc)) from None
    if not result.recognised:
        raise TableError(result.reason or f"no {spec.short_title} table found")
    data, errors = result.canonical(spec)
    if errors:  # in the form's words: each question's label, then what is wrong
        raise TableError(f"the table does not fit the {spec.short_title}: {describe_errors(spec, errors)}")
    return conferences_from(spec, data)


def conferences_from(spec, data: dict) -> list[dict]:
    """The conferences in an Appendix 3 table's canonical data, as log answers (see log.record)."""
    rows_field = next(f for f in spec.fields if f.type == "rows")
    conferences: dict[tuple, dict] = {}
    for row in data.get(rows_field.key) or []:
        key = (row.get("meeting_date"), (row.get("family") or "").strip(), (row.get("cp_chair") or "").strip())
        conference = conferences.setdefault(
            key, {"meeting_date": key[0], "family": key[1], "chair_name": key[2], "rows": []}
        )
        reason_text = (row.get("reason") or "").strip()
        conference["rows"].append(
            {
                "agency": row.get("agency") or "",
                "agency_rep": row.get("agency_rep") or "",
                "reason": classify(reason_text),
                "reason_detail": reason_text,
            }
        )
    if not conferences:
        raise TableError(f"the {spec.short_title} table has no rows")
    return list(conferences.values())


def ingest(
    session: Session,
    content: bytes,
    filename: str | None,
    partnership: str,
    *,
    recorded_by: str,
    channel: str = "upload",
    content_type: str | None = None,
    link_for: Callable[[str], str] = log.response_link,
    chair_user_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[Conference]:
    """Read the table and record every conference in it; all are checked before any is stored."""
    return record_all(
        session,
        read(content, filename, partnership),
        partnership,
        recorded_by=recorded_by,
        channel=channel,
        raw=content,
        filename=filename,
        content_type=content_type,
        link_for=link_for,
        chair_user_id=chair_user_id,
        now=now,
    )


def record_all(
    session: Session,
    found: list[dict],
    partnership: str,
    *,
    recorded_by: str,
    channel: str,
    raw: bytes | None,
    filename: str | None,
    content_type: str | None,
    link_for: Callable[[str], str] = log.response_link,
    chair_user_id: int | None = None,
    now: dt.datetime | None = None,
    once=None,
    commit: bool = True,
) -> list[Conference]:
    """Record each conference of a table (log answers); every one is checked before any is stored, and
    all are stored together. `once` (log.record) names the send and goes with the first conference;
    `commit` as log.record."""
    today = log.workdays.today(now or dt.datetime.now(dt.UTC))
    refused = []
    for number, answers in enumerate(found, start=1):
        try:
            log.check(session, partnership, answers, today=today)
        except log.LogError as exc:
            refused.append((number, answers, exc.messages))
    if refused:
        raise ConferencesRefused(refused)
    # One transaction for the whole table: a conference failing while it is recorded leaves none of
    # the others recorded and notified (log.record rolls back), so the table can be sent again.
    recorded = [
        log.record(
            session,
            partnership,
            answers,
            recorded_by=recorded_by,
            link_for=link_for,
            chair_user_id=chair_user_id,
            channel=channel,
            raw=raw,
            filename=filename,
            content_type=content_type,
            now=now,
            once=once if number == 0 else None,
            commit=False,
        )
        for number, answers in enumerate(found)
    ]
    if commit:
        session.commit()
    return recorded
