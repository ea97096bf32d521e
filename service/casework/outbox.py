"""Notifications by e-mail, through an outbox table.

The case service writes an outbox row in the same transaction as the case change that needs it
(`queue_for_submission`), so a notification exists exactly when the change does. A worker
(`flask --app app outbox deliver`, once or `--loop`) sends pending rows over SMTP (MAIL_SERVER,
MAIL_PORT, MAIL_SENDER; MAIL_USERNAME/MAIL_PASSWORD and MAIL_USE_STARTTLS when the relay needs them).

Delivery guarantees:
- Nothing is lost: a row stays pending until the SMTP server has accepted it; a failure is
  recorded and retried with exponential backoff (1 minute doubling, at most 1 hour), for ever.
- Each row is claimed with a lease before sending (a conditional UPDATE, so two workers never
  send the same row at the same time) and marked sent after the server accepts it.
- Every row has its own Message-ID, fixed when the row is written. If a worker dies between the
  server accepting a message and marking it sent, the row is sent again once its lease expires,
  with the same Message-ID and content: receiving systems and people see one message, not two
  different ones. That window (one SMTP reply) is the only way a copy can go twice; closing it
  completely would risk losing a message, which matters more here.

The subject carries the case reference tag ("[NT-2026-0007] ...") and the completed record is
attached: PDF (service.documents.records.render) or, if the PDF renderer is not installed, DOCX.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from forms import registry
from forms.model import FormSpec, Pack
from service.casework import mailheaders
from service.casework.models import Case, OutboxMessage, RoutingDecision, Submission
from service.documents import records as documents

LEASE = dt.timedelta(minutes=5)
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)


message_id_domain = mailheaders.message_id_domain
is_ours = mailheaders.is_ours
# A private link in a receipt's body, removed once the message is sent (only its hash is kept).
PRIVATE_LINK = re.compile(r"\S+/t/[A-Za-z0-9_-]{20,}")
PRIVATE_KINDS = ("receipt", "link")


def new_message_id(reference: str) -> str:
    """A globally unique Message-ID, short enough never to be folded onto a second header line."""
    return f"<{secrets.token_hex(12)}.{reference}@{message_id_domain()}>"


def queue_for_submission(
    session: Session,
    pack: Pack,
    spec: FormSpec,
    case: Case,
    submission: Submission,
    decisions: list[RoutingDecision],
    step,
    *,
    now: dt.datetime,
) -> list[OutboxMessage]:
    """One message per recipient address; several rules choosing the same person give one e-mail."""
    by_email: dict[str, list[RoutingDecision]] = {}
    for decision in decisions:
        if decision.email:
            by_email.setdefault(decision.email.lower(), []).append(decision)
    stage = pack.stage(case.current_stage).label if case.current_stage else spec.short_title
    subject = f"[{case.reference}] {spec.short_title}: {stage} ({pack.short_name})"
    messages = []
    for group in by_email.values():
        first = group[0]
        message = OutboxMessage(
            case=case,
            submission=submission,
            routing=first,
            message_id=new_message_id(case.reference),
            to_name=first.name,
            to_email=first.email,
            subject=subject,
            body=_body(pack, spec, case, group, step),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        messages.append(message)
    session.add_all(messages)
    return messages


def _body(pack: Pack, spec: FormSpec, case: Case, group: list[RoutingDecision], step) -> str:
    """The e-mail text: why it came to them and where the case stands. Child details stay in the attachment."""
    # The reason is the pack's words for the role ("Designated safeguarding lead for Health"); the
    # rule's id is for the business unit's audit trail, never for the person reading the e-mail.
    reasons = "\n".join(f"- {d.reason}" for d in group)
    lines = [
        f"Dear {group[0].name},",
        "",
        f"{pack.name} has received the {spec.short_title} for case {case.reference}.",
        "",
        "It comes to you as:",
        reasons,
        "",
        f"Raising agency: {case.raising_agency or 'not given'}",
        f"Receiving agency: {case.receiving_agency or 'not given'}",
        "",
        step.text if step else "",
        "",
        "The completed record is attached. Please quote the reference in the subject in any reply.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Delivery


@dataclass(frozen=True)
class MailSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "Escalate <escalations@escalate.example>"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    attachment_format: str = "pdf"
    dkim: mailheaders.DkimKey | None = None
    oauth: object | None = None  # a service.casework.oauth.TokenSource: XOAUTH2 instead of a password

    @classmethod
    def from_config(cls, config) -> MailSettings:
        from service.casework import oauth

        return cls(
            host=config.get("MAIL_SERVER", "localhost"),
            port=int(config.get("MAIL_PORT", 25)),
            sender=config.get("MAIL_SENDER", cls.sender),
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            # "0" from an env file means off (bool("0") would be True).
            starttls=str(config.get("MAIL_USE_STARTTLS") or "").lower() in ("1", "true", "yes", "on"),
            attachment_format=config.get("MAIL_ATTACHMENT_FORMAT", "pdf"),
            dkim=mailheaders.DkimKey.from_settings(),
            oauth=oauth.TokenSource.from_config(config, "MAIL"),
        )


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] | None = None


def backoff(attempts: int) -> dt.timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _claim(sessions: sessionmaker, worker: str, now: dt.datetime, limit: int) -> list[int]:
    with sessions() as session:
        free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
        candidates = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, free)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        ).all()
        claimed = []
        for row_id in candidates:
            # Only one worker's UPDATE can match: the lease is taken or it is not.
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", free)
                .values(claimed_until=now + LEASE, claimed_by=worker)
            )
            if result.rowcount == 1:
                claimed.append(row_id)
        session.commit()
        return claimed


def _attachment(session: Session, row: OutboxMessage, fmt: str) -> tuple[bytes, str, str] | None:
    if row.submission_id is None:
        return None
    submission = session.get(Submission, row.submission_id)
    spec = registry().form(submission.form_id)
    case = session.get(Case, row.case_id)
    for kind in (fmt, "docx"):
        try:
            content = documents.render(spec, submission.data, kind)
        except ImportError:
            continue  # that renderer is not installed here
        return content, documents.filename(spec, kind, completed=True, reference=case.reference), kind
    return None


# Parts of the service that write their own messages may attach their own documents: each attacher
# returns [(bytes, filename, kind), ...] for a row it owns, or None to leave it to `_attachment`
# (the conference log attaches its notification as DOCX and PDF).
ATTACHERS: list[Callable[[Session, OutboxMessage, MailSettings], list[tuple[bytes, str, str]] | None]] = []


def _attachments(session: Session, row: OutboxMessage, settings: MailSettings) -> list[tuple[bytes, str, str]]:
    for attacher in ATTACHERS:
        found = attacher(session, row, settings)
        if found is not None:
            return found
    attached = _attachment(session, row, settings.attachment_format)
    return [] if attached is None else [attached]


def build_message(session: Session, row: OutboxMessage, settings: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = row.message_id
    message["From"] = settings.sender
    message["To"] = formataddr((row.to_name, row.to_email))
    message["Subject"] = row.subject
    message["Date"] = row.created_at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    reference = session.scalar(select(Case.reference).where(Case.id == row.case_id))
    mailheaders.add_headers(message, reference)
    message.set_content(row.body)
    for content, name, kind in _attachments(session, row, settings):
        maintype, subtype = documents.FORMATS[kind].split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def _connect(settings: MailSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.starttls:
        smtp.starttls()
    if settings.oauth is not None:  # Microsoft 365 and other OAuth mail services: no password
        smtp.ehlo()
        auth = settings.oauth.xoauth2(settings.username or parseaddr(settings.sender)[1])
        smtp.auth("XOAUTH2", lambda challenge=None: auth if challenge is None else "")
    elif settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _send(smtp: smtplib.SMTP, message: EmailMessage, settings: MailSettings) -> None:
    data = message.as_bytes(policy=policy.SMTP)
    if settings.dkim is not None:
        data = settings.dkim.sign(data)
    smtp.sendmail(parseaddr(settings.sender)[1], [parseaddr(message["To"])[1]], data)


def _mark(sessions: sessionmaker, row_id: int, worker: str, **values) -> None:
    with sessions() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == worker)
            .values(claimed_until=None, claimed_by=None, **values)
        )
        session.commit()


def deliver(
    sessions: sessionmaker,
    settings: MailSettings,
    *,
    now: dt.datetime | None = None,
    limit: int = 50,
    worker: str | None = None,
    after_send: Callable[[OutboxMessage], None] | None = None,
) -> DeliveryReport:
    """Send what is due once. `after_send` runs between the server's acceptance and marking sent."""
    now = now or dt.datetime.now(dt.UTC)
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns()}"
    report = DeliveryReport(errors=[])
    claimed = _claim(sessions, worker, now, limit)
    report.claimed = len(claimed)
    if not claimed:
        return report
    smtp = None
    try:
        for row_id in claimed:
            with sessions() as session:
                row = session.get(OutboxMessage, row_id)
                try:
                    message = build_message(session, row, settings)
                    if smtp is None:
                        smtp = _connect(settings)
                    _send(smtp, message, settings)
                except Exception as exc:  # SMTP down, refused, or the record would not render: retry later
                    if isinstance(exc, (OSError, smtplib.SMTPException)):
                        smtp = _close(smtp)
                    attempts = row.attempts + 1
                    error = f"{type(exc).__name__}: {exc}"[:2000]
                    _mark(
                        sessions,
                        row_id,
                        worker,
                        attempts=attempts,
                        last_error=error,
                        next_attempt_at=now + backoff(attempts),
                    )
                    report.failed += 1
                    report.errors.append(f"{row.message_id}: {error}")
                    continue
                if after_send is not None:
                    after_send(row)
                sent = {"status": "sent", "attempts": row.attempts + 1, "sent_at": now, "last_error": None}
                if row.kind in PRIVATE_KINDS:
                    sent["body"] = PRIVATE_LINK.sub("(private link: sent, not kept)", row.body)
                _mark(sessions, row_id, worker, **sent)
                report.sent += 1
    finally:
        _close(smtp)
    return report


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return None


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")) or 0


def run_loop(
    sessions: sessionmaker, settings: MailSettings, *, interval: float = 10.0, stop: Callable[[], bool] = lambda: False
):
    """Deliver, sleep, repeat (`flask --app app outbox deliver --loop`)."""
    while not stop():
        try:
            report = deliver(sessions, settings)
        except Exception as exc:  # the database is away: keep the worker alive and try again
            report = DeliveryReport(errors=[f"delivery round failed: {type(exc).__name__}: {exc}"])
        yield report
        if report.claimed == 0 or report.failed or report.errors:
            time.sleep(interval)
