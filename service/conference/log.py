"""The chair's log: record a conference and its agency issues, notify each agency, follow up.

    from service.conference import log

    conference = log.record(session, "kirklees", {
        "meeting_date": "2026-11-05", "family": "Family B", "chair_name": "Rhian Pritchard",
        "rows": [{"agency": "Greenfield High School", "agency_rep": "Not known",
                  "reason": "non-attendance", "reason_detail": ""}, ...],
    }, recorded_by="chair@kirklees.example", link_for=lambda token: f"https://.../conference/respond/{token}")

Each row becomes a case of its own (the partnership's cp-conference form, Kirklees Appendix 3,
holding that one row): cases.submit stores it and routes it by the pack's rules (the agency's named
safeguarding lead, copying the CP Review Unit), and this module writes the notification (the
policy's letter, the row, how to contact the CP Review Unit, the training offer, the response
link and the due date) to the outbox in the same transaction. The outbox attaches the Appendix 3
notification for that row as DOCX and PDF (service.documents.records.render; `attach_notification`).

Every row is checked before anything is stored (answers, the agency's lead in the directory), so
a log with one wrong row is refused whole, naming the row and what is wrong.

Follow-up: the agency is asked to respond within FOLLOW_UP_DAYS working days. Kirklees §2: "if
escalated each step in this process should not exceed 5 working days", so the response to the
escalation is one such step. `chase` sends a chaser for each row still awaiting a response after
its due date, and gives it another FOLLOW_UP_DAYS working days, at most MAX_CHASERS times; after
that the row stays overdue on the log for the CP Review Unit to take up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from functools import partial

from flask import current_app, has_request_context, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms import registry
from forms.model import FormSpec, Pack
from forms.schema import validate_data
from service.casework import cases, outbox, routing, workdays
from service.casework.models import Case, Contact, OutboxMessage, RoutingDecision
from service.conference.models import REASONS, Conference, ConferenceIssue
from service.documents import records as documents
from service.ops.settings import public_base_url

FOLLOW_UP_DAYS = 5  # Kirklees protocol §2: each step no more than 5 working days
MAX_CHASERS = 2
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
        if not any(r.email for r in routes if r.agency):
            errors.setdefault(f"rows.{number}.agency", []).append(
                f"the directory has no e-mail address for the lead of '{row['agency']}'"
            )
    if errors:
        raise LogError(errors)
    return pack, spec, loaded


# --- recording ---------------------------------------------------------------------------------


def response_token(nonce: str) -> str:
    """The private link's token: HMAC of the row's random nonce with the app's secret key, so a chaser
    can repeat the link while the database keeps only its hash."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    digest = hmac.new(key, b"conference-response:" + nonce.encode("ascii"), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
) -> Conference:
    """Record the conference, a case per row, and queue each row's notification, all in one
    transaction: a failure part-way leaves nothing recorded and nothing sent. Commits."""
    now = now or dt.datetime.now(dt.UTC)
    if channel not in CHANNELS:
        raise LogError({"channel": [f"unknown channel '{channel}' (one of {', '.join(CHANNELS)})"]})
    today = workdays.today(now)
    _pack, spec, loaded = check(session, partnership, answers, today=today)
    cal = workdays.calendar(session)
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
            issue, token = _new_issue(conference, position, row, today, cal)
            session.add(issue)
            queue = partial(_queue_notification, issue=issue, link=link_for(token))
            data = row_data(loaded, row)
            cases.submit(session, spec.id, data, channel=CHANNELS[channel], now=now, queue=queue, commit=False)
    except Exception:
        session.rollback()
        raise
    session.commit()
    return conference


def _new_issue(conference: Conference, position: int, row: dict, today: dt.date, cal) -> tuple[ConferenceIssue, str]:
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
        due=cal.add_working_days(today, FOLLOW_UP_DAYS),
        status="awaiting",
        chasers=0,
    )
    return issue, token


def response_link(token: str) -> str:
    """The absolute URL of a row's response page, on PUBLIC_BASE_URL (config or environment) when set,
    so no request's Host header decides where an e-mailed link points; else the request's own address
    (or http://localhost:5000 in a command)."""
    base = public_base_url(current_app)
    if base is None and has_request_context():
        return url_for("conference.respond", token=token, _external=True)
    with current_app.test_request_context(base_url=base or "http://localhost:5000"):
        return url_for("conference.respond", token=token, _external=True)


# --- the notification -------------------------------------------------------------------------


