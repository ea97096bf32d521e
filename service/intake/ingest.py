"""The one ingestion pipeline every channel feeds: upload page, `flask ingest`, SMTP and IMAP.

For each input: store the raw bytes first (keyed by their SHA-256), then parse them in the limited
worker (parsers.sandbox), validate, create or update the case through service.casework.cases (which routes
it and writes the outbox), and record the outcome on the stored item. Nothing is dropped:

- the same bytes again are recognised by their hash and counted, not stored or applied twice;
  the same e-mail again (same Message-ID, other bytes) is kept and marked a duplicate;
- what cannot be read, or does not fit its form, is quarantined with the reason, for a person to
  correct the answers or choose the form and run it again (`reprocess`); a scan or photo read by
  OCR is quarantined the same way, its answers prefilled, for a person to confirm;
- a reply threaded to a case (reference tag in the subject or document, or In-Reply-To/References
  naming one of our messages) is applied only when the sender is a party to the case or a
  directory contact; otherwise it is held for review (`release` applies it);
- auto-replies, out-of-office messages and bounces are kept and marked ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from forms import registry
from parsers import ParseError, ParseResult
from service.casework import cases, outbox
from service.casework.models import Case, Contact, OutboxMessage, RoutingDecision
from service.intake.models import ReceivedItem

CHANNELS = {"upload": "upload", "cli": "import", "smtp": "email", "imap": "email"}  # ours -> cases'
# Other parts of the service that take some inputs themselves (the conference log takes returned
# Appendix 3 tables and replies to its rows): handler(session, item, result, spec, *, trusted, now)
# returns an IngestOutcome when it took the input, else None. Called after reading, before cases.
HANDLERS: list = []
MAX_INPUT_BYTES = cases.MAX_RAW_BYTES


@dataclass
class IngestOutcome:
    status: str  # accepted | duplicate | quarantined | held | ignored
    item_id: int | None
    reference: str | None = None
    routed: list[dict] = field(default_factory=list)
    reason: str | None = None
    form_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    created: bool = False

    def to_json(self) -> dict:
        return asdict(self)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _parse(content: bytes, filename: str | None, form_id: str | None, partnership: str | None) -> ParseResult:
    from parsers.sandbox import parse_safely

    return parse_safely(content, filename, form_id=form_id, partnership=partnership)


def ingest(
    session: Session,
    content: bytes,
    *,
    channel: str,
    filename: str | None = None,
    content_type: str | None = None,
    partnership: str | None = None,
    form_id: str | None = None,
    trusted: bool | None = None,
    now: dt.datetime | None = None,
) -> IngestOutcome:
    """Store, read and apply one input. `partnership` limits recognition to that pack's forms (a
    business unit's upload); `trusted` (default: not for e-mail channels) skips the sender check."""
    stored = _store(session, content, channel, filename, content_type, partnership, now)
    if isinstance(stored, IngestOutcome):
        return stored
    trusted = channel in ("upload", "cli") if trusted is None else trusted
    return _read_and_apply(session, stored, form_id=form_id, trusted=trusted, now=now)


def ingest_many(
    session: Session,
    inputs,
    *,
    channel: str,
    partnership: str | None = None,
    form_id: str | None = None,
    trusted: bool | None = None,
):
    """Outcomes for (filename, bytes) inputs, in order. While one input's case is written, the next
    is already being read by the worker process: the same steps as ingest(), on two cores."""
    from concurrent.futures import ThreadPoolExecutor

    trusted = channel in ("upload", "cli") if trusted is None else trusted
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as reader:
        waiting = None
        for filename, content in inputs:
            stored = _store(session, content, channel, filename, None, partnership, None)
            ahead = None
            if not isinstance(stored, IngestOutcome):
                ahead = reader.submit(_parse_or_error, stored.raw, filename, form_id, stored.partnership)
            if waiting is not None:
                yield _read_and_apply(session, waiting[0], form_id=form_id, trusted=trusted, parsed=waiting[1].result())
            waiting = None if ahead is None else (stored, ahead)
            if ahead is None:
                yield stored
        if waiting is not None:
            yield _read_and_apply(session, waiting[0], form_id=form_id, trusted=trusted, parsed=waiting[1].result())


