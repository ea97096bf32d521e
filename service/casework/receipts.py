"""Receipts and lost tracking links: the sender of a form keeps a way back to the case.

Whoever sends a form and writes an e-mail address in its contact details gets a receipt at that
address, in the same transaction as the case change: the reference, who it went to, what happens
next and by when (the policy's words, as on the confirmation page), and, when the form opened the
case, the private tracking link. The link stays in the outbox row only until it is sent (the worker
removes it; only its hash is kept on the case).

Who lost the link asks for a new one with the reference and the e-mail address given on the form
(`recover`): when both match, a new link is made, the old one stops working, and the new one goes
to that address. The caller shows the same answer whether or not they matched; every request is
audited, and the web page is rate-limited per client address.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forms.model import FormSpec, Pack
from service.casework import audit, mailheaders, outbox
from service.casework.lookup import hash_token, now_utc
from service.casework.models import Case, OutboxMessage, RoutingDecision

# An address as people write them in a contact box: "zoe.nowak@riverside.example, 0191 000 0001".
ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
RECOVER_PATH = "/lost-link"
# New links per case a day: someone who knows a reference and its raiser's address cannot fill their
# inbox or keep revoking their link (the page's own limit counts per client address).
LINKS_PER_DAY = 3
MATCHED = "matched: a new link was sent and the old one revoked"


def addresses_in(text: str | None) -> list[str]:
    """The e-mail addresses written in free text, lower case, each whole, in the order written."""
    found: list[str] = []
    for match in ADDRESS.finditer(text or ""):
        address = match.group(0).lower().rstrip(".")
        if address not in found:
            found.append(address)
    return found


def base_url() -> str:
    return (mailheaders.setting("PUBLIC_BASE_URL", "http://localhost:5000") or "").rstrip("/")


def tracking_url(token: str) -> str:
    return f"{base_url()}/t/{token}"


def queue_receipt(
    session: Session,
    pack: Pack,
    spec: FormSpec,
    case: Case,
    decisions: list[RoutingDecision],
    step,
    *,
    token: str | None,
    now: dt.datetime,
) -> OutboxMessage | None:
    """The receipt for a submission (`decisions`: whom it was routed to), to the first address in the form's
    contact details (None: none given)."""
    addresses = addresses_in(case.raiser_contact)
    if not addresses:
        return None
    went_to = "\n".join(f"- {d.name}{f', {d.agency}' if d.agency else ''}" for d in decisions) or (
        f"- recorded with the {pack.short_name}; the policy names no one to notify at this stage"
    )
    lines = [
        f"Dear {case.raiser_name or 'colleague'},",
        "",
        f"Your {spec.short_title} has been received by {pack.name}.",
        "",
        f"Reference: {case.reference}",
        "",
        "It was sent to:",
        went_to,
        "",
        "What happens next:",
        step.text if step else "",
        "",
    ]
    if token:
        lines += [
            "Your private tracking link (see the progress and add a stage update; anyone with it can see",
            "the progress, so do not forward this e-mail):",
            tracking_url(token),
        ]
    else:
        lines += ["Go on using the private tracking link you were given when you first sent the escalation."]
    lines += [
        "",
        f"Lost the link? Ask for a new one at {base_url()}{RECOVER_PATH} with the reference and this e-mail address.",
        "",
        "This e-mail was sent automatically; replies to it reach the partnership's business unit.",
    ]
    message = OutboxMessage(
        case=case,
        kind="receipt",
        message_id=outbox.new_message_id(case.reference),
        to_name=case.raiser_name or addresses[0],
        to_email=addresses[0],
        subject=f"[{case.reference}] Received: {spec.short_title}, {pack.short_name}",
        body="\n".join(lines),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message


def recover(
    session: Session,
    reference: str,
    email: str,
    *,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """A new tracking link for the case, sent to `email`, when it is an address given on the form;
    the old link stops working. Returns whether it matched: the caller must not tell the asker."""
    now = now_utc(now)
    reference = (reference or "").strip().upper()[:40]
    email = (email or "").strip().lower()[:254]
    if reference:
        # A write on the case's row first (it changes nothing), so requests for one case take turns
        # from here to the commit and each counts the links sent before it (PostgreSQL's row lock;
        # SQLite's write lock), instead of two counting the same two and both sending a third.
        session.execute(
            update(Case).where(Case.reference == reference).values(updated_at=Case.updated_at),
            execution_options={"synchronize_session": False},
        )
    case = session.scalar(select(Case).where(Case.reference == reference)) if reference else None
    matched = case is not None and case.status == "open" and email in addresses_in(case.raiser_contact)
    detail = MATCHED if matched else "no match: nothing sent"
    if matched and _sent_today(session, case.reference, now) >= LINKS_PER_DAY:
        matched, detail = False, f"matched, but {LINKS_PER_DAY} new links were sent in the last day: nothing sent"
    audit.record(
        session,
        "public: lost-link page",
        "tracking.recover",
        partnership=case.partnership if case else None,
        case_reference=case.reference if case else None,
        detail=detail,
        remote_addr=remote_addr,
    )
    if not matched:
        session.commit()
        return False
    token = secrets.token_urlsafe(32)
    case.tracking_hash = hash_token(token)
    body = "\n".join(
        [
            f"Dear {case.raiser_name or 'colleague'},",
            "",
            f"You asked for a new private tracking link for {case.reference}. Here it is:",
            tracking_url(token),
            "",
            "The link you had before no longer works. Anyone with this link can see the case's progress,",
            "so do not forward this e-mail. If you did not ask for it, tell the partnership's business unit.",
        ]
    )
    session.add(
        OutboxMessage(
            case=case,
            kind="link",
            message_id=outbox.new_message_id(case.reference),
            to_name=case.raiser_name or email,
            to_email=email,
            subject=f"[{case.reference}] Your new tracking link",
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    session.commit()
    return True


def _sent_today(session: Session, reference: str, now: dt.datetime) -> int:
    from sqlalchemy import func

    from service.casework.models import AuditEntry

    return session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "tracking.recover",
            AuditEntry.case_reference == reference,
            AuditEntry.detail == MATCHED,
            AuditEntry.at > now - dt.timedelta(days=1),
        )
    )


__all__ = ["addresses_in", "queue_receipt", "recover", "tracking_url"]
