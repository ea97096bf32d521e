"""E-mails (.eml and Outlook .msg): the attached form, or the answers pasted into the body.

Attachments are looked for in the message and in any forwarded message inside it. A case
reference tag such as [NT-2026-0007] in the subject, and the In-Reply-To/References headers, are
kept so the pipeline can thread a reply to its case. Auto-replies, out-of-office messages and
bounces are recognised from their headers, their MIME type and their subject, and never read as forms.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from email.policy import EmailPolicy
from email.utils import getaddresses
from functools import partial

from parsers.blocks import text_blocks
from parsers.layout import find_reference, read_blocks
from parsers.result import ParseError, ParseResult, plain

MAX_PARTS = 200
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # as parsers.MAX_DOCUMENT_BYTES
MAX_DEPTH = 3
MAX_HEADER_CHARS = 16 * 1024  # one header's value, as read; References of 200 message ids fit
MAX_ADDRESS_CHARS = 254  # RFC 5321's longest path: anything longer is not one address
MAX_ID_CHARS = 250  # a longer Message-ID stands in as its digest, which fits every column that keeps one


class _BoundedPolicy(EmailPolicy):
    """policy.default, reading at most MAX_HEADER_CHARS of any header: its parser builds a token tree
    thousands of times a header's size (a Subject of 3,300 folded encoded words took 370 MB)."""

    def header_fetch_parse(self, name, value):
        if isinstance(value, str) and len(value) > MAX_HEADER_CHARS:
            cut = value[:MAX_HEADER_CHARS]
            value = cut[: max(cut.rfind(" "), cut.rfind("\t"), MAX_HEADER_CHARS // 2)]  # at a word's end
        return super().header_fetch_parse(name, value)


BOUNDED = _BoundedPolicy()

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office|on leave|away from the office|"
    r"undeliverable|undelivered mail|delivery status notification|delivery (?:has )?failed|mail delivery failed|"
    r"returned mail|failure notice|message not delivered)\b",
    re.IGNORECASE,
)


@dataclass
class Mail:
    sender: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    automatic: str | None = None
    body: str = ""
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)  # attachments refused by size, unread

    def summary(self) -> dict:
        return {
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "subject": self.subject,
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": self.references,
            "automatic": self.automatic,
            "attachments": [name for name, _ in self.attachments],
        }


def _addresses(value) -> list[str]:
    return [addr.lower() for _, addr in getaddresses([str(value)]) if addr] if value else []


def _header(message, name: str):
    """A header's value, or its raw text where CPython's address parser fails on a damaged one (IndexError;
    found by tests/fuzz)."""
    try:
        return message.get(name)
    except (IndexError, ValueError, TypeError, AttributeError):
        return next((value for key, value in message.raw_items() if key.lower() == name.lower()), None)


def _sender(value) -> str:
    sender = (_addresses(value) or [""])[0]
    return sender if len(sender) <= MAX_ADDRESS_CHARS else ""


def _ids(value) -> list[str]:
    """Message ids as written; an over-long one as its digest, so a resend still matches it."""
    return [
        found if len(found) <= MAX_ID_CHARS else f"<{hashlib.sha256(found.encode()).hexdigest()}@digest.invalid>"
        for found in re.findall(r"<[^<>\s]+>", str(value or ""))
    ]


def automatic_kind(headers, subject: str, content_type: str, sender: str) -> str | None:
    """'bounce', 'auto-reply' or None, from the headers RFC 3834 and RFC 3464 define, and habits."""
    if content_type == "multipart/report" or sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return "bounce"
    auto = str(headers.get("Auto-Submitted", "") or "").strip().lower()
    if auto and auto != "no":
        return "auto-reply"
    if headers.get("X-Autoreply") or headers.get("X-Autorespond") or headers.get("X-Auto-Reply"):
        return "auto-reply"
    if str(headers.get("Precedence", "") or "").strip().lower() in ("auto_reply", "bulk", "junk"):
        return "auto-reply"
    m = _AUTO_SUBJECT.match(subject or "")
    if m:
        word = m.group(1).lower()
        return "bounce" if any(w in word for w in ("deliver", "returned", "failure")) else "auto-reply"
    return None


def _cut_large_parts(content: bytes) -> tuple[bytes, list[str]]:
    """The message without the bodies of parts too large to read, and what was cut.

    Python's e-mail parser needs several times a message's size in memory, so a part that is
    refused anyway is removed from the bytes before parsing (by its MIME boundaries)."""
    boundaries = {m.group(1) for m in re.finditer(rb'boundary="?([^";\r\n]+)"?', content, re.IGNORECASE)}
    if not boundaries:
        return content, []
    pattern = re.compile(rb"(\r?\n--(?:" + b"|".join(re.escape(b) for b in boundaries) + rb")(?:--)?[ \t]*\r?\n)")
    pieces = pattern.split(content)
    cut: list[str] = []
    for i in range(2, len(pieces), 2):
        head, sep, body = (
            pieces[i].partition(b"\n\n") if b"\r\n\r\n" not in pieces[i] else pieces[i].partition(b"\r\n\r\n")
        )
        size = (len(body) - body.count(b"\n") - body.count(b"\r")) * 3 // 4  # base64 without line breaks
        if sep and size > MAX_ATTACHMENT_BYTES:
            name = re.search(rb'name="?([^";\r\n]+)"?', head)
            label = name.group(1).decode("utf-8", "replace") if name else "attachment"
            cut.append(f"attachment {label} is {size / 1048576:.1f} MB")
            pieces[i] = head + sep
    return b"".join(pieces), cut


