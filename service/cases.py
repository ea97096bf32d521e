"""Escalation cases: every submission, by any channel, lands in a case.

Public API (for the web forms, ingestion, the JSON API and the CLI):

    from service import cases

    outcome = cases.submit(session, "nt-appendix-a", data, channel="web")
    outcome.reference        # "NT-2026-0007": readable, per partnership and year
    outcome.tracking_token   # >= 128 bits, given once to the person who raised it (only its hash is kept)
    outcome.routes           # [Routed(name, email, phone, role, agency, rule_id, reason), ...]
    outcome.next_step        # NextStep(text=..., who=..., form_id=..., due=...): the next step in plain words

    # a later submission on the same case (case = a Case or its reference):
    cases.submit(session, "nt-appendix-a", data2, channel="email", raw=eml_bytes,
                 filename="appendix-a.docx", content_type="...", case="NT-2026-0007")

`submit` works in ONE transaction and commits it: it validates `data` with
forms.schema.validate_data, creates the case (or updates the one given), keeps the submission
(channel, the original bytes exactly as received, the canonical data, the form id), reads the case
attributes through each field's `maps_to` (raising and receiving agency, sector, category via the
chosen area's category, stage, immediate risk, resolution, learning...), moves the stage forward,
routes it (service.routing) and writes one outbox row per e-mail recipient (service.outbox). On any
error it rolls back and raises a CaseError subclass whose message says what is wrong; nothing is stored.

Stage moves: a case moves forward one stage at a time, or stays where it is (an updated record).
Skipping a stage is allowed only when the pack allows it and the child is at immediate risk
(the submission says so, or the caller passes immediate_risk=True). Moving backwards or to a stage
the policy lacks is refused. A first submission may open a case at any stage (NT's Appendix A is
first used at stage 3): earlier stages happened before the record and are not invented.

Other functions: get(session, reference), by_tracking_token(session, token), move_stage(...),
record_outcome(...), list_cases(...), overdue(...), case_view(...) (the case as JSON-ready dict,
each stage with its due date and flags), tracking_view(...) (what the raiser may see).

Times: pass `now` (aware UTC datetime) to fix the clock; dates are counted in England
(service.workdays: the day a stage starts does not count).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from marshmallow import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from forms import registry
from forms.model import FormSpec, Pack, Stage
from forms.schema import validate_data
from service import outbox, routing, workdays
from service.models import Case, CaseStage, Contact, ReferenceCounter, RoutingDecision, Submission

CHANNELS = ("web", "email", "upload", "api", "import")
MAX_RAW_BYTES = 40 * 1024 * 1024


class CaseError(ValueError):
    """A submission or change was refused; the message says what is wrong. Nothing was stored."""


class UnknownPartnership(CaseError):
    pass


class UnknownForm(CaseError):
    pass


class UnknownCase(CaseError):
    pass


class UnknownStage(CaseError):
    pass


class StageMoveRefused(CaseError):
    pass


class InvalidData(CaseError):
    """The answers do not fit the form; `messages` maps each field key to what is wrong."""

    def __init__(self, form_id: str, messages: dict):
        self.messages = messages
        detail = "; ".join(
            f"{key}: {' '.join(map(str, m)) if isinstance(m, list) else m}" for key, m in messages.items()
        )
        super().__init__(f"the answers do not fit form {form_id}: {detail}")


class UnknownAgency(CaseError):
    """A submission names an agency the directory has no contact for, where routing needs one."""


# ---------------------------------------------------------------------------------------------
# Results


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
class NextStep:
    """Who acts now and by when, and where to go next if it is not resolved, in the policy's words."""

    text: str
    stage: str | None
    who: str | None
    due: dt.date | None
    next_stage: str | None
    next_who: str | None
    form_id: str | None
    form_title: str | None


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


# ---------------------------------------------------------------------------------------------
# Helpers


