"""The conference log's part in the ingestion pipeline (service.intake.ingest.HANDLERS).

Two kinds of input belong to the log rather than to a case of their own:

- a reply e-mail carrying no form, threaded to a conference row (In-Reply-To/References naming a
  notification or chaser, or the row's reference in the subject): recorded as the agency's response
  (responses.thread_reply), or held when the sender is not a party, as the pipeline holds replies;
- a returned Appendix 3 table (the partnership's cp-conference form), by upload or e-mail: its rows
  become log rows (tables.record_all), each notified on its own, never one case holding every
  agency's row. By e-mail it is taken only from a staff account that may record the partnership's
  log (a conference chair or admin); from anyone else it is held for review.

The pipeline has already stored the raw bytes, claimed the item and parsed it in the limited
worker; the reply's text is read from the stored e-mail with the standard library's e-mail parser.
What the log records and the item's outcome commit together, and only while the reader's claim on
the item holds (service.intake.claims.settle): a reader overtaken after its lease records nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms.schema import describe_errors
from service.conference import log, responses, tables
from service.intake import claims, sender_auth

# What the pipeline read into the item before handing it here (kept when the log's writes roll back).
READ = ("parsed", "form_id", "partnership", "message_id", "sender", "sender_auth", "sender_auth_detail")


def handle(session: Session, item, result, spec, *, trusted: bool, now: dt.datetime | None = None, data=None):
    """An IngestOutcome when the conference log takes the input, else None. `data`: answers a person
    corrected when running a quarantined table again (used instead of what was read, when given)."""
    if spec is not None and spec.process == "cp-conference":
        return _table(session, item, result, spec, trusted=trusted, now=now, data=data)
    if spec is None and result.email:
        return _reply(session, item, trusted=trusted, now=now)
    return None


def _outcome(session: Session, item, status: str, reference: str | None, reason: str | None, routed=None, now=None):
    """Settle the item in the transaction holding the log's writes (claims.ClaimLost rolls both back)."""
    from service.intake.ingest import IngestOutcome

    claims.settle(session, item, status, now, reason=reason, case_reference=reference)
    session.commit()
    return IngestOutcome(status, item.id, reference, routed or [], reason, item.form_id)


def _reply(session: Session, item, *, trusted: bool, now):
    try:
        verdict = None
        if item.sender_auth:  # the pipeline checked the sender already
            verdict = sender_auth.Verdict(item.sender_auth == sender_auth.PASSED, item.sender_auth_detail or "")
        reply = responses.thread_reply(session, item.raw, now=now, trusted=trusted, verdict=verdict, commit=False)
    except responses.ResponseError:
        return None  # not an e-mail the log can read: the pipeline says why
    if reply is None:
        return None
    if reply.accepted:
        return _outcome(session, item, "accepted", reply.reference, None, now=now)
    return _outcome(session, item, "held", reply.reference, reply.reason, now=now)


def _may_record(session: Session, sender: str | None, partnership: str) -> bool:
    from service.casework.staff import Membership, User

    if not sender:
        return False
    roles = log.ROLES["record"]
    found = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User)
        .where(
            func.lower(User.email) == sender.lower(),
            User.active.is_(True),
            Membership.role.in_(roles),
            (Membership.partnership == partnership) | Membership.partnership.is_(None),
        )
    )
    return bool(found)


def _table(session: Session, item, result, spec, *, trusted: bool, now, data=None):
    partnership = spec.partnership
    if not trusted and not _may_record(session, item.sender, partnership):
        return _outcome(
            session,
            item,
            "held",
            None,
            f"the {spec.appendix or spec.short_title} table from {item.sender or 'an unknown sender'}, who may not "
            f"record the {log.registry().pack(partnership).short_name} conference log; held for review",
            now=now,
        )
    data, errors = (data, {}) if data is not None else result.canonical(spec)
    try:
        if errors:
            raise tables.TableError(f"the table does not fit the {spec.short_title}: {describe_errors(spec, errors)}")
        found = tables.record_all(
            session,
            tables.conferences_from(spec, data),
            partnership,
            recorded_by=item.sender or f"ingest: {item.channel}",
            channel="email" if result.email else "upload",
            raw=item.raw,
            filename=item.filename,
            content_type=item.content_type,
            now=now,
            commit=False,
        )
    except (tables.TableError, log.LogError) as exc:
        kept = {key: getattr(item, key) for key in READ}
        session.rollback()  # nothing recorded; what was read is kept for the person correcting it
        for key, value in kept.items():
            setattr(item, key, value)
        return _outcome(session, item, "quarantined", None, str(exc), now=now)
    issues = [i for c in found for i in c.issues]
    routed = [
        {"name": d.name, "email": d.email, "role": d.role, "agency": d.agency}
        for i in issues
        if i.case
        for d in i.case.routings
    ]
    reference = issues[0].case.reference if issues and issues[0].case else None
    references = ", ".join(i.case.reference for i in issues if i.case)
    return _outcome(session, item, "accepted", reference, f"conference log rows {references}", routed, now=now)
