"""The chair's log: record a conference and its agency issues, notify each agency, follow up.

    from service.conference import log

    conference = log.record(session, "kirklees", {
        "meeting_date": "2026-11-05", "family": "Family B", "chair_name": "Rhian Pritchard",
        "rows": [{"agency": "Greenfield High School", "agency_rep": "Not known",
                  "reason": "non-attendance", "reason_detail": ""}, ...],
    }, recorded_by="chair@kirklees.example", link_for=lambda token: f"https://.../conference/respond/{token}")

Each row becomes a case of its own (the partnership's cp-conference form, Kirklees Appendix 3,
holding that one row): cases.submit stores it and routes it by the pack's rules (the agency's named
safeguarding lead, copying the CPRU), and this module writes the notification (the
policy's letter, the row, how to contact the CPRU, the training offer, the response
link and the due date) to the outbox in the same transaction. The outbox attaches the Appendix 3
notification for that row as DOCX and PDF (service.documents.records.render; `attach_notification`).
The notification and the row's private response link are in letters.py.

Every row is checked before anything is stored (answers, the agency's lead in the directory), so
a log with one wrong row is refused whole, naming the row and what is wrong.

Follow-up: the agency is asked to respond within the working days the pack gives
(pack.conference_follow_up). Kirklees Appendix 3 sets no response time; the pack quotes §2 ("if
escalated each step in this process should not exceed 5 working days") and labels its reading that
the response is one such step. `chase` sends a chaser for each row still awaiting a response after
its due date, and gives it the same working days again, at most the pack's number of chasers (the
protocol says nothing of chasers: the pack says they are the service's reading); after that the row
stays overdue on the log (chasers.py).

This module checks and records the log; it re-exports what callers use as log.* (response_link,
attach_notification, chase, overdue_count).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from functools import partial

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms import registry
from forms.model import FormSpec, Pack
from forms.schema import validate_data
from service.casework import cases, routing, workdays
from service.casework.models import Contact
from service.casework.once import Once
from service.conference.chasers import chase as chase
from service.conference.chasers import overdue_count as overdue_count
from service.conference.letters import attach_notification as attach_notification
from service.conference.letters import queue_notification, response_token, token_hash
from service.conference.letters import response_link as response_link
from service.conference.models import REASONS, Conference, ConferenceIssue

MAX_ROWS = 30
CHANNELS = {"web": "web", "upload": "upload", "email": "email"}  # log channel -> case channel

# Who may use the chair's log, by workspace role: chairs (and admins) record, the business unit reads.
ROLES = {
    "record": frozenset({"conference-chair", "admin"}),
    "read": frozenset({"conference-chair", "business-unit", "admin"}),
}


class LogError(ValueError):
    """The log was refused; `messages` maps each answer (rows.N.key for a row) to what is wrong."""

    def __init__(self, messages: dict[str, list[str]]):
        self.messages = messages
        detail = "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in messages.items())
        super().__init__(f"the conference was not recorded: {detail}")


# --- the answers, checked at the boundary ------------------------------------------------------


class RowSchema(Schema):
    class Meta:
        unknown = RAISE

    agency = fields.String(required=True, validate=validate.Length(min=1, max=300))
    agency_rep = fields.String(load_default="", validate=validate.Length(max=200))
    reason = fields.String(
        required=True, validate=validate.OneOf(list(REASONS), error="choose one of: " + ", ".join(REASONS.values()))
    )
    reason_detail = fields.String(load_default="", validate=validate.Length(max=2000))

    @pre_load
    def _strip(self, data, **kwargs):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}

    @validates_schema
    def _other_needs_text(self, data, **kwargs):
        if data.get("reason") == "other" and not data.get("reason_detail"):
            raise ValidationError("say what the other issue is", "reason_detail")


class ConferenceSchema(Schema):
    class Meta:
        unknown = RAISE

    meeting_date = fields.Date(required=True, error_messages={"invalid": "not a date (YYYY-MM-DD)"})
    # No more than is needed to identify the conference: a family name or a few identifying factors.
    family = fields.String(required=True, validate=validate.Length(min=1, max=120))
    chair_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    rows = fields.List(
        fields.Nested(RowSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_ROWS, error=f"give from 1 to {MAX_ROWS} agency rows"),
    )

    @pre_load
    def _strip(self, data, **kwargs):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and messages and not all(isinstance(m, str) for m in messages):
        for m in messages:
            flat.update(_flatten(m, prefix))
    else:
        flat[prefix or "_schema"] = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
    return flat


# --- which form, which row ------------------------------------------------------------------


def conference_form(pack: Pack) -> FormSpec | None:
    """The partnership's form for conference escalations (process cp-conference), if its policy has one."""
    return next((f for f in pack.forms if f.process == "cp-conference"), None)


def conference_partnerships() -> list[str]:
    return [p.id for p in registry().packs if conference_form(p) is not None]


def _pack_and_form(partnership: str) -> tuple[Pack, FormSpec]:
    try:
        pack = registry().pack(partnership)
    except KeyError:
        raise LogError({"partnership": [f"unknown partnership '{partnership}'"]}) from None
    spec = conference_form(pack)
    if spec is None:
        raise LogError({"partnership": [f"the {pack.short_name} policy has no conference escalation form"]})
    return pack, spec


