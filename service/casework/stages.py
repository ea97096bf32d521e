"""Moving a case through its policy's stages: the checks, entering a stage, the next step, outcomes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms.model import Pack
from service.casework import workdays
from service.casework.errors import CaseError, StageMoveRefused
from service.casework.lookup import load_case, now_utc, pack_of, stage_of
from service.casework.models import Case, CaseStage


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


def check_move(pack: Pack, case: Case, target: str, immediate_risk: bool) -> None:
    """Refuse a move backwards, or past a stage the policy does not let be bypassed.

    A case moves one stage at a time. The only way past a stage is a bypass the pack quotes from its
    policy (Merton §3.8: not between the practitioners when the child is at immediate risk); immediate
    risk alone moves nothing: the policy's emergency route is the answer to it."""
    stage_of(pack, target)
    if case.current_stage is None:
        return
    current, wanted = pack.stage_index(case.current_stage), pack.stage_index(target)
    if wanted < current:
        raise StageMoveRefused(
            f"{case.reference} is at {pack.stage(case.current_stage).label}; a case cannot move back to "
            f"{pack.stage(target).label}"
        )
    for passed in pack.stages[current + 1 : wanted]:
        bypass = pack.bypass(passed.id)
        if bypass is None:
            raise StageMoveRefused(
                f"{case.reference} is at {pack.stage(case.current_stage).label}: {pack.short_name}'s policy "
                f"goes through {passed.label} before {pack.stage(target).label}, and gives no way to bypass it. "
                f"If a child is at immediate risk, use the policy's emergency route ({pack.immediate_risk.source})."
            )
        if not immediate_risk:
            raise StageMoveRefused(
                f"{case.reference}: {passed.label} may be bypassed only as the policy says ({bypass.source}): "
                f"{bypass.text}"
            )


def _passed_note(pack: Pack, stage_id: str, opening: bool, immediate_risk: bool, earlier: str | None) -> str:
    bypass = pack.bypass(stage_id)
    if bypass is not None and immediate_risk:
        return f"Bypassed as the policy allows ({bypass.source}): {bypass.text}"
    if opening:
        return f"Before this record: {earlier}" if earlier else "Before this record: not told"
    raise AssertionError("check_move lets no stage be passed without a bypass")


def enter_stage(
    pack: Pack,
    case: Case,
    target: str,
    today: dt.date,
    cal: workdays.Calendar,
    *,
    channel: str | None = None,
    reason: str | None = None,
    immediate_risk: bool = False,
    earlier: str | None = None,
) -> None:
    """Close the current stage and open `target`, its clock running from today.

    The stages passed on the way are recorded with why: a bypass the policy allows, or, for a case
    opened at a later stage, what happened before the record (`earlier`, in the raiser's words)."""
    if case.current_stage == target:
        return
    current = case.current
    if current is not None:
        current.left_on = today
    opening = case.current_stage is None and not case.stages
    start = pack.stage_index(case.current_stage) + 1 if case.current_stage is not None else 0
    for passed in pack.stages[start : pack.stage_index(target)] if (opening or case.current_stage) else ():
        case.stages.append(
            CaseStage(
                stage=passed.id,
                skipped=True,
                timescale=passed.timescale.kind,
                days=passed.timescale.days,
                channel=channel,
                reason=_passed_note(pack, passed.id, opening, immediate_risk, earlier),
            )
        )
    stage = pack.stage(target)
    due = cal.due_date(today, stage.timescale)
    case.stages.append(
        CaseStage(
            stage=target,
            entered_on=today,
            due=due,
            timescale=stage.timescale.kind,
            days=stage.timescale.days,
            channel=channel,
            reason=reason,
        )
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
    due_words = workdays.describe_due(case.current_due, stage.timescale)
    if stage.timescale.kind == "none":
        acts = f"Who acts: {stage.who_acts}. The policy sets no timescale for this stage."
    else:
        acts = f"Who acts: {stage.who_acts}, {due_words}."
    heading = stage.name if stage.name.lower().startswith("stage") else f"{stage.label}: {stage.name}"
    parts = [f"{case.reference} is at {heading}.", acts]
    following = pack.next_stage(stage.id)
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
        case = load_case(session, case)
        now = now_utc(now)
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
            _check_closing_needs(pack_of(case.partnership), case)
            if case.current is not None:
                case.current.left_on = workdays.today(now)
            # One close however many arrive at once: the database changes an open case only, and a
            # close that finds it closed by another is refused and rolled back (its de-brief with it).
            closed = session.execute(
                update(Case)
                .where(Case.id == case.id, Case.status == "open")
                .values(status="resolved", current_due=None, closed_at=now)
            )
            if closed.rowcount != 1:
                raise CaseError(f"{case.reference} is already closed")
            case.status, case.current_due, case.closed_at = "resolved", None, now
        case.updated_at = now
        session.commit()
        return case
    except Exception:
        session.rollback()
        raise


def _check_closing_needs(pack: Pack, case: Case) -> None:
    """Refuse to close as resolved without the record the policy requires first (Merton §3.13)."""
    need = pack.closing_needs
    if need is None or any(s.form_id == need.form for s in case.submissions):
        return
    raise CaseError(
        f"{case.reference} cannot be closed as resolved yet: {need.describe(pack.short_name)}. "
        f"Send the {pack.form(need.form).short_title} first."
    )


# How each database names a breach of CaseStage's unique (case_id, stage): PostgreSQL by the constraint's
# name (models.NAMING), SQLite by its columns. Any other breach on case_stages is not a move made twice.
_ONE_ENTRY = ("uq_case_stages_case_id", "UNIQUE constraint failed: case_stages.case_id, case_stages.stage")


def stage_taken(exc: IntegrityError) -> bool:
    """The case entered this stage in another transaction at the same moment (case_stages is unique
    by case and stage: a case moves forward only, so each stage is entered once)."""
    said = str(exc.orig)
    return any(name in said for name in _ONE_ENTRY)