def _now(now: dt.datetime | None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    return now


def _pack(partnership: str) -> Pack:
    try:
        return registry().pack(partnership)
    except KeyError:
        known = ", ".join(p.id for p in registry().packs)
        raise UnknownPartnership(f"unknown partnership '{partnership}' (one of {known})") from None


def _form(form_id: str) -> FormSpec:
    try:
        return registry().form(form_id)
    except KeyError:
        raise UnknownForm(f"unknown form '{form_id}' (`flask --app app forms` lists them)") from None


def _stage(pack: Pack, stage_id: str) -> Stage:
    try:
        return pack.stage(stage_id)
    except KeyError:
        known = ", ".join(s.id for s in pack.stages)
        raise UnknownStage(f"{pack.short_name} has no stage '{stage_id}' (its stages: {known})") from None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


def _check_move(pack: Pack, case: Case, target: str, immediate_risk: bool) -> None:
    """Refuse a move backwards, or a skip the policy does not allow."""
    _stage(pack, target)
    if case.current_stage is None:
        return
    current, wanted = pack.stage_index(case.current_stage), pack.stage_index(target)
    if wanted < current:
        raise StageMoveRefused(
            f"{case.reference} is at {pack.stage(case.current_stage).label}; a case cannot move back to "
            f"{pack.stage(target).label}"
        )
    if wanted > current + 1:
        skipped = ", ".join(s.label for s in pack.stages[current + 1 : wanted])
        if not pack.skip_allowed_when_immediate_risk:
            raise StageMoveRefused(f"{pack.short_name}'s policy does not allow skipping {skipped}")
        if not immediate_risk:
            raise StageMoveRefused(
                f"{case.reference} is at {pack.stage(case.current_stage).label}: skipping {skipped} is allowed only "
                f"when the child is at immediate risk ({pack.short_name} policy, {pack.skip_source})"
            )


def _enter_stage(pack: Pack, case: Case, target: str, today: dt.date, cal: workdays.Calendar) -> None:
    """Close the current stage and open `target` (recording any stages skipped on the way)."""
    if case.current_stage == target:
        return
    current = case.current
    if current is not None:
        current.left_on = today
    if case.current_stage is not None:
        for skipped in pack.stages[pack.stage_index(case.current_stage) + 1 : pack.stage_index(target)]:
            case.stages.append(
                CaseStage(
                    stage=skipped.id,
                    skipped=True,
                    timescale=skipped.timescale.kind,
                    days=skipped.timescale.days,
                    outcome="skipped: child at immediate risk",
                )
            )
    stage = pack.stage(target)
    due = cal.due_date(today, stage.timescale)
    case.stages.append(
        CaseStage(stage=target, entered_on=today, due=due, timescale=stage.timescale.kind, days=stage.timescale.days)
    )
    case.current_stage, case.current_due = target, due


def next_step(pack: Pack, case: Case) -> NextStep:
    """The next step in plain words: who acts now, by when, and who to go to next with which form."""
    if case.status != "open":
        return NextStep(f"{case.reference} is resolved.", case.current_stage, None, None, None, None, None, None)
    if case.current_stage is None:
        text = (
            f"{case.reference} is recorded with the {pack.short_name}. "
            "The contacts it was sent to will follow it up; there is no stage timescale for this record."
        )
        return NextStep(text, None, None, None, None, None, None, None)
    stage = pack.stage(case.current_stage)
    index = pack.stage_index(stage.id)
    due_words = workdays.describe_due(case.current_due, stage.timescale)
    if stage.timescale.kind == "none":
        acts = f"Who acts: {stage.who_acts}. The policy sets no timescale for this stage."
    else:
        acts = f"Who acts: {stage.who_acts}, {due_words}."
    heading = stage.name if stage.name.lower().startswith("stage") else f"{stage.label}: {stage.name}"
    parts = [f"{case.reference} is at {heading}.", acts]
    following = pack.stages[index + 1] if index + 1 < len(pack.stages) else None
    form = None
    if following is not None:
        form_id = following.form or stage.form
        form = pack.form(form_id) if form_id else None
        when = f"If it is not resolved {due_words}" if case.current_due else "If it cannot be resolved at this stage"
        go = f"{when}, escalate to {following.label}: {following.who_acts}"
        go += f", using the {form.short_title}." if form else "."
        parts.append(go)
    else:
        parts.append("This is the last stage of the policy.")
    return NextStep(
        " ".join(parts),
        stage.id,
        stage.who_acts,
        case.current_due,
        following.id if following else None,
        following.who_acts if following else None,
        form.id if form else None,
        form.short_title if form else None,
    )


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


def _load(session: Session, case: Case | str) -> Case:
    if isinstance(case, Case):
        return case
    if len(case) > 40:
        raise UnknownCase(f"no case with reference '{case[:40]}…'")
    found = session.scalar(select(Case).where(Case.reference == case.strip().upper()))
    if found is None:
        raise UnknownCase(f"no case with reference '{case}'")
    return found


# ---------------------------------------------------------------------------------------------
# The public API


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
) -> SubmissionOutcome:
    """Validate, record, move, route and queue notifications for one submission, in one transaction.

    `queue` (same arguments as outbox.queue_for_submission) writes the notifications instead of the
    default e-mail, in the same transaction: the conference log (service.conference) sends its letter.
    `commit=False` leaves the transaction open for a caller recording several submissions as one
    (on failure it is rolled back all the same)."""
    try:
        outcome = _submit(
            session, form_id, data, channel, raw, filename, content_type, case, immediate_risk, now, queue
        )
        if commit:
            session.commit()
        else:
            session.flush()
        return outcome
    except Exception:
        session.rollback()
        raise


