"""Exactly once: a send (a draft's "Send", an API request with an Idempotency-Key) makes one case.

Each send names itself by a key in a scope ("draft": the draft token's hash; "api": the caller and
their Idempotency-Key) and the hash of what it asks. The `sends` row is written in the same
transaction as the case it made, under a unique key on (scope, key): a second, concurrent send of
the same thing waits for the first transaction and then fails to insert, so it is rolled back
whole (no second case, no second e-mail) and answered from the first send's row. The database
enforces it; nothing is checked before the insert that another request could slip past.

Returned documents and e-mails are kept once by the same kind of key: received_items.sha256 is
unique (service.intake.ingest), and a repeated Message-ID is marked a duplicate.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.casework.models import Send

SCOPES = ("draft", "api")


@dataclass(frozen=True)
class Once:
    """What names a send: its scope, the hash of its key, and the hash of what it asks."""

    scope: str
    key_hash: str
    request_hash: str


class AlreadySent(Exception):
    """This send was made before (perhaps at the same moment): `send` is the first one's row."""

    def __init__(self, send: Send, same_request: bool):
        super().__init__(f"already sent (case {send.case_id})")
        self.send = send
        self.same_request = same_request


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def request_digest(payload) -> str:
    """The hash of a JSON-like request, independent of key order and spacing."""
    return digest(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str))


def tracking_token(secret: str | bytes, once: Once) -> str:
    """The tracking token a send gives, derived from what only that sender holds (its draft token,
    or its key and body) and a server secret, so a repeat can be given the same link again while
    only the token's hash is stored."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    mac = hmac.new(key, f"tracking:{once.scope}:{once.key_hash}:{once.request_hash}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def find(session: Session, scope: str, key_hash: str) -> Send | None:
    return session.scalar(select(Send).where(Send.scope == scope, Send.key_hash == key_hash))


def replay(session: Session, once: Once) -> None:
    """Raise AlreadySent when this key was used before."""
    found = find(session, once.scope, once.key_hash)
    if found is not None:
        raise AlreadySent(found, found.request_hash == once.request_hash)


def record(session: Session, once: Once, case, submission, created: bool, now: dt.datetime) -> Send:
    if once.scope not in SCOPES:
        raise ValueError(f"unknown send scope '{once.scope}'")
    send = Send(
        scope=once.scope,
        key_hash=once.key_hash,
        request_hash=once.request_hash,
        case_id=case.id,
        submission_id=submission.id,
        created_case=created,
        created_at=now,
    )
    session.add(send)
    return send
