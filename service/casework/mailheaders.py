"""What makes the service's own e-mails pass filters and never start a loop.

- `Auto-Submitted: auto-generated` (RFC 3834) and `X-Auto-Response-Suppress: All` (Exchange) on every
  message: well-behaved auto-responders do not answer it; those that do are recognised on the way in
  (parsers.email.automatic_kind) and ignored, and so is any of our own messages that comes back
  (`is_ours`), so nothing is ever sent in answer to an automatic message.
- A Message-ID on the service's own domain (`MAIL_MESSAGE_ID_DOMAIN`, else MAIL_SENDER's domain) and
  `References`/`In-Reply-To` naming one thread root per case, so mail programs thread each case.
- Optional DKIM signing (dkimpy) with a key from settings, for a service that sends directly:
  `MAIL_DKIM_DOMAIN`, `MAIL_DKIM_SELECTOR` and `MAIL_DKIM_PRIVATE_KEY` (PEM) or `MAIL_DKIM_KEY_FILE`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from email.utils import parseaddr

DEFAULT_SENDER = "Escalate <escalations@escalate.example>"
# Headers a DKIM signature covers: those a filter reads, and the threading ones.
SIGNED = (b"from", b"to", b"subject", b"date", b"message-id", b"references", b"in-reply-to", b"auto-submitted")


def setting(name: str, default: str | None = None) -> str | None:
    """A setting from the app's config when there is an app, else the environment."""
    try:
        from flask import current_app

        value = current_app.config.get(name)
    except RuntimeError:
        value = None
    return str(value) if value not in (None, "") else os.environ.get(name, default)


def sender_address() -> str:
    return parseaddr(setting("MAIL_SENDER", DEFAULT_SENDER) or DEFAULT_SENDER)[1].lower()


def message_id_domain() -> str:
    explicit = setting("MAIL_MESSAGE_ID_DOMAIN")
    if explicit:
        return explicit
    return sender_address().rpartition("@")[2] or "escalate.example"


def thread_root(reference: str) -> str:
    """The Message-ID every message about a case refers to: mail programs group them as one thread."""
    return f"<case.{reference}@{message_id_domain()}>"


def add_headers(message, reference: str | None) -> None:
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    if reference:
        root = thread_root(reference)
        message["In-Reply-To"] = root
        message["References"] = root


def is_ours(summary: dict | None) -> bool:
    """An e-mail the service sent itself, come back: its Message-ID is one the outbox makes
    (`outbox.new_message_id`, or the conference letters' `make_msgid`). A person writing from the shared mailbox's address is not ours: that
    mail goes through the party and sender checks like any other."""
    message_id = (summary or {}).get("message_id") or ""
    pattern = rf"<(?:[0-9a-f]{{24}}|\d+\.\d+\.\d+)\.[A-Za-z0-9-]+@{re.escape(message_id_domain())}>"
    return re.fullmatch(pattern, message_id, re.IGNORECASE) is not None


@dataclass(frozen=True)
class DkimKey:
    domain: str
    selector: str
    private_key: bytes

    @classmethod
    def from_settings(cls) -> DkimKey | None:
        domain, selector = setting("MAIL_DKIM_DOMAIN"), setting("MAIL_DKIM_SELECTOR")
        key = setting("MAIL_DKIM_PRIVATE_KEY")
        path = setting("MAIL_DKIM_KEY_FILE")
        if not (domain and selector and (key or path)):
            return None
        try:
            pem = key.encode() if key else open(path, "rb").read()  # noqa: SIM115 - a small key file, read once
        except OSError as exc:
            raise ValueError(f"MAIL_DKIM_KEY_FILE cannot be read: {exc.strerror}") from None
        import dkim.crypto

        try:  # refused at start-up, not at every send
            dkim.crypto.parse_pem_private_key(pem)
        except dkim.crypto.UnparsableKeyError:
            raise ValueError("the DKIM private key is not an RSA key in PEM form") from None
        return cls(domain, selector, pem)

    def sign(self, data: bytes) -> bytes:
        import dkim

        present = {name.lower() for name in re.findall(rb"^([A-Za-z-]+):", data.split(b"\r\n\r\n", 1)[0], re.M)}
        headers = [h for h in SIGNED if h in present]
        signature = dkim.sign(
            data, self.selector.encode(), self.domain.encode(), self.private_key, include_headers=headers
        )
        return signature + data


__all__ = ["DkimKey", "add_headers", "is_ours", "message_id_domain", "sender_address", "thread_root"]