def _submit(session, form_id, data, channel, raw, filename, content_type, case, immediate_risk, now, queue=None):
    now = _now(now)
    if channel not in CHANNELS:
        raise CaseError(f"unknown channel '{channel}' (one of {', '.join(CHANNELS)})")
    if raw is not None and len(raw) > MAX_RAW_BYTES:
        raise CaseError(f"the original file is larger than {MAX_RAW_BYTES // (1024 * 1024)} MiB")
    spec = _form(form_id)
    pack = _pack(spec.partnership)
    try:
        clean = validate_data(spec, data)
    except ValidationError as exc:
        raise InvalidData(form_id, exc.messages) from None
    attrs = _attributes(spec, clean)
    risk = bool(attrs.get("immediate_risk")) if immediate_risk is None else immediate_risk
    target = _target_stage(spec, attrs)
    today = workdays.today(now)
    # Read what is needed before adding objects, so the change goes to the database in one flush.
    cal = workdays.calendar(session)
    contacts = list(session.scalars(select(Contact).where(Contact.partnership == pack.id)))

    created = case is None
    token = None
    if created:
        token = secrets.token_urlsafe(32)  # 256 bits
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
        case = _load(session, case)
        if case.partnership != pack.id:
            raise CaseError(
                f"{case.reference} belongs to {case.partnership}; form {form_id} is {pack.short_name}'s and cannot be added"
            )
        if case.status != "open":
            raise CaseError(f"{case.reference} is resolved; open a new case for a new disagreement")
        if target is not None:
            _check_move(pack, case, target, risk)
        case.updated_at = now
    _set_attributes(case, attrs)
    if risk:
        case.immediate_risk = True
    if target is not None:
        _enter_stage(pack, case, target, today, cal)

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

    try:
        routes = routing.route(
            pack, spec, clean, stage=case.current_stage, receiving_sector=case.receiving_sector, contacts=contacts
        )
    except routing.UnknownAgency as exc:
        raise UnknownAgency(str(exc)) from None
    decisions = [
        RoutingDecision(
            case=case,
            submission=submission,
            rule_id=r.rule_id,
            contact_id=r.contact.id if r.contact else None,
            role=r.role,
            name=r.name,
            email=r.email,
            phone=r.phone,
            agency=r.agency,
            reason=r.reason,
        )
        for r in routes
    ]
    session.add_all(decisions)
    step = next_step(pack, case)
    (queue or outbox.queue_for_submission)(session, pack, spec, case, submission, decisions, step, now=now)
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


