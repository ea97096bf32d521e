"""One way to move a case and tell whom the policy names: every channel goes through here.

A form sent on the web, an update on the tracking page, a returned document or e-mail, a staff move
in the workspace or the API: each enters the stage with `stages.enter_stage`, then calls `notify`,
which routes it by the pack's rules for that stage (and the stage's own `notifies`), records each
routing decision with its reason and writes the outbox in the same transaction.

Immediate risk never moves a case: `record_emergency_route` records that the person was shown the
policy's emergency route (the phones it names), and the case stays where it is.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms.model import FormSpec, Pack
from service.casework import channels, outbox, routing, workdays
from service.casework.errors import StageMoveRefused, UnknownAgency
from service.casework.lookup import load_case, now_utc, pack_of
from service.casework.models import Case, Contact, RoutingDecision, Submission
from service.casework.stages import check_move, enter_stage, next_step, stage_taken


def contacts_of(session: Session, pack: Pack) -> list[Contact]:
    return list(session.scalars(select(Contact).where(Contact.partnership == pack.id)))


def notify(
    session: Session,
    pack: Pack,
    case: Case,
    *,
    contacts: list[Contact],
    now: dt.datetime,
    spec: FormSpec | None = None,
    data: dict | None = None,
    submission: Submission | None = None,
    queue=None,
    reason: str | None = None,
) -> list[RoutingDecision]:
    """Route the case at its current stage and queue one e-mail per recipient; return the decisions."""
    try:
        routes = routing.route(
            pack,
            spec,
            data,
            stage=case.current_stage,
            receiving_sector=case.receiving_sector,
            contacts=contacts,
            area=case.area,
            receiving_agency=case.receiving_agency,
            process=case.process,
        )
    except routing.UnknownAgency as exc:
        raise UnknownAgency(str(exc)) from None
    decisions = [
        RoutingDecision(
            case=case,
            submission=submission,
            stage=case.current_stage,
            rule_id=r.rule_id,
            contact_id=r.contact.id if r.contact else None,
            role=r.role,
            name=r.name,
            email=r.email,
            phone=r.phone,
            agency=r.agency,
            reason=f"{r.reason}. {reason}" if reason else r.reason,
        )
        for r in routes
    ]
    session.add_all(decisions)
    step = next_step(pack, case)
    if submission is not None:
        (queue or outbox.queue_for_submission)(session, pack, spec, case, submission, decisions, step, now=now)
    else:
        outbox.queue_for_move(session, pack, case, decisions, step, reason=reason, now=now)
    return decisions


def move_stage(
    session: Session,
    case: Case | str,
    stage: str,
    *,
    channel: str = "workspace",
    reason: str | None = None,
    immediate_risk: bool = False,
    outcome: str | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Move a case to a later stage with no form, routed and notified as the policy names for that stage.

    `outcome` is how the stage it leaves ended; `reason` why it moves (kept on the stage and in the e-mails)."""
    try:
        case = load_case(session, case)
        pack = pack_of(case.partnership)
        if case.status != "open":
            raise StageMoveRefused(f"{case.reference} is resolved")
        check_move(pack, case, stage, immediate_risk)
        if stage == case.current_stage:
            raise StageMoveRefused(f"{case.reference} is already at {pack.stage(stage).label}")
        now = now_utc(now)
        contacts = contacts_of(session, pack)
        cal = workdays.calendar(session)
        if outcome and case.current is not None:
            case.current.outcome = outcome
        if immediate_risk:
            record_emergency_route(case, now)
        why = reason or f"moved by {channels.moved_by(channel)}"
        enter_stage(
            pack, case, stage, workdays.today(now), cal, channel=channel, reason=why, immediate_risk=immediate_risk
        )
        notify(session, pack, case, contacts=contacts, now=now, reason=why)
        case.updated_at = now
        session.commit()
        return case
    except IntegrityError as exc:
        session.rollback()
        if stage_taken(exc):  # the same move, made at the same moment by another request
            raise StageMoveRefused(f"{case.reference} has already moved to {pack.stage(stage).label}") from None
        raise
    except Exception:
        session.rollback()
        raise


def record_emergency_route(case: Case, now: dt.datetime) -> None:
    """The child is at immediate risk: the emergency route was shown; the case does not move for it."""
    case.immediate_risk = True
    if case.emergency_route_shown_at is None:
        case.emergency_route_shown_at = now


def record_emergency_route_used(session: Session, case: Case | str, *, now: dt.datetime | None = None) -> Case:
    """Record, from any channel, that the emergency route was shown and used; the stage does not change."""
    try:
        case = load_case(session, case)
        now = now_utc(now)
        record_emergency_route(case, now)
        case.updated_at = now
        session.commit()
        return case
    except Exception:
        session.rollback()
        raise
