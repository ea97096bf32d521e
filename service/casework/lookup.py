"""Finding what a case operation works on: the clock, the partnership's pack, a form, a stage, a case."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms import registry
from forms.model import FormSpec, Pack, Stage
from service.casework.errors import UnknownCase, UnknownForm, UnknownPartnership, UnknownStage
from service.casework.models import Case


def now_utc(now: dt.datetime | None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    return now


def pack_of(partnership: str) -> Pack:
    try:
        return registry().pack(partnership)
    except KeyError:
        known = ", ".join(p.id for p in registry().packs)
        raise UnknownPartnership(f"unknown partnership '{partnership}' (one of {known})") from None


def form_of(form_id: str) -> FormSpec:
    try:
        return registry().form(form_id)
    except KeyError:
        raise UnknownForm(f"unknown form '{form_id}' (`flask --app app forms` lists them)") from None


def stage_of(pack: Pack, stage_id: str) -> Stage:
    try:
        return pack.stage(stage_id)
    except KeyError:
        known = ", ".join(s.id for s in pack.stages)
        raise UnknownStage(f"{pack.short_name} has no stage '{stage_id}' (its stages: {known})") from None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_case(session: Session, case: Case | str) -> Case:
    if isinstance(case, Case):
        return case
    if len(case) > 40:
        raise UnknownCase(f"no case with reference '{case[:40]}…'")
    found = session.scalar(select(Case).where(Case.reference == case.strip().upper()))
    if found is None:
        raise UnknownCase(f"no case with reference '{case}'")
    return found


def holds_child_details(case: Case) -> bool:
    """Whether any of the case's record names a child (so every read of it is audited, by any route)."""
    if case.child_name:
        return True
    forms = registry().forms
    return any(forms[s.form_id].carries_child_details for s in case.submissions if s.form_id in forms)