def get(session: Session, reference: str) -> Case:
    """The case with this reference (any case, upper or lower), or UnknownCase."""
    return _load(session, reference)


def by_tracking_token(session: Session, token: str) -> Case:
    if not token or len(token) > 200:
        raise UnknownCase("no case for this tracking link")
    found = session.scalar(select(Case).where(Case.tracking_hash == hash_token(token)))
    if found is None:
        raise UnknownCase("no case for this tracking link")
    return found


def move_stage(
    session: Session,
    case: Case | str,
    stage: str,
    *,
    immediate_risk: bool = False,
    outcome: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Move a case to a later stage (outcome = how the stage it leaves ended). No routing: no form came."""
    try:
        case = _load(session, case)
        pack = _pack(case.partnership)
        if case.status != "open":
            raise StageMoveRefused(f"{case.reference} is resolved")
        _check_move(pack, case, stage, immediate_risk)
        if stage == case.current_stage:
            raise StageMoveRefused(f"{case.reference} is already at {pack.stage(stage).label}")
        now = _now(now)
        if outcome and case.current is not None:
            case.current.outcome = outcome
        if immediate_risk:
            case.immediate_risk = True
        _enter_stage(pack, case, stage, workdays.today(now), workdays.calendar(session))
        case.updated_at = now
        session.commit()
        return case
    except Exception:
        session.rollback()
        raise


def record_outcome(
    session: Session,
    case: Case | str,
    *,
    outcome: str | None = None,
    resolution: str | None = None,
    learning: str | None = None,
    resolved: bool = False,
    now: dt.datetime | None = None,
) -> Case:
    """Record how the case (or its current stage) ended, the resolution and learning; optionally resolve it."""
    try:
        case = _load(session, case)
        now = _now(now)
        for name, value in (("outcome", outcome), ("resolution", resolution), ("learning", learning)):
            if value is not None and len(value) > 20_000:
                raise CaseError(f"{name} is longer than 20000 characters")
        if outcome is not None:
            case.outcome = outcome
            if case.current is not None:
                case.current.outcome = outcome
        if resolution is not None:
            case.resolution = resolution
        if learning is not None:
            case.learning = learning
        if resolved and case.status == "open":
            if case.current is not None:
                case.current.left_on = workdays.today(now)
            case.status, case.current_due = "resolved", None
        case.updated_at = now
        session.commit()
        return case
    except Exception:
        session.rollback()
        raise


@dataclass(frozen=True)
class Page:
    cases: list[Case]
    next_cursor: str | None


def list_cases(
    session: Session,
    *,
    partnership: str | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    within: list[str] | None = None,
) -> Page:
    """Newest first, `limit` per page; pass the returned `next_cursor` for the next page.

    `within` limits the list to those partnerships (the ones a member of staff may see)."""
    if partnership is not None:
        _pack(partnership)
    limit = max(1, min(limit, 200))
    query = select(Case).order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    if within is not None:
        query = query.where(Case.partnership.in_(within))
    if partnership:
        query = query.where(Case.partnership == partnership)
    if status:
        query = query.where(Case.status == status)
    if cursor:
        try:
            stamp, _, ident = cursor.partition("~")
            created, case_id = dt.datetime.fromisoformat(stamp), int(ident)
        except ValueError:
            raise CaseError(f"not a page cursor: {cursor!r}") from None
        query = query.where(or_(Case.created_at < created, and_(Case.created_at == created, Case.id < case_id)))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1].created_at.isoformat()}~{rows[-1].id}" if more and rows else None
    return Page(rows, next_cursor)


def overdue(
    session: Session,
    *,
    today: dt.date | None = None,
    partnership: str | None = None,
    limit: int = 200,
    within: list[str] | None = None,
) -> list[Case]:
    """Open cases whose current stage is past its due date, longest overdue first (`within`: as list_cases)."""
    today = today or workdays.today()
    query = (
        select(Case)
        .where(Case.status == "open", Case.current_due.is_not(None), Case.current_due < today)
        .order_by(Case.current_due, Case.id)
        .limit(limit)
    )
    if within is not None:
        query = query.where(Case.partnership.in_(within))
    if partnership:
        _pack(partnership)
        query = query.where(Case.partnership == partnership)
    return list(session.scalars(query))


def count_cases(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case)) or 0


def stage_view(pack: Pack, row: CaseStage, cal: workdays.Calendar, today: dt.date) -> dict:
    stage = pack.stage(row.stage)
    finished = row.left_on is not None or row.skipped
    flags = cal.flags(row.due, today, finished=finished)
    met = None
    if row.due is not None and row.left_on is not None:
        met = row.left_on <= row.due
    return {
        "stage": row.stage,
        "name": stage.name,
        "label": stage.label,
        "skipped": row.skipped,
        "entered_on": row.entered_on.isoformat() if row.entered_on else None,
        "timescale": stage.timescale.describe(),
        "due": row.due.isoformat() if row.due else None,
        "due_words": workdays.describe_due(row.due, stage.timescale),
        "left_on": row.left_on.isoformat() if row.left_on else None,
        "met": met,
        "overdue": flags["overdue"] or (met is False),
        "due_soon": flags["due_soon"],
        "outcome": row.outcome,
    }


def case_view(session: Session, case: Case, *, now: dt.datetime | None = None) -> dict:
    """The whole case as a JSON-ready dict (for business units: it includes child details)."""
    pack = _pack(case.partnership)
    today = workdays.today(_now(now))
    cal = workdays.calendar(session)
    flags = cal.flags(case.current_due, today, finished=case.status != "open")
    step = next_step(pack, case)
    return {
        "reference": case.reference,
        "partnership": case.partnership,
        "partnership_name": pack.name,
        "process": case.process,
        "status": case.status,
        "raiser_name": case.raiser_name,
        "raiser_role": case.raiser_role,
        "raiser_contact": case.raiser_contact,
        "raising_agency": case.raising_agency,
        "receiving_agency": case.receiving_agency,
        "receiving_sector": case.receiving_sector,
        "area": case.area,
        "category": case.category,
        "child_name": case.child_name,
        "date_raised": case.date_raised.isoformat() if case.date_raised else None,
        "immediate_risk": case.immediate_risk,
        "current_stage": case.current_stage,
        "current_due": case.current_due.isoformat() if case.current_due else None,
        "overdue": flags["overdue"],
        "due_soon": flags["due_soon"],
        "next_step": step.text,
        "outcome": case.outcome,
        "resolution": case.resolution,
        "learning": case.learning,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "stages": [stage_view(pack, row, cal, today) for row in case.stages],
        "submissions": [
            {
                "id": s.id,
                "form_id": s.form_id,
                "channel": s.channel,
                "stage": s.stage,
                "received_at": s.received_at.isoformat(),
                "filename": s.filename,
                "content_type": s.content_type,
                "raw_bytes": len(s.raw) if s.raw is not None else None,
                "raw_sha256": hashlib.sha256(s.raw).hexdigest() if s.raw is not None else None,
                "data": s.data,
            }
            for s in case.submissions
        ],
        "routing": [
            {
                "submission_id": r.submission_id,
                "rule_id": r.rule_id,
                "role": r.role,
                "name": r.name,
                "email": r.email,
                "phone": r.phone,
                "agency": r.agency,
                "reason": r.reason,
            }
            for r in case.routings
        ],
    }


def tracking_view(session: Session, case: Case, *, now: dt.datetime | None = None) -> dict:
    """What the person who raised the case may see by its tracking token: no child details, no contacts' data."""
    full = case_view(session, case, now=now)
    keys = (
        "reference",
        "partnership_name",
        "status",
        "current_stage",
        "current_due",
        "overdue",
        "due_soon",
        "next_step",
    )
    view = {k: full[k] for k in keys}
    view["stages"] = [
        {k: s[k] for k in ("stage", "name", "entered_on", "timescale", "due", "due_words", "left_on", "met", "overdue")}
        for s in full["stages"]
    ]
    return view