def read_eml(content: bytes, depth: int = 0) -> Mail:
    cut: list[str] = []
    if len(content) > MAX_ATTACHMENT_BYTES // 2:
        content, cut = _cut_large_parts(content)
    mail = _read_message(email.message_from_bytes(content, policy=BOUNDED), depth)
    mail.too_large.extend(cut)
    return mail


def _read_message(message, depth: int) -> Mail:
    mail = Mail(
        sender=_sender(_header(message, "From")),
        to=_addresses(_header(message, "To")),
        cc=_addresses(_header(message, "Cc")),
        subject=str(message.get("Subject", "") or ""),
        message_id=(_ids(message.get("Message-ID")) or [""])[0],
        in_reply_to=(_ids(message.get("In-Reply-To")) or [""])[0],
        references=_ids(message.get("References")),
    )
    mail.automatic = automatic_kind(message, mail.subject, message.get_content_type(), mail.sender)
    if mail.automatic is None and any(p.get_content_type() == "message/delivery-status" for p in message.walk()):
        mail.automatic = "bounce"
    mail.body = _body(message)
    _attachments(message, mail, depth)
    return mail


def _body(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        text = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        text = _html_text(text)
    return text


def _html_text(html: str) -> str:
    import lxml.html

    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>|</h\d>", "\n", html)
    html = re.sub(r"(?i)</td>|</th>", " ", html)
    try:
        return lxml.html.fromstring(html).text_content() if html.strip() else ""
    except (ValueError, TypeError):
        return re.sub(r"<[^>]+>", "", html)


def _parts(message):
    """Every part below `message`, depth first, not into forwarded messages (each is read whole on
    its own, so walking into it too would read its attachments twice)."""
    stack = list(reversed(list(message.iter_parts())))
    while stack:
        part = stack.pop()
        yield part
        if part.get_content_type() != "message/rfc822" and part.is_multipart():
            stack.extend(reversed(list(part.iter_parts())))


def _attachments(message, mail: Mail, depth: int) -> None:
    count = 0
    for part in _parts(message):
        count += 1
        if count > MAX_PARTS:
            raise ParseError(f"refused: the e-mail has more than {MAX_PARTS} parts")
        kind = part.get_content_type()
        if kind == "message/rfc822":
            if depth >= MAX_DEPTH:
                continue
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            # Read as parsed: writing it back out to bytes fails on damaged headers (found by atheris).
            forwarded = _read_message(inner, depth + 1)
            mail.attachments.extend(forwarded.attachments)
            if not mail.body.strip() or _quoted_only(mail.body):
                mail.body = f"{mail.body}\n{forwarded.body}"
            continue
        if part.is_multipart() or part.get_content_disposition() not in ("attachment", "inline"):
            continue
        if part.get_content_disposition() == "inline" and not part.get_filename():
            continue
        name = part.get_filename() or "attachment"
        encoded = part.get_payload()
        size = (len(encoded) - encoded.count("\n") - encoded.count("\r")) * 3 // 4 if isinstance(encoded, str) else 0
        if size > MAX_ATTACHMENT_BYTES:
            mail.too_large.append(f"attachment {name} is {size / 1048576:.1f} MB")
            continue  # not decoded at all: its size alone is the answer
        payload = part.get_payload(decode=True)
        if payload:
            mail.attachments.append((name, payload))


def _quoted_only(body: str) -> bool:
    return all(not line.strip() or line.startswith(">") for line in body.splitlines())


def read_msg(content: bytes) -> Mail:
    import extract_msg

    try:
        msg = extract_msg.openMsg(content)
    except Exception as exc:  # extract-msg raises many kinds for a damaged file
        raise ParseError(f"not a readable Outlook message (.msg): {plain(exc)}") from None
    try:
        headers = msg.header or {}
        mail = Mail(
            sender=_sender(msg.sender),
            to=_addresses(msg.to),
            cc=_addresses(msg.cc),
            subject=msg.subject or "",
            message_id=(_ids(msg.messageId) or [""])[0],
            in_reply_to=(_ids(headers.get("In-Reply-To")) or [""])[0],
            references=_ids(headers.get("References")),
            body=msg.body or "",
        )
        mail.automatic = automatic_kind(headers, mail.subject, "", mail.sender)
        _msg_attachments(msg, mail)
    finally:
        msg.close()
    return mail


def _msg_attachments(msg, mail: Mail, depth: int = 0) -> None:
    for att in msg.attachments:
        data = att.data
        if isinstance(data, bytes):
            mail.attachments.append((att.longFilename or att.shortFilename or "attachment", data))
        elif data is not None and hasattr(data, "attachments") and depth < MAX_DEPTH:  # a forwarded .msg
            _msg_attachments(data, mail, depth + 1)
            if not mail.body.strip():
                mail.body = data.body or ""


def _strip_quoted(body: str) -> str:
    lines = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if line.startswith(">"):
            continue
        if re.match(r"^\s*(On .+ wrote:|-----\s*Original Message\s*-----)\s*$", line):
            break
        lines.append(line)
    return "\n".join(lines)


def parse_email(content: bytes, kind: str, *, specs, prefixes, form_id=None) -> ParseResult:
    from parsers import MAX_DOCUMENT_BYTES, parse_document, sniff
    from parsers.kinds import DOCUMENTS, IMAGES
    from parsers.scan import parse_photos

    mail = read_msg(content) if kind == "msg" else read_eml(content)
    summary = mail.summary()
    reference = find_reference(mail.subject, prefixes) or find_reference(mail.body, prefixes)
    if mail.automatic:
        what = "a bounce (delivery failure report)" if mail.automatic == "bounce" else "an automatic reply"
        return ParseResult(kind="email", reference=reference, email=summary, reason=f"not a form: the e-mail is {what}")
    readers = {"specs": specs, "prefixes": prefixes, "form_id": form_id}
    found: list[ParseResult] = []
    limit = f"(at most {MAX_DOCUMENT_BYTES // 1048576} MB); not read"
    problems: list[str] = [f"{what} {limit}" for what in mail.too_large]
    # Documents first; the scans and photos attached are read by OCR only when no document holds the
    # form, together, as the pages of one form in the order attached (parsers.scan.parse_photos).
    attached = [(name, data, sniff(data, name)) for name, data in mail.attachments]
    photos = []
    for name, data, attachment_kind in attached:
        if attachment_kind not in DOCUMENTS:
            continue
        if len(data) > MAX_DOCUMENT_BYTES:
            problems.append(f"attachment {name} is {len(data) / 1048576:.1f} MB {limit}")
        elif attachment_kind in IMAGES:
            photos.append((name, data))
        else:
            _read_attachment(
                f"attachment {name}", partial(parse_document, data, attachment_kind, **readers), found, problems
            )
    if photos and not found:
        names = ", ".join(name for name, _ in photos)
        what = (
            f"attachment {names}" if len(photos) == 1 else f"attachments {names} (as one form's pages, in that order)"
        )
        _read_attachment(what, partial(parse_photos, photos, **readers), found, problems)
    if found:
        result = max(found, key=lambda r: r.score)
        result.warnings.extend(problems)
        if len(found) > 1:
            result.warnings.append(f"{len(found)} forms attached; the best match was read")
    else:
        body = _strip_quoted(mail.body)
        result = read_blocks(text_blocks(body), "email", specs, continuation=True, form_id=form_id)
        if not result.recognised:
            reasons = "; ".join(problems) if problems else "no form is attached and the text holds no form's answers"
            result.reason = f"the e-mail carries no form: {reasons}"
        else:
            result.warnings.extend(problems)
    result.kind = "email"
    result.email = summary
    result.reference = reference or result.reference
    return result


def _read_attachment(what: str, read, found: list, problems: list) -> None:
    """One reading of what is attached: a form found, or the reason none was."""
    try:
        result = read()
    except ParseError as exc:
        problems.append(f"{what}: {exc}")
        return
    if result.recognised:
        result.warnings.insert(0, f"read from {what}")
        found.append(result)
    else:
        problems.append(f"{what}: {result.reason}")


def answers_text(spec, data: dict) -> str:
    """A form's answers as the "Label: value" lines this module reads back from an e-mail body.

    Dates are written DD/MM/YYYY, a choice by its label, ticks as "☒ option" lines, repeated rows
    as a "|" table under a header of column labels (one line per row, so a line break inside a
    cell becomes a space); a textarea's further lines follow its first, and a blank line ends it."""
    from parsers.result import uk_date

    lines = [spec.title, ""]
    for section in spec.sections:
        if section.printed:
            lines.append(section.title)
        for f in section.fields:
            value = data.get(f.key)
            if f.type == "ticks":
                lines.append(f"{_label(f)}:")
                lines.extend(f"{'☒' if c.value in (value or []) else '☐'} {c.label}" for c in f.choices)
            elif f.type == "rows":
                lines.append(f"{_label(f)}:")
                lines.append(" | ".join(c.label for c in f.columns))
                for row in value or []:
                    cells = [uk_date(row.get(c.key, "")) if c.type == "date" else row.get(c.key, "") for c in f.columns]
                    lines.append(" | ".join(cell.replace("\n", " ") for cell in cells))
            elif f.type == "choice":
                lines.append(f"{_label(f)}: {f.choice_label(value) if value else ''}")
            elif f.type == "date":
                lines.append(f"{_label(f)}: {uk_date(value or '')}")
            else:
                lines.append(f"{_label(f)}: {value or ''}")
        lines.append("")
    return "\n".join(lines)


def _label(f) -> str:
    return f.label.rstrip(": ")
