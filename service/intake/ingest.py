"""The one ingestion pipeline every channel feeds: upload page, `flask ingest`, SMTP and IMAP.

Two steps. `store` (service.intake.store) keeps the raw bytes (keyed by their SHA-256) and answers
at once: "received as item N". `read` (a job on the intake queue, service.intake.jobs, or `ingest` doing both in this
process) claims the item (service.intake.claims: one reader applies it, enforced by the database),
parses it in the limited worker (parsers.sandbox), validates it, creates or updates the case through
service.casework.cases (which routes it and writes the outbox), and records the outcome on the item.
A database fault while reading is raised for the job to be retried; whatever is wrong with the input
itself ends in a state with its reason, never retried. Nothing is dropped:

- the same bytes again are recognised by their hash and counted, not stored or applied twice;
  the same e-mail again (same Message-ID, other bytes) is kept and marked a duplicate;
- what cannot be read, or does not fit its form, is quarantined with the reason, for a person to
  correct the answers or choose the form and run it again (`reprocess`); a scan or photo read by
  OCR is quarantined the same way, its answers prefilled, for a person to confirm;
- a reply threaded to a case (reference tag in the subject or document, or In-Reply-To/References
  naming one of our messages) is applied only when its sender's exact address is a party to the
  case and the message passed the sender check (service.intake.parties, sender_auth); otherwise it
  is held for review with the reason (`release` applies it);
- auto-replies, out-of-office messages, bounces and our own messages come back are kept and marked
  ignored: nothing is ever sent in answer to them, so no loop can start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from forms import registry
from forms.schema import describe_errors
from parsers import ParseError, ParseResult
from parsers.result import plain
from service.casework import cases, outbox
from service.casework.models import Case
from service.casework.wording import moment
from service.intake import claims, matching, parties, sender_auth
from service.intake.claims import ClaimLost
from service.intake.models import ReceivedItem
from service.intake.store import CHANNELS, IngestOutcome, outcome_of, store

log = logging.getLogger(__name__)
# Other parts of the service that take some inputs themselves (the conference log takes returned
# Appendix 3 tables and replies to its rows): handler(session, item, result, spec, *, trusted, now,
# data) returns an IngestOutcome when it took the input, else None; it writes its rows and settles the
# item (claims.settle) in one transaction, raising ClaimLost when the claim is gone. Called after
# reading, before cases.
HANDLERS: list = []
# The database or its connection failed, or the machine could not start the reader (OSError): the
# job is retried. Anything else raised while reading is the input's own doing (or a fault no retry
# mends) and quarantines it with the reason.
INFRASTRUCTURE = (OperationalError, InterfaceError, OSError)


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
    """Store, read and apply one input in this process. `partnership` limits recognition to that
    pack's forms (a business unit's upload); `trusted` (default: only a signed-in person's upload) skips the
    sender check."""
    stored = store(
        session,
        content,
        channel=channel,
        filename=filename,
        content_type=content_type,
        partnership=partnership,
        now=now,
    )
    if stored.status != "received":
        return stored
    read_now = read(session, stored.item_id, claim=claims.new_token(), form_id=form_id, trusted=trusted, now=now)
    return read_now or outcome_of(session.get(ReceivedItem, stored.item_id, populate_existing=True))


def read(
    session: Session,
    item_id: int,
    *,
    claim: str,
    form_id: str | None = None,
    trusted: bool | None = None,
    now: dt.datetime | None = None,
) -> IngestOutcome | None:
    """Claim, read and apply a stored item; None when another reader holds it or it was read already.
    A database fault is raised (retry the job with the same `claim`)."""
    # The lease is renewed while this reader lives (an OCR reading may outlast it), never after.
    with claims.holding(session, item_id, claim, now) as item:
        if item is None:
            return None
        if item.read_starts > claims.MAX_STARTS:
            return _settled(session, item, "quarantined", claims.STOPPED.format(n=item.read_starts - 1), now)
        if item.rerun:  # a person ran it again (service.intake.review): their choices
            options = {k: item.rerun.get(k) for k in ("form_id", "data", "case")}
            # Correcting a reply's answers vouches for its answers, not its sender: only a release does.
            options["trusted"] = bool(item.rerun.get("sender_checked")) or item.channel == "upload"
        else:
            options = {"form_id": form_id, "trusted": item.channel == "upload" if trusted is None else trusted}
        return _guarded(session, item, now, **options)


def _guarded(session, item: ReceivedItem, now, **options) -> IngestOutcome | None:
    item_id = item.id
    try:
        outcome = _read_and_apply(session, item, now=now, **options)
        if item.message_id:  # copies of one e-mail settled at the same moment: each names the case
            matching.share_case(session, item.message_id)
        return outcome
    except ClaimLost:
        return None
    except INFRASTRUCTURE:
        session.rollback()
        raise
    except Exception as exc:  # the input made a library or a rule fail: a person looks at it
        session.rollback()
        item = session.get(ReceivedItem, item_id, populate_existing=True)
        log.warning("received item %s could not be applied (%s)", item_id, type(exc).__name__)  # for operators
        reason = "it could not be applied to a case: " + plain(
            exc, "an unexpected fault (the service's log has its kind)"
        )
        return _settled(session, item, "quarantined", reason, now)


def ingest_many(
    session: Session,
    inputs,
    *,
    channel: str,
    partnership: str | None = None,
    form_id: str | None = None,
    trusted: bool | None = None,
):
    """Outcomes for (filename, bytes) inputs, in order, read in this process. While one input's case
    is written, the next is already being read by the worker process: the same steps as ingest(), each
    item's lease renewed from its claim until it is settled (claims.heartbeat)."""
    from concurrent.futures import ThreadPoolExecutor

    trusted = channel == "upload" if trusted is None else trusted

    def settled(waiting):
        item, parsing, beat = waiting
        with beat:
            return _guarded(session, item, None, form_id=form_id, trusted=trusted, parsed=parsing.result())

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as reader, contextlib.ExitStack() as held:
        waiting = None
        for filename, content in inputs:
            stored = store(session, content, channel=channel, filename=filename, partnership=partnership)
            token = claims.new_token()
            item = claims.claim(session, stored.item_id, token) if stored.status == "received" else None
            ahead = None
            if item is not None:
                beat = held.enter_context(contextlib.ExitStack())  # ended when it is settled, or on the way out
                beat.enter_context(claims.heartbeat(session, item.id, token))
                ahead = (item, reader.submit(_parse_or_error, item.raw, filename, form_id, item.partnership), beat)
            if waiting is not None:
                yield settled(waiting)
            waiting = ahead
            if ahead is None:
                yield stored
        if waiting is not None:
            yield settled(waiting)


def _parse_or_error(content, filename, form_id, partnership) -> ParseResult | ParseError:
    try:
        return _parse(content, filename, form_id, partnership)
    except ParseError as exc:
        return exc


def _read_and_apply(
    session, item: ReceivedItem, *, form_id=None, trusted=False, data=None, case=None, now=None, parsed=None
):
    try:
        if isinstance(parsed, ParseError):
            raise parsed
        result = parsed if parsed is not None else _parse(item.raw, item.filename, form_id, item.partnership)
    except ParseError as exc:
        if data is None:
            return _settled(session, item, "quarantined", str(exc), now)
        result = ParseResult(kind="corrected", form_id=form_id)  # a person typed the answers in
    if data is not None and form_id is not None:
        result.form_id = form_id
    spec = registry().forms.get(result.form_id) if result.form_id else None
    if spec is not None:
        result.partnership = spec.partnership
    email = result.email or {}
    sender = email.get("from") or None
    twin = matching.take_message_id(session, item, email.get("message_id"), sender)
    item.parsed = result.to_json(spec)
    item.form_id = result.form_id
    item.partnership = result.partnership or item.partnership
    if result.email:
        item.sender = sender
        if twin is not None and twin.sender == item.sender:
            reason = f"the same e-mail (Message-ID) was received before, {moment(twin.received_at)}"
            message_id = result.email.get("message_id")  # kept on the duplicate, which the unique key leaves out
            return _settled(
                session, item, "duplicate", reason, now, case_reference=twin.case_reference, message_id=message_id
            )
        if result.email.get("automatic") or outbox.is_ours(result.email):
            reason = result.reason if result.email.get("automatic") else OWN_MESSAGE
            return _settled(session, item, "ignored", reason, now)
        verdict = sender_auth.check(item.raw, sender=item.sender or "")
        item.sender_auth, item.sender_auth_detail = verdict.status, verdict.detail
        if twin is not None and not trusted:  # a copy comes from its own sender: another's is forged or misfiled
            reason = (  # held with the sender check beside it, for the person who decides
                f"an e-mail with the same Message-ID was received from {twin.sender or 'another sender'}, "
                f"{moment(twin.received_at)}; a copy would come from the same sender: held for review"
            )
            return _settled(session, item, "held", reason, now)
    for handler in HANDLERS:  # each settles the item itself, under the claim (claims.settle)
        taken = handler(session, item, result, spec, trusted=trusted, now=now, data=data)
        if taken is not None:
            return taken
    if spec is None:
        return _settled(session, item, "quarantined", result.reason or "not a recognised form", now)
    if data is None:
        data, errors = result.canonical(spec)
        problems = "the answers do not fit the form: " + describe_errors(spec, errors) if errors else None
        if result.confirm:  # read by OCR: never applied unseen; a person confirms the prefilled answers
            return _settled(session, item, "quarantined", "; ".join(filter(None, [result.confirm, problems])), now)
        if errors:
            return _settled(session, item, "quarantined", problems, now)
    reference = case or matching.thread(session, result)
    if reference is not None:
        found = session.scalar(select(Case).where(Case.reference == reference))
        if found is None:
            reference = None  # a reference we never issued: treated as a new escalation, and said so
            result.warnings.append("the reference in it is not a case here; a new case was opened")
        elif not trusted and (reason := parties.hold_reason(session, found, item)):
            return _settled(session, item, "held", reason + "; held for review", now, case_reference=reference)

    def queue(session_, pack, spec_, case_, submission, decisions, step, *, now):
        # Inside the case's transaction: the item is accepted exactly when the case change commits,
        # and only while this reader's claim holds (else ClaimLost rolls the case change back).
        session_.flush()
        claims.settle(
            session_, item, "accepted", now, reason=None, case_reference=case_.reference, submission_id=submission.id
        )
        return outbox.queue_for_submission(session_, pack, spec_, case_, submission, decisions, step, now=now)

    item_id = item.id
    try:
        outcome = cases.submit(
            session,
            spec.id,
            data,
            channel=CHANNELS[item.channel].case_channel,
            raw=item.raw,
            filename=item.filename,
            content_type=item.content_type,
            case=reference,
            now=now,
            queue=queue,
        )
    except cases.CaseError as exc:
        item = session.get(ReceivedItem, item_id, populate_existing=True)  # the rollback undid the case
        item.parsed, item.form_id = result.to_json(spec), result.form_id
        item.sender = sender  # its Message-ID is the item's already
        return _settled(session, item, "quarantined", str(exc), now)
    routed = [{"name": r.name, "email": r.email, "role": r.role, "agency": r.agency} for r in outcome.routes]
    return IngestOutcome(
        "accepted", item_id, outcome.reference, routed, None, spec.id, list(result.warnings), outcome.created
    )


OWN_MESSAGE = "one of this service's own messages came back"


def _settled(session, item: ReceivedItem, status: str, reason: str | None, now, **values) -> IngestOutcome:
    """The reading's outcome, written while this reader's claim holds (ClaimLost otherwise)."""
    claims.settle(session, item, status, now, reason=reason, **values)
    session.commit()
    return outcome_of(item)


def ingest_files(
    session: Session, files: list[tuple[str, bytes, str | None]], *, partnership: str | None = None
) -> list[IngestOutcome]:
    """The business unit's upload page: one outcome per (filename, bytes, content type)."""
    return [
        ingest(session, content, channel="upload", filename=name, content_type=ctype, partnership=partnership)
        for name, content, ctype in files
    ]
