"""Notifications by e-mail, through an outbox table.

The case service writes an outbox row in the same transaction as the case change that needs it
(`queue_for_submission`, `queue_for_move`), so a notification exists exactly when the change does. A worker
(`flask --app app outbox deliver`, once or `--loop`) sends pending rows over SMTP (MAIL_SERVER,
MAIL_PORT, MAIL_SENDER; MAIL_USERNAME/MAIL_PASSWORD and MAIL_USE_STARTTLS when the relay needs them).

Delivery guarantees:
- Nothing is lost: a row stays pending until the SMTP server has accepted it; a failure is
  recorded and retried with exponential backoff (1 minute doubling, at most 1 hour).
- Nothing sticks: a message the server refuses for good (5xx) or that cannot be built (an address
  that is not one) is dead at once; one that fails for any other reason is dead after
  MAX_ATTEMPTS attempts (about 7 hours). A dead message keeps its reason, is listed in the
  workspace for the business unit and the admin (`dead_letters`) and is sent again by `retry`
  once the cause is fixed (usually in the directory, which is read when a message is sent).
- Each row is claimed with a lease before sending (a conditional UPDATE, so two workers never
  send the same row at the same time) and marked sent after the server accepts it.
- Every row has its own Message-ID, fixed when the row is written. If a worker dies between the
  server accepting a message and marking it sent, the row is sent again once its lease expires,
  with the same Message-ID and content: receiving systems and people see one message, not two
  different ones. That window (one SMTP reply) is the only way a copy can go twice; closing it
  completely would risk losing a message, which matters more here.

The subject carries the case reference tag ("[NT-2026-0007] ...") and the completed record is
attached (service.casework.mail builds each message as it is sent).
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
from email.utils import parseaddr

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from forms.model import FormSpec, Pack
from service.casework import mailheaders
from service.casework.mail import ATTACHERS, CannotBuild, MailSettings, build_message
from service.casework.models import Case, OutboxMessage, RoutingDecision, Submission

__all__ = ["ATTACHERS", "MailSettings", "build_message", "deliver", "queue_for_move", "queue_for_submission", "retry"]

LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 12  # 1, 2, 4 ... 32 minutes, then hourly: about 7 hours before a message is dead
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
    """The e-mails for a submission: where it came from and where the case stands, the record attached."""
    stage = pack.stage(case.current_stage).label if case.current_stage else spec.short_title
    subject = f"[{case.reference}] {spec.short_title}: {stage} ({pack.short_name})"
    return _queue(
        session, case, submission, decisions, subject, lambda group: _body(pack, spec, case, group, step), now
    )


def queue_for_move(
    session: Session,
    pack: Pack,
    case: Case,
    decisions: list[RoutingDecision],
    step,
    *,
    reason: str | None,
    now: dt.datetime,
) -> list[OutboxMessage]:
    """The e-mails for a move with no form: where the case is, why, and what comes next."""
    stage = pack.stage(case.current_stage)
    subject = f"[{case.reference}] {stage.label}: {stage.name} ({pack.short_name})"
    return _queue(
        session, case, None, decisions, subject, lambda group: _move_body(pack, case, stage, group, step, reason), now
    )


def _queue(
    session: Session,
    case: Case,
    submission: Submission | None,
    decisions: list[RoutingDecision],
    subject: str,
    body: Callable[[list[RoutingDecision]], str],
    now: dt.datetime,
) -> list[OutboxMessage]:
    """One message per recipient address (several rules choosing one person give one e-mail), each keeping
    the contact and role it was routed to, so the directory is read again when it is sent."""
    by_email: dict[str, list[RoutingDecision]] = {}
    for decision in decisions:
        if decision.email:
            by_email.setdefault(decision.email.lower(), []).append(decision)
    messages = [
        OutboxMessage(
            case=case,
            submission=submission,
            routing=group[0],
            message_id=new_message_id(case.reference),
            to_name=group[0].name,
            to_email=group[0].email,
            role=group[0].role,
            contact_id=group[0].contact_id,
            subject=subject,
            body=body(group),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for group in by_email.values()
    ]
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


def _move_body(pack: Pack, case: Case, stage, group: list[RoutingDecision], step, reason: str | None) -> str:
    lines = [
        f"Dear {group[0].name},",
        "",
        f"{pack.name} case {case.reference} has moved to {stage.title}.",
        f"Why: {reason}" if reason else "",
        "",
        "You receive this as:",
        *(f"- {d.reason}" for d in group),
        "",
        f"Raising agency: {case.raising_agency or 'not given'}",
        f"Receiving agency: {case.receiving_agency or 'not given'}",
        "",
        step.text,
        "",
        "Please quote the reference in the subject in any reply.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Delivery


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
                except Exception as exc:  # SMTP down or refusing, or the message cannot be built
                    if isinstance(exc, (OSError, smtplib.SMTPException)):
                        smtp = _close(smtp)
                    _failed(sessions, row, worker, now, exc)
                    report.failed += 1
                    report.errors.append(f"{row.message_id}: {type(exc).__name__}: {exc}"[:2000])
                    continue
                if after_send is not None:
                    after_send(row)
                # Who it went to and what it said, as sent (the recipient is read from the directory).
                [to] = message["To"].addresses
                body = message.get_body(("plain",)).get_content().rstrip("\n")
                if row.kind in PRIVATE_KINDS:
                    body = PRIVATE_LINK.sub("(private link: sent, not kept)", body)
                sent = {"status": "sent", "attempts": row.attempts + 1, "sent_at": now, "last_error": None}
                sent.update(to_name=str(to.display_name), to_email=str(to.addr_spec), body=body)
                _mark(sessions, row_id, worker, **sent)
                report.sent += 1
    finally:
        _close(smtp)
    return report


def _failed(sessions: sessionmaker, row: OutboxMessage, worker: str, now: dt.datetime, exc: Exception) -> None:
    """Retry later, or stop with the reason: at once when retrying cannot help, else after MAX_ATTEMPTS."""
    attempts = row.attempts + 1
    reason = failure_reason(exc)
    if permanent(exc):
        _mark(sessions, row.id, worker, attempts=attempts, status="dead", last_error=reason[:2000])
    elif attempts >= MAX_ATTEMPTS:
        reason = f"Not delivered after {attempts} attempts; the last: {reason}"
        _mark(sessions, row.id, worker, attempts=attempts, status="dead", last_error=reason[:2000])
    else:
        _mark(
            sessions,
            row.id,
            worker,
            attempts=attempts,
            last_error=reason[:2000],
            next_attempt_at=now + backoff(attempts),
        )


def permanent(exc: Exception) -> bool:
    """Sending again cannot help: the message cannot be built, or the server refused it for good (5xx)."""
    if isinstance(exc, CannotBuild):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def failure_reason(exc: Exception) -> str:
    """Why a message was not sent, in words the business unit can act on."""
    if isinstance(exc, CannotBuild):
        return f"The message could not be built: {exc}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        said = "; ".join(
            f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
            for code, text in exc.recipients.values()
        )
        return f"The mail server refused the address: {said}"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"The mail server refused the message: {exc.smtp_code} {text}"
    if isinstance(exc, OSError):
        return f"The mail server could not be reached: {exc.strerror or exc}"
    return f"The message could not be sent: {exc}" if str(exc) else "The message could not be sent"


def dead_letters(session: Session, partnerships: list[str] | None, limit: int = 200) -> list[OutboxMessage]:
    """Messages that stopped, newest first; `partnerships` None means every partnership."""
    query = select(OutboxMessage).where(OutboxMessage.status == "dead")
    if partnerships is not None:
        query = query.join(Case, Case.id == OutboxMessage.case_id).where(Case.partnership.in_(partnerships))
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def retry(session: Session, row_id: int, *, now: dt.datetime | None = None) -> bool:
    """Send a dead message again (after its cause is fixed); False when it is not dead."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=now or dt.datetime.now(dt.UTC), claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return None


def pending_count(session: Session) -> int:
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
