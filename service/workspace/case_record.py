"""What the case page shows of each submission: its answers under the form's own labels, the completed
record made from them (DOCX and PDF) and the original as received, and who it was routed to with the
delivery of each e-mail in words; and, for a conference escalation, the agency's response deadline."""

from __future__ import annotations

import datetime as dt

from flask import url_for
from sqlalchemy import func, select

from service import db
from service.casework import channels
from service.casework.models import Case, OutboxMessage, Submission
from service.conference.models import REASONS, ConferenceIssue
from service.documents import records as documents
from service.web.formbuild import answers_list
from service.workspace.common import registry, today


def when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%-d %B %Y at %H:%M UTC") if value else ""


def day(value: dt.date | str | None) -> str:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return value.strftime("%-d %B %Y") if value else ""


def delivery_words(message: OutboxMessage | None) -> tuple[str, str]:
    """(tag colour, words) for one recipient's e-mail."""
    if message is None:
        return "grey", "No e-mail address in the directory: tell them by phone or by hand"
    if message.status == "sent":
        return "green", f"E-mail sent {when(message.sent_at)}"
    if message.status == "pending":
        tried = f", tried {_times(message.attempts)} so far" if message.attempts else ""
        return "yellow", f"E-mail waiting to be sent{tried}"
    # The reason is already a sentence: the mail server's refusal, or "Not delivered after 12 attempts; the last: ...".
    return "red", message.last_error or f"E-mail not delivered after {_times(message.attempts)}"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def submissions(case: Case) -> list[dict]:
    """Every submission, oldest first, ready for the page."""
    session = db.session()
    messages = list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id).order_by(OutboxMessage.id))
    )
    # Each original's size from the database: the originals themselves are not read (common.WITHOUT_ORIGINALS).
    sizes = dict(
        session.execute(select(Submission.id, func.length(Submission.raw)).where(Submission.case_id == case.id)).all()
    )
    forms = registry().forms
    out = []
    for s in case.submissions:
        spec = forms.get(s.form_id)
        routes = []
        for route in (r for r in case.routings if r.submission_id == s.id):
            # Several rules choosing one person give one e-mail: match it by submission and address.
            message = next(
                (
                    m
                    for m in messages
                    if m.submission_id == s.id and route.email and (m.to_email or "").lower() == route.email.lower()
                ),
                None,
            )
            colour, words = delivery_words(message)
            routes.append({"route": route, "colour": colour, "delivery": words})
        out.append(
            {
                "id": s.id,
                "title": spec.short_title if spec else "A form this service no longer holds",
                "received": when(s.received_at),
                "channel": channels.received(s.channel),
                "stage": registry().pack(case.partnership).stage(s.stage).label if _has_stage(case, s.stage) else None,
                "answers": answers_list(spec, s.data) if spec else [],
                "records": [
                    (fmt.upper(), url_for("workspace.record", reference=case.reference, submission_id=s.id, fmt=fmt))
                    for fmt in documents.FORMATS
                ]
                if spec
                else [],
                "original": url_for("workspace.original", reference=case.reference, submission_id=s.id)
                if sizes.get(s.id) is not None
                else None,
                "filename": s.filename,
                "size": sizes.get(s.id) or 0,
                "routes": routes,
            }
        )
    return out


def moves(case: Case) -> list[dict]:
    """Who was told of each stage move made without a form (a staff or API move), with the delivery."""
    session = db.session()
    by_routing = {
        m.routing_id: m
        for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case.id, OutboxMessage.submission_id.is_(None))
        )
    }
    out = []
    for route in (r for r in case.routings if r.submission_id is None):
        colour, words = delivery_words(by_routing.get(route.id))
        out.append({"route": route, "colour": colour, "delivery": words})
    return out


def _has_stage(case: Case, stage: str | None) -> bool:
    if not stage:
        return False
    try:
        registry().pack(case.partnership).stage(stage)
    except KeyError:
        return False
    return True


def conference_rows(case: Case) -> list[dict]:
    """The conference log rows this case is: the agency's response and when it is due (the pack's
    conference_follow_up)."""
    rows = db.session().scalars(select(ConferenceIssue).where(ConferenceIssue.case_id == case.id))
    return [
        {
            "agency": row.agency,
            "reason": REASONS.get(row.reason, row.reason),
            "meeting": day(row.conference.meeting_date),
            "notified": day(row.notified_on),
            "due": day(row.due),
            "responded": when(row.responded_at) if row.status == "responded" else None,
            "overdue": row.status != "responded" and row.due < today(),
        }
        for row in rows
    ]
