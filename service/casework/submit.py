"""Recording a submission: validate, open or update the case, move its stage, route it, queue its e-mails."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field, replace

from marshmallow import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms.model import FormSpec, Pack
from forms.schema import child_detail_errors, validate_data
from service.casework import channels, moves, receipts, routing, workdays
from service.casework import once as once_module
from service.casework.errors import CaseError, ChildDetailsRefused, InvalidData, StageMoveRefused
from service.casework.lookup import form_of, hash_token, load_case, now_utc, pack_of
from service.casework.models import MAX_RAW_BYTES, Case, ReferenceCounter, Submission
from service.casework.once import Once
from service.casework.stages import NextStep, check_move, enter_stage, next_step, stage_taken


@dataclass(frozen=True)
class Routed:
    name: str
    email: str | None
    phone: str | None
    role: str
    agency: str | None
    rule_id: str
    reason: str


@dataclass(frozen=True)
class SubmissionOutcome:
    reference: str
    tracking_token: str | None  # only when the submission opened the case
    case_id: int
    submission_id: int
    stage: str | None
    due: dt.date | None
    routes: list[Routed] = field(default_factory=list)
    next_step: NextStep | None = None
    created: bool = False
    send_id: int | None = None  # the `sends` row, when the send was named (service.casework.once)


def _next_reference(session: Session, pack: Pack, year: int) -> str:
    """Atomically take the next number for the partnership and year (safe under concurrent writers)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ReferenceCounter)
        .values(partnership=pack.id, year=year, last=1)
        .on_conflict_do_update(
            index_elements=["partnership", "year"], set_={"last": ReferenceCounter.__table__.c["last"] + 1}
        )
        .returning(ReferenceCounter.__table__.c["last"])
    )
    # Core, on the session's connection: no autoflush, no ORM bookkeeping for a counter.
    number = session.connection().execute(statement).scalar_one()
    return f"{pack.reference_prefix}-{year}-{number:04d}"


def _attributes(spec: FormSpec, data: dict) -> dict:
    """Case attributes read through Field.maps_to; empty answers are left out."""
    found: dict = {}
    for f in spec.fields:
        if not f.maps_to:
            continue
        value = data.get(f.key)
        if value in ("", None, []):
            continue
        if f.maps_to == "category":
            chosen = value if isinstance(value, list) else [value]
            categories = [c.category for c in f.choices if c.value in chosen and c.category]
            if categories:
                found["category"] = categories[0]
            found["area"] = chosen[0]
        elif f.maps_to == "immediate_risk":
            found["immediate_risk"] = value in ("yes", "true", True)
        elif f.maps_to == "date_raised":
            found["date_raised"] = dt.date.fromisoformat(value)
        elif f.type == "rows":
            found[f.maps_to] = "\n".join("; ".join(str(v) for v in row.values() if v) for row in value)
        elif f.type == "ticks":
            found[f.maps_to] = ", ".join(f.choice_label(v) for v in value)
        else:
            found[f.maps_to] = value
    agencies = routing.receiving_agencies(spec, data)
    if "receiving_agency" not in found and agencies:
        found["receiving_agency"] = "; ".join(agencies)
    return found


def _target_stage(spec: FormSpec, attrs: dict) -> str | None:
    if "stage" in attrs:
        return attrs["stage"]
    if len(spec.stages) == 1:
        return spec.stages[0]
    return None


def _set_attributes(case: Case, attrs: dict) -> None:
    for key in (
        "raiser_name",
        "raiser_role",
        "raiser_contact",
        "raising_agency",
        "receiving_agency",
        "receiving_sector",
        "area",
        "category",
        "child_name",
        "date_raised",
        "resolution",
        "learning",
    ):
        if key in attrs:
            setattr(case, key, attrs[key])
    if attrs.get("immediate_risk"):
        case.immediate_risk = True