def row_data(conference: dict, row: dict) -> dict:
    """The Appendix 3 data for one row: the form holds exactly that row."""
    reason = REASONS[row["reason"]]
    if row.get("reason_detail"):
        reason = f"{reason}: {row['reason_detail']}"
    return {
        "rows": [
            {
                "meeting_date": conference["meeting_date"].isoformat(),
                "family": conference["family"],
                "cp_chair": conference["chair_name"],
                "agency": row["agency"],
                "agency_rep": row.get("agency_rep") or "",
                "reason": reason,
            }
        ]
    }


def agencies(session: Session, partnership: str) -> list[str]:
    """Agencies the chair can escalate: those with a named lead in the directory (the routing rule's role)."""
    pack, _ = _pack_and_form(partnership)
    roles = {r["to"]["role"] for r in pack.routing if r["to"].get("match") == "receiving_agency"}
    names = session.scalars(
        select(Contact.agency)
        .where(Contact.partnership == partnership, Contact.role.in_(roles), Contact.agency.is_not(None))
        .distinct()
    )
    return sorted(set(names), key=str.casefold)


def check(session: Session, partnership: str, answers: dict, *, today: dt.date) -> tuple[Pack, FormSpec, dict]:
    """The loaded answers, or LogError naming every wrong answer and row (nothing is stored)."""
    pack, spec = _pack_and_form(partnership)
    try:
        loaded = ConferenceSchema().load(answers)
    except ValidationError as exc:
        raise LogError(_flatten(exc.messages)) from None
    errors: dict[str, list[str]] = {}
    if loaded["meeting_date"] > today:
        errors["meeting_date"] = ["the conference date is in the future"]
    contacts = list(session.scalars(select(Contact).where(Contact.partnership == partnership)))
    for number, row in enumerate(loaded["rows"]):
        data = row_data(loaded, row)
        try:
            clean = validate_data(spec, data)
            routes = routing.route(pack, spec, clean, stage=None, receiving_sector=None, contacts=contacts)
        except ValidationError as exc:
            for key, msgs in _flatten(exc.messages).items():
                errors.setdefault(f"rows.{number}.{key.rsplit('.', 1)[-1]}", []).extend(msgs)
            continue
        except routing.RoutingError as exc:
            errors.setdefault(f"rows.{number}.agency", []).append(str(exc))
            continue
        if routing.not_listed(row["agency"]):
            if not any(r.email for r in routes):
                errors.setdefault(f"rows.{number}.agency", []).append(
                    "the agency is not listed, and nobody in the directory can be sent the row to find its lead"
                )
        elif not any(r.email for r in routes if r.agency):
            errors.setdefault(f"rows.{number}.agency", []).append(
                f"the directory has no e-mail address for the lead of '{row['agency']}'"
            )
    if errors:
        raise LogError(errors)
    return pack, spec, loaded


# --- recording ---------------------------------------------------------------------------------


def record(
    session: Session,
    partnership: str,
    answers: dict,
    *,
    recorded_by: str,
    link_for: Callable[[str], str],
    chair_user_id: int | None = None,
    channel: str = "web",
    raw: bytes | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    now: dt.datetime | None = None,
    once: Once | None = None,
    commit: bool = True,
) -> Conference:
    """Record the conference, a case per row, and queue each row's notification, all in one
    transaction: a failure part-way leaves nothing recorded and nothing sent. Commits (`commit=False`:
    flushed, for the caller to commit with its own writes: the intake pipeline settles its item).

    `once` names the send (a draft's Send from the public pages: service.casework.once): it is kept
    with the first row's case, so a second send of the same thing, even at the same moment, raises
    once.AlreadySent and records nothing."""
    now = now or dt.datetime.now(dt.UTC)
    if channel not in CHANNELS:
        raise LogError({"channel": [f"unknown channel '{channel}' (one of {', '.join(CHANNELS)})"]})
    today = workdays.today(now)
    pack, spec, loaded = check(session, partnership, answers, today=today)
    # The loader refuses a pack with a conference form and no conference_follow_up.
    due = workdays.calendar(session).add_working_days(today, pack.conference_follow_up.days)
    conference = Conference(
        partnership=partnership,
        meeting_date=loaded["meeting_date"],
        family=loaded["family"],
        chair_name=loaded["chair_name"],
        chair_user_id=chair_user_id,
        recorded_by=recorded_by[:254],
        channel=channel,
        created_at=now,
        raw=raw,
        filename=filename,
        content_type=content_type,
    )
    session.add(conference)
    try:
        for position, row in enumerate(loaded["rows"], start=1):
            issue, token = _new_issue(conference, position, row, today, due)
            session.add(issue)
            queue = partial(queue_notification, issue=issue, link=link_for(token))
            data = row_data(loaded, row)
            first = once if position == 1 else None
            cases.submit(
                session, spec.id, data, channel=CHANNELS[channel], now=now, queue=queue, commit=False, once=first
            )
    except Exception:
        session.rollback()
        raise
    if commit:
        session.commit()
    else:
        session.flush()
    return conference


def _new_issue(
    conference: Conference, position: int, row: dict, today: dt.date, due: dt.date
) -> tuple[ConferenceIssue, str]:
    """A row of the log awaiting the agency's response, and the token of its private response link."""
    nonce = secrets.token_hex(16)
    token = response_token(nonce)
    issue = ConferenceIssue(
        conference=conference,
        position=position,
        agency=row["agency"],
        agency_rep=row.get("agency_rep") or None,
        reason=row["reason"],
        reason_detail=row.get("reason_detail") or None,
        response_nonce=nonce,
        response_hash=token_hash(token),
        notified_on=today,
        due=due,
        status="awaiting",
        chasers=0,
    )
    return issue, token
