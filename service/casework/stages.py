"""Moving a case through its policy's stages: the checks, entering a stage, the next step, outcomes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
    """Refuse a move backwards, or a skip the policy does not allow."""
    stage_of(pack, target)
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


def enter_stage(pack: Pack, case: Case, target: str, today: dt.date, cal: workdays.Calendar) -> None:
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
        case = load_case(session, case)
        pack = pack_of(case.partnership)
        if case.status != "open":
            raise StageMoveRefused(f"{case.reference} is resolved")
        check_move(pack, case, stage, immediate_risk)
        if stage == case.current_stage:
            raise StageMoveRefused(f"{case.reference} is already at {pack.stage(stage).label}")
        now = now_utc(now)
        if outcome and case.current is not None:
            case.current.outcome = outcome
        if immediate_risk:
            case.immediate_risk = True
        enter_stage(pack, case, stage, workdays.today(now), workdays.calendar(session))
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
            if case.current is not None:
                case.current.left_on = workdays.today(now)
            case.status, case.current_due = "resolved", None
        case.updated_at = now
        session.commit()
        return case
    except Exception:
        session.rollback()
        raise
