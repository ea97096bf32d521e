"""Building a notification e-mail from an outbox row, as it is sent.

The recipient is read from the directory at that moment (the row keeps the contact and the role it
was routed to, and a copy of who it was for when the contact is gone), so fixing a name or an
address in the directory fixes every message still waiting for it. Header values are made from
text that cannot break a header: control characters and line breaks become spaces, lone
surrogates are dropped, and the length is bounded; an address that is not one fails the build,
which the outbox records as a reason a person can act on. The completed record is attached (PDF,
or DOCX when the PDF renderer is not installed); when it cannot be built the e-mail links to the
record in the workspace instead, so a damaged record never holds a notification back.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms import registry
from service.casework import mailheaders
from service.casework.models import Case, Contact, OutboxMessage, Submission
from service.documents import records as documents

HEADER_LIMIT = 200  # characters of a name or subject in a header


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
    base_url: str = "http://localhost:5000"  # where the workspace is, for links to a record
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
            base_url=config.get("PUBLIC_BASE_URL") or os.environ.get("PUBLIC_BASE_URL") or cls.base_url,
            dkim=mailheaders.DkimKey.from_settings(),
            oauth=oauth.TokenSource.from_config(config, "MAIL"),
        )


class CannotBuild(ValueError):
    """The message cannot be made (e.g. the address is not an e-mail address): sending again will not help."""


def header_text(value: str | None, limit: int = HEADER_LIMIT) -> str:
    """One line of text safe in a header: controls and breaks become spaces, surrogates are dropped."""
    out = []
    for char in value or "":
        kind = unicodedata.category(char)
        if kind == "Cs":
            continue
        out.append(" " if kind in ("Cc", "Zl", "Zp") else char)
    return " ".join("".join(out).split())[:limit]


def recipient(session: Session, row: OutboxMessage) -> tuple[str, str]:
    """(name, address) from the directory now, or the copy kept on the row when the contact is gone."""
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    if contact is not None and contact.email:
        return contact.name, contact.email
    return row.to_name, row.to_email


# Parts of the service that write their own messages may attach their own documents: each attacher
# returns [(bytes, filename, kind), ...] for a row it owns, or None to leave it to `_attachment`
# (the conference log attaches its notification as DOCX and PDF).
ATTACHERS: list[Callable[[Session, OutboxMessage, MailSettings], list[tuple[bytes, str, str]] | None]] = []


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


def attachments(session: Session, row: OutboxMessage, settings: MailSettings) -> list[tuple[bytes, str, str]] | None:
    """The documents to attach, or None when they cannot be built (the e-mail then links to the record)."""
    try:
        for attacher in ATTACHERS:
            found = attacher(session, row, settings)
            if found is not None:
                return found
        attached = _attachment(session, row, settings.attachment_format)
    except Exception:  # a damaged record, a renderer failing: the notification still goes, with a link
        return None
    return [] if attached is None else [attached]


def build_message(session: Session, row: OutboxMessage, settings: MailSettings) -> EmailMessage:
    name, address = recipient(session, row)
    try:
        to = Address(display_name=header_text(name), addr_spec=header_text(address, 254))
    except Exception as exc:
        raise CannotBuild(f"the address '{header_text(address, 80)}' is not an e-mail address ({exc})") from None
    message = EmailMessage()
    message["Message-ID"] = row.message_id
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = header_text(row.subject, 998)
    message["Date"] = row.created_at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    reference = session.scalar(select(Case.reference).where(Case.id == row.case_id))
    mailheaders.add_headers(message, reference)
    body = _greeting(row.body, row.to_name, header_text(name))
    found = attachments(session, row, settings)
    if found is None:
        link = f"{settings.base_url.rstrip('/')}/workspace/cases/{reference}"
        body += f"\n\nThe completed record could not be attached to this e-mail. Read it in the workspace: {link}"
    message.set_content(body)
    for content, filename, kind in found or []:
        maintype, subtype = documents.FORMATS[kind].split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=header_text(filename))
    return message


def _greeting(body: str, queued_name: str, name: str) -> str:
    """The body's "Dear <name>," line with the name the directory holds now."""
    first, _, rest = body.partition("\n")
    if first == f"Dear {queued_name},":
        return f"Dear {name},\n{rest}"
    return body
