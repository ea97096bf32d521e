"""The agency's response to a row: through its private link, or a reply to the notification e-mail.

A reply is threaded to its row by In-Reply-To/References (the Message-IDs the outbox gave the row's
notification and chasers) or else by the case reference tag in the subject ("[KL-2026-0004]"). It is
accepted only from that row's agency: its single From: address, compared whole, is one the row was
sent to for that agency or the agency's contact in the directory (never another agency's, nor the
CPRU's copy), and the message passed the sender check (service.intake.sender_auth: DMARC at
the organisation's receiving server, or DKIM verified here). Otherwise it is kept, held for the
business unit to review with the reason, and the row still awaits a response. The raw e-mail is kept as it came; a second copy of the same
Message-ID is recognised and not recorded twice.

`thread_reply(session, raw)` reads the e-mail with the project's parsers (parsers.email), so the
ingestion pipeline (service.intake.ingest) can hand any reply to a cp-conference case to it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms import registry
from parsers import MAX_EMAIL_BYTES, ParseError, sniff
from parsers.layout import find_reference
from service.casework.models import Case, Contact, OutboxMessage, RoutingDecision
from service.conference.letters import token_hash
from service.conference.models import Conference, ConferenceIssue, ConferenceResponse
from service.intake import sender_auth

MAX_RESPONSE = 20_000


class ResponseError(ValueError):
    """A response was refused; the message says why."""


def by_token(session: Session, token: str) -> ConferenceIssue | None:
    if not token or len(token) > 100:
        return None
    return session.scalar(select(ConferenceIssue).where(ConferenceIssue.response_hash == token_hash(token)))


def _respond(issue: ConferenceIssue, response: ConferenceResponse) -> None:
    issue.responses.append(response)
    if response.accepted and issue.status == "awaiting":
        issue.status = "responded"
        issue.responded_at = response.received_at


SEND_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def send_key() -> str:
    """A new key for one showing of the private link's page: what is sent from it is recorded once."""
    return secrets.token_urlsafe(24)


def record_link_response(
    session: Session,
    issue: ConferenceIssue,
    *,
    responder: str,
    text: str,
    send_key: str,
    now: dt.datetime | None = None,
) -> ConferenceResponse:
    """The response typed on the private link's page; commits. The page's send key is unique for the
    row (the database refuses a second insert), so the same page sent twice, even at the same moment,
    records one response: the later send is answered with the first one's. Sent again with other
    words (back, edited, sent), it is refused, so nothing the person wrote is dropped unseen."""
    if not SEND_KEY.fullmatch(send_key or ""):
        raise ResponseError("send_key: the page was not sent whole")
    responder, text = (responder or "").strip(), (text or "").strip()
    if not responder:
        raise ResponseError("responder: enter your name")
    if not text:
        raise ResponseError("text: enter your agency's response")
    if len(responder) > 200:
        raise ResponseError("responder: at most 200 characters")
    if len(text) > MAX_RESPONSE:
        raise ResponseError(f"text: at most {MAX_RESPONSE} characters")
    response = ConferenceResponse(
        channel="link",
        received_at=now or dt.datetime.now(dt.UTC),
        responder=responder,
        text=text,
        accepted=True,
        send_key=send_key,
    )
    issue_id = issue.id
    _respond(issue, response)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        first = session.scalar(
            select(ConferenceResponse).where(
                ConferenceResponse.issue_id == issue_id, ConferenceResponse.send_key == send_key
            )
        )
        if first is None:
            raise
        if (first.responder, first.text) != (responder, text):  # the page sent again with other words
            raise ResponseError("sent: this page's response is recorded already") from None
        return first
    return response


# --- reply e-mails ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    reference: str
    issue_id: int
    accepted: bool
    duplicate: bool
    reason: str


def _mail(raw: bytes):
    from parsers.email import read_eml, read_msg

    if len(raw) > MAX_EMAIL_BYTES:
        raise ResponseError(f"the e-mail is {len(raw):,} bytes (at most {MAX_EMAIL_BYTES:,})")
    kind = sniff(raw, None)
    if kind not in ("email", "msg"):
        raise ResponseError("not an e-mail (.eml or Outlook .msg)")
    try:
        return read_msg(raw) if kind == "msg" else read_eml(raw)
    except (ParseError, ValueError, LookupError) as exc:
        raise ResponseError(f"the e-mail cannot be read: {exc}") from None


def _reply_text(body: str) -> str:
    """The reply without the quoted notification below it."""
    lines = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if line.startswith(">") or re.match(r"^\s*(On .+ wrote:|-----\s*Original Message\s*-----)\s*$", line):
            break
        lines.append(line)
    return "\n".join(lines).strip()[:MAX_RESPONSE]