def submit(
    session: Session,
    form_id: str,
    data: dict,
    *,
    channel: str,
    raw: bytes | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    case: Case | str | None = None,
    immediate_risk: bool | None = None,
    now: dt.datetime | None = None,
    queue=None,
    commit: bool = True,
    once: Once | None = None,
    tracking_token: str | None = None,
) -> SubmissionOutcome:
    """Validate, record, move, route and queue notifications for one submission, in one transaction.

    `queue` (same arguments as outbox.queue_for_submission) writes the notifications instead of the
    default e-mail, in the same transaction: the conference log (service.conference) sends its letter.
    `commit=False` leaves the transaction open for a caller recording several submissions as one
    (on failure it is rolled back all the same).

    `once` names the send (service.casework.once): a send made before, or at the same moment in
    another transaction, raises once.AlreadySent with the first one's row and changes nothing.
    `tracking_token` is the token a new case gets (derived by the caller so a repeat can show it
    again); a random one otherwise."""
    try:
        if once is not None:
            once_module.replay(session, once)
        outcome = _submit(
            session,
            form_id,
            data,
            channel,
            raw,
            filename,
            content_type,
            case,
            immediate_risk,
            now,
            queue,
            tracking_token,
        )
        if once is not None:
            made = session.get(Submission, outcome.submission_id)
            send = once_module.record(session, once, made.case, made, outcome.created, now_utc(now))
            session.flush()
            outcome = replace(outcome, send_id=send.id)
        if commit:
            session.commit()
        else:
            session.flush()
        return outcome
    except IntegrityError as exc:
        session.rollback()
        # Another transaction made this send first and committed: answer with its row.
        if once is not None and (first := once_module.find(session, once.scope, once.key_hash)) is not None:
            raise once_module.AlreadySent(first, first.request_hash == once.request_hash) from None
        if stage_taken(exc):  # another update moved this case to that stage at the same moment
            raise StageMoveRefused(
                "the case was moved to that stage at the same moment by another update: look at the case again"
            ) from None
        raise
    except Exception:
        session.rollback()
        raise


def _submit(
    session, form_id, data, channel, raw, filename, content_type, case, immediate_risk, now, queue=None, token=None
):
    now = now_utc(now)
    if channel not in channels.SUBMITTED:
        raise CaseError(f"unknown channel '{channel}' (one of {', '.join(channels.SUBMITTED)})")
    if raw is not None and len(raw) > MAX_RAW_BYTES:
        raise CaseError(f"the original file is larger than {MAX_RAW_BYTES // (1024 * 1024)} MiB")
    spec = form_of(form_id)
    pack = pack_of(spec.partnership)
    try:
        clean = validate_data(spec, data)
    except ValidationError as exc:
        found = child_detail_errors(spec, data) if isinstance(data, dict) else {}
        if found:
            raise ChildDetailsRefused(spec, found) from None
        raise InvalidData(spec, exc.messages) from None
    attrs = _attributes(spec, clean)
    risk = bool(attrs.get("immediate_risk")) if immediate_risk is None else immediate_risk
    target = _target_stage(spec, attrs)
    today = workdays.today(now)
    # Read what is needed before adding objects, so the change goes to the database in one flush.
    cal = workdays.calendar(session)
    contacts = moves.contacts_of(session, pack)

    created = case is None
    if created:
        token = token or secrets.token_urlsafe(32)  # 256 bits
        case = Case(
            reference=_next_reference(session, pack, today.year),
            tracking_hash=hash_token(token),
            partnership=pack.id,
            process=spec.process,
            status="open",
            immediate_risk=False,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
    else:
        token = None
        case = load_case(session, case)
        if case.partnership != pack.id:
            raise CaseError(
                f"{case.reference} belongs to {case.partnership}; form {form_id} is {pack.short_name}'s and cannot be added"
            )
        if case.status != "open":
            raise CaseError(f"{case.reference} is resolved; open a new case for a new disagreement")
        if target is not None:
            check_move(pack, case, target, risk)
        case.updated_at = now
    _set_attributes(case, attrs)
    if risk:
        moves.record_emergency_route(case, now)
    if target is not None and target != case.current_stage:
        why = f"{spec.short_title} received: {channels.moved_by(channel)}"
        enter_stage(
            pack,
            case,
            target,
            today,
            cal,
            channel=channel,
            reason=why,
            immediate_risk=risk,
            earlier=attrs.get("earlier_stages"),
        )

    submission = Submission(
        case=case,
        form_id=spec.id,
        channel=channel,
        stage=case.current_stage,
        received_at=now,
        data=clean,
        raw=raw,
        filename=filename,
        content_type=content_type,
    )
    session.add(submission)

    decisions = moves.notify(
        session, pack, case, contacts=contacts, now=now, spec=spec, data=clean, submission=submission, queue=queue
    )
    step = next_step(pack, case)
    if spec.process == "escalation":  # a conference row's "raiser" is the chair, who has the log
        receipts.queue_receipt(session, pack, spec, case, decisions, step, token=token, now=now)
    session.flush()
    return SubmissionOutcome(
        reference=case.reference,
        tracking_token=token,
        case_id=case.id,
        submission_id=submission.id,
        stage=case.current_stage,
        due=case.current_due,
        routes=[Routed(d.name, d.email, d.phone, d.role, d.agency, d.rule_id, d.reason) for d in decisions],
        next_step=step,
        created=created,
    )
