"""A row's notification: the policy's letter (Appendix 3's instructions and closing) around the row,
written to the outbox for the agency's lead and the copies its routing names, with the Appendix 3
notification attached as DOCX and PDF; and the row's private response link the letter carries.

The agency is asked to respond within the working days its pack gives (pack.conference_follow_up:
Kirklees reads §2's 5 working days for each step into Appendix 3, which sets no time); the letter
says so in the policy's words first, then labels the service's reading.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from base64 import urlsafe_b64encode
from email.utils import make_msgid

from flask import current_app, has_request_context, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms import registry
from forms.model import FormSpec, Pack
from service.casework import outbox
from service.casework.models import Case, OutboxMessage, RoutingDecision
from service.conference.models import ConferenceIssue
from service.documents import records as documents
from service.ops.settings import public_base_url

# --- the private response link ------------------------------------------------------------


def response_token(nonce: str) -> str:
    """The private link's token: HMAC of the row's random nonce with the app's secret key, so a chaser
    can repeat the link while the database keeps only its hash."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    digest = hmac.new(key, b"conference-response:" + nonce.encode("ascii"), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    follow_up = pack.conference_follow_up
    if chaser:
        lines += [
            f"We have not yet received your agency's response to the conference escalation sent on "
            f"{day_words(issue.notified_on)}. Please respond by {day_words(issue.due)}.",
            f"This is reminder {issue.chasers} of at most {follow_up.chasers.count}. "
            + follow_up.chasers.describe(follow_up.days),
            "",
        ]
    if not leads:
        lines += [
            f"{issue.agency}: this agency is not in the partnership's directory, so the row comes to you, the "
            f"{to.reason}, to find the agency's safeguarding lead and pass it on with the response link below.",
            "",
        ]
    elif to not in leads:
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
    lines += _closing(pack, spec, copies)
    lines.append(f"Please respond by {day_words(issue.due)}. {follow_up.describe(pack.short_name)}.")
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


def _closing(pack: Pack, spec: FormSpec, copies: list[RoutingDecision]) -> list[str]:
    """The policy's closing, each copy's contact after the line naming its role as the pack names it
    (Kirklees: "Please contact the CPRU ..."), else after the closing."""
    lines, placed = [], set()
    for text in spec.closing:
        lines.append(text)
        for n, unit in enumerate(copies):
            if n not in placed and pack.role_name(unit.role) in text:
                lines.append(_contact(unit))
                placed.add(n)
        lines.append("")
    rest = [_contact(u) for n, u in enumerate(copies) if n not in placed]
    return lines + ([*rest, ""] if rest else [])


def _contact(unit: RoutingDecision) -> str:
    return f"{unit.name}: " + ", ".join(x for x in (unit.email, unit.phone) if x)


def write_messages(
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
            pack,
            spec,
            issue,
            to=to,
            leads=leads,
            copies=copies,
            link=link if to in leads or not leads else None,
            chaser=chaser,
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


def queue_notification(session, pack, spec, case, submission, decisions, step, *, now, issue, link):
    """cases.submit's queue hook: link the row to its case and write its notification."""
    issue.case = case
    session.flush()
    write_messages(session, pack, spec, issue, decisions, link=link, now=now)


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