def _issue_for(session: Session, mail) -> ConferenceIssue | None:
    ids = [i for i in [mail.in_reply_to, *mail.references] if i]
    if ids:
        case_id = session.scalar(select(OutboxMessage.case_id).where(OutboxMessage.message_id.in_(ids)).limit(1))
        if case_id is not None:
            found = session.scalar(select(ConferenceIssue).where(ConferenceIssue.case_id == case_id))
            if found is not None:
                return found
    prefixes = {p.reference_prefix for p in registry().packs}
    reference = find_reference(mail.subject, prefixes)
    if reference is None:
        return None
    return session.scalar(select(ConferenceIssue).join(Case).where(Case.reference == reference))


def agency_contacts(session: Session, issue: ConferenceIssue) -> set[str]:
    """The addresses that may answer for the row's agency: those it was sent to for that agency, and
    the agency's contacts in the partnership's directory."""
    agency = issue.agency.strip().lower()
    routed = select(RoutingDecision.email).where(
        RoutingDecision.case_id == issue.case_id, func.lower(func.trim(RoutingDecision.agency)) == agency
    )
    listed = select(Contact.email).where(
        Contact.partnership == issue.conference.partnership, func.lower(func.trim(Contact.agency)) == agency
    )
    return {e.lower() for q in (routed, listed) for e in session.scalars(q) if e}


def _hold_reason(session: Session, issue: ConferenceIssue, raw: bytes, sender: str, verdict) -> str | None:
    from service.intake import parties

    reference = issue.case.reference if issue.case else "the row"
    address = parties.exact(sender)
    if address is None or len(sender_auth.from_addresses(raw)) > 1:
        return f"held for review: a reply to {reference} without a single sender address ({parties.NO_SENDER})"
    if address not in agency_contacts(session, issue):
        return f"held for review: {address} is {parties.NOT_A_PARTY} to {reference} (not {issue.agency}'s contact)"
    if not verdict.passed:
        return f"held for review: a reply to {reference} from {address}, {parties.NOT_AUTHENTICATED}: {verdict.detail}"
    return None


def thread_reply(
    session: Session,
    raw: bytes,
    *,
    now: dt.datetime | None = None,
    trusted: bool = False,
    verdict=None,
    commit: bool = True,
) -> Reply | None:
    """Record a reply e-mail on its row; None when it answers no conference notification. Commits
    (`commit=False`: flushed, for the caller to commit with its own writes).

    `trusted` (a person released it) accepts it whoever sent it, also when it was held before.
    `verdict`: the sender check already made on the raw bytes (service.intake.sender_auth)."""
    mail = _mail(raw)
    issue = _issue_for(session, mail)
    if issue is None:
        return None
    reference = issue.case.reference if issue.case else ""
    if mail.message_id:
        existing = session.scalar(select(ConferenceResponse).where(ConferenceResponse.message_id == mail.message_id))
        if existing is not None:
            if trusted and not existing.accepted:
                accept(session, existing, commit=commit)
                return Reply(reference, existing.issue_id, True, False, "accepted after review")
            return Reply(reference, existing.issue_id, existing.accepted, True, "already recorded (same Message-ID)")
    if mail.automatic:
        return Reply(reference, issue.id, False, False, f"not recorded: an automatic message ({mail.automatic})")
    verdict = verdict or sender_auth.check(raw, sender=mail.sender or "")
    hold = None if trusted else _hold_reason(session, issue, raw, mail.sender, verdict)
    accepted = hold is None
    response = ConferenceResponse(
        channel="email",
        received_at=now or dt.datetime.now(dt.UTC),
        responder=mail.sender or "unknown sender",
        text=_reply_text(mail.body) or "(no text: see the e-mail)",
        accepted=accepted,
        message_id=mail.message_id or None,
        raw=raw,
        sender_check=verdict.detail,
    )
    _respond(issue, response)
    if commit:
        session.commit()
    else:
        session.flush()
    reason = "recorded" if accepted else hold
    return Reply(reference, issue.id, accepted, False, reason)


def held(session: Session, partnerships: list[str]) -> list[ConferenceResponse]:
    """Replies held for review (sender not a party), newest first."""
    return list(
        session.scalars(
            select(ConferenceResponse)
            .join(ConferenceIssue)
            .join(Conference)
            .where(ConferenceResponse.accepted.is_(False), Conference.partnership.in_(partnerships))
            .order_by(ConferenceResponse.received_at.desc())
        )
    )


def accept(session: Session, response: ConferenceResponse, *, commit: bool = True) -> None:
    """A person accepts a held reply as the agency's response; commits (unless `commit=False`)."""
    response.accepted = True
    issue = response.issue
    if issue.status == "awaiting":
        issue.status = "responded"
        issue.responded_at = response.received_at
    if commit:
        session.commit()
    else:
        session.flush()


__all__ = ["Reply", "ResponseError", "by_token", "held", "record_link_response", "thread_reply"]
