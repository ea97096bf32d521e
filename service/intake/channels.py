"""The mail channels of ingestion: an inbound SMTP receiver (aiosmtpd) and IMAP mailbox polling.

Both store each message's bytes, exactly as received (service.intake.store), queue it to be
read (service.intake.jobs) and answer at once: "received as item N". Neither parses anything itself.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
from dataclasses import dataclass

from flask import Flask

from service import db
from service.casework.oauth import TokenSource
from service.intake import jobs
from service.intake.store import IngestOutcome, store

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 60 * 1024 * 1024


def ingest_message(app: Flask, content: bytes, channel: str, name: str | None = None) -> IngestOutcome:
    """Store the message and queue it to be read (a queue that is down delays the reading, never the answer)."""
    with app.app_context(), db.sessions(app)() as session:
        outcome = store(session, content, channel=channel, filename=name, content_type="message/rfc822")
    if outcome.status == "received":
        jobs.enqueue(app, [outcome.item_id])
    return outcome


class SmtpHandler:
    """aiosmtpd handler: every message is stored and queued; the reply names the stored item."""

    def __init__(self, app: Flask):
        self.app = app
        self.outcomes: list[IngestOutcome] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this by name
        content = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(None, ingest_message, self.app, content, "smtp", "message.eml")
        except Exception:  # the database is down, say: the sender's server will try again later
            log.exception("could not store an inbound message")
            return "451 4.3.0 Could not store the message now; try again later"
        self.outcomes.append(outcome)
        if outcome.status == "duplicate":
            return f"250 2.0.0 Received before as item {outcome.item_id}"
        return f"250 2.0.0 Received as item {outcome.item_id}"


def smtp_controller(app: Flask, host: str, port: int):
    from aiosmtpd.controller import Controller

    handler = SmtpHandler(app)
    return Controller(handler, hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES), handler


@dataclass
class ImapSettings:
    host: str
    port: int
    user: str
    password: str | None = None
    folder: str = "INBOX"
    ssl: bool = True
    oauth: TokenSource | None = None  # XOAUTH2 (Microsoft 365 and other OAuth mailboxes) instead of a password

    @classmethod
    def from_config(cls, config) -> ImapSettings:
        oauth = TokenSource.from_config(config, "IMAP")
        needed = ("IMAP_HOST", "IMAP_USER") if oauth else ("IMAP_HOST", "IMAP_USER", "IMAP_PASSWORD")
        missing = [k for k in needed if not config.get(k)]
        if missing:
            raise ValueError(
                f"set {', '.join(missing)} (app config or environment) to poll a mailbox"
                + ("" if oauth else ", or IMAP_OAUTH_CLIENT_ID and its settings for an OAuth mailbox")
            )
        ssl = str(config.get("IMAP_SSL", "1")).lower() not in ("0", "false", "no")
        return cls(
            host=config["IMAP_HOST"],
            port=int(config.get("IMAP_PORT") or (993 if ssl else 143)),
            user=config["IMAP_USER"],
            password=config.get("IMAP_PASSWORD"),
            folder=config.get("IMAP_FOLDER") or "INBOX",
            ssl=ssl,
            oauth=oauth,
        )

    def log_in(self, imap: imaplib.IMAP4) -> None:
        if self.oauth is not None:
            auth = self.oauth.xoauth2(self.user).encode()
            # The token goes once; a second challenge carries the server's error, answered empty to end it.
            imap.authenticate("XOAUTH2", lambda challenge: b"" if challenge else auth)
        else:
            imap.login(self.user, self.password or "")


def imap_poll(app: Flask, settings: ImapSettings, limit: int = 500) -> list[IngestOutcome]:
    """Read unseen messages, store and queue each, then mark it seen. A message is stored before it is
    marked, so a crash in between only means it is fetched again, and then recognised by its bytes."""
    connect = imaplib.IMAP4_SSL if settings.ssl else imaplib.IMAP4
    if settings.oauth is not None:
        settings.oauth.token()  # a refused client is named before the mailbox is touched
    outcomes: list[IngestOutcome] = []
    with connect(settings.host, settings.port, timeout=30) as imap:
        settings.log_in(imap)
        status, _ = imap.select(settings.folder)
        if status != "OK":
            raise RuntimeError(f"cannot open mailbox folder {settings.folder!r}")
        status, found = imap.uid("SEARCH", None, "UNSEEN")
        uids = found[0].split()[:limit] if status == "OK" and found and found[0] else []
        for uid in uids:
            status, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            content = next((p[1] for p in parts if isinstance(p, tuple)), None) if status == "OK" else None
            if content is None:
                continue
            outcomes.append(ingest_message(app, content, "imap", "e-mail.eml"))
            imap.uid("STORE", uid, "+FLAGS", r"(\Seen)")
    return outcomes