def _parse_or_error(content, filename, form_id, partnership) -> ParseResult | ParseError:
    try:
        return _parse(content, filename, form_id, partnership)
    except ParseError as exc:
        return exc


def _store(session, content, channel, filename, content_type, partnership, now) -> ReceivedItem | IngestOutcome:
    """The raw bytes, committed before anything reads them; or the outcome for bytes seen before."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
    digest = hashlib.sha256(content).hexdigest()
    seen = session.scalar(select(ReceivedItem).where(ReceivedItem.sha256 == digest))
    if seen is not None and seen.status == "received":
        # Stored, but its reading was cut short (a database restart between storing and applying; the
        # accepted mark commits with the case, so none was made). Sent again: put it in front of a
        # person rather than answer "duplicate" and leave it unseen (tests/faults/test_postgres.py).
        seen.times_seen += 1
        return _quarantine(session, seen, INTERRUPTED)
    if seen is not None:
        seen.times_seen += 1
        session.commit()
        reason = f"the same file was received before (item {seen.id}, {seen.status})"
        return IngestOutcome("duplicate", seen.id, seen.case_reference, reason=reason, form_id=seen.form_id)
    item = ReceivedItem(
        received_at=_now(now),
        channel=channel,
        filename=filename,
        content_type=content_type,
        sha256=digest,
        size=len(content),
        raw=content,
        status="received",
        partnership=partnership,
    )
    session.add(item)
    session.commit()  # the raw bytes are safe before anything tries to read them
    if len(content) > MAX_INPUT_BYTES:
        return _quarantine(session, item, f"refused: {len(content):,} bytes (at most {MAX_INPUT_BYTES:,})")
    return item


def _read_and_apply(
    session, item: ReceivedItem, *, form_id=None, trusted=False, data=None, case=None, now=None, parsed=None
):
    try:
        if isinstance(parsed, ParseError):
            raise parsed
        result = parsed if parsed is not None else _parse(item.raw, item.filename, form_id, item.partnership)
    except ParseError as exc:
        if data is None:
            return _quarantine(session, item, str(exc))
        result = ParseResult(kind="corrected", form_id=form_id)  # a person typed the answers in
    if data is not None and form_id is not None:
        result.form_id = form_id
    spec = registry().forms.get(result.form_id) if result.form_id else None
    if spec is not None:
        result.partnership = spec.partnership
    item.parsed = result.to_json(spec)
    item.form_id = result.form_id
    item.partnership = result.partnership or item.partnership
    if result.email:
        item.message_id = result.email.get("message_id") or None
        item.sender = result.email.get("from") or None
        twin = _same_message(session, item)
        if twin is not None:
            item.status, item.reason = "duplicate", f"the same e-mail (Message-ID) was received before (item {twin.id})"
            item.case_reference = twin.case_reference
            session.commit()
            return _outcome(item)
        if result.email.get("automatic"):
            item.status, item.reason = "ignored", result.reason
            session.commit()
            return _outcome(item)
    for handler in HANDLERS:
        taken = handler(session, item, result, spec, trusted=trusted, now=now)
        if taken is not None:
            return taken
    if spec is None:
        return _quarantine(session, item, result.reason or "not a recognised form")
    if data is None:
        data, errors = result.canonical(spec)
        problems = "the answers do not fit the form: " + _describe(spec, errors) if errors else None
        if result.confirm:  # read by OCR: never applied unseen; a person confirms the prefilled answers
            return _quarantine(session, item, "; ".join(filter(None, [result.confirm, problems])), result)
        if errors:
            return _quarantine(session, item, problems, result)
    reference = case or _thread(session, result)
    if reference is not None:
        found = session.scalar(select(Case).where(Case.reference == reference))
        if found is None:
            reference = None  # a reference we never issued: treated as a new escalation, and said so
            result.warnings.append("the reference in it is not a case here; a new case was opened")
        elif not trusted and not _is_party(session, found, item.sender):
            item.case_reference = reference
            return _hold(
                session,
                item,
                f"a reply to {reference} from {item.sender or 'an unknown sender'}, "
                "who is not a party to the case or a directory contact",
            )

    def queue(session_, pack, spec_, case_, submission, decisions, step, *, now):
        # Inside the case's transaction: the item is accepted exactly when the case change commits.
        item.status, item.reason, item.case_reference, item.submission = "accepted", None, case_.reference, submission
        return outbox.queue_for_submission(session_, pack, spec_, case_, submission, decisions, step, now=now)

    item_id = item.id
    try:
        outcome = cases.submit(
            session,
            spec.id,
            data,
            channel=CHANNELS[item.channel],
            raw=item.raw,
            filename=item.filename,
            content_type=item.content_type,
            case=reference,
            now=now,
            queue=queue,
        )
    except cases.CaseError as exc:
        item = session.get(ReceivedItem, item_id)  # the rollback undid the accepted mark with the case
        return _quarantine(session, item, str(exc), result)
    routed = [{"name": r.name, "email": r.email, "role": r.role, "agency": r.agency} for r in outcome.routes]
    return IngestOutcome(
        "accepted", item_id, outcome.reference, routed, None, spec.id, list(result.warnings), outcome.created
    )


def _describe(spec, errors: dict) -> str:
    parts = []
    for key, messages in errors.items():
        text = messages if isinstance(messages, str) else "; ".join(_flatten(messages))
        parts.append(text if "'" in text else f"{key}: {text}")
    return "; ".join(parts)


def _flatten(messages) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flatten(value)]
    return [m for value in messages for m in _flatten(value)]


INTERRUPTED_AFTER = dt.timedelta(minutes=15)  # far beyond a reading's 30 s wall-clock backstop
INTERRUPTED = "its reading was interrupted (e.g. a database restart); run it again"


def quarantine_interrupted(session: Session, now: dt.datetime | None = None) -> int:
    """Put in front of a person every input stored but still unread well after its reading should
    have ended (the process stopped between storing and applying it); returns how many."""
    cutoff = _now(now) - INTERRUPTED_AFTER
    stuck = (ReceivedItem.status == "received") & (ReceivedItem.received_at < cutoff)
    found = session.execute(update(ReceivedItem).where(stuck).values(status="quarantined", reason=INTERRUPTED))
    session.commit()
    return found.rowcount


def _quarantine(session, item: ReceivedItem, reason: str, result: ParseResult | None = None) -> IngestOutcome:
    item.status, item.reason = "quarantined", reason
    session.commit()
    return _outcome(item)


def _hold(session, item: ReceivedItem, reason: str) -> IngestOutcome:
    item.status, item.reason = "held", reason + "; held for review"
    session.commit()
    return _outcome(item)


def _outcome(item: ReceivedItem) -> IngestOutcome:
    warnings = list((item.parsed or {}).get("warnings", []))
    return IngestOutcome(item.status, item.id, item.case_reference, [], item.reason, item.form_id, warnings)


def _same_message(session, item: ReceivedItem) -> ReceivedItem | None:
    if not item.message_id:
        return None
    return session.scalar(
        select(ReceivedItem)
        .where(ReceivedItem.message_id == item.message_id, ReceivedItem.id != item.id)
        .where(ReceivedItem.status != "duplicate")
        .order_by(ReceivedItem.id)
        .limit(1)
    )


def _thread(session, result: ParseResult) -> str | None:
    """The case a reply belongs to: its reference tag, else a Message-ID of ours it answers."""
    if result.reference:
        return result.reference
    email = result.email or {}
    ids = [i for i in [email.get("in_reply_to"), *email.get("references", [])] if i]
    if not ids:
        return None
    ours = session.scalar(select(OutboxMessage.case_id).where(OutboxMessage.message_id.in_(ids)).limit(1))
    if ours is None:
        return None
    return session.scalar(select(Case.reference).where(Case.id == ours))


def _is_party(session, case: Case, sender: str | None) -> bool:
    """A party: anyone the case was routed to, anyone who sent it a form before, anyone whose address
    its answers give (the raiser's contact details), or a contact in the partnership's directory."""
    if not sender:
        return False
    sender = sender.lower()
    if case.raiser_contact and sender in case.raiser_contact.lower():
        return True
    routed = select(RoutingDecision.id).where(
        RoutingDecision.case_id == case.id, func.lower(RoutingDecision.email) == sender
    )
    directory = select(Contact.id).where(Contact.partnership == case.partnership, func.lower(Contact.email) == sender)
    earlier = select(ReceivedItem.id).where(
        ReceivedItem.case_reference == case.reference,
        ReceivedItem.status == "accepted",
        func.lower(ReceivedItem.sender) == sender,
    )
    return any(session.scalar(q.limit(1)) is not None for q in (routed, directory, earlier))


# --- what a person sees and does ----------------------------------------------------------------


def for_review(
    session: Session, partnerships: list[str] | None = None, unattributed: bool = True, limit: int = 200
) -> list[ReceivedItem]:
    """Quarantined and held items, oldest first: all of them, or those of `partnerships` and, when
    `unattributed`, the items no partnership could be read from (they may name any partnership's child)."""
    query = select(ReceivedItem).where(ReceivedItem.status.in_(("quarantined", "held")))
    if partnerships is not None:
        mine = ReceivedItem.partnership.in_(partnerships)
        query = query.where(or_(mine, ReceivedItem.partnership.is_(None)) if unattributed else mine)
    return list(session.scalars(query.order_by(ReceivedItem.received_at, ReceivedItem.id).limit(limit)))


def reprocess(
    session: Session,
    item_id: int,
    *,
    actor: str,
    form_id: str | None = None,
    data: dict | None = None,
    case: str | None = None,
    now: dt.datetime | None = None,
) -> IngestOutcome:
    """Run a quarantined or held item again: read as `form_id` (a person chose the form), or with
    `data` (a person corrected the answers), optionally onto `case`. A person's action is trusted."""
    item = session.get(ReceivedItem, item_id)
    if item is None:
        raise LookupError(f"no received item {item_id}")
    if item.status not in ("quarantined", "held"):
        raise ValueError(f"item {item_id} is {item.status}; only quarantined or held items are run again")
    item.reviewed_by, item.reviewed_at = actor, _now(now)
    session.commit()
    if data is not None and form_id is None:
        form_id = item.form_id
        if form_id is None:
            raise ValueError("choose the form the corrected answers are for")
    return _read_and_apply(session, item, form_id=form_id, trusted=True, data=data, case=case, now=_now(now))


def release(session: Session, item_id: int, *, actor: str, now: dt.datetime | None = None) -> IngestOutcome:
    """Apply a held reply to its case after a person has checked the sender."""
    item = session.get(ReceivedItem, item_id)
    if item is None or item.status != "held":
        raise ValueError(f"item {item_id} is not held for review")
    return reprocess(session, item_id, actor=actor, form_id=item.form_id, case=item.case_reference, now=now)


def ingest_files(
    session: Session, files: list[tuple[str, bytes, str | None]], *, partnership: str | None = None
) -> list[IngestOutcome]:
    """The business unit's upload page: one outcome per (filename, bytes, content type)."""
    return [
        ingest(session, content, channel="upload", filename=name, content_type=ctype, partnership=partnership)
        for name, content, ctype in files
    ]