def day_words(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _split(pack: Pack, decisions: list[RoutingDecision]) -> tuple[list[RoutingDecision], list[RoutingDecision]]:
    """(the agency's lead, the copies): the lead is chosen by the rule that matches the receiving agency."""
    agency_rules = {r["id"] for r in pack.routing if r["to"].get("match") == "receiving_agency"}
    leads = [d for d in decisions if d.rule_id in agency_rules and d.email]
    copies = [d for d in decisions if d.rule_id not in agency_rules and d.email]
    return leads, copies


def letter(
    pack: Pack,
    spec: FormSpec,
    issue: ConferenceIssue,
    *,
    to: RoutingDecision,
    leads: list[RoutingDecision],
    copies: list[RoutingDecision],
    link: str | None,
    chaser: bool = False,
) -> str:
    """The e-mail: the policy's letter (Appendix 3's instructions and closing) around the row.

    The family's name stays in the attached notification, not in the e-mail text."""
    conference = issue.conference
    lines = [f"Dear {to.name},", ""]
    if chaser:
        lines += [
            f"We have not yet received your agency's response to the conference escalation sent on "
            f"{day_words(issue.notified_on)}. Please respond by {day_words(issue.due)}.",
            "",
        ]
    if to not in leads:
        names = ", ".join(f"{d.name} <{d.email}>" for d in leads)
        lines += [f"Copy for the {to.reason}. Sent to {names} for {issue.agency}.", ""]
    lines += list(spec.instructions)
    lines += [
        "",
        f"Date of meeting: {day_words(conference.meeting_date)}",
        f"CP Chair: {conference.chair_name}",
        f"Agency: {issue.agency}",
        f"Name of agency Rep: {issue.agency_rep or 'not recorded'}",
        f"Reason for escalation: {issue.reason_text}",
        "",
    ]
    closing = list(spec.closing)
    for text in closing:
        lines.append(text)
        if "Child Protection Review Unit" in text:
            for unit in copies:
                contact = ", ".join(x for x in (unit.email, unit.phone) if x)
                lines.append(f"{unit.name}: {contact}")
        lines.append("")
    lines.append(
        f"Please respond by {day_words(issue.due)} ({FOLLOW_UP_DAYS} working days; {pack.short_name} protocol §2: "
        "each step should not exceed 5 working days)."
    )
    if link:
        lines += [
            "Reply to this e-mail keeping the reference in the subject, or respond through this private link "
            "(do not forward it):",
            link,
        ]
    else:
        lines.append("The agency responds by replying to its e-mail or through its private link.")
    lines += ["", f"The notification is attached as Word (DOCX) and PDF. Reference: {issue.case.reference}."]
    return "\n".join(lines)


def _messages(
    session: Session,
    pack: Pack,
    spec: FormSpec,
    issue: ConferenceIssue,
    decisions: list[RoutingDecision],
    *,
    link: str,
    now: dt.datetime,
    chaser: bool = False,
) -> list[OutboxMessage]:
    case, submission_id = issue.case, decisions[0].submission_id if decisions else None
    leads, copies = _split(pack, decisions)
    what = "Reminder: response overdue" if chaser else spec.title
    subject = f"[{case.reference}] {what}: {issue.agency}, conference of {issue.conference.meeting_date:%d/%m/%Y}"
    seen: set[str] = set()
    messages = []
    for to in leads + copies:
        if to.email.lower() in seen:
            continue
        seen.add(to.email.lower())
        body = letter(
            pack, spec, issue, to=to, leads=leads, copies=copies, link=link if to in leads else None, chaser=chaser
        )
        messages.append(
            OutboxMessage(
                case_id=case.id,
                submission_id=submission_id,
                routing_id=to.id,
                message_id=make_msgid(idstring=case.reference, domain=outbox.message_id_domain()),
                to_name=to.name,
                to_email=to.email,
                subject=subject,
                body=body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.add_all(messages)
    return messages


def _queue_notification(session, pack, spec, case, submission, decisions, step, *, now, issue, link):
    """cases.submit's queue hook: link the row to its case and write its notification."""
    issue.case = case
    session.flush()
    _messages(session, pack, spec, issue, decisions, link=link, now=now)


def attach_notification(session: Session, row: OutboxMessage, settings) -> list[tuple[bytes, str, str]] | None:
    """outbox.ATTACHERS: a conference row's messages carry its Appendix 3 notification as DOCX and PDF."""
    if row.submission_id is None:
        return None
    if session.scalar(select(ConferenceIssue.id).where(ConferenceIssue.case_id == row.case_id)) is None:
        return None
    from service.casework.models import Submission

    submission = session.get(Submission, row.submission_id)
    spec = registry().form(submission.form_id)
    reference = session.get(Case, row.case_id).reference
    return [
        (
            documents.render(spec, submission.data, kind),
            documents.filename(spec, kind, completed=True, reference=reference),
            kind,
        )
        for kind in ("docx", "pdf")
    ]


# --- follow-up -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chased:
    reference: str
    agency: str
    due: dt.date
    chasers: int


def overdue(session: Session, today: dt.date, partnerships: list[str] | None = None) -> list[ConferenceIssue]:
    """Rows still awaiting a response after their due date, longest overdue first."""
    query = (
        select(ConferenceIssue)
        .join(Conference)
        .where(ConferenceIssue.status == "awaiting", ConferenceIssue.due < today)
        .order_by(ConferenceIssue.due, ConferenceIssue.id)
    )
    if partnerships is not None:
        query = query.where(Conference.partnership.in_(partnerships))
    return list(session.scalars(query))


def overdue_count(session: Session, today: dt.date, partnerships: list[str]) -> int:
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count())
            .select_from(ConferenceIssue)
            .join(Conference)
            .where(
                ConferenceIssue.status == "awaiting",
                ConferenceIssue.due < today,
                Conference.partnership.in_(partnerships),
            )
        )
        or 0
    )


def chase(
    session: Session, *, now: dt.datetime | None = None, link_for: Callable[[str], str] = response_link
) -> list[Chased]:
    """A chaser to the lead (copying the CP Review Unit) for each overdue row; commits."""
    now = now or dt.datetime.now(dt.UTC)
    today = workdays.today(now)
    cal = workdays.calendar(session)
    chased = []
    for issue in overdue(session, today):
        if issue.chasers >= MAX_CHASERS or issue.case is None:
            continue
        pack = registry().pack(issue.conference.partnership)
        submission = issue.case.submissions[0]
        spec = registry().form(submission.form_id)
        decisions = [d for d in issue.case.routings if d.submission_id == submission.id]
        issue.chasers += 1
        issue.last_chased_on = today
        issue.due = cal.add_working_days(today, FOLLOW_UP_DAYS)
        _messages(
            session,
            pack,
            spec,
            issue,
            decisions,
            link=link_for(response_token(issue.response_nonce)),
            now=now,
            chaser=True,
        )
        chased.append(Chased(issue.case.reference, issue.agency, issue.due, issue.chasers))
    session.commit()
    return chased
